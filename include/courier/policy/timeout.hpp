// timeout: bounds a call in time. Inside retry it bounds each attempt; outside
// it bounds the whole call. On expiry it cancels the inner operation through
// its cancellation slot (the work stops) and completes with error::timeout.
#ifndef COURIER_POLICY_TIMEOUT_HPP
#define COURIER_POLICY_TIMEOUT_HPP

#include <courier/context.hpp>
#include <courier/detail/deadline_queue.hpp>
#include <courier/detail/op_handler.hpp>
#include <courier/detail/operation.hpp>
#include <courier/detail/serial_executor.hpp>
#include <courier/error.hpp>
#include <courier/policy/observer.hpp>
#include <courier/detail/layered_service.hpp>
#include <courier/service.hpp>
#include <courier/timing.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>

#include <atomic>
#include <chrono>

namespace courier::policy {

struct timeout_options {
    /// How long a call may take; the effective deadline is the earlier of
    /// now + duration and the context's deadline.
    std::chrono::nanoseconds duration{std::chrono::seconds(1)};
    /// Receives event_kind::timeout when the deadline cancels a call.
    observer on_event{};
};

template <service S, class Timing = steady_timing>
class timeout_service;

/// The timeout layer.
template <class Timing = steady_timing>
class timeout {
public:
    template <class Rep, class Period>
    explicit timeout(std::chrono::duration<Rep, Period> d) { opts_.duration = d; }
    explicit timeout(timeout_options opts) : opts_(std::move(opts)) {}

    template <service S>
    timeout_service<S, Timing> wrap(S svc) const {
        return timeout_service<S, Timing>(std::move(svc), opts_);
    }
    const timeout_options& options() const noexcept { return opts_; }

private:
    timeout_options opts_;
};

template <class Rep, class Period>
timeout(std::chrono::duration<Rep, Period>) -> timeout<>;
timeout(timeout_options) -> timeout<>;

/// A service with a deadline on every call.
template <service S, class Timing>
class timeout_service : public courier::detail::layered_service<timeout_service<S, Timing>, S> {
    using base = courier::detail::layered_service<timeout_service<S, Timing>, S>;
    friend base;

public:
    using typename base::executor_type;
    using typename base::request_type;
    using typename base::response_type;
    using clock = typename Timing::clock;

    timeout_service(S svc, timeout_options opts)
        : base(std::move(svc)),
          opts_(std::move(opts)),
          queue_(&boost::asio::use_service<courier::detail::deadline_queue<Timing>>(
              boost::asio::query(this->svc_.get_executor(), boost::asio::execution::context))),
          serial_(this->svc_.get_executor()) {}


    /// Calls the inner service with `ctx.deadline` tightened to now +
    /// duration. Completion: `void(error_code, response_type)`;
    /// error::timeout when the deadline passed first (the inner call was
    /// cancelled and has completed), at once without calling the inner
    /// service when the deadline had already passed. Cancellation: forwarded
    /// to the inner operation. The service must outlive the call.

private:
    using time_point = typename clock::time_point;
    using queue_type = courier::detail::deadline_queue<Timing>;

    // The call's state. It runs on `Executor`, the caller's executor when
    // that runs one handler at a time and a strand of it otherwise: the
    // inner call completes there and the deadline's cancellation is emitted
    // there, since Asio's cancellation slots must not be emitted while the
    // inner operation assigns or clears them.
    template <class Handler, class Executor>
    struct op : courier::detail::deadline_entry<time_point> {
        using allocator_type = decltype(courier::detail::operation_allocator<Handler, op>(std::declval<Handler&>()));

        op(Handler&& h, const Executor& e, timeout_service* s)
            : handler(std::move(h)), alloc(courier::detail::operation_allocator<Handler, op>(handler)), ex(e), svc(s) {
            this->fire = &on_deadline;
        }

        Handler handler;
        allocator_type alloc;
        Executor ex;
        timeout_service* svc;
        boost::asio::cancellation_signal inner;
        std::atomic<int> refs{2};  // the inner call + the deadline queue
        std::atomic<bool> expired{false};

        void release() noexcept {
            if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) courier::detail::destroy_with(alloc, this);
        }

