// What policies report: one event type for all of them, delivered to an
// optional observer. This is where metrics and logs attach.
#ifndef COURIER_POLICY_OBSERVER_HPP
#define COURIER_POLICY_OBSERVER_HPP

#include <courier/error.hpp>

#include <chrono>
#include <functional>
#include <string_view>

namespace courier::policy {

enum class event_kind {
    attempt,       ///< retry/hedge: an attempt starts (attempt = its number)
    retry,         ///< retry: a failed attempt will be retried after `delay`
    timeout,       ///< timeout: the deadline expired; the inner call was cancelled
    state_change,  ///< circuit breaker: `from` → `to`
    rejected,      ///< a policy refused the call (error says why)
    success,       ///< the call succeeded (duration set)
    failure,       ///< the call failed (error, duration set)
    fallback,      ///< fallback replaced a failure with its value
    /// retry: the server asked for `delay` before a retry (Retry-After),
    /// more than the backoff's cap; the call completes with `error`
    retry_after_exceeded,
};

enum class breaker_state { closed, open, half_open, forced_open, disabled, metrics_only };

struct event {
    event_kind kind{};
    std::string_view policy{};///< "timeout", "retry", "circuit_breaker", ...
    error_code error{};
    unsigned attempt = 0;
    std::chrono::nanoseconds delay{};
    std::chrono::nanoseconds duration{};
    breaker_state from{}, to{};
};

/// Receives events; may be called from any thread the calls run on.
using observer = std::function<void(const event&)>;

namespace detail {
inline void notify(const observer& o, const event& e) {
    if (o) o(e);
}
}  // namespace detail

std::string_view to_string(event_kind k) noexcept;
std::string_view to_string(breaker_state s) noexcept;

inline std::string_view to_string(event_kind k) noexcept {
    switch (k) {
    case event_kind::attempt: return "attempt";
    case event_kind::retry: return "retry";
    case event_kind::timeout: return "timeout";
    case event_kind::state_change: return "state_change";
    case event_kind::rejected: return "rejected";
    case event_kind::success: return "success";
    case event_kind::failure: return "failure";
    case event_kind::fallback: return "fallback";
    case event_kind::retry_after_exceeded: return "retry_after_exceeded";
    }
    return "?";
}

inline std::string_view to_string(breaker_state s) noexcept {
    switch (s) {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half_open";
    case breaker_state::forced_open: return "forced_open";
    case breaker_state::disabled: return "disabled";
    case breaker_state::metrics_only: return "metrics_only";
    }
    return "?";
}

}  // namespace courier::policy

#endif
