// What every policy's service has in common: the wrapped service, the
// types it forwards, and the initiation of async_call, which hands the
// handler, request and context to the layer's own `start`.
#ifndef COURIER_DETAIL_LAYERED_SERVICE_HPP
#define COURIER_DETAIL_LAYERED_SERVICE_HPP

#include <courier/context.hpp>
#include <courier/error.hpp>
#include <courier/detail/start_call.hpp>
#include <courier/service.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <utility>

namespace courier::detail {

/// CRTP base: Derived has `template <class H> void start(H&&, request_type&&, context&&)`.
template <class Derived, service S>
class layered_service {
public:
    using request_type = typename S::request_type;
    using response_type = typename S::response_type;
    using executor_type = typename S::executor_type;

    explicit layered_service(S svc) : svc_(std::move(svc)) {}

    executor_type get_executor() const { return svc_.get_executor(); }
    /// The wrapped service.
    S& next() noexcept { return svc_; }
    const S& next() const noexcept { return svc_; }

    /// Starts a call through this layer; each layer documents its
    /// completion, errors and cancellation. The service must outlive it.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_call(request_type req, context ctx, CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, response_type)>(
            [self = static_cast<Derived*>(this)](auto handler, request_type&& req, context&& ctx) {
                self->start(std::move(handler), std::move(req), std::move(ctx));
            },
            token, std::move(req), std::move(ctx));
    }

protected:
    /// Calls the wrapped service (directly when it is one of courier's).
    template <class Handler>
    void call_next(Handler&& handler, request_type&& req, context&& ctx) {
        detail::start_call(svc_, std::forward<Handler>(handler), std::move(req), std::move(ctx));
    }

    S svc_;

private:
    friend service_access;
    template <class Handler>
    void start_call(Handler&& handler, request_type&& req, context&& ctx) {
        static_cast<Derived*>(this)->start(std::forward<Handler>(handler), std::move(req), std::move(ctx));
    }
};

}  // namespace courier::detail

#endif
