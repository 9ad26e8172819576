// The in-process broker's lock under contention: T threads run one io_context;
// T handlers on it publish 100k messages between them, while the same threads
// run the deliveries and settle them (each publish and each settlement takes
// the broker's lock). Built twice, with the broker's lock as courier's
// spinlock and as std::mutex (COURIER_BENCH_BROKER_LOCK), to decide which the
// broker keeps. The `probed` runs also time every hold and every wait of the
// lock (two clock reads each, so their throughput is not the figure to quote).
#include <courier/detail/spinlock.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>

namespace courier_bench {

// Held-lock bookkeeping is written only while the lock is held, so it needs no
// synchronization of its own; one broker exists at a time.
struct lock_stats {
    std::uint64_t acquisitions = 0;
    std::uint64_t hold_ns = 0;
    std::uint64_t wait_ns = 0;
    std::uint64_t max_hold_ns = 0;
};
inline lock_stats stats;
inline bool probing = false;  // set only while no thread runs the broker

class probed_lock {
public:
    void lock() noexcept {
        if (!probing) return lock_.lock();
        const auto asked = now();
        lock_.lock();
        acquired_ = now();
        stats.wait_ns += acquired_ - asked;
        ++stats.acquisitions;
    }
    bool try_lock() noexcept {
        if (!lock_.try_lock()) return false;
        if (probing) {
            acquired_ = now();
            ++stats.acquisitions;
        }
        return true;
    }
    void unlock() noexcept {
        if (probing) {
            const auto held = now() - acquired_;
            stats.hold_ns += held;
            if (held > stats.max_hold_ns) stats.max_hold_ns = held;
        }
        lock_.unlock();
    }

private:
    static std::uint64_t now() noexcept {
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now().time_since_epoch())
                                              .count());
    }
    COURIER_BENCH_BROKER_LOCK lock_;
    std::uint64_t acquired_ = 0;
};

}  // namespace courier_bench

#define COURIER_DETAIL_INPROC_BROKER_LOCK courier_bench::probed_lock

#include "alloc_counter.hpp"

#include <courier/inproc.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;

namespace {

constexpr std::size_t messages_per_iteration = 100'000;
constexpr std::string_view topic = "order.created";

#define COURIER_BENCH_STR2(x) #x
#define COURIER_BENCH_STR(x) COURIER_BENCH_STR2(x)
const std::string lock_name = std::string_view(COURIER_BENCH_STR(COURIER_BENCH_BROKER_LOCK)) == "std::mutex"
                                  ? "std_mutex"
                                  : "spinlock";

void contended(benchmark::State& state, unsigned threads, std::size_t groups, bool probe) {
    asio::io_context ioc(static_cast<int>(threads));
    courier::inproc::broker_options opts;
    opts.queue_capacity = messages_per_iteration;  // publishers never wait for room
    courier::inproc::broker broker(ioc.get_executor(), opts);
    std::vector<std::atomic<std::size_t>> delivered(groups);
    std::vector<courier::subscription> subs;
    for (std::size_t g = 0; g < groups; ++g)
        subs.push_back(broker.subscribe(topic, "group-" + std::to_string(g),
                                        [&n = delivered[g]](const courier::message& m, courier::context&) {
                                            benchmark::DoNotOptimize(&m);
                                            n.fetch_add(1, std::memory_order_relaxed);
                                        }));
    std::atomic<std::size_t> acked{0};
    std::atomic<bool> failed{false};
    auto iteration = [&] {
        acked = 0;
        for (auto& n : delivered) n = 0;
        for (unsigned t = 0; t < threads; ++t)
            asio::post(ioc, [&, share = messages_per_iteration / threads +
                                        (t < messages_per_iteration % threads ? 1 : 0)] {
                for (std::size_t i = 0; i < share; ++i) {
                    courier::message m;
                    m.payload = R"({"id":"1042"})";
                    broker.async_publish(topic, std::move(m), [&](courier::error_code ec, courier::publish_ack) {
                        if (ec) failed = true;
                        acked.fetch_add(1, std::memory_order_relaxed);
                    });
                }
            });
        ioc.restart();
        std::vector<std::thread> pool;
        for (unsigned t = 1; t < threads; ++t) pool.emplace_back([&] { ioc.run(); });
        ioc.run();
        for (auto& th : pool) th.join();
        for (auto& n : delivered)
            if (n != messages_per_iteration) failed = true;
        if (failed || acked != messages_per_iteration) state.SkipWithError("lost a message or an ack");
    };
    iteration();  // warm-up: queues and caches at their steady size
    courier_bench::stats = {};
    courier_bench::probing = probe;
    for (auto _ : state) iteration();
    courier_bench::probing = false;
    const auto messages = static_cast<double>(state.iterations() * messages_per_iteration);
    state.SetItemsProcessed(static_cast<std::int64_t>(messages));
    state.counters["deliveries_per_second"] =
        benchmark::Counter(messages * static_cast<double>(groups), benchmark::Counter::kIsRate);
    if (probe && courier_bench::stats.acquisitions > 0) {
        const auto n = static_cast<double>(courier_bench::stats.acquisitions);
        state.counters["lock_per_message"] = n / messages;
        state.counters["hold_ns"] = static_cast<double>(courier_bench::stats.hold_ns) / n;
        state.counters["wait_ns"] = static_cast<double>(courier_bench::stats.wait_ns) / n;
        state.counters["max_hold_ns"] = static_cast<double>(courier_bench::stats.max_hold_ns);
    }
}

// Names: pubsub_contended/<lock>/<threads>_threads/<groups>_group(s)[/probed].
// Wall time is the figure: the work is spread over threads.
const int registered = [] {
    for (unsigned threads : {1u, 2u, 4u})
        for (std::size_t groups : {1u, 4u})
            for (bool probe : {false, true}) {
                const std::string name = "pubsub_contended/" + lock_name + "/" + std::to_string(threads) +
                                         "_threads/" + std::to_string(groups) +
                                         (groups == 1 ? "_group" : "_groups") + (probe ? "/probed" : "");
                benchmark::RegisterBenchmark(name.c_str(), &contended, threads, groups, probe)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
            }
    return 0;
}();

}  // namespace
