// One HTTP exchange as an Asio composed operation: take a connection from the
// pool (or wait for one), open it if new (DNS through the pool's cache,
// connect, TLS), write the request, read the response, follow redirects,
// and map the status. One deadline bounds every step.
//
// The operation knows nothing of the caller's request and reply types nor of
// its completion handler: it completes a type-erased handler with the
// exchange itself, and the typed client encodes before and decodes after.
// So Beast's reads and writes over TCP and TLS are instantiated once per
// translation unit instead of once per (Req, Rep, completion token): a
// program's build time, not its run time, is what that saves.
#ifndef COURIER_HTTP_DETAIL_EXCHANGE_HPP
#define COURIER_HTTP_DETAIL_EXCHANGE_HPP

#include <courier/call_feedback.hpp>
#include <courier/context.hpp>
#include <courier/error.hpp>
#include <courier/http/connection_pool.hpp>
#include <courier/http/context_fields.hpp>
#include <courier/http/detail/base_url.hpp>
#include <courier/http/detail/connection.hpp>
#include <courier/http/detail/limited_parser.hpp>
#include <courier/http/detail/retry_after.hpp>
#include <courier/http/detail/serialize_head.hpp>
#include <courier/http/endpoint.hpp>
#include <courier/http/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace courier::http::detail {

namespace beast_http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

/// The error a transport failure stands for in courier's terms.
inline error_code map_transport_error(error_code ec, bool deadline_passed) {
    if (ec == boost::beast::error::timeout || (deadline_passed && ec == boost::asio::error::operation_aborted))
        return courier::error::timeout;
    if (ec == beast_http::error::body_limit) return error::body_too_large;
    // An orderly close (FIN) before or during the response is the server
    // going away, as much as a reset is.
    if (ec == beast_http::error::end_of_stream || ec == beast_http::error::partial_message ||
        ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated)
        return error::connection_closed;
    if (ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category())
        return error::bad_response;
    return ec;
}

/// What an exchange takes from its client's options.
struct exchange_limits {
    std::size_t body_limit = 0;
    unsigned max_redirects = 0;
    bool server_errors_retryable = true;
    std::uint32_t header_limit = 8 * 1024;
    framing_limits framing{4 * 1024, 16 * 1024, 100};
};

/// The state of one exchange: the request going out, the response coming
/// back, and the connection between. One allocation per call.
struct exchange {
    exchange(connection_pool& p, const base_url& base, const exchange_limits& l, bool may_resend)
        : pool(p), url(&base), limits(l), idempotent(may_resend) {}

    /// The request to `target` with headers from `ctx` and the body (for
    /// methods that have one) in `content_type`.
    void prepare(verb method, std::string_view target, std::string&& body, std::string_view content_type,
                 std::string_view user_agent, const context& ctx) {
        req.method(method);
        req.target(target);
        req.version(11);
        req.set(beast_http::field::host, url->host_header);
        req.set(beast_http::field::user_agent, user_agent);
        req.set(beast_http::field::accept, content_type);
        if (has_body(method)) {
            req.set(beast_http::field::content_type, content_type);
            req.body() = std::move(body);
        }
        inject(ctx, req.base());
        req.keep_alive(true);
        req.prepare_payload();
        serialize_head();
        deadline = *ctx.deadline;
        feedback = ctx.feedback;
    }

    /// The head goes out formatted in one piece (see serialize_head.hpp).
    void serialize_head() { detail::serialize_head(req.base(), head); }

    /// The final response (valid once the exchange completed without error).
    beast_http::response<beast_http::string_body>& response() { return parser->get(); }

    std::string host_port() const { return url->host + ":" + std::to_string(url->port); }

    connection_pool& pool;
    const base_url* url;                 // the base URL, or `redirected`
    std::optional<base_url> redirected;  // where the last redirect pointed
    exchange_limits limits;
    bool idempotent;
    beast_http::request<beast_http::string_body> req;
    std::string head;  // req's start line and fields, serialized
    std::optional<limited_parser<false>> parser;
    connection_ptr conn;
    bool leased = false;  // holds one of the origin's connection slots
    bool reused = false;
    bool resent = false;
    bool reading = false;  // which transfer completed: the write or the read
    unsigned redirects = 0;
    std::optional<tcp::resolver> resolver;
    connection_pool::endpoints addresses;
    context::clock::time_point deadline{};
    call_feedback* feedback = nullptr;
    std::optional<boost::asio::steady_timer> wait_timer;
};

