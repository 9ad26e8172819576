// The HTTP/REST server: routes (method + path template) bound to courier
// request handlers, whose requests are rebuilt from path, query and JSON body
// and whose replies are sent as JSON; raw Beast handlers; middleware; TLS;
// the timeouts and limits a server facing the internet needs; graceful
// shutdown.
#ifndef COURIER_HTTP_SERVER_HPP
#define COURIER_HTTP_SERVER_HPP

#include <courier/http/detail/listener.hpp>
#include <courier/http/detail/route_handler.hpp>
#include <courier/http/detail/server_state.hpp>
#include <courier/http/endpoint.hpp>
#include <courier/http/middleware.hpp>
#include <courier/http/path_template.hpp>
#include <courier/server.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace courier::http {

/// Limits and timeouts of an http::server. Defaults suit a service behind a
/// load balancer; lower them for one facing the internet directly.
struct server_options {
    /// From accepting a connection (or the first byte of a later request)
    /// to the end of the request's headers; also bounds the TLS handshake.
    /// Defends against clients that trickle headers (slowloris): the
    /// connection is closed without a response.
    std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
    /// How long a keep-alive connection may wait for its next request.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
    /// Reading a request's body, once its headers are in.
    std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
    /// Writing one response (and the TLS close_notify).
    std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
    /// Larger bodies are answered 413 and the connection closed.
    std::uint64_t max_body_size = 1024 * 1024;
    /// Request line plus header fields, in bytes; more is answered 431.
    std::uint32_t max_header_size = 16 * 1024;
    /// More header fields than this are answered 431.
    std::size_t max_header_count = 100;
    /// A chunk extension (`1;name=value` in a chunked body) longer than
    /// this, in bytes, is answered 413. Courier reads no extension.
    std::size_t max_chunk_extension_size = 4 * 1024;
    /// Trailer fields (after a chunked body) larger in all than this, in
    /// bytes, or more of them than max_trailer_count, are answered 431.
    /// Trailers are read and dropped: handlers see header fields only.
    std::size_t max_trailer_size = 16 * 1024;
    std::size_t max_trailer_count = 100;
    /// Connections beyond this are accepted and closed at once (they do
    /// not wait in the backlog), so clients fail fast and try elsewhere.
    std::size_t max_connections = 10000;
    /// The listen backlog.
    int backlog = boost::asio::socket_base::max_listen_connections;
    /// When set, every listener speaks TLS with this context (certificate,
    /// key, protocol versions are the context's).
    std::shared_ptr<boost::asio::ssl::context> tls{};
    /// Mutual TLS: clients must present a certificate the context verifies.
    bool require_client_certificate = false;
    /// A promise that one thread runs the server's executor (an io_context
    /// whose run() is called by one thread): connections then run on that
    /// executor directly instead of on a strand each, which saves a pass
    /// through the strand's queue on every completion (about an eighth of
    /// the server's work for a small request). If several threads run it,
    /// handlers of different connections race: leave it false then.
    bool single_threaded = false;
};

/// Per-route settings of a typed route.
struct route_options {
    /// The status of a successful reply: 201 for a creating POST...
    unsigned status = 200;
};

/// Serves HTTP/1.0 and 1.1 (keep-alive, pipelining) on one or more listeners.
/// Connections run on strands of the server's executor, so one io_context may
/// be run by any number of threads; handlers and middleware of one connection
/// never run concurrently, those of different connections may. (With
/// server_options::single_threaded, on the executor itself.)
/// Register routes and middleware before the first listen(); after it the
/// server is immutable except for shutting down. Not thread-safe: call its
/// members from one thread at a time.
class server {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit server(executor_type ex, server_options options = {})
        : state_(std::make_shared<state>(std::move(ex), std::move(options))) {}

    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    explicit server(ExecutionContext& ctx, server_options options = {})
        : server(executor_type(ctx.get_executor()), std::move(options)) {}

    server(const server&) = delete;
    server& operator=(const server&) = delete;
    server(server&&) noexcept = default;
    server& operator=(server&& o) noexcept {
        if (this != &o) {
            close();
            state_ = std::move(o.state_);
            listeners_ = std::move(o.listeners_);
        }
        return *this;
    }
    /// Same as close().
    ~server() { close(); }

    /// Binds a courier request handler (function, coroutine or service; see
    /// courier::request_handler) for `Req -> Rep` to `method` and `path`.
    /// The request is built from the path parameters, the query and the JSON
    /// body (detail/request_mapping.hpp); a request that does not decode is
    /// answered 400 without running the handler. The reply is sent as JSON
    /// with `options.status`; an error as `status_of(ec)` with
    /// `{"error": text}`, text being the diagnostic of a thrown
    /// courier::system_error or else the error's message. Throws
    /// std::invalid_argument when the route exists, std::logic_error after
    /// listen().
    template <class Req, class Rep, class Handler>
        requires request_handler<Handler, Req, Rep>
    server& route(verb method, path_template path, Handler handler, route_options options = {}) {
        return add(method, std::move(path),
                   std::make_unique<detail::typed_route<Req, Rep, Handler>>(std::move(handler), options.status));
    }

