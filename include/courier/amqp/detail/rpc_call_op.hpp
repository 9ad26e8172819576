// An RPC call with its caller's handler: what amqp::rpc_client allocates per
// call (with the handler's allocator). Its completion is posted to the
// handler's executor, which it keeps busy meanwhile; there it disconnects
// the cancellation slot, decodes the reply with the codec (off the broker's
// strand), frees itself and calls the handler.
#ifndef COURIER_AMQP_DETAIL_RPC_CALL_OP_HPP
#define COURIER_AMQP_DETAIL_RPC_CALL_OP_HPP

#include <courier/amqp/detail/rpc_call.hpp>
#include <courier/amqp/detail/rpc_client_core.hpp>
#include <courier/detail/operation.hpp>
#include <courier/detail/work_guard.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <utility>

namespace courier::amqp::detail {

template <class Rep, class Codec, class Handler>
class rpc_call_op final : public rpc_call {
public:
    using executor_type = boost::asio::associated_executor_t<Handler, boost::asio::any_io_executor>;
    using allocator_type =
        decltype(courier::detail::operation_allocator<Handler, rpc_call_op>(std::declval<const Handler&>()));

    rpc_call_op(Handler&& h, std::shared_ptr<rpc_client_core> core, const Codec& codec, message&& req, context&& ctx)
        : rpc_call(std::move(core), std::move(req), std::move(ctx)),
          alloc_(courier::detail::operation_allocator<Handler, rpc_call_op>(h)),
          handler_(std::move(h)),
          work_(boost::asio::get_associated_executor(handler_, this->core->executor())),
          codec_(codec) {}

    /// On the caller's thread, before the strand sees the call: a
    /// cancellation of any type (terminal, partial, total) ends the call.
    void arm_cancellation() {
        auto slot = boost::asio::get_associated_cancellation_slot(handler_);
        if (!slot.is_connected()) return;
        slot.assign([this](boost::asio::cancellation_type type) {
            using ct = boost::asio::cancellation_type;
            if ((type & (ct::terminal | ct::partial | ct::total)) != ct::none) this->core->cancel(this);
        });
    }

    void complete() override {
        const auto ex = work_.get_executor();
        boost::asio::post(ex, completer(this));
    }

private:
    // Runs the handler where it belongs. If the executor is destroyed with
    // the completion still queued, the call is dropped, not leaked.
    struct completer {
        rpc_call_op* op;
        explicit completer(rpc_call_op* p) noexcept : op(p) {}
        completer(completer&& o) noexcept : op(std::exchange(o.op, nullptr)) {}
        completer& operator=(completer&&) = delete;
        ~completer() {
            if (op) op->release();
        }
        void operator()() { std::exchange(op, nullptr)->run(); }
    };

    void run() {
        auto slot = boost::asio::get_associated_cancellation_slot(handler_);
        if (slot.is_connected()) slot.clear();
        error_code ec = this->ec;
        Rep rep{};
        if (!ec) rep = codec_.template decode<Rep>(this->reply.payload, ec, nullptr);
        auto handler = std::move(handler_);
        auto work = std::move(work_);
        this->release();  // free the call before the upcall
        std::move(handler)(ec, std::move(rep));
    }

    void destroy() noexcept override { courier::detail::destroy_with(alloc_, this); }

    allocator_type alloc_;
    Handler handler_;
    courier::detail::work_guard<executor_type> work_;
    [[no_unique_address]] Codec codec_;
};

}  // namespace courier::amqp::detail

#endif
