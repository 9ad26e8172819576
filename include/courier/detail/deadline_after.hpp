// Deadlines computed from durations that come from outside (a peer's
// courier-timeout-ms, a server's Retry-After, a configured timeout): the sum
// saturates at the clock's end instead of overflowing, because a huge timeout
// means "no sooner deadline", not one in the past.
#ifndef COURIER_DETAIL_DEADLINE_AFTER_HPP
#define COURIER_DETAIL_DEADLINE_AFTER_HPP

#include <charconv>
#include <chrono>
#include <optional>
#include <ratio>
#include <string_view>
#include <type_traits>

namespace courier::detail {

/// `d` in the units of `To`, the largest `To` when it does not fit.
template <class To, class Rep, class Period>
constexpr To saturating_cast(std::chrono::duration<Rep, Period> d) noexcept {
    using from = std::chrono::duration<Rep, Period>;
    if constexpr (std::ratio_less_equal_v<typename To::period, Period>) {
        // Converting to a finer unit multiplies: saturate before it can overflow.
        if (d >= std::chrono::duration_cast<from>(To::max())) return To::max();
        if constexpr (std::is_signed_v<Rep>)
            if (d <= std::chrono::duration_cast<from>(To::min())) return To::min();
    }
    return std::chrono::duration_cast<To>(d);
}

/// `now + d`, or the clock's last time point when that would overflow.
template <class TimePoint, class Rep, class Period>
constexpr TimePoint deadline_after(TimePoint now, std::chrono::duration<Rep, Period> d) noexcept {
    using duration = typename TimePoint::duration;
    const auto step = saturating_cast<duration>(d);
    if (step > duration::zero() && step >= TimePoint::max() - now) return TimePoint::max();
    if (step < duration::zero() && step <= TimePoint::min() - now) return TimePoint::min();
    return now + step;
}

/// The deadline a courier-timeout-ms value asks for (decimal digits only,
/// milliseconds from `now`); nullopt when the value is malformed.
template <class TimePoint>
std::optional<TimePoint> parse_timeout_ms(std::string_view v, TimePoint now) noexcept {
    long long ms = 0;
    if (v.empty() || v.front() < '0' || v.front() > '9') return std::nullopt;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
    if (p != v.data() + v.size()) return std::nullopt;
    if (ec == std::errc::result_out_of_range) return TimePoint::max();  // all digits: only too large
    if (ec != std::errc{}) return std::nullopt;
    return deadline_after(now, std::chrono::milliseconds(ms));
}

}  // namespace courier::detail

#endif
