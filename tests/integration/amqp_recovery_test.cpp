// amqp::broker when the broker itself goes through something every test
// running beside it would notice, hence [serial]: a restart in the middle of
// a stream of confirmed publishes with a consumer running, and a memory
// alarm that blocks publishers.
#include "amqp_test_support.hpp"

#include "support/tcp_proxy.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <exception>
#include <functional>
#include <thread>

using namespace amqp_test;

TEST_CASE("amqp recovery: a broker restart in the middle of 10,000 confirmed publishes loses none of them",
          "[amqp][serial]") {
    // An orderly restart (the broker closes connections with 320
    // CONNECTION_FORCED), then a crash (SIGKILL: sockets just end).
    const bool kill = GENERATE(false, true);
    CAPTURE(kill);
    asio::io_context ioc;
    auto o = options();
    o.reconnect_delay = 100ms;
    o.max_reconnect_delay = 1s;
    // One connection publishes and consumes, so the consumer and the
    // publisher see the same break.
    amqp::broker b(ioc.get_executor(), o);
    const auto topic = rabbitmq::unique_name("recovery");
    const auto group = rabbitmq::unique_name("recovery.group");
    constexpr int total = 10'000;

    // -- the consumer: records every id and attempt; once told, it holds on
    // to the next deliveries without settling them, so some are unacked
    // when the broker goes away.
    std::set<std::string> consumed;
    std::map<std::string, std::vector<unsigned>> attempts;
    int probes = 0;
    int to_hold = 0;
    std::vector<std::string> held;
    asio::steady_timer gate(ioc, std::chrono::steady_clock::time_point::max());
    auto handler = [&](const courier::message& m, courier::context& ctx) -> asio::awaitable<void> {
        if (m.headers.contains(probe_header)) {
            ++probes;
            co_return;
        }
        consumed.insert(m.id);
        attempts[m.id].push_back(ctx.attempt);
        if (to_hold > 0) {
            --to_hold;
            held.push_back(m.id);
            try {
                co_await gate.async_wait(asio::use_awaitable);
            } catch (const boost::system::system_error&) {
                // released
            }
        }
    };
    auto s = b.subscribe(topic, group, handler, amqp::subscribe_options{.prefetch = 64});
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (probes == 0) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        auto probe = make_message("probe");
        probe.headers.set(probe_header, "1");
        auto r = start_publish(b, topic, std::move(probe));
        REQUIRE(run_until(ioc, [&] { return r->done; }));
        run_until(ioc, [&] { return probes > 0; }, 50ms);
    }

    // -- the publisher: paced at about 1,000 a second, so the restart lands
    // in the middle; a publish that fails with a retryable error (it was in
    // flight at the break) is sent again.
    std::set<int> confirmed;
    int failed = 0, retried = 0, next = 0;
    int confirmed_at_first_failure = -1;
    std::vector<std::string> fatal;
    std::function<void(int)> send = [&](int i) {
        const auto id = "rec-" + std::to_string(i);
        b.async_publish(topic, make_message("payload " + id, id), courier::context{},
                        [&, i](error_code ec, courier::publish_ack) {
                            if (!ec) {
                                confirmed.insert(i);
                                return;
                            }
                            ++failed;
                            if (confirmed_at_first_failure < 0)
                                confirmed_at_first_failure = static_cast<int>(confirmed.size());
                            // Right after a crash a durable queue may still be
                            // recovering and route nothing for a moment: the
                            // broker returns the message (unroutable), and a
                            // publisher sends it again like a retryable failure.
                            if (ec == courier::condition::retryable || ec == courier::error::unroutable) {
                                ++retried;
                                send(i);
                            } else {
                                fatal.push_back(ec.message());
                            }
                        });
    };
    asio::steady_timer pace(ioc);
    std::function<void()> tick = [&] {
        for (int k = 0; k < 10 && next < total; ++k) send(next++);
        if (next == total) return;
        pace.expires_after(10ms);
        pace.async_wait([&](error_code ec) {
            if (!ec) tick();
        });
    };
    tick();

    // -- the restart, on its own thread (it blocks for seconds), once a
    // tenth is confirmed and the consumer holds 20 deliveries unsettled.
    REQUIRE(run_until(ioc, [&] { return confirmed.size() >= total / 10; }, 30s));
    to_hold = 20;
    REQUIRE(run_until(ioc, [&] { return held.size() == 20; }));
    const int sent_at_restart = next;
    std::atomic<bool> restarted{false};
    std::exception_ptr restart_failure;
    std::thread restarter([&] {
        try {
            rabbitmq::restart(kill);
        } catch (...) {
            restart_failure = std::current_exception();
        }
        restarted = true;
    });
    const bool back = run_until(ioc, [&] { return restarted.load(); }, 120s);
    restarter.join();
    REQUIRE(back);
    if (restart_failure) std::rethrow_exception(restart_failure);
    gate.cancel();  // the deliveries held over the break: their settlements go nowhere

    // -- every confirmed message consumed at least once, none lost.
    REQUIRE(run_until(ioc, [&] { return confirmed.size() == total || !fatal.empty(); }, 120s));
    INFO("publishes failed at the break and sent again: " << retried << ", confirmed before: "
                                                           << confirmed_at_first_failure);
    for (const auto& f : fatal) UNSCOPED_INFO("not retryable: " << f);
    CHECK(fatal.empty());
    CHECK(failed == retried);
    // The restart landed in the middle of the stream: publishing had more to
    // send, and whatever failed at the break failed after the first tenth.
    CHECK(sent_at_restart < total);
    if (failed > 0) CHECK(confirmed_at_first_failure >= total / 10);
    const bool all_consumed = run_until(
        ioc,
        [&] {
            for (int i : confirmed)
                if (!consumed.count("rec-" + std::to_string(i))) return false;
            return true;
        },
        60s);
    int missing = 0;
    for (int i : confirmed) missing += consumed.count("rec-" + std::to_string(i)) == 0;
    CHECK(missing == 0);
    CHECK(all_consumed);
    CHECK(consumed.size() == total);
    // The deliveries unacked at the break came again, marked as redeliveries.
    for (const auto& id : held) {
        INFO(id);
        const auto& seen = attempts[id];
        REQUIRE(seen.size() >= 2);
        CHECK(seen.front() == 1);
        CHECK(seen.back() > 1);
    }
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp blocked: a broker out of memory blocks publishers, async_publish waits, then completes", "[amqp][serial]") {
    asio::io_context ioc;
    // Through a relay, to count connections: a blocked connection must
    // survive (heartbeats every second, blocked for three).
    courier_test::tcp_proxy proxy(ioc, broker_endpoint());
    amqp::broker b(ioc.get_executor(), options_on_port(proxy.port(), amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("blocked");
    inbox in;
    auto s = b.subscribe(topic, "", in.handler());
    REQUIRE_FALSE(publish(ioc, b, topic, make_message("before", "b1")).ec);

    // Whatever happens below, the broker leaves this test unblocked.
    struct restore_watermark {
        ~restore_watermark() {
            try {
                rabbitmq::ctl({"set_vm_memory_high_watermark", "0.4"});
            } catch (const std::exception& e) {
                WARN(e.what());
            }
        }
    } restore;
    rabbitmq::ctl({"set_vm_memory_high_watermark", "0"});
    auto r = start_publish(b, topic, make_message("while blocked", "b2"));
    // It waits: neither confirmed nor failed while the alarm lasts.
    CHECK_FALSE(run_until(ioc, [&] { return r->done; }, 3s));
    rabbitmq::ctl({"set_vm_memory_high_watermark", "0.4"});
    REQUIRE(run_until(ioc, [&] { return r->done; }, 30s));
    INFO(r->ec.message());
    CHECK_FALSE(r->ec);
    REQUIRE(run_until(ioc, [&] { return in.ids() == std::set<std::string>{"b1", "b2"}; }));
    CHECK(proxy.connections() == 1);
    s.unsubscribe();
    close(ioc, b);
}
