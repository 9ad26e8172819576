// circuit_breaker: stops calling a dependency that is failing, so it can
// recover and callers fail fast. Closed → (failure or slow-call rate over
// threshold) → open → (after the open duration) → half-open → (a few probe
// calls) → closed or open again. State is shared by every copy of a layer.
#ifndef COURIER_POLICY_CIRCUIT_BREAKER_HPP
#define COURIER_POLICY_CIRCUIT_BREAKER_HPP

#include <courier/context.hpp>
#include <courier/detail/forwarding_handler.hpp>
#include <courier/detail/operation.hpp>
#include <courier/error.hpp>
#include <courier/policy/backoff.hpp>
#include <courier/policy/observer.hpp>
#include <courier/detail/layered_service.hpp>
#include <courier/service.hpp>
#include <courier/timing.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace courier::policy {

enum class window_kind {
    count,  ///< the last `window_size` calls
    time,   ///< the calls of the last `window_size` seconds (one bucket per second)
};

/// How a call's outcome counts.
enum class outcome {
    success,  ///< counts toward the success rate
    failure,  ///< counts toward the failure rate
    ignored,  ///< not recorded (cancellation)
};

struct circuit_breaker_options {
    window_kind window = window_kind::count;
    std::size_t window_size = 100;  ///< at most 2^31
    /// Calls the window must hold before rates are judged.
    std::size_t minimum_calls = 100;
    /// Percent of failures that opens the breaker.
    double failure_rate_threshold = 50;
    /// Percent of slow calls that opens the breaker; 100 or more turns slow
    /// call tracking off (and saves two clock reads per call).
    double slow_call_rate_threshold = 100;
    std::chrono::nanoseconds slow_call_duration = std::chrono::seconds(60);
    /// How long the breaker stays open before probing.
    std::chrono::nanoseconds open_duration = std::chrono::seconds(60);
    /// Each consecutive re-open multiplies the open duration (1 = fixed), up
    /// to the cap, ± `open_jitter` (a fraction, 0.1 = ±10%).
    double open_duration_multiplier = 1;
    std::chrono::nanoseconds max_open_duration = std::chrono::minutes(10);
    double open_jitter = 0;
    /// Probe calls let through in half-open.
    std::size_t half_open_calls = 10;
    /// Longest time in half-open before giving up and re-opening; 0 = wait
    /// for the probes however long they take.
    std::chrono::nanoseconds max_half_open_wait{0};
    /// Classifies an error; empty: cancellation ignored, condition::permanent
    /// (404, invalid argument...: the dependency answered) a success,
    /// anything else a failure.
    std::function<outcome(const error_code&)> classify{};
    observer on_event{};
};

namespace detail {

inline outcome default_classify(const error_code& ec) noexcept {
    if (!ec) return outcome::success;
    if (ec == boost::asio::error::operation_aborted) return outcome::ignored;
    if (ec == condition::permanent) return outcome::success;
    return outcome::failure;
}

/// The shared state of one breaker.
template <class Clock, class Random>
class breaker_core {
public:
    using time_point = typename Clock::time_point;

    breaker_core(circuit_breaker_options o, Random r)
        : opts_(std::move(o)), random_(std::move(r)),
          ring_(opts_.window == window_kind::count ? std::clamp<std::size_t>(opts_.window_size, 1, max_window) : 0),
          buckets_(opts_.window == window_kind::time ? std::max<std::size_t>(1, opts_.window_size) : 0),
          timed_(opts_.slow_call_rate_threshold < 100 || opts_.window == window_kind::time) {}

    const circuit_breaker_options& options() const noexcept { return opts_; }
    breaker_state state() const noexcept { return state_.load(std::memory_order_acquire); }
    bool timed() const noexcept { return timed_; }

