// One in-process request-reply call in flight. The caller side (completion,
// cancellation) and the server side (running the handler) each hold a
// reference; whichever finishes last frees the state.
#ifndef COURIER_INPROC_DETAIL_CALL_OP_HPP
#define COURIER_INPROC_DETAIL_CALL_OP_HPP

#include <courier/codec.hpp>
#include <courier/context.hpp>
#include <courier/detail/operation.hpp>
#include <courier/detail/work_guard.hpp>
#include <courier/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <type_traits>

namespace courier::inproc::detail {

/// Stands for "no codec" in calls that pass typed values.
struct no_codec {};

/// What the server side sees of a call: the request, its context, the
/// signal that cancels the handler, and `finish`.
template <class Req, class Rep>
class pending_call {
public:
    Req request;
    context ctx;
    boost::asio::cancellation_signal inner;  // emitted on `serial`
    /// Where a call that can be cancelled runs on the server: a strand of
    /// the server's executor, so the handler and the cancellation forwarded
    /// to it never overlap. Set before the server sees the call, then only
    /// read; empty for a call that cannot be cancelled.
    std::optional<boost::asio::strand<boost::asio::any_io_executor>> serial;

    /// Reports the outcome; ignored when the caller already gave up.
    virtual void finish(error_code ec, Rep&& rep) = 0;

    /// Drops one reference; the last one frees the operation. An unshared
    /// call has one owner, so no atomic read-modify-write: its lock prefix
    /// waits for every store before it, and a call through a layer that
    /// just copied its request and context paid ~8 ns for it.
    void release() noexcept {
        if (!shared_ || refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
    }
    /// The server side's last word: the outcome, then its reference. An
    /// unshared call may be freed inside finish (the completion can run at
    /// once), so whether to release is read first.
    void finish_server(error_code ec, Rep&& rep) {
        const bool shared = shared_;
        finish(ec, std::move(rep));
        if (shared) release();
    }
    /// The server side drops a call it will not finish (one already decided,
    /// which only cancellation does, so the call is shared).
    void release_server() noexcept { release(); }
    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    /// Whether the outcome is already decided (completed or cancelled).
    bool decided() const noexcept { return decided_.load(std::memory_order_acquire); }

protected:
    pending_call(Req&& r, context&& c) : request(std::move(r)), ctx(std::move(c)) {}
    virtual ~pending_call() = default;
    virtual void destroy() noexcept = 0;
    /// The first caller wins the right to complete.
    bool decide() noexcept {
        if (shared_) return !decided_.exchange(true, std::memory_order_acq_rel);
        if (decided_.load(std::memory_order_relaxed)) return false;
        decided_.store(true, std::memory_order_release);
        return true;
    }

    /// Makes the server side a counted owner; before the server sees the
    /// call. Only a cancellable call needs it: otherwise the server's finish
    /// alone decides the call and the server never touches it afterwards,
    /// so the caller side owns it alone and no atomic read-modify-write is
    /// needed on the way (three fewer per call).
    void share_with_server() noexcept {
        shared_ = true;
        refs_.store(2, std::memory_order_relaxed);
    }

private:
    std::atomic<int> refs_{1};  // the caller side, plus the server side once shared
    std::atomic<bool> decided_{false};
    bool shared_ = false;
};

/// The caller's side. `Result` is what the user's handler receives; when it
/// differs from `Rep` (a call through the codec), `Codec` decodes it.
template <class Req, class Rep, class Handler, class Executor, class Result = Rep, class Codec = no_codec>
class call_op final : public pending_call<Req, Rep> {
public:
    using allocator_type = decltype(courier::detail::operation_allocator<Handler, call_op>(
        std::declval<const Handler&>()));

