// One HTTP client call as an Asio composed operation: take a connection from
// the pool (or wait for one), open it if new (DNS through the pool's cache,
// connect, TLS), write the request, read the response, follow redirects,
// and map the outcome. One deadline bounds every step.
#ifndef COURIER_HTTP_DETAIL_CALL_OP_HPP
#define COURIER_HTTP_DETAIL_CALL_OP_HPP

#include <courier/call_feedback.hpp>
#include <courier/context.hpp>
#include <courier/error.hpp>
#include <courier/http/connection_pool.hpp>
#include <courier/http/context_fields.hpp>
#include <courier/http/detail/base_url.hpp>
#include <courier/http/detail/connection.hpp>
#include <courier/http/detail/request_mapping.hpp>
#include <courier/http/detail/retry_after.hpp>
#include <courier/http/error.hpp>
#include <courier/idempotent.hpp>

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <memory>
#include <optional>
#include <string>

namespace courier::http::detail {

namespace beast_http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

/// Whether a request may be sent twice: by its method (RFC 9110 9.2.2) or
/// because its type says so.
template <class Req>
bool idempotent_call(verb v) noexcept {
    return is_idempotent_v<Req> || v == verb::get || v == verb::head || v == verb::put || v == verb::delete_ ||
           v == verb::options || v == verb::trace;
}

/// The error a transport failure stands for in courier's terms.
inline error_code map_transport_error(error_code ec, bool deadline_passed) {
    if (ec == boost::beast::error::timeout || (deadline_passed && ec == boost::asio::error::operation_aborted))
        return courier::error::timeout;
    if (ec == beast_http::error::body_limit) return error::body_too_large;
    if (ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category() &&
        ec != beast_http::error::end_of_stream &&
        ec != beast_http::error::partial_message)
        return error::bad_response;
    return ec;
}

template <class Shared, class Req, class Rep>
class call_op {
    // One allocation per call: the caller's request and context wait here
    // until the HTTP request is built from them.
    struct state {
        state(std::shared_ptr<const Shared> s, Req&& r, context&& c)
            : cl(std::move(s)), req_value(std::move(r)), ctx(std::move(c)), url(cl->base),
              resolver(cl->pool->get_executor()) {}
        std::shared_ptr<const Shared> cl;
        Req req_value;
        context ctx;
        base_url url;
        beast_http::request<beast_http::string_body> req;
        std::optional<beast_http::response_parser<beast_http::string_body>> parser;
        connection_ptr conn;
        bool leased = false;  // holds one of the origin's connection slots
        bool reused = false;
        bool resent = false;
        unsigned redirects = 0;
        tcp::resolver resolver;
        connection_pool::endpoints addresses;
        context::clock::time_point deadline;
        call_feedback* feedback = nullptr;
        std::optional<boost::asio::steady_timer> wait_timer;
        bool reading = false;  // which transfer completed: the write or the read
    };

public:
    call_op(std::shared_ptr<const Shared> cl, Req req, context ctx)
        : cl_(cl), st_(std::make_unique<state>(std::move(cl), std::move(req), std::move(ctx))) {}

    template <class Self>
    void operator()(Self& self) {
        self.reset_cancellation_state(boost::asio::enable_total_cancellation());
        auto& s = *st_;
        const auto& o = cl_->opts;
        s.deadline = s.ctx.deadline ? *s.ctx.deadline
                                    : context::clock::now() + std::chrono::duration_cast<context::clock::duration>(
                                                                  o.default_timeout);
        s.feedback = s.ctx.feedback;
        if (s.ctx.expired()) return finish(self, courier::error::timeout);
        std::string target, body;
        error_code ec;
        if (!encode_request(cl_->ep, s.req_value, cl_->base.path, target, body, ec)) return finish(self, ec);
        s.req.method(cl_->ep.method);
        s.req.target(target);
        s.req.version(11);
        s.req.set(beast_http::field::host, s.url.host_header);
        s.req.set(beast_http::field::user_agent, o.user_agent);
        s.req.set(beast_http::field::accept, cl_->codec.content_type());
        if (has_body(cl_->ep.method)) {
            s.req.set(beast_http::field::content_type, cl_->codec.content_type());
            s.req.body() = std::move(body);
        }
        inject(s.ctx, s.req.base());
        s.req.keep_alive(true);
        s.req.prepare_payload();
        acquire(self);
    }

