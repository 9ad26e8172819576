// Per-call metadata, passed explicitly with every call (like Go's
// context.Context or gRPC's ClientContext): no thread-locals, no ambient
// state. A handler receives the incoming context; passing it on to a
// downstream call is how the deadline and the trace propagate.
#ifndef COURIER_CONTEXT_HPP
#define COURIER_CONTEXT_HPP

#include <courier/call_feedback.hpp>
#include <courier/headers.hpp>
#include <courier/detail/assign_if_set.hpp>
#include <courier/detail/deadline_after.hpp>
#include <courier/trace_context.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace courier {

struct context {
    using clock = std::chrono::steady_clock;

    /// Absolute point after which nobody wants the answer. Layers only ever
    /// tighten it; backends send the remaining time on the wire.
    std::optional<clock::time_point> deadline;
    /// Ties together the calls and messages of one business flow.
    std::string correlation_id;
    /// W3C trace context; invalid (all zero) when the call is not traced.
    trace_context trace;
    /// 1 for the first attempt; a retry layer counts up.
    unsigned attempt = 1;
    /// User metadata, sent as headers by every backend.
    courier::headers metadata;
    /// Where the transport reports what a call says besides its result (the
    /// server's retry hint). Set by a retry layer for each attempt; null
    /// otherwise. Not sent on the wire.
    call_feedback* feedback = nullptr;

    // Every layer and transport copies or moves the context of each call,
    // and its strings and metadata are empty in most calls: skipping them
    // avoids the library's out-of-line string paths (bench/instructions.sh:
    // about 90 instructions less per retried call).
    context() = default;
    context(const context& o)
        : deadline(o.deadline), trace(o.trace), attempt(o.attempt), feedback(o.feedback) {
        detail::assign_if_set(correlation_id, o.correlation_id);
        detail::assign_if_set(metadata, o.metadata);
    }
    context(context&& o) noexcept
        : deadline(o.deadline), trace(std::move(o.trace)), attempt(o.attempt), feedback(o.feedback) {
        detail::assign_if_set(correlation_id, std::move(o.correlation_id));
        detail::assign_if_set(metadata, std::move(o.metadata));
    }
    context& operator=(const context&) = default;
    context& operator=(context&&) noexcept = default;
    ~context() = default;

    /// A context whose deadline is `timeout` from now.
    template <class Rep, class Period>
    static context with_timeout(std::chrono::duration<Rep, Period> timeout) {
        context c;
        c.deadline = detail::deadline_after(clock::now(), timeout);
        return c;
    }

    /// Moves the deadline earlier to `tp`; never later.
    context& tighten_deadline(clock::time_point tp) noexcept {
        if (!deadline || tp < *deadline) deadline = tp;
        return *this;
    }

    /// Whether the deadline has passed (at `now`). Without a deadline the
    /// clock is not read: this runs on every call.
    bool expired() const noexcept { return deadline && *deadline <= clock::now(); }
    bool expired(clock::time_point now) const noexcept { return deadline && *deadline <= now; }

    /// Time left before the deadline (zero once expired); nullopt without one.
    std::optional<clock::duration> remaining() const noexcept {
        if (!deadline) return std::nullopt;
        return remaining(clock::now());
    }
    std::optional<clock::duration> remaining(clock::time_point now) const noexcept {
        if (!deadline) return std::nullopt;
        return *deadline > now ? *deadline - now : clock::duration::zero();
    }
};

}  // namespace courier

#endif
