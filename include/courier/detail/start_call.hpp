// How one courier service calls another it wraps. The public async_call takes
// the request and context by value and goes through async_initiate; between
// courier's own layers that costs a move of each per layer for nothing. A
// service that grants service_access exposes its initiation, which takes them
// by rvalue reference and a ready handler; any other service is called
// through its async_call.
#ifndef COURIER_DETAIL_START_CALL_HPP
#define COURIER_DETAIL_START_CALL_HPP

#include <courier/context.hpp>

#include <utility>

namespace courier::detail {

/// Befriended by services that have `start_call(handler, request&&, context&&)`.
struct service_access {
    template <class S, class Handler>
    static auto start(S& svc, Handler&& handler, typename S::request_type&& req, context&& ctx)
        -> decltype(svc.start_call(std::forward<Handler>(handler), std::move(req), std::move(ctx))) {
        return svc.start_call(std::forward<Handler>(handler), std::move(req), std::move(ctx));
    }
};

/// Starts a call on `svc` with a completion handler (not a token).
template <class S, class Handler>
void start_call(S& svc, Handler&& handler, typename S::request_type&& req, context&& ctx) {
    if constexpr (requires { service_access::start(svc, std::forward<Handler>(handler), std::move(req), std::move(ctx)); })
        service_access::start(svc, std::forward<Handler>(handler), std::move(req), std::move(ctx));
    else
        svc.async_call(std::move(req), std::move(ctx), std::forward<Handler>(handler));
}

}  // namespace courier::detail

#endif