using exchange_ptr = std::unique_ptr<exchange>;

/// Carries the caller's cancellation to the exchange's executor, where the
/// exchange's steps assign and clear the slots of their reads and writes:
/// the caller emits on its own executor, and Asio's slots must not be
/// emitted concurrently with those steps. Emissions that arrive after the
/// exchange completed are dropped.
struct cancellation_forwarder {
    explicit cancellation_forwarder(boost::asio::any_io_executor e) : ex(std::move(e)) {}
    boost::asio::any_io_executor ex;
    boost::asio::cancellation_signal signal;  // the exchange's "caller slot"
    bool done = false;                        // on `ex`
};

/// Completes an exchange: an error, or none and the exchange with its
/// response (a 2xx, or another status the caller maps; see exchange_op).
/// Type-erased, and deliberately without the erased handler's executor: the
/// exchange runs on the pool's executor (a strand of it when several threads
/// may run it; Asio 1.81's any_completion_executor cannot be required to be
/// non-blocking, which Beast needs), and the typed client dispatches its own
/// completion to the caller's executor. The cancellation slot is the
/// forwarder's, when the caller has one.
struct exchange_handler {
    using erased = boost::asio::any_completion_handler<void(error_code, std::unique_ptr<exchange>)>;
    erased handler;
    std::shared_ptr<cancellation_forwarder> forwarder{};

    using cancellation_slot_type = boost::asio::cancellation_slot;
    cancellation_slot_type get_cancellation_slot() const noexcept {
        return forwarder ? forwarder->signal.slot() : cancellation_slot_type();
    }

    void operator()(error_code ec, std::unique_ptr<exchange> x) {
        if (forwarder) forwarder->done = true;
        std::move(handler)(ec, std::move(x));
    }
};

class exchange_op {
public:
    exchange_op(exchange_ptr x, error_code early) : x_(std::move(x)), early_(early) {}

    template <class Self>
    void operator()(Self& self) {
        self.reset_cancellation_state(boost::asio::enable_total_cancellation());
        if (early_) {
            // Never inline: the caller's initiating function has not returned.
            auto ex = x_->pool.get_executor();
            return boost::asio::post(ex, boost::asio::append(std::move(self), posted_error{early_}));
        }
        acquire(self);
    }

    struct posted_error {
        error_code ec;
    };
    template <class Self>
    void operator()(Self& self, posted_error e) {
        finish(self, e.ec);
    }

    // The pool hands over a connection (or the right to open one).
    template <class Self>
    void operator()(Self& self, error_code ec, connection_ptr conn) {
        auto& x = *x_;
        if (x.wait_timer) x.wait_timer->cancel();
        self.get_cancellation_state().slot().clear();
        if (ec) return finish(self, ec == courier::error::timeout ? error_code(courier::error::timeout) : ec);
        x.leased = true;
        if (conn) return reuse(self, std::move(conn));
        open(self);
    }

    template <class Self>
    void operator()(Self& self, error_code ec, tcp::resolver::results_type results) {
        auto& x = *x_;
        if (ec) return finish(self, map_transport_error(ec, deadline_passed()));
        x.addresses.assign(results.begin(), results.end());
        x.pool.remember(x.host_port(), x.addresses);
        connect(self);
    }

    template <class Self>
    void operator()(Self& self, error_code ec, tcp::endpoint) {
        auto& x = *x_;
        if (ec) {
            x.pool.forget_addresses(x.host_port());
            return finish(self, map_transport_error(ec, deadline_passed()));
        }
        if (!x.conn->tls) return write(self);
        auto& tls = *x.conn->tls;
        if (!SSL_set_tlsext_host_name(tls.native_handle(), x.url->host.c_str()))
            return finish(self, error_code(static_cast<int>(::ERR_get_error()), boost::asio::error::get_ssl_category()));
        if (x.pool.options().verify_peer) tls.set_verify_callback(boost::asio::ssl::host_name_verification(x.url->host));
        x.conn->tcp().expires_at(x.deadline);
        tls.async_handshake(boost::asio::ssl::stream_base::client, std::move(self));
    }