    // The pool hands over a connection (or the right to open one).
    template <class Self>
    void operator()(Self& self, error_code ec, connection_ptr conn) {
        auto& s = *st_;
        if (s.wait_timer) s.wait_timer->cancel();
        self.get_cancellation_state().slot().clear();
        if (ec) return finish(self, ec == courier::error::timeout ? error_code(courier::error::timeout) : ec);
        s.leased = true;
        if (conn) return reuse(self, std::move(conn));
        open(self);
    }

    template <class Self>
    void operator()(Self& self, error_code ec, tcp::resolver::results_type results) {
        auto& s = *st_;
        if (ec) return finish(self, map_transport_error(ec, deadline_passed()));
        s.addresses.assign(results.begin(), results.end());
        cl_->pool->remember(host_port(), s.addresses);
        connect(self);
    }

    template <class Self>
    void operator()(Self& self, error_code ec, tcp::endpoint) {
        auto& s = *st_;
        if (ec) {
            cl_->pool->forget_addresses(host_port());
            return finish(self, map_transport_error(ec, deadline_passed()));
        }
        if (!s.conn->tls) return write(self);
        auto& tls = *s.conn->tls;
        if (!SSL_set_tlsext_host_name(tls.native_handle(), s.url.host.c_str()))
            return finish(self, error_code(static_cast<int>(::ERR_get_error()), boost::asio::error::get_ssl_category()));
        if (cl_->pool->options().verify_peer) tls.set_verify_callback(boost::asio::ssl::host_name_verification(s.url.host));
        s.conn->tcp().expires_at(s.deadline);
        tls.async_handshake(boost::asio::ssl::stream_base::client, std::move(self));
    }

    template <class Self>
    void operator()(Self& self, error_code ec) {  // TLS handshake
        if (ec) return finish(self, map_transport_error(ec, deadline_passed()));
        write(self);
    }

    template <class Self>
    void operator()(Self& self, error_code ec, std::size_t) {
        auto& s = *st_;
        if (!s.reading) {
            if (ec) return transport_failed(self, ec);
            return read(self);
        }
        if (ec) return transport_failed(self, ec);
        on_response(self);
    }

private:
    bool deadline_passed() const { return context::clock::now() >= st_->deadline; }
    std::string host_port() const { return st_->url.host + ":" + std::to_string(st_->url.port); }

    template <class Self>
    void acquire(Self& self) {
        auto& s = *st_;
        auto lease = cl_->pool->try_acquire(s.url.origin);
        if (lease.granted) {
            s.leased = true;
            if (lease.conn) return reuse(self, std::move(lease.conn));
            return open(self);
        }
        // Every connection to the origin is busy: wait, until the deadline.
        auto pool = cl_->pool;
        const std::string origin = s.url.origin;
        // Everything is set up before enqueue(): from then on the call may
        // continue on another thread, and this function touches nothing.
        const void* ticket = &s;
        s.wait_timer.emplace(cl_->pool->get_executor());
        s.wait_timer->expires_at(s.deadline);
        s.wait_timer->async_wait([pool, origin, ticket](error_code ec) {
            if (!ec) pool->cancel_waiter(origin, ticket, courier::error::timeout);
        });
        auto slot = self.get_cancellation_state().slot();
        if (slot.is_connected())
            slot.assign([pool, origin, ticket](boost::asio::cancellation_type) {
                pool->cancel_waiter(origin, ticket, boost::asio::error::operation_aborted);
            });
        pool->enqueue(origin, ticket, std::move(self));
    }

    template <class Self>
    void reuse(Self& self, connection_ptr conn) {
        st_->conn = std::move(conn);
        st_->reused = true;
        write(self);
    }

    template <class Self>
    void open(Self& self) {
        auto& s = *st_;
        s.reused = false;
        s.conn = std::make_unique<connection>(cl_->pool->get_executor(),
                                              s.url.tls ? &cl_->pool->tls_context() : nullptr);
        if (cl_->pool->cached(host_port(), s.addresses)) return connect(self);
        s.resolver.async_resolve(s.url.host, std::to_string(s.url.port), std::move(self));
    }

    template <class Self>
    void connect(Self& self) {
        auto& s = *st_;
        s.conn->tcp().expires_at(s.deadline);
        s.conn->tcp().async_connect(s.addresses, std::move(self));
    }

    template <class Self>
    void write(Self& self) {
        auto& s = *st_;
        s.reading = false;
        s.parser.reset();  // "nothing came back" is about this exchange, not an earlier redirect
        s.conn->tcp().expires_at(s.deadline);
        s.conn->visit([&](auto& stream) { beast_http::async_write(stream, s.req, std::move(self)); });
    }

