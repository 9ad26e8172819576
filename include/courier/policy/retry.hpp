// retry: sends a failed call again, after a backoff, while the error is
// retryable, attempts are left, the deadline allows it and the retry budget
// has tokens. Counts total attempts (max_attempts = 3 means 1 + 2 retries).
#ifndef COURIER_POLICY_RETRY_HPP
#define COURIER_POLICY_RETRY_HPP

#include <courier/call_feedback.hpp>
#include <courier/context.hpp>
#include <courier/detail/op_handler.hpp>
#include <courier/detail/operation.hpp>
#include <courier/error.hpp>
#include <courier/idempotent.hpp>
#include <courier/policy/backoff.hpp>
#include <courier/policy/observer.hpp>
#include <courier/policy/retry_budget.hpp>
#include <courier/detail/layered_service.hpp>
#include <courier/service.hpp>
#include <courier/timing.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace courier::policy {

struct retry_options {
    /// Attempts in total, the first included.
    unsigned max_attempts = 3;
    courier::policy::backoff backoff = exponential_backoff{};
    /// Which errors to retry; empty means `ec == condition::retryable`.
    std::function<bool(const error_code&)> retry_on{};
    /// Retry requests whose type is not courier::is_idempotent. Errors that
    /// prove the request was never sent are retried regardless.
    bool retry_non_idempotent = false;
    /// The retry budget; shared by every copy of the layer. Off when
    /// `use_budget` is false.
    bool use_budget = true;
    retry_budget_options budget{};
    observer on_event{};
};

/// Never retries a successful result (the default result predicate).
struct no_result_retry {
    template <class Rep>
    bool operator()(const Rep&) const noexcept {
        return false;
    }
};

namespace detail {
/// The longest wait a backoff allows; a server's retry hint is clamped to it.
inline nanoseconds cap_of(const backoff& b) noexcept {
    return std::visit([](const auto& s) -> nanoseconds {
        if constexpr (requires { s.cap; }) return s.cap;
        else return s.delay;
    }, b);
}

/// Errors after which the request certainly did not reach the server.
inline bool never_sent(const error_code& ec) noexcept {
    return ec == error::unknown_endpoint || ec == error::not_connected ||
           ec == error::circuit_open || ec == error::bulkhead_full || ec == error::rate_limited ||
           ec == boost::asio::error::connection_refused || ec == boost::asio::error::host_not_found;
}
}  // namespace detail

template <service S, class Timing, class Random, class ResultPredicate>
class retry_service;

/// The retry layer. `ResultPredicate(const Rep&) -> bool` says which
/// successful results to retry as well (e.g. an empty answer).
template <class Timing = steady_timing, class Random = default_random, class ResultPredicate = no_result_retry>
class retry {
public:
    using budget_type = basic_retry_budget<typename Timing::clock>;

    explicit retry(retry_options opts = {}, ResultPredicate pred = {}, Random random = {})
        : opts_(std::make_shared<const retry_options>(std::move(opts))),
          budget_(opts_->use_budget ? std::make_shared<budget_type>(opts_->budget) : nullptr),
          pred_(std::move(pred)),
          random_(std::move(random)) {}

    template <service S>
    retry_service<S, Timing, Random, ResultPredicate> wrap(S svc) const {
        return {std::move(svc), opts_, budget_, pred_, random_};
    }

    /// The shared budget (null when disabled); hand it to another layer to
    /// share one budget between several services.
    const std::shared_ptr<budget_type>& budget() const noexcept { return budget_; }
    retry& share_budget(std::shared_ptr<budget_type> b) noexcept {
        budget_ = std::move(b);
        return *this;
    }

private:
    std::shared_ptr<const retry_options> opts_;
    std::shared_ptr<budget_type> budget_;
    ResultPredicate pred_;
    Random random_;
};

retry(retry_options) -> retry<>;
template <class P>
retry(retry_options, P) -> retry<steady_timing, default_random, P>;

