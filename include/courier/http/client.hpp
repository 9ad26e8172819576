// The HTTP client: a courier service Req -> Rep over one REST endpoint of a
// base URL, with keep-alive connections from a shared pool. Every policy
// wraps it like any other service.
#ifndef COURIER_HTTP_CLIENT_HPP
#define COURIER_HTTP_CLIENT_HPP

#include <courier/codec/json.hpp>
#include <courier/context.hpp>
#include <courier/detail/start_call.hpp>
#include <courier/error.hpp>
#include <courier/http/connection_pool.hpp>
#include <courier/http/detail/base_url.hpp>
#include <courier/http/detail/exchange.hpp>
#include <courier/http/detail/request_mapping.hpp>
#include <courier/http/endpoint.hpp>
#include <courier/idempotent.hpp>
#include <courier/system_error.hpp>
#include <courier/detail/slot_clearing_handler.hpp>
#include <courier/detail/work_guard.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/dispatch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace courier::http {

struct client_options {
    /// Largest response body accepted; beyond it the call fails with
    /// http::error::body_too_large.
    std::size_t body_limit = 32 * 1024 * 1024;
    /// A response's status line and header fields, in bytes; more fails
    /// the call with http::error::bad_response.
    std::uint32_t max_header_size = 8 * 1024;
    /// Limits on what a chunked response carries besides its body: a
    /// chunk extension's size, the trailer fields' total size and count.
    /// Beyond any of them the call fails with http::error::bad_response and
    /// the connection is closed. Trailers are read and dropped.
    std::size_t max_chunk_extension_size = 4 * 1024;
    std::size_t max_trailer_size = 16 * 1024;
    std::size_t max_trailer_count = 100;
    /// Redirects followed for GET and HEAD (301, 302, 303, 307, 308).
    unsigned max_redirects = 5;
    /// The deadline of a call whose context has none.
    std::chrono::milliseconds default_timeout{std::chrono::seconds(30)};
    /// Whether 5xx statuses match condition::retryable (408, 429, 502, 503
    /// and 504 always do).
    bool server_errors_retryable = true;
    std::string user_agent = "courier/0.1";
    /// The pool's options, when the client makes its own pool.
    pool_options pool{};
};

/// A service calling `ep` under `base_url` (e.g. "http://127.0.0.1:3001" or
/// "https://users.internal/api"). Cheap to copy: copies share the endpoint,
/// the options and the pool.
template <class Req, class Rep, class Codec = json_codec>
class client {
public:
    using request_type = Req;
    using response_type = Rep;
    using executor_type = boost::asio::any_io_executor;

    /// Throws courier::system_error(http::error::bad_url) for a URL that is
    /// not an absolute http(s) URL.
    client(executor_type ex, std::string_view base_url, endpoint<Req, Rep> ep, client_options opts = {},
           Codec codec = {})
        // `opts` is copied, not moved: the order in which the arguments are
        // evaluated is unspecified, and the pool needs opts.pool intact.
        : client(std::make_shared<connection_pool>(std::move(ex), opts.pool), base_url, std::move(ep), opts,
                 std::move(codec)) {}

    /// A client whose connections come from `pool` (shared with others).
    client(std::shared_ptr<connection_pool> pool, std::string_view base_url, endpoint<Req, Rep> ep,
           client_options opts = {}, Codec codec = {}) {
        error_code ec;
        auto base = detail::base_url::parse(base_url, ec);
        if (ec || !base.query.empty())
            throw courier::system_error(error::bad_url, "not an absolute http(s) URL without query: " +
                                                            std::string(base_url));
        shared_ = std::make_shared<const shared>(
            shared{std::move(pool), std::move(base), std::move(ep), std::move(opts), std::move(codec)});
    }

    executor_type get_executor() const { return shared_->pool->get_executor(); }
    const std::shared_ptr<connection_pool>& pool() const noexcept { return shared_->pool; }

