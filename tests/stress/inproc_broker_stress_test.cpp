// The in-process broker on a pool: publishers on four threads with
// deadlines that expire while they wait for room, coroutine consumers that
// suspend and sometimes fail (redelivery, dead letters), and a shutdown
// racing publishes. Every publish completes exactly once, and every
// accepted message is acked exactly once or dead-lettered exactly once.
#include <courier/broker.hpp>
#include <courier/inproc.hpp>
#include <courier/policy/timeout.hpp>

#include "stress/pool.hpp"
#include "support/catch.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using courier::context;
using courier::error;
using courier::error_code;
using courier::message;

namespace {

message numbered(int i) {
    message m;
    m.id = std::to_string(i);
    m.payload = "order " + m.id;
    return m;
}

// What consumers saw, by message id, from any thread.
class ledger {
public:
    void add(const std::string& id) {
        std::lock_guard lock(mutex_);
        ++seen_[id];
        ++total_;
        changed_.notify_all();
    }
    bool wait_for_total(int n, std::chrono::steady_clock::duration limit) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, limit, [&] { return total_ >= n; });
    }
    std::map<std::string, int> counts() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, int> seen_;
    int total_ = 0;
};

// Starts `n` operations split over four threads that start theirs at once.
template <class Start>
void start_from_threads(int n, Start start) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = t; i < n; i += 4) start(i);
        });
    for (auto& t : threads) t.join();
}

}  // namespace

TEST_CASE("inproc broker: publishes timing out while they wait for room, and failing coroutine consumers, settle "
          "every message exactly once on a pool",
          "[stress][inproc][broker]") {
    constexpr int messages = courier_stress::scaled(8'000);
    courier_stress::io_pool pool;
    courier::inproc::broker_options o;
    o.queue_capacity = 32;  // publishers wait for room all the time
    o.max_deliveries = 2;
    o.redelivery_delay = 1ms;
    o.max_redelivery_delay = 1ms;
    courier::inproc::broker b(pool.get_executor(), o);

    ledger settled;  // "ack:<id>" or "dead:<id>", one entry per settled message
    // Suspends 0-49 µs; the first delivery of every fifth message fails
    // (redelivered once), every thirteenth always fails (dead-lettered).
    auto consume = [&](const message& m, context& ctx) -> asio::awaitable<error_code> {
        const int i = std::stoi(m.id);
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::microseconds(i * 7919 % 50));
        co_await t.async_wait(asio::use_awaitable);
        if (i % 13 == 0 || (i % 5 == 0 && ctx.attempt == 1)) co_return error_code(error::unavailable);
        settled.add("ack:" + m.id);
        co_return error_code{};
    };
    std::vector<courier::subscription> subs;
    for (int c = 0; c < 3; ++c)
        subs.push_back(b.subscribe("orders", "billing", consume, {.prefetch = 8}));
    subs.push_back(b.subscribe("orders.dlq", "billing", [&](const message& m, context&) { settled.add("dead:" + m.id); }));

    auto publish = courier::policy::timeout(200us * courier_stress::slowdown).wrap(courier::publish_service{b});
    courier_stress::outcomes published(messages);
    start_from_threads(messages, [&](int i) {
        publish.async_call(courier::publish_request{"orders", numbered(i)}, context{},
                           [&published, i](error_code ec, courier::publish_ack) { published.record(i, ec); });
    });
    REQUIRE(published.wait_all(120s));
    INFO(published.summary());
    published.check_exactly_once();
    const int accepted = published.count({});
    CHECK(accepted + published.count(error::timeout) == messages);
    CHECK(accepted > 0);

    // Each accepted message ends acked once or dead-lettered once, never both.
    REQUIRE(settled.wait_for_total(accepted, 120s));
    std::map<std::string, int> per_message;
    int dead = 0;
    for (const auto& [key, n] : settled.counts()) {
        INFO(key);
        CHECK(n == 1);
        per_message[key.substr(key.find(':') + 1)] += n;
        dead += key.starts_with("dead:");
    }
    CHECK(static_cast<int>(per_message.size()) == accepted);
    for (const auto& [id, n] : per_message) {
        INFO("message " << id);
        CHECK(n == 1);
    }
    int at_most_dead = 0;
    for (int i = 0; i < messages; ++i) at_most_dead += i % 13 == 0;
    CHECK(dead <= at_most_dead);

    b.async_shutdown(asio::use_future).wait();
    subs.clear();
    pool.join();
}

TEST_CASE("inproc broker: a shutdown racing publishes from four threads completes every publish exactly once",
          "[stress][inproc][broker]") {
    constexpr int messages = courier_stress::scaled(8'000);
    courier_stress::io_pool pool;
    courier::inproc::broker_options o;
    o.queue_capacity = 64;
    courier::inproc::broker b(pool.get_executor(), o);
    ledger handled;
    auto sub = b.subscribe(
        "orders", "email",
        [&](const message& m, context&) -> asio::awaitable<void> {
            // Slower than the publishers: they keep waiting for room.
            asio::steady_timer t(co_await asio::this_coro::executor, 20us);
            co_await t.async_wait(asio::use_awaitable);
            handled.add(m.id);
        },
        {.prefetch = 4});

    courier_stress::outcomes published(messages);
    std::thread closer([&] {
        REQUIRE(handled.wait_for_total(messages / 8, 60s));
        b.async_shutdown(asio::use_future).wait();
    });
    start_from_threads(messages, [&](int i) {
        b.async_publish("orders", numbered(i), context{},
                        [&published, i](error_code ec, courier::publish_ack) { published.record(i, ec); });
    });
    closer.join();
    REQUIRE(published.wait_all(120s));
    INFO(published.summary());
    published.check_exactly_once();
    CHECK(published.count({}) + published.count(error::broker_closed) == messages);
    CHECK(published.count(error::broker_closed) > 0);  // the close met publishes
    for (const auto& [id, n] : handled.counts()) CHECK(n == 1);
    sub.unsubscribe();
    pool.join();
}
