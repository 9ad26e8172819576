// Middleware: code that runs around every request of an http::server
// (authentication, logging, metrics, CORS...). Each one receives the request,
// the handler's context and `next`, the rest of the chain; it may answer
// itself without calling `next` (a 401), or call it and inspect or change the
// response.
#ifndef COURIER_HTTP_MIDDLEWARE_HPP
#define COURIER_HTTP_MIDDLEWARE_HPP

#include <courier/context.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <functional>
#include <vector>

namespace courier::http {

/// What raw handlers and middleware see: the whole request, body read.
using request = boost::beast::http::request<boost::beast::http::string_body>;
/// What they answer. The server fills in the version, Connection and
/// Content-Length; a handler that sets `Connection: close` closes the
/// connection after the response.
using response = boost::beast::http::response<boost::beast::http::string_body>;

namespace detail {
/// The innermost step of a chain: routing and the route's handler.
class chain_end {
public:
    virtual boost::asio::awaitable<response> operator()(request& req, context& ctx) = 0;

protected:
    ~chain_end() = default;
};
}  // namespace detail

class next;

/// `awaitable<response>(request&, context&, next)`. Middleware runs on the
/// connection's strand, in registration order, the first registered
/// outermost. It may read and change the request and the context (set the
/// deadline, metadata...) before calling `next`.
using middleware = std::function<boost::asio::awaitable<response>(request&, context&, next)>;

/// The rest of the chain. Call it at most once, and await the result before
/// `req` or `ctx` go away (they belong to the server while the request runs).
class next {
public:
    next(const std::vector<middleware>& chain, std::size_t index, detail::chain_end& end) noexcept
        : chain_(&chain), index_(index), end_(&end) {}

    boost::asio::awaitable<response> operator()(request& req, context& ctx) const {
        if (index_ < chain_->size()) return (*chain_)[index_](req, ctx, next(*chain_, index_ + 1, *end_));
        return (*end_)(req, ctx);
    }

private:
    const std::vector<middleware>* chain_;
    std::size_t index_;
    detail::chain_end* end_;
};

}  // namespace courier::http

#endif
