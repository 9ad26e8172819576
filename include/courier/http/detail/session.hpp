// One HTTP/1.1 connection (plain or TLS): reads requests one after another
// (pipelined ones wait in the buffer and are answered in order), runs them
// through middleware and router, writes the answers, and enforces the
// connection's timeouts and limits. Everything runs on the connection's
// strand, as one coroutine.
#ifndef COURIER_HTTP_DETAIL_SESSION_HPP
#define COURIER_HTTP_DETAIL_SESSION_HPP

#include <courier/http/context_fields.hpp>
#include <courier/http/detail/limited_parser.hpp>
#include <courier/http/detail/request_head.hpp>
#include <courier/http/detail/responses.hpp>
#include <courier/http/detail/route_handler.hpp>
#include <courier/http/detail/serialize_head.hpp>
#include <courier/http/detail/server_state.hpp>
#include <courier/http/detail/watchdog.hpp>
#include <courier/http/middleware.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace courier::http::detail {

template <class Stream>
inline constexpr bool is_tls_stream = !std::is_same_v<Stream, boost::asio::ip::tcp::socket>;

template <class Stream, class Options>
class session final : public stoppable,
                      public chain_end,
                      public std::enable_shared_from_this<session<Stream, Options>> {
public:
    /// `executor` runs the connection (its strand, unless single-threaded);
    /// the stream's own executor may be the server's, unstranded.
    session(std::shared_ptr<server_state<Options>> state, Stream stream, boost::asio::any_io_executor executor)
        : state_(std::move(state)),
          executor_(std::move(executor)),
          stream_(std::move(stream)),
          watchdog_(executor_, shortest_timeout()),
          buffer_(read_buffer_limit(state_->options.max_header_size, parse_limits())) {}

    /// Starts the connection's coroutine on its strand. The caller has
    /// admitted the session into the state's registry.
    void start() {
        // On the connection's executor: stop() emits on cancel_ from there,
        // and co_spawn connects the coroutine to cancel_'s slot.
        boost::asio::dispatch(executor_, [self = this->shared_from_this()] {
            // A step that overruns its deadline closes the socket, which ends
            // the operation under way (as Beast's stream timeouts did).
            self->watchdog_.start([self] { self->close_socket(); });
            boost::asio::co_spawn(self->executor_, self->run(),
                                  boost::asio::bind_cancellation_slot(self->cancel_.slot(), [self](std::exception_ptr) {
                                      self->watchdog_.stop();
                                      self->close_socket();
                                      self->state_->leave(self.get());
                                  }));
        });
    }

    void stop(bool force) override {
        boost::asio::post(executor_, [self = this->shared_from_this(), force] {
            self->stopping_ = true;
            if (force) {
                self->cancel_.emit(boost::asio::cancellation_type::terminal);
                self->close_socket();
            } else if (self->idle_) {
                error_code ignored;
                self->lowest().cancel(ignored);  // ends the wait for a next request; the loop closes
            }
        });
    }

private:
    using clock = std::chrono::steady_clock;
    using parser_type = limited_parser<true>;

    // The token of the reads and writes of every request: a deferred
    // operation, which the coroutine awaits without the frame that
    // use_awaitable's initiation costs. Beast's ssl_stream (1.81) cannot
    // initiate one, so TLS connections keep use_awaitable.
    static constexpr auto io_token() noexcept {
        if constexpr (is_tls_stream<Stream>) return tuple_awaitable;
        else return tuple_deferred;
    }

    // The socket itself, not Beast's tcp_stream: the watchdog keeps the
    // deadlines, and tcp_stream's layer (a work guard and bookkeeping per
    // read and write) would only add to every request.
    boost::asio::ip::tcp::socket& lowest() noexcept { return boost::beast::get_lowest_layer(stream_); }
    void close_socket() noexcept {
        error_code ignored;
        lowest().close(ignored);
    }
    const Options& options() const noexcept { return state_->options; }
    framing_limits parse_limits() const noexcept {
        const auto& o = options();
        return {o.max_chunk_extension_size, o.max_trailer_size, o.max_trailer_count};
    }
    std::chrono::steady_clock::duration shortest_timeout() const noexcept {
        const auto& o = options();
        return std::min({o.header_timeout, o.idle_timeout, o.body_timeout, o.write_timeout});
    }

    // The connection's loop. Each request is read, answered and written in
    // this frame, not in a coroutine of its own: Asio recycles two coroutine
    // frames per thread, and a route's handler and the user's coroutine take
    // both; a third per request missed that cache, and each miss was an
    // aligned malloc of over 1 KiB (which also makes glibc consolidate its
    // fast bins).
    boost::asio::awaitable<void> run() {
        namespace bhttp = boost::beast::http;
        if constexpr (is_tls_stream<Stream>) {
            watchdog_.expires_after(options().header_timeout);
            auto [ec] = co_await stream_.async_handshake(boost::asio::ssl::stream_base::server, tuple_awaitable);
            if (ec) co_return;
        }
        bool first = true;
        while (!stopping_) {
            if (buffer_.size() == 0) {
                // A client that connects and sends nothing is held to the
                // header timeout; an idle keep-alive connection to the idle one.
                idle_ = true;
                watchdog_.expires_after(first ? options().header_timeout : options().idle_timeout);
                auto space = buffer_.prepare(read_chunk);
                auto reading = stream_.async_read_some(space, io_token());
                auto [ec, n] = co_await std::move(reading);
                idle_ = false;
                buffer_.commit(n);
                if (ec) co_return;  // closed, timed out, or stopped while idle
            }
            first = false;

            parser_type parser(parse_limits());
            parser.header_limit(options().max_header_size);
            parser.body_limit(options().max_body_size);
            watchdog_.expires_after(options().header_timeout);
            auto ec = parse_buffered(parser, &parser_type::is_header_done);
            if (ec == bhttp::error::need_more) {
                auto reading = read(parser, &parser_type::is_header_done);
                ec = co_await std::move(reading);
            }
            if (ec) {
                co_await reject(ec, parser);
                break;
            }
            const auto& fields = parser.get().base();
            if (static_cast<std::size_t>(std::distance(fields.begin(), fields.end())) > options().max_header_count) {
                auto res = json_error(431, "too many header fields (at most " +
                                               std::to_string(options().max_header_count) + ")");
                co_await send_and_close(res);
                break;
            }
            // Before the body: a request whose body Beast would not frame
            // (an unknown Transfer-Encoding) counts as done already.
            if (const auto rejection = check_request_head(parser.get().base())) {
                auto res = json_error(rejection->status, rejection->reason);
                co_await send_and_close(res);
                break;
            }
            if (!parser.is_done()) {
                if (boost::beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
                    bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
                    watchdog_.expires_after(options().write_timeout);
                    auto [write_error, n] = co_await bhttp::async_write(stream_, go_on, tuple_awaitable);
                    if (write_error) break;
                }
                watchdog_.expires_after(options().body_timeout);
                parser.eager(true);
                ec = parse_buffered(parser, &parser_type::is_done);
                if (ec == bhttp::error::need_more) {
                    auto reading = read(parser, &parser_type::is_done);
                    ec = co_await std::move(reading);
                }
                if (ec) {
                    co_await reject(ec, parser);
                    break;
                }
            }
            watchdog_.expires_never();  // handlers bound their own time (the context's deadline)
            request req = parser.release();
            if (const auto t = req.target(); t.empty() || t.front() != '/') to_origin_form(req);

            // Middleware, routing and handler; in this frame rather than in
            // coroutines of their own, as every frame costs an allocation.
            response res;
            std::exception_ptr failure;
            try {
                context ctx = http::extract(req.base());
                const next chain(state_->chain, 0, *this);
                auto answering = chain(req, ctx);
                res = co_await std::move(answering);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) res = error_response(failure);

            const auto framed = prepare(req, res);
            watchdog_.expires_after(options().write_timeout);
            auto writing = boost::asio::async_write(stream_, buffers_of(res, framed.length), io_token());
            auto [written, n] = co_await std::move(writing);
            if (written || !framed.keep_alive) break;
        }
        co_await close_gracefully();
    }

    // Feeds the parser what the buffer holds until `done(parser)`;
    // http::error::need_more when that needs more bytes.
    error_code parse_buffered(parser_type& parser, bool (parser_type::*done)() const) {
        while (!(parser.*done)()) {
            if (buffer_.size() == 0) return boost::beast::http::error::need_more;
            error_code ec;
            buffer_.consume(parser.put(buffer_.data(), ec));
            if (ec) return ec;  // need_more too: the buffer holds part of a header
        }
        return {};
    }

    // Reads until `done(parser)`: what async_read_header and async_read do,
    // without their composed operation, which completes by post even when
    // the buffer holds the request already (the usual case: the loop in
    // run() read it, or it came pipelined behind the previous one), so
    // run() comes here only when parse_buffered() needs more.
    boost::asio::awaitable<error_code> read(parser_type& parser, bool (parser_type::*done)() const) {
        namespace bhttp = boost::beast::http;
        for (;;) {
            auto ec = parse_buffered(parser, done);
            if (ec != bhttp::error::need_more) co_return ec;
            // Full, and what it holds is not yet a header, chunk line or
            // trailer section: one longer than the limits allow.
            if (buffer_.size() >= buffer_.max_size()) co_return bhttp::error::buffer_overflow;
            auto space = buffer_.prepare(boost::beast::read_size(buffer_, max_read));
            auto reading = stream_.async_read_some(space, io_token());
            auto [read_error, n] = co_await std::move(reading);
            buffer_.commit(n);
            if (read_error == boost::asio::error::eof) {
                // The client closed: a message cut short, or none at all.
                if (!parser.got_some()) co_return bhttp::error::end_of_stream;
                ec = {};
                parser.put_eof(ec);
                if (ec || !(parser.*done)()) co_return ec ? ec : error_code(bhttp::error::partial_message);
                co_return error_code{};
            }
            if (read_error) co_return read_error;
        }
    }

    static boost::asio::awaitable<response> ready(response res) { co_return res; }

    // The end of the middleware chain: routing and the route's handler.
    // Not a coroutine itself: it hands over the handler's (one frame less
    // per request), so the parameters it matched live in the session.
    boost::asio::awaitable<response> operator()(request& req, context& ctx) override {
        // The router validates the path as it splits it, so Boost.URL parses
        // the target only when it has a query, or no route matched (400 for
        // a malformed target, 404 for an unknown one).
        const std::string_view target = req.target();
        const std::string_view path = target.substr(0, target.find('?'));
        if (path.size() != target.size() && !boost::urls::parse_origin_form(target))
            return ready(json_error(400, "invalid request target"));
        auto m = state_->routes.match(req.method(), path, params_);
        using outcome = typename decltype(state_->routes)::outcome;
        if (m.result == outcome::not_found) {
            if (!boost::urls::parse_origin_form(target)) return ready(json_error(400, "invalid request target"));
            return ready(json_error(404, "no route for " + reflected(req.method_string()) + " " + reflected(path)));
        }
        if (m.result == outcome::method_not_allowed) {
            response res = req.method() == verb::options
                               ? response{boost::beast::http::status::no_content, 11}
                               : json_error(405, "method " + reflected(req.method_string()) +
                                                     " not allowed; allowed: " + m.allow);
            res.set(boost::beast::http::field::allow, m.allow);
            return ready(std::move(res));
        }
        // Checked here, after middleware, so time spent there counts too.
        if (ctx.expired()) return ready(json_error(504, "the request's deadline passed before its handler ran"));
        return (*m.target)->handle(req, ctx, params_);
    }

    // The response as two buffers: its head, formatted into head_ (whose
    // capacity serves every request of the connection) with `length` as its
    // Content-Length when given, and its body.
    std::array<boost::asio::const_buffer, 2> buffers_of(const response& res,
                                                        std::optional<std::size_t> length = std::nullopt) {
        serialize_head(res.base(), head_, length);
        return {boost::asio::buffer(head_), boost::asio::buffer(res.body())};
    }

    struct framing {
        bool keep_alive;                    // the connection stays open after the response
        std::optional<std::size_t> length;  // a Content-Length for the head, not among the fields
    };

    // Version, keep-alive and framing of the response to `req`.
    framing prepare(const request& req, response& res) const {
        namespace bhttp = boost::beast::http;
        const bool handler_closes = !res.keep_alive();
        res.version(req.version());
        const bool keep_alive = req.keep_alive() && !handler_closes && !stopping_;
        res.keep_alive(keep_alive);
        std::optional<std::size_t> length;
        const unsigned status = res.result_int();
        if (status < 200 || status == 204 || status == 304) {
            // These never carry a body (a handler's would make Beast's
            // prepare_payload throw), and prepare_payload would add
            // "Content-Length: 0", which RFC 9110 forbids for 1xx and 204 and
            // which would misstate a 304's (the length of the 200 it stands
            // for, when the handler gives one).
            res.body().clear();
            res.erase(bhttp::field::transfer_encoding);
            if (status != 304) res.erase(bhttp::field::content_length);
        } else if (res.count(bhttp::field::content_length) || res.count(bhttp::field::transfer_encoding)) {
            res.prepare_payload();  // the handler framed it: made to agree with the body
        } else {
            // Every typed route's response: its length goes into the head
            // directly, as setting it in Beast's fields costs an allocation.
            length = res.body().size();
        }
        if (req.method() == verb::head) res.body().clear();  // Content-Length stays the GET one
        return {keep_alive, length};
    }

    boost::asio::awaitable<bool> send_and_close(response& res) {
        res.keep_alive(false);
        res.prepare_payload();
        watchdog_.expires_after(options().write_timeout);
        co_await boost::asio::async_write(stream_, buffers_of(res), tuple_awaitable);  // best effort: closing anyway
        co_return false;
    }

    // A request that could not be read: answer what deserves an answer,
    // then close (the rest of the stream cannot be trusted or was not read).
    boost::asio::awaitable<bool> reject(error_code ec, const parser_type& parser) {
        namespace bhttp = boost::beast::http;
        const auto& o = options();
        std::optional<response> res;
        if (ec == bhttp::error::buffer_overflow && parser.is_header_done())
            ec = overflowed_in_trailers() ? error_code(bhttp::error::header_limit)
                                          : error_code(bhttp::error::bad_chunk_extension);
        if (ec == bhttp::error::buffer_overflow)
            res = json_error(431, "request header larger than " + std::to_string(o.max_header_size) + " bytes");
        else if (parser.violation() == framing_violation::field_too_large)
            res = json_error(431, "a header or trailer field longer than " + std::to_string(max_field_size) + " bytes");
        else if (parser.violation() == framing_violation::trailer_count)
            res = json_error(431, "too many trailer fields (at most " + std::to_string(o.max_trailer_count) + ")");
        else if (ec == bhttp::error::header_limit && parser.is_header_done())
            res = json_error(431, "trailer fields larger than " + std::to_string(o.max_trailer_size) + " bytes");
        else if (ec == bhttp::error::bad_chunk_extension)
            res = json_error(413, "chunk line longer than its " + std::to_string(o.max_chunk_extension_size) +
                                      "-byte limit on extensions");
        else if (ec == bhttp::error::header_limit)
            res = json_error(431, "request header larger than " + std::to_string(o.max_header_size) + " bytes");
        else if (ec == bhttp::error::body_limit)
            res = json_error(413, "request body larger than " + std::to_string(o.max_body_size) + " bytes");
        else if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() && ec != bhttp::error::end_of_stream &&
                 ec != bhttp::error::partial_message)
            res = json_error(400, "malformed HTTP request: " + ec.message());
        // Timeouts, resets, a client gone mid-request: nobody to answer.
        if (!res) co_return false;
        co_return co_await send_and_close(*res);
    }

    // The buffer filled up in a chunked body: the parser holds back a chunk
    // line, or the last chunk's line and the trailer section after it,
    // until it has all of it. Trailers when that line is complete and says
    // size 0; a chunk line too long otherwise.
    bool overflowed_in_trailers() const {
        const auto* p = static_cast<const char*>(buffer_.data().data());
        std::string_view pending(p, buffer_.size());
        if (pending.starts_with("\r\n")) pending.remove_prefix(2);  // the end of the previous chunk's data
        const auto eol = pending.find("\r\n");
        if (eol == std::string_view::npos) return false;
        const auto size = pending.substr(0, std::min(eol, pending.find_first_of("; \t")));
        return !size.empty() && size.find_first_not_of('0') == std::string_view::npos;
    }

    boost::asio::awaitable<void> close_gracefully() {
        if constexpr (is_tls_stream<Stream>) {
            watchdog_.expires_after(options().write_timeout);
            co_await stream_.async_shutdown(tuple_awaitable);  // the peer may be gone: close regardless
        } else {
            error_code ec;
            lowest().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
        }
        close_socket();
    }

    static constexpr std::size_t read_chunk = 4096;
    static constexpr std::size_t max_read = 64 * 1024;

    std::shared_ptr<server_state<Options>> state_;
    boost::asio::any_io_executor executor_;
    Stream stream_;
    watchdog watchdog_;  // the deadline of the step under way; the stream's own timeouts stay off
    boost::beast::flat_buffer buffer_;  // bounded: read_buffer_limit()
    std::string head_;  // the head of the response being written
    path_params params_;  // of the request being answered
    boost::asio::cancellation_signal cancel_;
    bool stopping_ = false;  // strand only
    bool idle_ = false;      // strand only: waiting for the first byte of a request
};

}  // namespace courier::http::detail

#endif