    /// A permit to call, or none (rejected). `probe` tells whether the
    /// permit is one of half-open's.
    bool acquire(bool& probe) {
        probe = false;
        switch (state_.load(std::memory_order_acquire)) {
        case breaker_state::closed:
        case breaker_state::disabled:
        case breaker_state::metrics_only: return true;
        case breaker_state::forced_open: return false;
        default: break;
        }
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        auto s = state_.load(std::memory_order_relaxed);
        if (s == breaker_state::open) {
            if (now < open_until_) return false;
            transition(breaker_state::half_open);
            half_open_since_ = now;
            probes_started_ = probes_done_ = probe_failures_ = probe_slow_ = 0;
            s = breaker_state::half_open;
        }
        if (s != breaker_state::half_open) return s != breaker_state::forced_open;
        if (opts_.max_half_open_wait.count() > 0 && now - half_open_since_ >= opts_.max_half_open_wait) {
            open_locked(now);
            return false;
        }
        if (probes_started_ >= opts_.half_open_calls) return false;
        ++probes_started_;
        probe = true;
        return true;
    }

    void record(outcome o, bool probe, bool slow) {
        if (probe) return record_probe(o, slow);
        const auto s = state_.load(std::memory_order_acquire);
        if (o == outcome::ignored || s == breaker_state::disabled || s == breaker_state::forced_open) return;
        if (s != breaker_state::closed && s != breaker_state::metrics_only) return;  // a late call
        std::size_t calls, failures, slows;
        if (opts_.window == window_kind::count) {
            if (!record_count(o == outcome::failure, slow, calls, failures, slows)) return;
        } else {
            record_time(o == outcome::failure, slow, calls, failures, slows);
        }
        if (calls < opts_.minimum_calls || s != breaker_state::closed) return;
        if (tripped(calls, failures, slows)) {
            std::lock_guard lock(mutex_);
            if (state_.load(std::memory_order_relaxed) == breaker_state::closed) open_locked(Clock::now());
        }
    }

    /// Administrative states.
    void force(breaker_state s) {
        std::lock_guard lock(mutex_);
        if (s == breaker_state::closed) reset_window();
        if (s == breaker_state::open) return open_locked(Clock::now());
        transition(s);
    }

    /// Failure rate (percent) in the window now; -1 below minimum_calls.
    double failure_rate() {
        std::size_t calls, failures, slows;
        snapshot(calls, failures, slows);
        return calls < opts_.minimum_calls || calls == 0 ? -1 : 100.0 * failures / calls;
    }

private:
    static constexpr std::size_t max_window = std::size_t{1} << 31;

    bool tripped(std::size_t calls, std::size_t failures, std::size_t slows) const noexcept {
        return 100.0 * failures >= opts_.failure_rate_threshold * calls ||
               (opts_.slow_call_rate_threshold < 100 && 100.0 * slows >= opts_.slow_call_rate_threshold * calls);
    }

    // Count window, lock-free: a ring of outcomes and running totals. Under
    // contention a total can be briefly off by the calls in flight, which a
    // rate threshold tolerates. The steady success path (a success replacing
    // a success) is one atomic read-modify-write: the slot is only exchanged
    // when its outcome changes, and every change adjusts the totals by what
    // the exchange returned, so they never drift from the ring's contents.
    // Returns false when the window's rates cannot have changed (an outcome
    // replaced the same outcome in a full window): nothing to judge then.
    bool record_count(bool fail, bool slow, std::size_t& calls, std::size_t& failures, std::size_t& slows) {
        const std::uint8_t v = static_cast<std::uint8_t>(1 | (fail ? 2 : 0) | (slow ? 4 : 0));
        const auto seq = seq_.fetch_add(1, std::memory_order_relaxed);
        auto& slot = ring_[ring_index(seq)];
        if (slot.load(std::memory_order_relaxed) == v && seq >= ring_.size()) return false;
        const auto old = slot.exchange(v, std::memory_order_relaxed);
        const int df = ((v >> 1) & 1) - ((old >> 1) & 1);
        const int ds = ((v >> 2) & 1) - ((old >> 2) & 1);
        failures = df ? static_cast<std::size_t>(failures_.fetch_add(df, std::memory_order_relaxed) + df)
                      : static_cast<std::size_t>(failures_.load(std::memory_order_relaxed));
        slows = ds ? static_cast<std::size_t>(slows_.fetch_add(ds, std::memory_order_relaxed) + ds)
                   : static_cast<std::size_t>(slows_.load(std::memory_order_relaxed));
        calls = static_cast<std::size_t>(std::min<std::uint64_t>(seq + 1, ring_.size()));
        return true;
    }

