// A typed client: any service plus the convenience call forms (without a
// context, blocking, error_code). Wrapping rather than inheriting keeps the
// service trait small: a policy stack is a service, and client{stack} has
// every call form too.
#ifndef COURIER_CLIENT_HPP
#define COURIER_CLIENT_HPP

#include <courier/context.hpp>
#include <courier/detail/blocking.hpp>
#include <courier/error.hpp>
#include <courier/service.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/deferred.hpp>

#include <concepts>
#include <type_traits>
#include <utility>

namespace courier {

template <service Service>
class client {
public:
    using service_type = Service;
    using request_type = typename Service::request_type;
    using response_type = typename Service::response_type;
    using executor_type = typename Service::executor_type;

    explicit client(Service svc) : svc_(std::move(svc)) {}
    template <class... Args>
    explicit client(std::in_place_t, Args&&... args) : svc_(std::forward<Args>(args)...) {}

    executor_type get_executor() const { return svc_.get_executor(); }
    Service& next() noexcept { return svc_; }
    const Service& next() const noexcept { return svc_; }

    /// Starts a call.
    /// Completion: `void(error_code, response_type)`; the handler runs on its
    /// associated executor, by default this client's executor, never inline.
    /// Lifetime: the client (and what the service refers to) must outlive the
    /// operation; `req` and `ctx` are taken by value.
    /// Cancellation: terminal, partial and total, as the service supports
    /// (every courier backend and layer supports all three).
    /// Thread safety: distinct calls may start concurrently from any thread.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_call(request_type req, context ctx, CompletionToken&& token = {}) {
        return svc_.async_call(std::move(req), std::move(ctx), std::forward<CompletionToken>(token));
    }

    /// As above, with an empty context.
    template <class CompletionToken = boost::asio::deferred_t>
        requires(!std::same_as<std::remove_cvref_t<CompletionToken>, context>)
    auto async_call(request_type req, CompletionToken&& token = {}) {
        return svc_.async_call(std::move(req), context{}, std::forward<CompletionToken>(token));
    }

    /// Blocks the calling thread until the call completes; on failure sets
    /// `ec` and returns a value-initialised response. A call made from a
    /// thread that runs this client's executor fails at once with
    /// error::would_deadlock.
    response_type call(request_type req, context ctx, error_code& ec) {
        return detail::run_blocking<response_type>(get_executor(), ec, [&](auto handler) {
            svc_.async_call(std::move(req), std::move(ctx), std::move(handler));
        });
    }
    response_type call(request_type req, error_code& ec) { return call(std::move(req), context{}, ec); }

    /// Blocking and throwing: courier::system_error on failure. When the
    /// server asked to be called again later (HTTP Retry-After, reported
    /// through ctx.feedback), the diagnostic says after how long.
    response_type call(request_type req, context ctx = {}) {
        call_feedback feedback;  // outlives the call: call() below waits for it
        if (!ctx.feedback) ctx.feedback = &feedback;
        const call_feedback* heard = ctx.feedback;
        error_code ec;
        auto rep = call(std::move(req), std::move(ctx), ec);
        if (ec && heard->retry_after) throw system_error(ec, detail::retry_after_text(*heard->retry_after));
        if (ec) throw system_error(ec);
        return rep;
    }

private:
    Service svc_;
};

}  // namespace courier

#endif
