// The AMQP backend on a pool, against the test broker: RPC calls whose
// deadlines land while their handlers run and their replies travel, and
// publishes with deadlines from several threads, then a close while they
// are in flight. Every operation completes exactly once with an outcome its
// layers can produce; brokers, servers and handlers all run on an io_context
// run by four threads.
#include "amqp_test_support.hpp"
#include "stress/pool.hpp"
#include "support/catch.hpp"
#include "support/rabbitmq.hpp"

#include <courier/amqp/broker.hpp>
#include <courier/amqp/rpc.hpp>
#include <courier/broker.hpp>
#include <courier/policy/timeout.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <semaphore>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace stress_test {

struct lookup {
    int id = 0;
};
struct found {
    int id = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(lookup, id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(found, id)

}  // namespace stress_test

namespace {

using namespace amqp_test;
using stress_test::found;
using stress_test::lookup;

// Starts `n` operations split over `starters` threads, all at once.
template <class Start>
void start_from_threads(int n, int starters, Start start) {
    std::vector<std::thread> threads;
    for (int t = 0; t < starters; ++t)
        threads.emplace_back([&, t] {
            for (int i = t; i < n; i += starters) start(i);
        });
    for (auto& t : threads) t.join();
}

template <class Broker>
void close_all(std::initializer_list<Broker*> brokers) {
    std::vector<std::future<void>> closed;
    for (auto* b : brokers) closed.push_back(b->async_close(asio::use_future));
    for (auto& f : closed) CHECK(f.wait_for(60s) == std::future_status::ready);
}

}  // namespace

TEST_CASE("amqp stress: RPC calls whose deadlines land as handlers answer complete exactly once on a pool",
          "[amqp][rpc][stress]") {
    constexpr int calls = courier_stress::scaled(2'000);
    courier_stress::io_pool pool;
    amqp::broker server_broker(pool.get_executor(), options()), client_broker(pool.get_executor(), options());
    const auto queue = rabbitmq::unique_name("stress.rpc");
    std::promise<void> consuming;
    std::once_flag once;
    amqp::rpc_server server(server_broker, {.on_consuming = [&](const std::string&) {
                                               std::call_once(once, [&] { consuming.set_value(); });
                                           }});
    // Answers after 0-40 ms: against a 20 ms deadline about half time out
    // (ten times both under TSan; far above a loaded round trip),
    // the server cancelling its handler at the deadline it received.
    std::atomic<int> handlers_cancelled{0};
    server.bind<lookup, found>(queue, [&](lookup req, courier::context&) -> asio::awaitable<found> {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::microseconds(req.id * 7919 % (40'000 * courier_stress::slowdown)));
        try {
            co_await t.async_wait(asio::use_awaitable);
        } catch (const boost::system::system_error&) {
            ++handlers_cancelled;
            throw;
        }
        co_return found{req.id};
    });
    REQUIRE(consuming.get_future().wait_for(30s) == std::future_status::ready);

    auto client = courier::policy::timeout(20ms * courier_stress::slowdown).wrap(amqp::rpc_client<lookup, found>(client_broker, queue));
    courier_stress::outcomes seen(calls);
    // At most 64 calls in flight, so a deadline measures the handler and
    // the round trip rather than the queue of calls not yet sent.
    std::counting_semaphore<64> window(64);
    start_from_threads(calls, 4, [&](int i) {
        window.acquire();
        client.async_call(lookup{i}, courier::context{}, [&seen, &window, i](error_code ec, found f) {
            window.release();  // before the record that may end the wait
            seen.record(i, ec, f.id == i);
        });
    });
    REQUIRE(seen.wait_all(120s));
    seen.check_deadline_race();
    server.close();
    close_all({&server_broker, &client_broker});
    pool.join();
    CHECK(handlers_cancelled > 0);  // the server's side: deadlines cancelled running handlers
}

TEST_CASE("amqp stress: publishes with deadlines from four threads, then a close while more are in flight, each "
          "complete exactly once on a pool",
          "[amqp][stress]") {
    constexpr int before_close = courier_stress::scaled(4'000), during_close = courier_stress::scaled(2'000);
    courier_stress::io_pool pool;
    amqp::broker b(pool.get_executor(), options(amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("stress.publish");
    std::mutex mutex;
    std::condition_variable arrived;
    std::set<std::string> received;
    auto sub = b.subscribe(
        topic, "",
        [&](const courier::message& m, courier::context&) {
            std::lock_guard lock(mutex);
            received.insert(m.id);
            arrived.notify_all();
        },
        amqp::subscribe_options{.prefetch = 100});

    auto publish = courier::policy::timeout(2s).wrap(courier::publish_service{b});
    auto start = [&](courier_stress::outcomes& seen, int i) {
        courier::message m;
        m.id = "m" + std::to_string(i);
        m.payload = "x";
        publish.async_call(courier::publish_request{topic, std::move(m)}, courier::context{},
                           [&seen, i](error_code ec, courier::publish_ack) { seen.record(i, ec); });
    };

    courier_stress::outcomes confirmed(before_close);
    start_from_threads(before_close, 4, [&](int i) { start(confirmed, i); });
    REQUIRE(confirmed.wait_all(120s));
    INFO(confirmed.summary());
    confirmed.check_exactly_once();
    CHECK(confirmed.count(error_code{}) == before_close);
    // At least once: every confirmed message reaches the subscriber.
    {
        std::unique_lock lock(mutex);
        CHECK(arrived.wait_for(lock, 120s, [&] { return received.size() == static_cast<std::size_t>(before_close); }));
    }

    // Publishes racing a close: each is confirmed or fails with
    // broker_closed, none is left hanging.
    courier_stress::outcomes racing(during_close);
    std::thread closer([&] {
        auto closed = b.async_close(asio::use_future);
        CHECK(closed.wait_for(60s) == std::future_status::ready);
    });
    start_from_threads(during_close, 3, [&](int i) { start(racing, i); });
    closer.join();
    REQUIRE(racing.wait_all(120s));
    INFO(racing.summary());
    racing.check_exactly_once();
    CHECK(racing.count(error_code{}) + racing.count(courier::error::broker_closed) == during_close);
    sub.unsubscribe();
    pool.join();
}

TEST_CASE("amqp stress: publishes whose deadlines land as their confirms arrive complete exactly once on a pool",
          "[amqp][stress]") {
    // The timeout layer emits its cancellation on its own strand of the pool
    // while the broker completes the publish from its connection's strand:
    // the broker must clear the caller's cancellation slot where it is
    // emitted, not on its own strand (ThreadSanitizer saw that race).
    constexpr int n = courier_stress::scaled(4'000);
    courier_stress::io_pool pool;
    amqp::broker b(pool.get_executor(), options(amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("stress.cancel");
    std::atomic<int> consumed{0};
    auto sub = b.subscribe(
        topic, "", [&](const courier::message&, courier::context&) { ++consumed; },
        amqp::subscribe_options{.prefetch = 100});
    // Deadlines from a fifth of a confirm's round trip to several of them.
    std::vector<decltype(courier::policy::timeout(1ms).wrap(courier::publish_service{b}))> publish;
    for (auto d : {200us, 500us, 1000us, 2000us, 5000us})
        publish.push_back(courier::policy::timeout(d * courier_stress::slowdown).wrap(courier::publish_service{b}));

    courier_stress::outcomes seen(n);
    std::counting_semaphore<256> window(256);
    start_from_threads(n, 4, [&](int i) {
        window.acquire();
        courier::message m;
        m.payload = "x";
        publish[static_cast<std::size_t>(i) % publish.size()].async_call(
            courier::publish_request{topic, std::move(m)}, courier::context{},
            [&seen, &window, i](error_code ec, courier::publish_ack) {
                window.release();
                seen.record(i, ec);
            });
    });
    REQUIRE(seen.wait_all(120s));
    INFO(seen.summary());
    seen.check_deadline_race();
    sub.unsubscribe();
    close_all({&b});
    pool.join();
}