    struct bucket {
        std::int64_t second = -1;
        std::size_t calls = 0, failures = 0, slows = 0;
    };

    // seq mod ring size without a division (Lemire's fastmod on the low 32
    // bits): a 64-bit divide is the slowest instruction of the success path.
    // Once every 2^32 calls the position skips ahead; the totals stay exact.
    std::size_t ring_index(std::uint64_t seq) const noexcept {
        __extension__ using u128 = unsigned __int128;
        const std::uint64_t low = ring_mod_ * static_cast<std::uint32_t>(seq);
        return static_cast<std::size_t>((static_cast<u128>(low) * ring_.size()) >> 64);
    }

    void record_time(bool fail, bool slow, std::size_t& calls, std::size_t& failures, std::size_t& slows) {
        std::lock_guard lock(mutex_);
        const auto sec = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
        auto& b = buckets_[static_cast<std::size_t>(sec) % buckets_.size()];
        if (b.second != sec) b = bucket{sec};
        ++b.calls;
        b.failures += fail;
        b.slows += slow;
        sum_buckets(sec, calls, failures, slows);
    }

    void sum_buckets(std::int64_t sec, std::size_t& calls, std::size_t& failures, std::size_t& slows) const {
        calls = failures = slows = 0;
        for (const auto& x : buckets_)
            if (x.second > sec - static_cast<std::int64_t>(buckets_.size()) && x.second <= sec) {
                calls += x.calls;
                failures += x.failures;
                slows += x.slows;
            }
    }

    void snapshot(std::size_t& calls, std::size_t& failures, std::size_t& slows) {
        if (opts_.window == window_kind::count) {
            calls = static_cast<std::size_t>(std::min<std::uint64_t>(seq_.load(), ring_.size()));
            failures = static_cast<std::size_t>(failures_.load());
            slows = static_cast<std::size_t>(slows_.load());
        } else {
            std::lock_guard lock(mutex_);
            sum_buckets(std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count(),
                        calls, failures, slows);
        }
    }

    void record_probe(outcome o, bool slow) {
        std::lock_guard lock(mutex_);
        if (state_.load(std::memory_order_relaxed) != breaker_state::half_open) return;
        if (o == outcome::ignored) {  // give the permit back
            if (probes_started_ > 0) --probes_started_;
            return;
        }
        ++probes_done_;
        probe_failures_ += o == outcome::failure;
        probe_slow_ += slow;
        if (probes_done_ < opts_.half_open_calls) return;
        if (tripped(probes_done_, probe_failures_, probe_slow_)) {
            open_locked(Clock::now());
        } else {
            reset_window();
            consecutive_opens_ = 0;
            transition(breaker_state::closed);
        }
    }

    void open_locked(time_point now) {
        ++consecutive_opens_;
        double d = static_cast<double>(opts_.open_duration.count());
        for (unsigned i = 1; i < consecutive_opens_ && d < static_cast<double>(opts_.max_open_duration.count()); ++i)
            d *= opts_.open_duration_multiplier;
        d = std::min(d, static_cast<double>(opts_.max_open_duration.count()));
        if (opts_.open_jitter > 0) {
            const double u = static_cast<double>(random_() % 1'000'001) / 1'000'000.0;  // [0, 1]
            d *= 1 + opts_.open_jitter * (2 * u - 1);
        }
        open_until_ = now + std::chrono::duration_cast<typename Clock::duration>(
                                std::chrono::nanoseconds(static_cast<std::int64_t>(d)));
        transition(breaker_state::open);
    }

    void reset_window() {
        for (auto& x : ring_) x.store(0, std::memory_order_relaxed);
        seq_ = 0;
        failures_ = 0;
        slows_ = 0;
        for (auto& b : buckets_) b = bucket{};
    }

    void transition(breaker_state to) {
        const auto from = state_.exchange(to, std::memory_order_acq_rel);
        if (from != to) notify(opts_.on_event, {.kind = event_kind::state_change, .policy = "circuit_breaker",
                                                .from = from, .to = to});
    }