        // The timer's thread. Touches only what start() set and nothing
        // changes afterwards: the handler may be moving out on another
        // thread, and the service may be gone once the call completed.
        static void on_deadline(courier::detail::deadline_entry<time_point>* e) {
            auto* self = static_cast<op*>(e);
            self->expired.store(true, std::memory_order_release);
            boost::asio::post(self->ex, [self] {
                self->inner.emit(boost::asio::cancellation_type::terminal);
                self->release();
            });
        }

        // On `ex`. Everything is taken out of the op before the queue is
        // asked about it: when the call completed before start() queued
        // the deadline, start() frees the op as soon as take() returns.
        template <class Rep>
        void on_inner(error_code ec, Rep&& rep) {
            auto* s = svc;
            auto slot = boost::asio::get_associated_cancellation_slot(handler);
            if (slot.is_connected()) slot.clear();
            auto h = std::move(handler);
            switch (s->queue_->take(this)) {
            case courier::detail::deadline_removal::removed:  // the deadline never fires: the only owner
                courier::detail::destroy_with(alloc, this);
                break;
            case courier::detail::deadline_removal::fired:
                if (expired.load(std::memory_order_acquire) && ec) {
                    ec = error::timeout;
                    detail::notify(s->opts_.on_event,
                                   {.kind = event_kind::timeout, .policy = "timeout", .error = error::timeout});
                }
                release();
                break;
            case courier::detail::deadline_removal::not_added:  // start() frees it
                break;
            }
            std::move(h)(ec, std::forward<Rep>(rep));
        }
    };

    template <class Handler>
    void start(Handler&& handler, request_type&& req, context&& ctx) {
        const auto now = clock::now();
        ctx.tighten_deadline(now + std::chrono::duration_cast<typename clock::duration>(opts_.duration));
        if (*ctx.deadline <= now) {
            detail::notify(opts_.on_event, {.kind = event_kind::timeout, .policy = "timeout", .error = error::timeout});
            return courier::detail::post_completion(std::move(handler), this->get_executor(), error_code(error::timeout),
                                                    response_type{});
        }
        const auto caller = boost::asio::get_associated_executor(handler, this->get_executor());
        using caller_executor = std::decay_t<decltype(caller)>;
        if constexpr (courier::detail::is_strand<caller_executor>::value) {
            launch(std::move(handler), caller, caller, std::move(req), std::move(ctx));
        } else if (serial_.runs_serially(caller)) {
            launch(std::move(handler), caller, caller, std::move(req), std::move(ctx));
        } else {
            launch(std::move(handler), caller, boost::asio::make_strand(caller), std::move(req), std::move(ctx));
        }
    }

    template <class Handler, class CallerExecutor, class Executor>
    void launch(Handler&& handler, const CallerExecutor& caller, const Executor& ex, request_type&& req,
                context&& ctx) {
        using op_t = op<std::decay_t<Handler>, Executor>;
        auto* o = courier::detail::allocate_op<op_t>(courier::detail::operation_allocator<Handler, op_t>(handler),
                                                     std::move(handler), ex, this);
        o->at = *ctx.deadline;
        auto outer = boost::asio::get_associated_cancellation_slot(o->handler);
        if (outer.is_connected())
            outer.assign([o](boost::asio::cancellation_type t) { o->inner.emit(t); });
        // The deadline is queued once the inner call has assigned its
        // cancellation slot, so it cannot be emitted before or during that.
        queue_type::expect_add(o);
        using inner_handler = courier::detail::op_handler<op_t, &op_t::template on_inner<response_type>>;
        if constexpr (std::is_same_v<Executor, CallerExecutor>)  // op_handler presents the caller's executor
            this->call_next(boost::asio::bind_cancellation_slot(o->inner.slot(), inner_handler{o}), std::move(req),
                            std::move(ctx));
        else
            this->call_next(
                boost::asio::bind_cancellation_slot(o->inner.slot(), boost::asio::bind_executor(o->ex, inner_handler{o})),
                std::move(req), std::move(ctx));
        if (!queue_->add(o, caller)) courier::detail::destroy_with(o->alloc, o);
    }

    timeout_options opts_;
    queue_type* queue_;
    courier::detail::serial_hint serial_;
};

}  // namespace courier::policy

#endif
