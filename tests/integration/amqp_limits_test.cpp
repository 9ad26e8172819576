// What keeps a message from its handler, against the test broker, and what
// courier does about it instead of looping or losing it: a delivery over
// max_body_size (moved to the dead-letter queue frame by frame, never
// buffered), a consumer whose queue cannot be declared (said through
// on_error, tried again with a growing delay), a queue deleted behind a
// queue-mode publisher (declared again), and RPC requests and replies over
// the limit (clear errors for the caller).
#include "amqp_test_support.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace amqp_test;

namespace limits_test {

struct echo {
    std::string text;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(echo, text)

}  // namespace limits_test

namespace {

using limits_test::echo;

// A consumer that buffers at most 64 KiB, with frames of 8 KiB so a large
// body comes in many frames.
amqp::broker_options small_limit(amqp::addressing mode = amqp::addressing::exchange) {
    auto o = options(mode);
    o.connection.max_body_size = 64 * 1024;
    o.connection.frame_max = 8192;
    return o;
}

// A body of `n` bytes that is not all the same byte, so a reordered or
// truncated copy shows.
std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}

// The fixture of the large-delivery tests: a publisher, a consumer with the
// small limit, and a queue-mode broker to read the dead-letter queues with,
// closed at the end of the test; and a topic of its own.
struct rig {
    asio::io_context ioc;
    amqp::broker publisher{ioc.get_executor(), options()};
    amqp::broker consumer{ioc.get_executor(), small_limit()};
    amqp::broker inspector{ioc.get_executor(), options(amqp::addressing::queue)};
    const std::string topic = rabbitmq::unique_name("limits.topic");

    ~rig() {
        for (auto* b : {&consumer, &publisher, &inspector}) close(ioc, *b);
    }
};

}  // namespace

TEST_CASE_METHOD(rig, "amqp limits: a delivery over max_body_size goes to the dead-letter queue intact, the handler gets the rest",
          "[amqp][limits]") {
    const auto group = rabbitmq::unique_name("limits.group");

    inbox got;
    std::vector<error_code> errors;
    auto sub = subscribe_and_wait(ioc, consumer, topic, group, got.handler(),
                                  {.on_error = [&](error_code ec) { errors.push_back(ec); }});

    const auto big = pattern(1024 * 1024 + 3);
    REQUIRE_FALSE(publish(ioc, publisher, topic, make_message("small 1", "s1")).ec);
    REQUIRE_FALSE(publish(ioc, publisher, topic, make_message(big, "big")).ec);
    REQUIRE_FALSE(publish(ioc, publisher, topic, make_message("small 2", "s2")).ec);

    // The handler gets the messages around it, the connection stays up (a
    // failed connection would have the broker deliver "big" forever).
    REQUIRE(run_until(ioc, [&] { return got.items.size() >= 2 && !errors.empty(); }));
    CHECK(got.ids() == std::set<std::string>{"s1", "s2"});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == amqp::error::body_too_large);

    // The dead-letter queue has it, byte for byte, with its properties and
    // the reason.
    inbox dead;
    auto dsub = subscribe_and_wait(ioc, inspector, group + ".dlq", "", dead.handler());
    REQUIRE(run_until(ioc, [&] { return !dead.items.empty(); }));
    // Acked once the copy was confirmed: nothing is left in the group's
    // queue, and the copy is the only one.
    CHECK(depth_becomes(ioc, group, 0));
    CHECK(depth_becomes(ioc, group + ".dlq", 0));
    REQUIRE(dead.items.size() == 1);
    CHECK(dead.items[0].id == "big");
    CHECK(dead.items[0].content_type == "text/plain");
    CHECK(dead.items[0].payload.size() == big.size());
    CHECK(dead.items[0].payload == big);
    CHECK(dead.items[0].headers.get(amqp::dead_letter_reason_header) == "body_too_large");
    CHECK(got.items.size() == 2);

    sub.unsubscribe();
    dsub.unsubscribe();
}