    template <class Self>
    void read(Self& self) {
        auto& s = *st_;
        s.reading = true;
        s.parser.emplace();
        s.parser->body_limit(cl_->opts.body_limit);
        if (s.req.method() == verb::head) s.parser->skip(true);
        s.conn->tcp().expires_at(s.deadline);
        s.conn->visit([&](auto& stream) { beast_http::async_read(stream, s.conn->buffer, *s.parser, std::move(self)); });
    }

    // A write or read failed. A reused connection that produced nothing was
    // most likely closed by the server while idle: one fresh try for a
    // request that may be sent twice.
    template <class Self>
    void transport_failed(Self& self, error_code ec) {
        auto& s = *st_;
        const bool nothing_back = !s.parser || !s.parser->got_some();
        const bool cancelled = self.get_cancellation_state().cancelled() != boost::asio::cancellation_type::none;
        if (s.reused && !s.resent && nothing_back && !cancelled && !deadline_passed() &&
            idempotent_call<Req>(s.req.method()) && ec != boost::beast::error::timeout) {
            s.resent = true;
            s.conn->close();
            s.conn.reset();
            return open(self);  // keeps the lease
        }
        finish(self, map_transport_error(ec, deadline_passed()));
    }

    template <class Self>
    void on_response(Self& self) {
        auto& s = *st_;
        auto& res = s.parser->get();
        const unsigned status = res.result_int();
        const bool keep = res.keep_alive() && s.parser->is_done();
        // Redirects: GET and HEAD only, to any http(s) URL.
        if ((status == 301 || status == 302 || status == 303 || status == 307 || status == 308) &&
            (s.req.method() == verb::get || s.req.method() == verb::head)) {
            auto loc = res.find(beast_http::field::location);
            if (loc != res.end()) {
                if (++s.redirects > cl_->opts.max_redirects) return finish(self, error::too_many_redirects, keep);
                error_code ec;
                auto next = resolve_location(loc->value(), ec);
                if (ec) return finish(self, ec, keep);
                release(keep);
                s.url = std::move(next);
                s.req.target((s.url.path.empty() ? std::string("/") : s.url.path) +
                             (s.url.query.empty() ? "" : "?" + s.url.query));
                s.req.set(beast_http::field::host, s.url.host_header);
                s.resent = false;
                return acquire(self);
            }
        }
        error_code ec = status_error(status, cl_->opts.server_errors_retryable);
        if (ec && s.feedback) {
            if (auto ra = res.find(beast_http::field::retry_after); ra != res.end())
                if (auto d = parse_retry_after(ra->value())) s.feedback->retry_after = *d;
        }
        if (ec) return finish(self, ec, keep);
        Rep rep = cl_->codec.template decode<Rep>(res.body(), ec, nullptr);
        finish(self, ec, keep, std::move(rep));
    }

    // The Location of a redirect, against the URL just requested.
    base_url resolve_location(std::string_view location, error_code& ec) const {
        auto& s = *st_;
        boost::urls::url current;
        current.set_scheme(s.url.tls ? "https" : "http");
        current.set_encoded_authority(s.url.authority);
        auto target = boost::urls::parse_origin_form(std::string_view(s.req.target()));
        if (target) {
            current.set_encoded_path(target->encoded_path());
            if (target->has_query()) current.set_encoded_query(target->encoded_query());
        }
        auto ref = boost::urls::parse_uri_reference(location);
        boost::urls::url dest;
        if (!ref || !boost::urls::resolve(current, *ref, dest)) {
            ec = error::bad_url;
            return {};
        }
        dest.remove_fragment();
        return base_url::from(dest, ec);
    }

    void release(bool keep) {
        auto& s = *st_;
        if (!s.leased) return;
        s.leased = false;
        if (keep && s.conn) s.conn->buffer.clear();
        cl_->pool->release(s.url.origin, std::move(s.conn), keep && s.conn != nullptr);
    }

    template <class Self>
    void finish(Self& self, error_code ec, bool keep = false, Rep rep = Rep{}) {
        if (st_) {
            const bool cancelled =
                self.get_cancellation_state().cancelled() != boost::asio::cancellation_type::none;
            if (cancelled && ec) ec = boost::asio::error::operation_aborted;
            release(keep && !cancelled);  // a status error leaves the connection usable
            st_.reset();
        }
        self.complete(ec, std::move(rep));
    }

    std::shared_ptr<const Shared> cl_;
    std::unique_ptr<state> st_;
};

}  // namespace courier::http::detail

#endif