template <service S, class Timing, class Random, class ResultPredicate>
class retry_service : public courier::detail::layered_service<retry_service<S, Timing, Random, ResultPredicate>, S> {
    using base = courier::detail::layered_service<retry_service<S, Timing, Random, ResultPredicate>, S>;
    friend base;

public:
    using typename base::executor_type;
    using typename base::request_type;
    using typename base::response_type;
    using clock = typename Timing::clock;
    using budget_type = basic_retry_budget<clock>;

    retry_service(S svc, std::shared_ptr<const retry_options> opts, std::shared_ptr<budget_type> budget,
                  ResultPredicate pred, Random random)
        : base(std::move(svc)), opts_(std::move(opts)), budget_(std::move(budget)), pred_(std::move(pred)),
          random_(std::move(random)) {}


    /// Calls the inner service, retrying as configured. Completion:
    /// `void(error_code, response_type)`: the first success, else the last
    /// attempt's error; error::budget_exhausted when the budget refused a
    /// retry; error::retries_exhausted when every attempt returned a result
    /// the predicate rejected (with the last result). Never waits past
    /// `ctx.deadline` and starts no attempt after it. Cancellation:
    /// terminal/partial/total, forwarded to the running attempt or ending
    /// the backoff wait; a cancelled call is never retried.

private:
    template <class Handler>
    struct op {
        using allocator_type =
            decltype(courier::detail::operation_allocator<Handler, op>(std::declval<Handler&>()));
        using timer_type = typename Timing::timer;

        // Keeps copies of the request and context for the retries; the first
        // attempt sends the caller's own (one copy per call, not two).
        op(Handler&& h, retry_service* s, const request_type& r, const context& c)
            : handler(std::move(h)), alloc(courier::detail::operation_allocator<Handler, op>(handler)), svc(s),
              req(r), ctx(c) {}

        Handler handler;
        allocator_type alloc;
        retry_service* svc;
        request_type req;
        context ctx;
        call_feedback feedback;
        std::optional<boost::asio::cancellation_signal> inner;  // only when the caller can cancel
        std::optional<timer_type> timer;  // made on the first retry only
        nanoseconds last_delay{};
        typename clock::time_point started{};  // read only when someone observes
        bool cancelled = false;
        bool waiting = false;

        auto executor() const { return boost::asio::get_associated_executor(handler, svc->get_executor()); }

        void retry_attempt() { attempt(request_type(req), context(ctx)); }

        void attempt(request_type&& r, context&& c) {
            feedback = {};
            c.feedback = &feedback;
            if (svc->opts_->on_event)
                svc->opts_->on_event({.kind = event_kind::attempt, .policy = "retry", .attempt = ctx.attempt});
            using inner_handler = courier::detail::op_handler<op, &op::template on_inner<response_type>>;
            // Only a caller's cancellation needs forwarding: no slot, no
            // cancellation handler in the inner operation.
            if (inner)
                svc->call_next(boost::asio::bind_cancellation_slot(inner->slot(), inner_handler{this}), std::move(r),
                               std::move(c));
            else
                svc->call_next(inner_handler{this}, std::move(r), std::move(c));
        }

