// Type erasure for services: any_service<Req, Rep> holds any service with
// those types, so configuration can choose the backend and the policies at
// run time. Costs one virtual call and one handler allocation per call.
#ifndef COURIER_ANY_CLIENT_HPP
#define COURIER_ANY_CLIENT_HPP

#include <courier/client.hpp>
#include <courier/context.hpp>
#include <courier/error.hpp>
#include <courier/service.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/deferred.hpp>

#include <memory>

namespace courier {

template <class Req, class Rep>
class any_service {
public:
    using request_type = Req;
    using response_type = Rep;
    using executor_type = boost::asio::any_io_executor;
    using handler_type = boost::asio::any_completion_handler<void(error_code, Rep)>;

    /// Holds `svc` (moved in); any service whose executor converts to
    /// any_io_executor.
    template <service S>
        requires(!std::same_as<std::decay_t<S>, any_service> && std::same_as<typename S::request_type, Req> &&
                 std::same_as<typename S::response_type, Rep>)
    any_service(S svc) : impl_(std::make_shared<model<S>>(std::move(svc))) {}

    executor_type get_executor() const { return impl_->executor(); }

    /// As the held service's async_call. Copies share the held service.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_call(Req req, context ctx, CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, Rep)>(
            [impl = impl_](auto handler, Req&& req, context&& ctx) {
                // any_completion_handler's own executor cannot be posted to
                // (Boost 1.81), so the caller's executor travels beside it.
                executor_type ex = boost::asio::get_associated_executor(handler, impl->executor());
                impl->call(std::move(req), std::move(ctx), handler_type(std::move(handler)), std::move(ex));
            },
            token, std::move(req), std::move(ctx));
    }

private:
    struct concept_t {
        virtual ~concept_t() = default;
        virtual executor_type executor() const = 0;
        virtual void call(Req, context, handler_type, executor_type) = 0;
    };
    template <class S>
    struct model final : concept_t {
        explicit model(S s) : svc(std::move(s)) {}
        executor_type executor() const override { return svc.get_executor(); }
        void call(Req req, context ctx, handler_type h, executor_type ex) override {
            svc.async_call(std::move(req), std::move(ctx), boost::asio::bind_executor(std::move(ex), std::move(h)));
        }
        S svc;
    };
    std::shared_ptr<concept_t> impl_;
};

/// A typed client over any service: `any_client<get_user, user> c{stack.wrap(channel)}`.
template <class Req, class Rep>
using any_client = client<any_service<Req, Rep>>;

}  // namespace courier

#endif