    /// The same for an endpoint shared with the client side.
    template <class Req, class Rep, class Handler>
        requires request_handler<Handler, Req, Rep>
    server& route(const endpoint<Req, Rep>& ep, Handler handler, route_options options = {}) {
        return route<Req, Rep>(ep.method, ep.path, std::move(handler), options);
    }

    /// Binds a raw handler: `awaitable<response>(request&, context&)` or
    /// `response(request&, context&)`, optionally with a third parameter
    /// `const path_params&`. The server sets the version, keep-alive and
    /// Content-Length of its response. An exception becomes an error
    /// response as for typed routes.
    template <class Handler>
        requires detail::raw_handler<Handler>
    server& route_raw(verb method, path_template path, Handler handler) {
        return add(method, std::move(path), std::make_unique<detail::raw_route<Handler>>(std::move(handler)));
    }

    /// Appends a middleware (see middleware.hpp): the first added runs
    /// outermost. It sees every request, routed or not (a 404 too).
    server& use(middleware mw) {
        check_mutable();
        state_->chain.push_back(std::move(mw));
        return *this;
    }

    /// Listens on `address` (an IP literal: "127.0.0.1", "::1", "0.0.0.0")
    /// and `port` (0: an ephemeral one) and starts accepting on the server's
    /// executor. Returns the bound port. Several listeners may be added.
    /// Throws courier::system_error (address in use, bad address...).
    unsigned short listen(std::string_view address, unsigned short port) {
        error_code ec;
        const auto bound = listen(address, port, ec);
        if (ec) throw system_error(ec, "http::server cannot listen on " + std::string(address) + ":" +
                                           std::to_string(port));
        return bound;
    }
    unsigned short listen(std::string_view address, unsigned short port, error_code& ec) {
        ec = {};
        const auto ip = boost::asio::ip::make_address(address, ec);
        if (ec) return 0;
        auto l = std::make_shared<detail::listener<server_options>>(
            state_, boost::asio::ip::tcp::endpoint(ip, port), ec);
        if (ec) return 0;
        listeners_.push_back(l->local_endpoint());
        state_->add_listener(l);
        l->start();
        return l->local_endpoint().port();
    }

    /// The port of the first listener (0 before listen()).
    unsigned short port() const noexcept { return listeners_.empty() ? 0 : listeners_.front().port(); }
    /// Every listener's bound address.
    const std::vector<boost::asio::ip::tcp::endpoint>& local_endpoints() const noexcept { return listeners_; }
    /// Open connections now (for metrics and tests).
    std::size_t connection_count() const { return state_ ? state_->connection_count() : 0; }

    /// Graceful shutdown: stops accepting, closes idle keep-alive
    /// connections at once, lets requests in flight finish (their responses
    /// say `Connection: close`), and after `grace` cuts what is still open
    /// (handlers receive terminal cancellation).
    /// Completion: `void(error_code)`, no error when everything finished
    /// within `grace`, courier::error::timeout when connections had to be
    /// cut; it comes once the last connection is closed, on the handler's
    /// associated executor (default: the server's), never inline.
    /// Cancellation (terminal): cuts every connection at once and completes
    /// with asio::error::operation_aborted without waiting for them.
    /// The server object may be destroyed while the operation runs.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_shutdown(std::chrono::steady_clock::duration grace, CompletionToken&& token = {}) {
        return boost::asio::async_compose<CompletionToken, void(error_code)>(
            shutdown_op{state_, grace, nullptr}, token, state_->executor);
    }

    /// Stops at once: closes the listeners and every connection, cancelling
    /// handlers in flight (they finish on the executor afterwards, so what
    /// they use must outlive them; prefer async_shutdown when it matters).
    /// Does not block; idempotent.
    void close() noexcept {
        if (state_) state_->stop_all(true);
    }

    executor_type get_executor() const noexcept { return state_->executor; }

private:
    using state = detail::server_state<server_options>;

    void check_mutable() const {
        if (!listeners_.empty())
            throw std::logic_error("http::server: routes and middleware must be added before listen()");
    }

    server& add(verb method, path_template path, std::unique_ptr<detail::route_handler> h) {
        check_mutable();
        state_->routes.add(method, std::move(path), std::move(h));
        return *this;
    }

    struct shutdown_op {
        std::shared_ptr<state> st;
        std::chrono::steady_clock::duration grace;
        std::shared_ptr<boost::asio::steady_timer> grace_timer;

        template <class Self>
        void operator()(Self& self) {
            st->stop_all(false);
            grace_timer = std::make_shared<boost::asio::steady_timer>(st->executor, grace);
            grace_timer->async_wait([s = st](error_code ec) {
                if (!ec) s->stop_all(true);
            });
            st->async_wait_drained(std::move(self));
        }

        template <class Self>
        void operator()(Self& self, error_code) {
            grace_timer->cancel();
            if (self.cancelled() != boost::asio::cancellation_type::none) {
                st->stop_all(true);
                self.complete(boost::asio::error::operation_aborted);
                return;
            }
            self.complete(st->forced() ? error_code(courier::error::timeout) : error_code());
        }
    };

    std::shared_ptr<state> state_;
    std::vector<boost::asio::ip::tcp::endpoint> listeners_;
};

}  // namespace courier::http

#endif
