// Cost of each resilience layer on the success path: the same in-process
// call undecorated and wrapped in timeout, retry, circuit_breaker, bulkhead,
// rate_limiter, fallback and the seed's timeout | retry | circuit_breaker.
// Overhead = decorated - undecorated, measured in the same binary.
#include "alloc_counter.hpp"

#include <courier/inproc.hpp>
#include <courier/layer.hpp>
#include <courier/policy/bulkhead.hpp>
#include <courier/policy/circuit_breaker.hpp>
#include <courier/policy/fallback.hpp>
#include <courier/policy/rate_limiter.hpp>
#include <courier/policy/retry.hpp>
#include <courier/policy/timeout.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace policy = courier::policy;
using namespace std::chrono_literals;

namespace {

struct get_user {
    std::string id;
    static constexpr bool idempotent = true;
};
struct user {
    std::string id, name, email;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name, email)

[[gnu::noinline]] user find_user(const get_user& req, courier::context&) {
    return user{req.id, "Ada Lovelace", "ada@example.com"};
}

constexpr std::int64_t warmup_calls = 10'000;

// Calls `svc` back to back, each call started from the previous one's
// completion: warm-up first, then the timed run in an allocation window.
// A far-off timer stays armed throughout, as the sockets and timers of any
// real service do: with it, Asio's reactor takes its turn in the run loop
// (an epoll_wait per cycle). Without it the undecorated call would skip that
// cost while a timeout layer (whose deadline timer wakes the reactor) pays
// it, and the difference would be Asio's, not the layer's.
template <class Service>
void run(benchmark::State& state, asio::io_context& ioc, Service& svc) {
    const get_user req{"42"};
    std::int64_t warmup = warmup_calls;
    bool timing = false;
    asio::steady_timer reactor(ioc);
    auto more = [&] { return timing ? state.KeepRunning() : warmup-- > 0; };
    auto arm = [&] {
        reactor.expires_after(std::chrono::hours(1));
        reactor.async_wait([](courier::error_code) {});
    };
    std::function<void()> next;
    next = [&] {
        if (!more()) {
            reactor.cancel();
            return;
        }
        svc.async_call(req, courier::context{}, [&](courier::error_code ec, user rep) {
            if (ec) return state.SkipWithError(ec.message().c_str());
            benchmark::DoNotOptimize(rep);
            next();
        });
    };
    arm();
    next();
    ioc.run();
    ioc.restart();
    timing = true;
    arm();
    courier_bench::alloc_window allocs;
    next();
    ioc.run();
    allocs.report(state, static_cast<double>(state.iterations()));
}

template <class MakeLayer>
void decorated(benchmark::State& state, MakeLayer make) {
    asio::io_context ioc(1);
    courier::inproc::network net;
    courier::inproc::server server(net, ioc.get_executor());
    server.bind<get_user, user>("svc", find_user);
    auto svc = make().wrap(courier::inproc::channel<get_user, user>(ioc.get_executor(), net, "svc"));
    run(state, ioc, svc);
}

struct no_layer {
    template <class S>
    S wrap(S s) const {
        return s;
    }
};

const int registered = [] {
    auto add = [](const char* name, auto make) {
        // The fastest repetition too: on a shared machine noise only ever
        // adds time, so the minimum is the steadiest estimate of the cost.
        benchmark::RegisterBenchmark((std::string("policies/") + name).c_str(),
                                     [make](benchmark::State& st) { decorated(st, make); })
            ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
    };
    add("undecorated", [] { return no_layer{}; });
    add("timeout", [] { return policy::timeout(2s); });
    add("retry", [] { return policy::retry(); });
    add("circuit_breaker", [] { return policy::circuit_breaker(); });
    add("bulkhead", [] { return policy::bulkhead(); });
    add("rate_limiter", [] { return policy::rate_limiter({.rate = 1e12, .burst = 1e12}); });
    add("fallback", [] { return policy::fallback([](const courier::error_code&) { return user{}; }); });
    add("timeout_retry_circuit_breaker",
        [] { return courier::stack(policy::timeout(2s), policy::retry(), policy::circuit_breaker()); });
    return 0;
}();

}  // namespace