    /// `ex` runs the completion: the handler's associated executor, or the
    /// concrete executor behind it.
    /// `track_work` keeps `ex`'s context running until the call completes.
    call_op(Handler&& h, const Executor& ex, bool track_work, Req&& req, context&& ctx, Codec codec = {})
        : pending_call<Req, Rep>(std::move(req), std::move(ctx)),
          alloc_(courier::detail::operation_allocator<Handler, call_op>(h)),
          ex_(ex),
          handler_(std::move(h)),
          codec_(codec) {
        if (track_work) work_.emplace(courier::detail::track_work(ex_));
    }

    /// Connects the caller's cancellation slot, before the call is handed to
    /// `server`, which runs the forwarded cancellation of a running handler:
    /// on a strand of its executor, where the handler will run too, when its
    /// handler can observe cancellation and its executor may run several
    /// handlers at once. The slot holds the server: the server side may drop
    /// its own reference as soon as it sees the call cancelled.
    template <class Server>
    void arm_cancellation(const std::shared_ptr<Server>& server) {
        auto slot = boost::asio::get_associated_cancellation_slot(handler_);
        if (!slot.is_connected()) return;
        this->share_with_server();
        if (server->needs_strand) this->serial.emplace(boost::asio::make_strand(server->executor));
        slot.assign([this, server](boost::asio::cancellation_type type) {
            using ct = boost::asio::cancellation_type;
            if ((type & (ct::terminal | ct::partial | ct::total)) == ct::none) return;
            // The caller gave up: for the handler that is terminal whatever
            // the caller's type (co_spawn lets only terminal through).
            if (!this->decide()) return;
            ec_ = boost::asio::error::operation_aborted;
            // The handler may be running: stop it where it runs.
            this->add_ref();
            auto stop = [this] {
                this->inner.emit(boost::asio::cancellation_type::terminal);
                this->release();
            };
            if (this->serial) boost::asio::post(*this->serial, std::move(stop));
            else server->post(std::move(stop));
            post_completion();
        });
    }

    // Called by the server side, from inside its own posted job, never from
    // the initiating function: dispatch may run the handler at once when the
    // caller's executor is the one running, saving a post per call.
    void finish(error_code ec, Rep&& rep) override {
        if (!this->decide()) return;
        ec_ = ec;
        rep_.emplace(std::move(rep));
        boost::asio::dispatch(ex_, completer(this));
    }

private:
    // Posted to the handler's executor: runs the user's handler, never inline.
    struct completer {
        call_op* op;
        void operator()() { std::exchange(op, nullptr)->complete(); }
        completer(call_op* p) noexcept : op(p) {}
        completer(completer&& o) noexcept : op(std::exchange(o.op, nullptr)) {}
        ~completer() {
            if (op) op->release();  // the executor was destroyed with us queued
        }
    };

    void post_completion() {
        boost::asio::post(ex_, completer(this));
    }

    void complete() {
        auto slot = boost::asio::get_associated_cancellation_slot(handler_);
        if (slot.is_connected()) slot.clear();
        auto handler = std::move(handler_);
        decltype(work_) work;  // swapped out: moving the optional trips GCC 12's -Wmaybe-uninitialized at -O1
        work.swap(work_);
        error_code ec = ec_;
        Result result = take_result(ec);
        this->release();  // free our state before the upcall
        std::move(handler)(ec, std::move(result));
    }

    Result take_result(error_code& ec) {
        if (!rep_) return Result{};
        if constexpr (std::is_same_v<Result, Rep>) {
            return std::move(*rep_);
        } else {
            if (ec) return Result{};
            return codec_.template decode<Result>(rep_->payload, ec, nullptr);
        }
    }

    void destroy() noexcept override { courier::detail::destroy_with(alloc_, this); }

    allocator_type alloc_;
    Executor ex_;
    std::optional<courier::detail::tracked_executor_t<Executor>> work_;
    Handler handler_;
    [[no_unique_address]] Codec codec_;
    error_code ec_;
    std::optional<Rep> rep_;
};

}  // namespace courier::inproc::detail

#endif