    circuit_breaker_options opts_;
    Random random_;
    std::atomic<breaker_state> state_{breaker_state::closed};
    std::vector<std::atomic<std::uint8_t>> ring_;
    std::uint64_t ring_mod_ = ring_.empty() ? 0 : ~std::uint64_t{0} / ring_.size() + 1;
    std::atomic<std::uint64_t> seq_{0};
    std::atomic<std::int64_t> failures_{0}, slows_{0};
    std::vector<bucket> buckets_;
    const bool timed_;
    std::mutex mutex_;
    time_point open_until_{};
    time_point half_open_since_{};
    std::size_t probes_started_ = 0, probes_done_ = 0, probe_failures_ = 0, probe_slow_ = 0;
    unsigned consecutive_opens_ = 0;
};

}  // namespace detail

template <service S, class Timing, class Random>
class circuit_breaker_service;

/// The circuit breaker layer. Copies share one breaker: wrap several
/// services with one layer object and they trip together.
template <class Timing = steady_timing, class Random = default_random>
class circuit_breaker {
public:
    using core_type = detail::breaker_core<typename Timing::clock, Random>;

    explicit circuit_breaker(circuit_breaker_options opts = {}, Random random = {})
        : core_(std::make_shared<core_type>(std::move(opts), std::move(random))) {}

    template <service S>
    circuit_breaker_service<S, Timing, Random> wrap(S svc) const {
        return {std::move(svc), core_};
    }

    breaker_state state() const noexcept { return core_->state(); }
    /// Failure rate in percent over the window; -1 below minimum_calls.
    double failure_rate() const { return core_->failure_rate(); }
    /// Administrative transitions: closed (and clear the window), open,
    /// forced_open (rejects until told otherwise), disabled (always lets
    /// through, records nothing), metrics_only (records, never opens).
    void transition_to(breaker_state s) { core_->force(s); }

private:
    std::shared_ptr<core_type> core_;
};

circuit_breaker(circuit_breaker_options) -> circuit_breaker<>;

template <service S, class Timing, class Random>
class circuit_breaker_service : public courier::detail::layered_service<circuit_breaker_service<S, Timing, Random>, S> {
    using base = courier::detail::layered_service<circuit_breaker_service<S, Timing, Random>, S>;
    friend base;

public:
    using typename base::executor_type;
    using typename base::request_type;
    using typename base::response_type;
    using clock = typename Timing::clock;
    using core_type = detail::breaker_core<clock, Random>;

    circuit_breaker_service(S svc, std::shared_ptr<core_type> core) : base(std::move(svc)), core_(std::move(core)) {}


    /// Calls the inner service when the breaker permits, else completes
    /// with error::circuit_open through the handler's executor (never
    /// inline, and without touching the inner service). Cancellation and
    /// every other association pass through to the inner call.

private:
    template <class Handler>
    void start(Handler&& handler, request_type&& req, context&& ctx) {
        bool probe = false;
        if (!core_->acquire(probe)) {
            detail::notify(core_->options().on_event,
                   {.kind = event_kind::rejected, .policy = "circuit_breaker", .error = error::circuit_open});
            return courier::detail::post_completion(std::move(handler), this->get_executor(),
                                                    error_code(error::circuit_open), response_type{});
        }
        const auto started = core_->timed() ? clock::now() : typename clock::time_point{};
        this->call_next(courier::detail::forward_to(std::move(handler), [core = core_.get(), started, probe](
                                                                            auto&& h, error_code ec, auto&& rep) {
                            const auto& o = core->options();
                            const auto result = o.classify ? o.classify(ec) : detail::default_classify(ec);
                            const bool slow = core->timed() && clock::now() - started >= o.slow_call_duration;
                            core->record(result, probe, slow);
                            std::move(h)(ec, std::forward<decltype(rep)>(rep));
                        }),
                        std::move(req), std::move(ctx));
    }

    std::shared_ptr<core_type> core_;
};

}  // namespace courier::policy

#endif