TEST_CASE_METHOD(rig, "amqp limits: large deliveries to two groups at once all reach their dead-letter queues, publishing goes on",
          "[amqp][limits]") {
    const auto a = rabbitmq::unique_name("limits.a"), b = rabbitmq::unique_name("limits.b");

    inbox got_a, got_b;
    auto sa = subscribe_and_wait(ioc, consumer, topic, a, got_a.handler());
    auto sb = subscribe_and_wait(ioc, consumer, topic, b, got_b.handler());

    // Both groups' channels receive each large body at the same time; only
    // one can be forwarded on the publish channel at once, the others wait
    // for it. Meanwhile the consumer's broker keeps publishing.
    std::vector<std::shared_ptr<publish_result>> sent;
    for (int i = 0; i < 3; ++i)
        sent.push_back(start_publish(publisher, topic, make_message(pattern(200'000 + i), "big" + std::to_string(i))));
    std::vector<std::shared_ptr<publish_result>> own;
    for (int i = 0; i < 20; ++i)
        own.push_back(start_publish(consumer, topic, make_message("small", "small" + std::to_string(i))));
    auto all_done = [](const auto& v) { return std::all_of(v.begin(), v.end(), [](auto& r) { return r->done; }); };
    REQUIRE(run_until(ioc, [&] { return all_done(sent) && all_done(own); }));
    for (const auto& r : sent) CHECK_FALSE(r->ec);
    for (const auto& r : own) CHECK_FALSE(r->ec);

    inbox dead_a, dead_b;
    auto da = subscribe_and_wait(ioc, inspector, a + ".dlq", "", dead_a.handler());
    auto db = subscribe_and_wait(ioc, inspector, b + ".dlq", "", dead_b.handler());
    const std::set<std::string> bigs{"big0", "big1", "big2"};
    REQUIRE(run_until(ioc, [&] { return dead_a.ids() == bigs && dead_b.ids() == bigs; }, 30s));
    // Every original acked once its copy was confirmed, and one copy each.
    CHECK(depth_becomes(ioc, a, 0));
    CHECK(depth_becomes(ioc, b, 0));
    CHECK(depth_becomes(ioc, a + ".dlq", 0));
    CHECK(depth_becomes(ioc, b + ".dlq", 0));
    for (const auto* d : {&dead_a, &dead_b}) {
        CHECK(d->items.size() == 3);
        for (const auto& r : d->items) CHECK(r.payload == pattern(200'000 + (r.id.back() - '0')));
    }
    REQUIRE(run_until(ioc, [&] { return got_a.items.size() == 20 && got_b.items.size() == 20; }));

    for (auto* s : {&sa, &sb, &da, &db}) s->unsubscribe();
}

TEST_CASE("amqp limits: a consumer whose topology cannot be declared says why through on_error and keeps trying",
          "[amqp][limits]") {
    asio::io_context ioc;
    const auto topic = rabbitmq::unique_name("limits.conflict");
    const auto group = rabbitmq::unique_name("limits.conflict.group");
    // Another application declared the topic's exchange and the group's
    // queue otherwise (not durable).
    auto other_options = options();
    other_options.durable = false;
    amqp::broker other(ioc.get_executor(), other_options);
    inbox first;
    auto s1 = subscribe_and_wait(ioc, other, topic, group, first.handler());

    amqp::broker b(ioc.get_executor(), options());
    std::vector<error_code> errors;
    inbox got;
    auto s2 = b.subscribe(topic, group, got.handler(), {.on_error = [&](error_code ec) { errors.push_back(ec); }});
    // Tried again, and said each time: precondition_failed (406).
    REQUIRE(run_until(ioc, [&] { return errors.size() >= 2; }));
    for (const auto& ec : errors) {
        INFO(ec.message());
        CHECK(amqp::reply_code_of(ec) == static_cast<std::uint16_t>(amqp::reply_code::precondition_failed));
    }

    s1.unsubscribe();
    s2.unsubscribe();
    close(ioc, b);
    close(ioc, other);
}

TEST_CASE("amqp limits: queue mode: a queue deleted behind the publisher is declared again by the next publish",
          "[amqp][limits]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options(amqp::addressing::queue));
    const auto queue = rabbitmq::unique_name("limits.deleted");
    REQUIRE_FALSE(publish(ioc, b, queue, make_message("one", "1")).ec);
    REQUIRE(depth_becomes(ioc, queue, 1));

    rabbitmq::ctl({"delete_queue", queue});
    REQUIRE(depth_becomes(ioc, queue, -1));
    // The publish that meets the gap is returned: unroutable. The next one
    // declares the queue again and lands in it.
    const auto gap = publish(ioc, b, queue, make_message("two", "2"));
    CHECK(gap.ec == courier::error::unroutable);
    const auto after = publish(ioc, b, queue, make_message("three", "3"));
    INFO(after.ec.message());
    CHECK_FALSE(after.ec);
    CHECK(depth_becomes(ioc, queue, 1));
    close(ioc, b);
}

TEST_CASE("amqp limits: rpc: a request over the server's max_body_size fails with invalid_argument, a reply over the "
          "client's with body_too_large",
          "[amqp][limits][rpc]") {
    asio::io_context ioc;
    amqp::broker server_broker(ioc.get_executor(), small_limit());
    amqp::broker client_broker(ioc.get_executor(), small_limit());
    bool consuming = false;
    amqp::rpc_server server(server_broker, {.on_consuming = [&](const std::string&) { consuming = true; }});
    const auto queue = rabbitmq::unique_name("limits.rpc");
    int handled = 0;
    server.bind<echo, echo>(queue, [&](echo req, courier::context&) {
        ++handled;
        // "grow" asks for a reply over the client's limit.
        if (req.text == "grow") return echo{pattern(100'000)};
        return req;
    });
    REQUIRE(run_until(ioc, [&] { return consuming; }));
    amqp::rpc_client<echo, echo> client(client_broker, queue);

    auto call = [&](std::string text) {
        bool done = false;
        error_code result;
        client.async_call(echo{std::move(text)}, courier::context::with_timeout(20s), [&](error_code ec, echo) {
            done = true;
            result = ec;
        });
        REQUIRE(run_until(ioc, [&] { return done; }, 30s));
        return result;
    };
    const auto too_big = call(pattern(100'000));
    INFO(too_big.message());
    CHECK(too_big == courier::error::invalid_argument);
    CHECK(handled == 0);
    CHECK(call("grow") == amqp::error::body_too_large);
    CHECK(handled == 1);
    // Both connections are still up and serve the next call.
    CHECK_FALSE(call("fine"));
    CHECK(handled == 2);

    server.close();
    close(ioc, server_broker);
    close(ioc, client_broker);
}
