// Throughput of in-process publish-subscribe (courier::inproc::broker, 100k messages per iteration
// to 1 and 4 groups, one io_context on one thread) next to a raw asio::post loop, one lambda per
// delivery, the floor for handing work to an executor. Target: courier >= 0.5x the loop's rate.
#include "alloc_counter.hpp"

#include <courier/inproc.hpp>
#include <courier/publisher.hpp>
#include <courier/subscribe.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;

namespace {

constexpr std::size_t messages_per_iteration = 100'000;
constexpr std::string_view topic = "order.created";

// The event: a short JSON body (fits the SSO buffer, so building the message
// itself costs the publisher no allocation).
courier::message make_message() {
    courier::message m;
    m.payload = R"({"id":"1042"})";
    return m;
}

// The same event, typed, for the publisher<Msg>/subscribe<Msg> variant.
struct order_created {
    std::string id;
    double amount = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(order_created, id, amount)

/// Runs one iteration (warm-up) untimed, then the timed ones inside an
/// allocation-counting window; `iteration()` must leave the context idle.
template <class Iteration>
void run_iterations(benchmark::State& state, std::size_t groups, Iteration iteration) {
    iteration();
    courier_bench::alloc_window allocs;
    for (auto _ : state) iteration();
    const auto messages = static_cast<double>(state.iterations() * messages_per_iteration);
    state.SetItemsProcessed(static_cast<std::int64_t>(messages));
    state.counters["deliveries_per_second"] =
        benchmark::Counter(messages * static_cast<double>(groups), benchmark::Counter::kIsRate);
    allocs.report(state, messages);  // per published message
}

// --- raw asio::post loop -------------------------------------------------------
// The floor: a handler on the context posts one lambda per delivery (N, or 4N
// for the four-group comparison), each bumping a counter.

template <class Executor>
void post_loop(benchmark::State& state, int concurrency_hint, std::size_t groups) {
    asio::io_context ioc(concurrency_hint);
    Executor ex = ioc.get_executor();
    const std::size_t lambdas = messages_per_iteration * groups;
    std::size_t count = 0;
    run_iterations(state, groups, [&] {
        count = 0;
        asio::post(ex, [&] {
            for (std::size_t i = 0; i < lambdas; ++i) asio::post(ex, [&count] { ++count; });
        });
        ioc.restart();
        ioc.run();
        if (count != lambdas) state.SkipWithError("lost a lambda");
    });
}

// --- courier broker, message level ---------------------------------------------

enum class pacing {
    burst,  // every publish started from one handler; queue_capacity holds them all
    paced,  // each publish started from the previous publish's completion
};

void courier_broker(benchmark::State& state, int concurrency_hint, std::size_t groups, pacing mode) {
    asio::io_context ioc(concurrency_hint);
    courier::inproc::broker_options opts;
    if (mode == pacing::burst) opts.queue_capacity = messages_per_iteration;  // a burst never waits for room
    courier::inproc::broker broker(ioc.get_executor(), opts);
    std::vector<std::size_t> delivered(groups);
    std::vector<courier::subscription> subs;
    for (std::size_t g = 0; g < groups; ++g)
        subs.push_back(broker.subscribe(topic, "group-" + std::to_string(g),
                                        [&n = delivered[g]](const courier::message& m, courier::context&) {
                                            benchmark::DoNotOptimize(&m);
                                            ++n;
                                        }));
    std::size_t acked = 0;
    bool failed = false;
    auto on_ack = [&](courier::error_code ec, courier::publish_ack) {
        failed |= bool(ec);
        ++acked;
    };
    struct paced_chain {
        courier::inproc::broker& broker;
        std::size_t& acked;
        bool& failed;
        std::size_t left = 0;
        void operator()() {
            if (left == 0) return;
            --left;
            broker.async_publish(topic, make_message(), [this](courier::error_code ec, courier::publish_ack) {
                failed |= bool(ec);
                ++acked;
                (*this)();
            });
        }
    } chain{broker, acked, failed};
    run_iterations(state, groups, [&] {
        acked = 0;
        std::fill(delivered.begin(), delivered.end(), 0);
        if (mode == pacing::burst) {
            asio::post(ioc, [&] {
                for (std::size_t i = 0; i < messages_per_iteration; ++i)
                    broker.async_publish(topic, make_message(), on_ack);
            });
        } else {
            chain.left = messages_per_iteration;
            asio::post(ioc, [&] { chain(); });
        }
        ioc.restart();
        ioc.run();
        for (auto n : delivered)
            if (n != messages_per_iteration) failed = true;
        if (failed || acked != messages_per_iteration) state.SkipWithError("lost a message or an ack");
    });
}

// --- courier, typed (publisher<Msg> and subscribe<Msg>, JSON codec) -------------

void courier_typed(benchmark::State& state, int concurrency_hint, std::size_t groups) {
    asio::io_context ioc(concurrency_hint);
    courier::inproc::broker_options opts;
    opts.queue_capacity = messages_per_iteration;
    courier::inproc::broker broker(ioc.get_executor(), opts);
    courier::publisher<order_created, courier::inproc::broker> pub(broker, std::string(topic));
    std::vector<std::size_t> delivered(groups);
    std::vector<courier::subscription> subs;
    for (std::size_t g = 0; g < groups; ++g)
        subs.push_back(courier::subscribe<order_created>(
            broker, topic, "group-" + std::to_string(g),
            [&n = delivered[g]](const order_created& o, courier::context&) {
                benchmark::DoNotOptimize(&o);
                ++n;
            }));
    std::size_t acked = 0;
    bool failed = false;
    const order_created event{"1042", 25.0};
    run_iterations(state, groups, [&] {
        acked = 0;
        std::fill(delivered.begin(), delivered.end(), 0);
        asio::post(ioc, [&] {
            for (std::size_t i = 0; i < messages_per_iteration; ++i)
                pub.async_publish(event, [&](courier::error_code ec, courier::publish_ack) {
                    failed |= bool(ec);
                    ++acked;
                });
        });
        ioc.restart();
        ioc.run();
        for (auto n : delivered)
            if (n != messages_per_iteration) failed = true;
        if (failed || acked != messages_per_iteration) state.SkipWithError("lost a message or an ack");
    });
}

// --- registration -----------------------------------------------------------
// Names: pubsub/<groups>/<implementation>/hint:<concurrency hint>. Items per
// second are published messages; deliveries_per_second counts handler runs
// (groups x messages), the figure compared with the loop's lambdas per second.

const int registered = [] {
    for (int hint : {BOOST_ASIO_CONCURRENCY_HINT_DEFAULT, 1}) {
        const std::string suffix = std::string("/hint:") + (hint == 1 ? "1" : "default");
        for (std::size_t groups : {1u, 4u}) {
            const std::string prefix =
                "pubsub/" + std::to_string(groups) + (groups == 1 ? "_group/" : "_groups/");
            auto name = [&](const char* impl) { return prefix + impl + suffix; };
            using io_executor = asio::io_context::executor_type;
            benchmark::RegisterBenchmark(name("post_loop").c_str(), &post_loop<io_executor>, hint, groups);
            benchmark::RegisterBenchmark(name("post_loop_any_io_executor").c_str(),
                                         &post_loop<asio::any_io_executor>, hint, groups);
            benchmark::RegisterBenchmark(name("courier").c_str(), &courier_broker, hint, groups,
                                         pacing::burst);
            benchmark::RegisterBenchmark(name("courier_paced").c_str(), &courier_broker, hint, groups,
                                         pacing::paced);
            benchmark::RegisterBenchmark(name("courier_typed_json").c_str(), &courier_typed, hint, groups);
        }
    }
    return 0;
}();

}  // namespace