        template <class Rep>
        void on_inner(error_code ec, Rep&& rep) {
            const auto& o = *svc->opts_;
            if (!ec && !svc->pred_(rep)) return complete(ec, std::move(rep));
            if (cancelled || ec == boost::asio::error::operation_aborted) return complete(ec, std::move(rep));
            const bool result_retry = !ec;
            if (ctx.attempt >= o.max_attempts)
                return complete(result_retry ? error_code(error::retries_exhausted) : ec, std::move(rep));
            if (!result_retry) {
                const bool retryable = o.retry_on ? o.retry_on(ec) : ec == condition::retryable;
                if (!retryable) return complete(ec, std::move(rep));
                if (!is_idempotent_v<request_type> && !o.retry_non_idempotent && !detail::never_sent(ec))
                    return complete(ec, std::move(rep));
            }
            // A server that asks for more time than this layer may wait
            // is not hit sooner than it asked: the call ends here.
            if (feedback.retry_after && *feedback.retry_after > courier::policy::detail::cap_of(o.backoff)) {
                courier::policy::detail::notify(o.on_event, {.kind = event_kind::retry_after_exceeded,
                                                             .policy = "retry", .error = ec, .attempt = ctx.attempt,
                                                             .delay = *feedback.retry_after});
                // The caller's own feedback (an outer retry layer, or the
                // throwing call() form's diagnostic) hears the hint too.
                if (ctx.feedback) ctx.feedback->retry_after = feedback.retry_after;
                return complete(ec ? ec : error_code(error::retries_exhausted), std::move(rep));
            }
            if (svc->budget_ && !svc->budget_->withdraw()) {
                courier::policy::detail::notify(o.on_event, {.kind = event_kind::rejected, .policy = "retry",
                                    .error = error::budget_exhausted, .attempt = ctx.attempt});
                return complete(error::budget_exhausted, std::move(rep));
            }
            auto delay = courier::policy::detail::next_delay(o.backoff, ctx.attempt, last_delay, svc->random_);
            if (feedback.retry_after) delay = *feedback.retry_after;
            last_delay = delay;
            const auto now = clock::now();
            if (ctx.deadline && now + delay >= *ctx.deadline)  // the next attempt would start too late
                return complete(ec ? ec : error_code(error::timeout), std::move(rep));
            courier::policy::detail::notify(o.on_event, {.kind = event_kind::retry, .policy = "retry", .error = ec,
                                                         .attempt = ctx.attempt, .delay = delay});
            if (!timer) timer.emplace(executor());
            timer->expires_at(now + std::chrono::duration_cast<typename clock::duration>(delay));
            waiting = true;
            // Not the caller's slot: cancellation of the wait goes through cancel().
            timer->async_wait(boost::asio::bind_cancellation_slot(
                boost::asio::cancellation_slot(), courier::detail::op_handler<op, &op::on_backoff_done>{this}));
        }

        void on_backoff_done(error_code ec) {
            waiting = false;
            if (cancelled || ec) return complete(boost::asio::error::operation_aborted, response_type{});
            ++ctx.attempt;
            retry_attempt();
        }

        void cancel(boost::asio::cancellation_type t) {
            cancelled = true;
            if (waiting) timer->cancel();
            else inner->emit(t);
        }

        template <class Rep>
        void complete(error_code ec, Rep&& rep) {
            if (const auto& observe = svc->opts_->on_event)
                observe({.kind = ec ? event_kind::failure : event_kind::success, .policy = "retry", .error = ec,
                         .attempt = ctx.attempt, .duration = clock::now() - started});
            if (inner) boost::asio::get_associated_cancellation_slot(handler).clear();
            auto h = std::move(handler);
            courier::detail::destroy_with(alloc, this);
            std::move(h)(ec, std::forward<Rep>(rep));
        }
    };

    template <class Handler>
    void start(Handler&& handler, request_type&& req, context&& ctx) {
        if (budget_) budget_->deposit();
        using op_t = op<std::decay_t<Handler>>;
        ctx.attempt = 1;
        auto* o = courier::detail::allocate_op<op_t>(courier::detail::operation_allocator<Handler, op_t>(handler),
                                                     std::move(handler), this, std::as_const(req), std::as_const(ctx));
        if (opts_->on_event) o->started = clock::now();
        auto outer = boost::asio::get_associated_cancellation_slot(o->handler);
        if (outer.is_connected()) {
            o->inner.emplace();
            outer.assign([o](boost::asio::cancellation_type t) { o->cancel(t); });
        }
        o->attempt(std::move(req), std::move(ctx));
    }

    std::shared_ptr<const retry_options> opts_;
    std::shared_ptr<budget_type> budget_;
    [[no_unique_address]] ResultPredicate pred_;
    [[no_unique_address]] Random random_;
};

}  // namespace courier::policy

#endif
