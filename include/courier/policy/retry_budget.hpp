// A retry budget (token bucket), as gRPC and Finagle use: every call deposits
// a fraction of a token, every retry withdraws a whole one, plus a small
// per-second floor so a quiet client can still retry. Retries can then never
// be more than `ratio` of the traffic: a failing dependency sees at most
// (1 + ratio) × the calls, not max_attempts ×.
#ifndef COURIER_POLICY_RETRY_BUDGET_HPP
#define COURIER_POLICY_RETRY_BUDGET_HPP

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace courier::policy {

struct retry_budget_options {
    /// Retries allowed per call, on average (0.2 = 20% extra traffic).
    double ratio = 0.2;
    /// Retries allowed per second whatever the traffic.
    double min_per_second = 10;
    /// Most tokens the ratio part can save up (bounds a burst of retries).
    double max_tokens = 100;
};

/// Shared by every copy of the retry layers it is given to. Thread-safe.
template <class Clock = std::chrono::steady_clock>
class basic_retry_budget {
public:
    explicit basic_retry_budget(retry_budget_options o = {})
        : opts_(o),
          per_call_(static_cast<std::int64_t>(o.ratio * scale)),
          max_(static_cast<std::int64_t>(o.max_tokens * scale)),
          floor_(o.min_per_second),
          floor_at_(Clock::now()) {}

    /// Called once per call (not per attempt).
    void deposit() noexcept {
        // Lock-free: on the success path of every call.
        auto cur = tokens_.load(std::memory_order_relaxed);
        if (cur >= max_) return;
        tokens_.fetch_add(per_call_, std::memory_order_relaxed);
    }

    /// Takes one retry's worth; false when the budget is spent.
    bool withdraw() noexcept {
        auto cur = tokens_.load(std::memory_order_relaxed);
        while (cur >= scale)
            if (tokens_.compare_exchange_weak(cur, cur - scale, std::memory_order_relaxed)) return true;
        std::lock_guard lock(floor_mutex_);
        const auto now = Clock::now();
        const double elapsed = std::chrono::duration<double>(now - floor_at_).count();
        floor_at_ = now;
        floor_ = std::min(opts_.min_per_second, floor_ + elapsed * opts_.min_per_second);
        if (floor_ < 1.0) return false;
        floor_ -= 1.0;
        return true;
    }

    /// Whole retries the ratio part holds now.
    double balance() const noexcept { return static_cast<double>(tokens_.load()) / scale; }
    const retry_budget_options& options() const noexcept { return opts_; }

private:
    static constexpr std::int64_t scale = 1000;
    retry_budget_options opts_;
    std::int64_t per_call_, max_;
    std::atomic<std::int64_t> tokens_{0};
    std::mutex floor_mutex_;
    double floor_;
    typename Clock::time_point floor_at_;
};

using retry_budget = basic_retry_budget<>;

}  // namespace courier::policy

#endif