    template <class Self>
    void operator()(Self& self, error_code ec) {  // TLS handshake
        if (ec) return finish(self, map_transport_error(ec, deadline_passed()));
        write(self);
    }

    template <class Self>
    void operator()(Self& self, error_code ec, std::size_t) {
        if (ec) return transport_failed(self, ec);
        if (!x_->reading) return read(self);
        on_response(self);
    }

private:
    bool deadline_passed() const { return context::clock::now() >= x_->deadline; }

    template <class Self>
    void acquire(Self& self) {
        auto& x = *x_;
        auto lease = x.pool.try_acquire(x.url->origin);
        if (lease.granted) {
            x.leased = true;
            if (lease.conn) return reuse(self, std::move(lease.conn));
            return open(self);
        }
        // Every connection to the origin is busy: wait, until the deadline.
        // The timer's handler may run after the exchange completed (and the
        // client released the pool): it holds the pool itself.
        auto pool = x.pool.shared_from_this();
        const std::string origin = x.url->origin;
        // Everything is set up before enqueue(): from then on the exchange
        // may continue on another thread, and this function touches nothing.
        const std::uint64_t ticket = pool->new_ticket();
        x.wait_timer.emplace(pool->get_executor());
        x.wait_timer->expires_at(x.deadline);
        x.wait_timer->async_wait([pool, origin, ticket](error_code ec) {
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
        x_->conn = std::move(conn);
        x_->reused = true;
        write(self);
    }

    template <class Self>
    void open(Self& self) {
        auto& x = *x_;
        x.reused = false;
        x.conn = std::make_unique<connection>(x.pool.get_executor(), x.url->tls ? &x.pool.tls_context() : nullptr);
        if (x.pool.cached(x.host_port(), x.addresses)) return connect(self);
        if (!x.resolver) x.resolver.emplace(x.pool.get_executor());
        x.resolver->async_resolve(x.url->host, std::to_string(x.url->port), std::move(self));
    }

    template <class Self>
    void connect(Self& self) {
        auto& x = *x_;
        x.conn->tcp().expires_at(x.deadline);
        x.conn->tcp().async_connect(x.addresses, std::move(self));
    }

    template <class Self>
    void write(Self& self) {
        auto& x = *x_;
        x.reading = false;
        x.parser.reset();  // "nothing came back" is about this exchange, not an earlier redirect
        x.conn->tcp().expires_at(x.deadline);
        const std::array<boost::asio::const_buffer, 2> buffers{boost::asio::buffer(x.head),
                                                               boost::asio::buffer(x.req.body())};
        x.conn->visit([&](auto& stream) { boost::asio::async_write(stream, buffers, std::move(self)); });
    }

    template <class Self>
    void read(Self& self) {
        auto& x = *x_;
        x.reading = true;
        x.parser.emplace(x.limits.framing);
        x.parser->header_limit(x.limits.header_limit);
        x.parser->body_limit(x.limits.body_limit);
        // Per read, not per connection: a pooled connection may have been
        // opened by a client with other limits.
        x.conn->buffer.max_size(read_buffer_limit(x.limits.header_limit, x.limits.framing));
        if (x.req.method() == verb::head) x.parser->skip(true);
        x.conn->tcp().expires_at(x.deadline);
        x.conn->visit([&](auto& stream) { beast_http::async_read(stream, x.conn->buffer, *x.parser, std::move(self)); });
    }

    // A write or read failed. A reused connection that produced nothing was
    // most likely closed by the server while idle: one fresh try for a
    // request that may be sent twice.
    template <class Self>
    void transport_failed(Self& self, error_code ec) {
        auto& x = *x_;
        const bool nothing_back = !x.parser || !x.parser->got_some();
        const bool cancelled = self.get_cancellation_state().cancelled() != boost::asio::cancellation_type::none;
        if (x.reused && !x.resent && nothing_back && !cancelled && !deadline_passed() && x.idempotent &&
            ec != boost::beast::error::timeout) {
            x.resent = true;
            x.conn->close();
            x.conn.reset();
            return open(self);  // keeps the lease
        }
        finish(self, map_transport_error(ec, deadline_passed()));
    }

    template <class Self>
    void on_response(Self& self) {
        auto& x = *x_;
        auto& res = x.parser->get();
        const unsigned status = res.result_int();
        const bool keep = res.keep_alive() && x.parser->is_done();
        // Transfer-Encoding overrides Content-Length, yet Beast framed the
        // body by whichever came first; and HTTP/1.0 has no transfer
        // codings. Either is a framing an attacker may have chosen (RFC
        // 9112 6.1, 6.3): an error, and the connection is not reused.
        if (res.count(beast_http::field::transfer_encoding) &&
            (res.count(beast_http::field::content_length) || res.version() < 11))
            return finish(self, error::bad_response, false);
        // Redirects: GET and HEAD only, to any http(s) URL.
        if ((status == 301 || status == 302 || status == 303 || status == 307 || status == 308) &&
            (x.req.method() == verb::get || x.req.method() == verb::head)) {
            auto loc = res.find(beast_http::field::location);
            if (loc != res.end()) {
                if (++x.redirects > x.limits.max_redirects) return finish(self, error::too_many_redirects, keep);
                error_code ec;
                auto next = resolve_location(loc->value(), ec);
                if (ec) return finish(self, ec, keep);
                release(keep);
                x.redirected = std::move(next);
                x.url = &*x.redirected;
                x.req.target((x.url->path.empty() ? std::string("/") : x.url->path) +
                             (x.url->query.empty() ? "" : "?" + x.url->query));
                x.req.set(beast_http::field::host, x.url->host_header);
                x.serialize_head();
                x.resent = false;
                return acquire(self);
            }
        }
        error_code ec = status_error(status, x.limits.server_errors_retryable);
        if (ec && x.feedback) {
            if (auto ra = res.find(beast_http::field::retry_after); ra != res.end())
                if (auto d = parse_retry_after(ra->value())) x.feedback->retry_after = *d;
        }
        finish(self, ec, keep);
    }

    // The Location of a redirect, against the URL just requested.
    base_url resolve_location(std::string_view location, error_code& ec) const {
        auto& x = *x_;
        boost::urls::url current;
        current.set_scheme(x.url->tls ? "https" : "http");
        current.set_encoded_authority(x.url->authority);
        auto target = boost::urls::parse_origin_form(std::string_view(x.req.target()));
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
        auto& x = *x_;
        if (!x.leased) return;
        x.leased = false;
        if (keep && x.conn) x.conn->buffer.clear();
        x.pool.release(x.url->origin, std::move(x.conn), keep && x.conn != nullptr);
    }

    template <class Self>
    void finish(Self& self, error_code ec, bool keep = false) {
        const bool cancelled = self.get_cancellation_state().cancelled() != boost::asio::cancellation_type::none;
        if (cancelled && ec) ec = boost::asio::error::operation_aborted;
        release(keep && !cancelled);  // a status error leaves the connection usable
        if (ec) x_.reset();
        self.complete(ec, std::move(x_));
    }

    exchange_ptr x_;
    error_code early_;
};

/// Runs the exchange `x` (prepared), or completes with `early` (posted) when
/// that is set. Completion: `void(error_code, exchange_ptr)`: the exchange
/// with its response when no error. A template only so that a translation
/// unit that never calls it does not instantiate it.
template <class Handler = exchange_handler>
void async_exchange(exchange_ptr x, error_code early, Handler&& handler) {
    static_assert(std::is_same_v<std::decay_t<Handler>, exchange_handler>, "one instantiation: pass an exchange_handler");
    boost::asio::any_io_executor ex = x->pool.get_executor();
    if (!x->pool.runs_serially()) ex = boost::asio::make_strand(ex);
    exchange_handler h = std::forward<Handler>(handler);
    if (auto caller = h.handler.get_cancellation_slot(); caller.is_connected()) {
        h.forwarder = std::make_shared<cancellation_forwarder>(ex);
        caller.assign([fw = h.forwarder](boost::asio::cancellation_type t) {
            boost::asio::post(fw->ex, [fw, t] {
                if (!fw->done) fw->signal.emit(t);
            });
        });
    }
    boost::asio::async_compose<exchange_handler, void(error_code, exchange_ptr)>(
        exchange_op(std::move(x), early), h, ex);
}

}  // namespace courier::http::detail

#endif
