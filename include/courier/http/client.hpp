// The HTTP client: a courier service Req -> Rep over one REST endpoint of a
// base URL, with keep-alive connections from a shared pool. Every policy
// wraps it like any other service.
#ifndef COURIER_HTTP_CLIENT_HPP
#define COURIER_HTTP_CLIENT_HPP

#include <courier/codec/json.hpp>
#include <courier/context.hpp>
#include <courier/error.hpp>
#include <courier/http/connection_pool.hpp>
#include <courier/http/detail/base_url.hpp>
#include <courier/http/detail/call_op.hpp>
#include <courier/http/endpoint.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace courier::http {

struct client_options {
    /// Largest response body accepted; beyond it the call fails with
    /// http::error::body_too_large.
    std::size_t body_limit = 32 * 1024 * 1024;
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
        : client(std::make_shared<connection_pool>(std::move(ex), opts.pool), base_url, std::move(ep),
                 std::move(opts), std::move(codec)) {}

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
        return boost::asio::async_compose<CompletionToken, void(error_code, Rep)>(
            detail::call_op<shared, Req, Rep>(shared_, std::move(req), std::move(ctx)), token,
            shared_->pool->get_executor());
    }

private:
    struct shared {
        std::shared_ptr<connection_pool> pool;
        detail::base_url base;
        endpoint<Req, Rep> ep;
        client_options opts;
        Codec codec;
    };
    std::shared_ptr<const shared> shared_;
};

}  // namespace courier::http

#endif