    /// Sends the request and decodes the response.
    /// Completion: `void(error_code, Rep)`, on the handler's associated
    /// executor (default: the pool's), never inline. The whole call (waiting
    /// for a connection, DNS, connect, TLS, write, read, redirects) ends by
    /// `ctx.deadline` (or now + default_timeout) with error::timeout. Errors:
    /// statuses through http::status_error (404 -> error::not_found, 503 ->
    /// error::unavailable, others in http::status_category()); http::error
    /// values; connection errors from Asio; encode/decode errors of the
    /// codec. A 429 or 503 with Retry-After sets ctx.feedback->retry_after.
    /// Cancellation: terminal, partial and total; the connection in use is
    /// closed, never returned to the pool half-used.
    /// A reused keep-alive connection the server had closed is detected
    /// (nothing came back) and an idempotent request is sent once more on a
    /// fresh connection.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_call(Req req, context ctx, CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, Rep)>(
            initiation{shared_}, token, std::move(req), std::move(ctx));
    }

private:
    struct shared {
        std::shared_ptr<connection_pool> pool;
        detail::base_url base;
        endpoint<Req, Rep> ep;
        client_options opts;
        Codec codec;
        detail::exchange_limits limits{
            opts.body_limit,
            opts.max_redirects,
            opts.server_errors_retryable,
            opts.max_header_size,
            {opts.max_chunk_extension_size, opts.max_trailer_size, opts.max_trailer_count}};
    };

    // Decodes the reply once the exchange is over and completes the caller's
    // handler on its executor, which it keeps busy until then. Holds the
    // client's state (pool, codec) alive meanwhile.
    template <class Handler>
    struct reply_handler {
        using work_guard = courier::detail::work_guard<
            boost::asio::associated_executor_t<Handler, executor_type>>;

        reply_handler(Handler&& h, std::shared_ptr<const shared> c)
            : handler(std::move(h)), cl(std::move(c)),
              work(boost::asio::get_associated_executor(handler, cl->pool->get_executor())) {}

        Handler handler;
        std::shared_ptr<const shared> cl;
        work_guard work;

        using cancellation_slot_type = boost::asio::associated_cancellation_slot_t<Handler>;
        cancellation_slot_type get_cancellation_slot() const noexcept {
            return boost::asio::get_associated_cancellation_slot(handler);
        }

        void operator()(error_code ec, detail::exchange_ptr x) {
            Rep rep{};
            if (!ec) rep = cl->codec.template decode<Rep>(x->response().body(), ec, nullptr);
            x.reset();  // back to the allocator before the caller runs
            auto ex = work.get_executor();
            work.reset();
            // The caller's slot is cleared where the caller emits, its executor.
            boost::asio::dispatch(ex, boost::asio::append(courier::detail::slot_clearing_handler{std::move(handler)}, ec,
                                                          std::move(rep)));
        }
    };

    // Encodes the request, then hands a type-erased handler to the exchange
    // (see detail/exchange.hpp for why).
    template <class Handler>
    static void launch(std::shared_ptr<const shared> cl, Handler&& handler, Req&& req, context&& ctx) {
        const shared& s = *cl;
        auto x = std::make_unique<detail::exchange>(*s.pool, s.base, s.limits, idempotent_call(s.ep.method));
        error_code ec;
        if (!ctx.deadline)
            ctx.deadline = courier::detail::deadline_after(context::clock::now(), s.opts.default_timeout);
        if (ctx.expired()) {
            ec = courier::error::timeout;
        } else {
            std::string target, body;
            if (detail::encode_request(s.ep, req, s.base.path, target, body, ec))
                x->prepare(s.ep.method, target, std::move(body), s.codec.content_type(), s.opts.user_agent, ctx);
        }
        using reply = reply_handler<std::decay_t<Handler>>;
        detail::async_exchange(std::move(x), ec,
                               detail::exchange_handler{reply(std::forward<Handler>(handler), std::move(cl))});
    }

    struct initiation {
        std::shared_ptr<const shared> cl;
        template <class Handler>
        void operator()(Handler&& handler, Req&& req, context&& ctx) {
            launch(std::move(cl), std::forward<Handler>(handler), std::move(req), std::move(ctx));
        }
    };

    friend courier::detail::service_access;
    template <class Handler>
    void start_call(Handler&& handler, Req&& req, context&& ctx) {
        launch(shared_, std::forward<Handler>(handler), std::move(req), std::move(ctx));
    }

    /// Whether a request may be sent twice: by its method (RFC 9110 9.2.2)
    /// or because its type says so.
    static bool idempotent_call(verb v) noexcept {
        return is_idempotent_v<Req> || v == verb::get || v == verb::head || v == verb::put ||
               v == verb::delete_ || v == verb::options || v == verb::trace;
    }

    std::shared_ptr<const shared> shared_;
};

}  // namespace courier::http

#endif
