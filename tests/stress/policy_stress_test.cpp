// Policy layers on a pool, over an in-process server whose handlers suspend
// and sometimes fail: calls started from several threads at once, deadlines
// and hedges landing as replies arrive, a breaker moved between states by
// many threads. Every call completes exactly once with an outcome its layers
// can produce, and the breaker's transitions form one unbroken chain.
#include <courier/inproc.hpp>
#include <courier/layer.hpp>
#include <courier/policy/bulkhead.hpp>
#include <courier/policy/circuit_breaker.hpp>
#include <courier/policy/hedge.hpp>
#include <courier/policy/retry.hpp>
#include <courier/policy/timeout.hpp>

#include "stress/pool.hpp"
#include "support/catch.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace policy = courier::policy;
using namespace std::chrono_literals;
using courier::context;
using courier::error;
using courier::error_code;

namespace {

struct lookup {
    int id = 0;
    static constexpr bool idempotent = true;
};
struct found {
    int id = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(lookup, id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(found, id)

using lookup_client = courier::inproc::client<lookup, found>;

// Answers after 0-199 µs; every third attempt of a call fails as unavailable
// (retryable), so retries, breaker failures and successes all happen.
asio::awaitable<boost::system::result<found>> flaky(lookup req, context& ctx) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::microseconds(req.id * 7919 % 200));
    co_await t.async_wait(asio::use_awaitable);
    if ((req.id + static_cast<int>(ctx.attempt)) % 3 == 0) co_return error_code(error::unavailable);
    co_return found{req.id};
}

// Always answers, after 0-199 µs.
asio::awaitable<found> steady(lookup req, context&) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::microseconds(req.id * 7919 % 200));
    co_await t.async_wait(asio::use_awaitable);
    co_return found{req.id};
}

template <class Pool>
struct bench_rig {
    typename courier_stress::pool_of<Pool>::type pool;
    courier::inproc::network net;
    courier::inproc::server srv{net, pool.get_executor()};
    lookup_client client() {
        return lookup_client(courier::inproc::channel<lookup, found>(pool.get_executor(), net, "lookup"));
    }
};

// Starts `calls` calls on `svc`, split over `starters` threads that start
// theirs at once, and waits for every completion.
template <class Service>
void call_from_threads(Service& svc, courier_stress::outcomes& seen, int calls, int starters) {
    std::vector<std::thread> threads;
    for (int t = 0; t < starters; ++t)
        threads.emplace_back([&, t] {
            for (int i = t; i < calls; i += starters)
                svc.async_call(lookup{i}, context{}, [&seen, i](error_code ec, found f) {
                    seen.record(i, ec, f.id == i);
                });
        });
    for (auto& t : threads) t.join();
    REQUIRE(seen.wait_all(120s));
}

// Checks that the breaker's reported transitions chain: each starts where
// the previous one ended, from closed.
class transitions {
public:
    policy::observer observer() {
        return [this](const policy::event& e) {
            if (e.kind != policy::event_kind::state_change) return;
            std::lock_guard lock(mutex_);
            if (e.from != last_) broken_ = true;
            last_ = e.to;
            ++count_;
        };
    }
    bool chained() const {
        std::lock_guard lock(mutex_);
        return !broken_;
    }
    int count() const {
        std::lock_guard lock(mutex_);
        return count_;
    }

private:
    mutable std::mutex mutex_;
    policy::breaker_state last_ = policy::breaker_state::closed;
    bool broken_ = false;
    int count_ = 0;
};

template <class Pool>
void full_stack_from_threads() {
    constexpr int calls = courier_stress::scaled(12'000);
    bench_rig<Pool> rig;
    rig.srv.template bind<lookup, found>("lookup", flaky);
    transitions breaker_states;
    auto svc = courier::stack(
                   policy::timeout(2s),
                   policy::retry({.max_attempts = 3,
                                  .backoff = policy::exponential_backoff{50us, 200us},
                                  .use_budget = false}),
                   policy::circuit_breaker({.window_size = 20,
                                            .minimum_calls = 10,
                                            .failure_rate_threshold = 30,
                                            .open_duration = 300us,
                                            .half_open_calls = 3,
                                            .on_event = breaker_states.observer()}),
                   policy::bulkhead({.max_concurrent = 64}),
                   policy::timeout(150us))
                   .wrap(rig.client());
    courier_stress::outcomes seen(calls);
    call_from_threads(svc, seen, calls, static_cast<int>(courier_stress::threads));
    rig.pool.join();
    INFO(seen.summary());
    seen.check_exactly_once();
    const int expected = seen.count(error_code{}) + seen.count(error::timeout) + seen.count(error::circuit_open) +
                         seen.count(error::bulkhead_full) + seen.count(error::unavailable) +
                         seen.count(error::retries_exhausted);
    CHECK(expected == calls);
    CHECK(seen.bad_values() == 0);
    // A third of the attempts fail, over the 30% threshold: the breaker
    // moved, from many threads, and its transitions still form one chain.
    CHECK(breaker_states.count() > 0);
    CHECK(breaker_states.chained());
}

template <class Pool>
void hedges_race_replies() {
    constexpr int calls = courier_stress::scaled(20'000);
    bench_rig<Pool> rig;
    rig.srv.template bind<lookup, found>("lookup", steady);
    auto svc = policy::hedge({.delay = 60us, .max_attempts = 3}).wrap(rig.client());
    courier_stress::outcomes seen(calls);
    call_from_threads(svc, seen, calls, 2);
    rig.pool.join();
    INFO(seen.summary());
    seen.check_exactly_once();
    CHECK(seen.count(error_code{}) == calls);
    CHECK(seen.bad_values() == 0);
}

}  // namespace

TEST_CASE("a stack of timeout, retry, circuit breaker and bulkhead completes every call exactly once on an io_context "
          "run by four threads",
          "[stress][policy]") {
    full_stack_from_threads<asio::io_context>();
}

TEST_CASE("a stack of timeout, retry, circuit breaker and bulkhead completes every call exactly once on a thread_pool",
          "[stress][policy]") {
    full_stack_from_threads<asio::thread_pool>();
}

TEST_CASE("hedged calls whose attempts answer together complete exactly once on an io_context run by four threads",
          "[stress][policy][hedge]") {
    hedges_race_replies<asio::io_context>();
}

TEST_CASE("hedged calls whose attempts answer together complete exactly once on a thread_pool",
          "[stress][policy][hedge]") {
    hedges_race_replies<asio::thread_pool>();
}
