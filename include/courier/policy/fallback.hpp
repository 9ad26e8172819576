// fallback: turns a failure into a response, e.g. a cached or default value.
#ifndef COURIER_POLICY_FALLBACK_HPP
#define COURIER_POLICY_FALLBACK_HPP

#include <courier/context.hpp>
#include <courier/detail/forwarding_handler.hpp>
#include <courier/detail/invoke_handler.hpp>
#include <courier/error.hpp>
#include <courier/policy/observer.hpp>
#include <courier/detail/layered_service.hpp>
#include <courier/service.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>

#include <type_traits>

namespace courier::policy {

template <service S, class F>
class fallback_service;

/// `F(const error_code&) -> Rep` (or `boost::system::result<Rep>`, whose
/// error replaces the original) is called for every failure except
/// cancellation, on the caller's executor.
template <class F>
class fallback {
public:
    explicit fallback(F f, observer on_event = {}) : f_(std::move(f)), on_event_(std::move(on_event)) {}

    template <service S>
    fallback_service<S, F> wrap(S svc) const {
        return {std::move(svc), f_, on_event_};
    }

private:
    F f_;
    observer on_event_;
};

template <service S, class F>
class fallback_service : public courier::detail::layered_service<fallback_service<S, F>, S> {
    using base = courier::detail::layered_service<fallback_service<S, F>, S>;
    friend base;

public:
    using typename base::executor_type;
    using typename base::request_type;
    using typename base::response_type;

    fallback_service(S svc, F f, observer on_event) : base(std::move(svc)), f_(std::move(f)), on_event_(std::move(on_event)) {}


private:
    /// As the inner service, with failures replaced by the fallback's value.
    template <class Handler>
    void start(Handler&& handler, request_type&& req, context&& ctx) {
        this->call_next(courier::detail::forward_to(std::move(handler), [this](auto&& h, error_code ec,
                                                                                 response_type rep) {
                            if (ec && ec != boost::asio::error::operation_aborted) {
                                detail::notify(on_event_, {.kind = event_kind::fallback, .policy = "fallback",
                                                           .error = ec});
                                auto deliver = [&](error_code e, response_type r) {
                                    ec = e;
                                    rep = std::move(r);
                                };
                                courier::detail::deliver<response_type>(f_(ec), deliver);
                            }
                            std::move(h)(ec, std::move(rep));
                        }),
                        std::move(req), std::move(ctx));
    }

    F f_;
    observer on_event_;
};

}  // namespace courier::policy

#endif
