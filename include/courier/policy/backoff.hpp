// Backoff strategies for retry: how long to wait before attempt n+1.
#ifndef COURIER_POLICY_BACKOFF_HPP
#define COURIER_POLICY_BACKOFF_HPP

#include <courier/detail/random.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <variant>

namespace courier::policy {

using std::chrono::nanoseconds;

/// The same delay every time.
struct constant_backoff {
    nanoseconds delay = std::chrono::milliseconds(100);
};

/// "Full jitter": a uniform delay in [0, min(cap, base × multiplier^(n-1))].
/// Spreads retries of many clients so they don't arrive in waves.
struct exponential_backoff {
    nanoseconds base = std::chrono::milliseconds(100);
    nanoseconds cap = std::chrono::seconds(10);
    double multiplier = 2.0;
};

/// "Decorrelated jitter": uniform in [base, min(cap, previous × 3)].
struct decorrelated_jitter {
    nanoseconds base = std::chrono::milliseconds(100);
    nanoseconds cap = std::chrono::seconds(10);
};

using backoff = std::variant<exponential_backoff, constant_backoff, decorrelated_jitter>;

/// The default random source: per-thread, lock-free. Any type with
/// `std::uint64_t operator()()` works; tests pass a seeded one.
struct default_random {
    std::uint64_t operator()() const noexcept { return courier::detail::random_u64(); }
};

namespace detail {

/// Uniform in [lo, hi] from a 64-bit random value.
inline nanoseconds uniform(nanoseconds lo, nanoseconds hi, std::uint64_t r) noexcept {
    if (hi <= lo) return lo;
    const auto span = static_cast<std::uint64_t>((hi - lo).count());
    return lo + nanoseconds(static_cast<nanoseconds::rep>(r % (span + 1)));
}

/// The delay before attempt `attempt + 1` after `attempt` failed.
/// `previous` is the last delay (decorrelated jitter needs it).
template <class Random>
nanoseconds next_delay(const backoff& b, unsigned attempt, nanoseconds previous, Random& random) {
    return std::visit(
        [&](const auto& s) -> nanoseconds {
            using T = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<T, constant_backoff>) {
                return s.delay;
            } else if constexpr (std::is_same_v<T, exponential_backoff>) {
                double ceiling = static_cast<double>(s.base.count());
                for (unsigned i = 1; i < attempt && ceiling < static_cast<double>(s.cap.count()); ++i)
                    ceiling *= s.multiplier;
                auto top = std::min(s.cap, nanoseconds(static_cast<nanoseconds::rep>(ceiling)));
                return uniform(nanoseconds::zero(), top, random());
            } else {
                auto prev = previous > nanoseconds::zero() ? previous : s.base;
                auto top = std::min(s.cap, prev * 3);
                return std::min(s.cap, uniform(s.base, std::max(s.base, top), random()));
            }
        },
        b);
}

}  // namespace detail
}  // namespace courier::policy

#endif
