// amqp::broker against a real RabbitMQ: publishing and consuming in both
// addressing modes, groups, publisher confirms and nacks, unroutable
// messages, prefetch, redelivery with ctx.attempt, dead-lettering, and
// bodies larger than frame_max.
#include "amqp_test_support.hpp"
#include "support/sanitizers.hpp"

#include <boost/asio/as_tuple.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

using namespace amqp_test;

namespace {

std::vector<std::string> numbered(const std::string& prefix, int n) {
    std::vector<std::string> out;
    for (int i = 1; i <= n; ++i) out.push_back(prefix + std::to_string(i));
    return out;
}

// Publishes one message per id, all at once, and waits until every publish
// was confirmed; returns the results in the order of `ids`.
std::vector<std::shared_ptr<publish_result>> publish_all(asio::io_context& ioc, amqp::broker& b, std::string_view topic,
                                                         const std::vector<std::string>& ids) {
    std::vector<std::shared_ptr<publish_result>> results;
    for (const auto& id : ids) results.push_back(start_publish(b, topic, make_message("body of " + id, id)));
    REQUIRE(run_until(ioc, [&] { return std::all_of(results.begin(), results.end(), [](auto& r) { return r->done; }); }));
    for (const auto& r : results) {
        INFO(r->ec.message());
        CHECK_FALSE(r->ec);
        CHECK(r->ack.routed == 1);
    }
    return results;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// Runs `body` with a channel of a bare connection to the test broker: what
// another application does to the topology.
template <class Body>
void with_channel(asio::io_context& ioc, Body body) {
    bool done = false;
    std::exception_ptr failure;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            amqp::connection_options o;
            o.uri = rabbitmq::url();
            auto c = std::make_shared<amqp::detail::connection>(ioc.get_executor(), o);
            co_await c->open();
            auto ch = co_await c->open_channel();
            co_await body(*ch);
            co_await c->close();
        },
        [&](std::exception_ptr e) {
            failure = e;
            done = true;
        });
    REQUIRE(run_until(ioc, [&] { return done; }));
    if (failure) std::rethrow_exception(failure);
}

// Declares a queue with `arguments` bound to the fanout exchange `exchange`.
void declare_bound_queue(asio::io_context& ioc, const std::string& exchange, const std::string& queue,
                         amqp::field_table arguments) {
    with_channel(ioc, [&](amqp::detail::channel& ch) -> asio::awaitable<void> {
        amqp::exchange_declare x;
        x.exchange = exchange;
        x.type = "fanout";
        x.durable = true;
        (void)co_await ch.call<amqp::exchange_declare_ok>(x);
        amqp::queue_declare q;
        q.queue = queue;
        q.durable = true;
        q.arguments = arguments;
        (void)co_await ch.call<amqp::queue_declare_ok>(q);
        amqp::queue_bind bind;
        bind.queue = queue;
        bind.exchange = exchange;
        (void)co_await ch.call<amqp::queue_bind_ok>(bind);
    });
}

void delete_exchange(asio::io_context& ioc, const std::string& exchange) {
    with_channel(ioc, [&](amqp::detail::channel& ch) -> asio::awaitable<void> {
        amqp::exchange_delete d;
        d.exchange = exchange;
        (void)co_await ch.call<amqp::exchange_delete_ok>(d);
    });
}

}  // namespace

TEST_CASE("amqp exchange mode: every group gets every message, the members of a group compete", "[amqp]") {
    asio::io_context ioc;
    amqp::broker publisher(ioc.get_executor(), options());
    // Each member on its own connection, as two service instances would be.
    amqp::broker member1(ioc.get_executor(), options()), member2(ioc.get_executor(), options()),
        other(ioc.get_executor(), options());
    const auto topic = rabbitmq::unique_name("orders");
    const auto email = rabbitmq::unique_name("email"), audit = rabbitmq::unique_name("audit");
    inbox in1, in2, in_audit;
    auto s1 = member1.subscribe(topic, email, in1.handler());
    auto s2 = member2.subscribe(topic, email, in2.handler());
    auto s3 = other.subscribe(topic, audit, in_audit.handler());
    wait_subscribed(ioc, publisher, topic, {&in1, &in2, &in_audit});

    const auto ids = numbered("m", 40);
    publish_all(ioc, publisher, topic, ids);
    REQUIRE(run_until(ioc, [&] { return in_audit.items.size() >= ids.size() && in1.items.size() + in2.items.size() >= ids.size(); }));

    CHECK(in_audit.ids() == as_set(ids));
    CHECK(in_audit.items.size() == ids.size());
    // Shared: each message went to one member of the group, and both took part.
    std::set<std::string> email_ids = in1.ids();
    for (const auto& id : in2.ids()) CHECK(email_ids.insert(id).second);
    CHECK(email_ids == as_set(ids));
    CHECK(in1.items.size() + in2.items.size() == ids.size());
    CHECK_FALSE(in1.items.empty());
    CHECK_FALSE(in2.items.empty());
    // The message's metadata travelled in the AMQP properties.
    CHECK(in_audit.items.front().payload == "body of " + in_audit.items.front().id);
    CHECK(in_audit.items.front().content_type == "text/plain");
    CHECK(in_audit.items.front().attempt == 1);

    s1.unsubscribe();
    s2.unsubscribe();
    s3.unsubscribe();
    for (auto* b : {&publisher, &member1, &member2, &other}) close(ioc, *b);
}

TEST_CASE("amqp queue mode: the topic is a queue, messages wait in it, subscribers compete", "[amqp]") {
    asio::io_context ioc;
    amqp::broker publisher(ioc.get_executor(), options(amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("order.created");

    // Published before anyone subscribed: the publisher declared the queue,
    // so they wait there.
    const auto early = numbered("early-", 10);
    publish_all(ioc, publisher, topic, early);
    CHECK(queue_depth(topic) == 10);

    amqp::broker consumer1(ioc.get_executor(), options(amqp::addressing::queue)),
        consumer2(ioc.get_executor(), options(amqp::addressing::queue));
    inbox in1, in2;
    // The group is ignored in queue mode: different groups still compete.
    auto s1 = consumer1.subscribe(topic, "email-service", in1.handler());
    auto s2 = consumer2.subscribe(topic, "another-group", in2.handler());
    REQUIRE(run_until(ioc, [&] { return in1.items.size() + in2.items.size() >= early.size(); }));
    wait_subscribed(ioc, publisher, topic, {&in1, &in2});

    const auto late = numbered("late-", 30);
    publish_all(ioc, publisher, topic, late);
    const auto total = early.size() + late.size();
    REQUIRE(run_until(ioc, [&] { return in1.items.size() + in2.items.size() >= total; }));
    auto all = as_set(early);
    all.merge(as_set(late));
    std::set<std::string> got = in1.ids();
    for (const auto& id : in2.ids()) CHECK(got.insert(id).second);
    CHECK(got == all);
    CHECK(in1.items.size() + in2.items.size() == total);
    CHECK_FALSE(in1.items.empty());
    CHECK_FALSE(in2.items.empty());

    s1.unsubscribe();
    s2.unsubscribe();
    for (auto* b : {&publisher, &consumer1, &consumer2}) close(ioc, *b);
}

TEST_CASE("amqp confirms: async_publish completes with the broker's ack, in order, or fails with its nack", "[amqp]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options());
    const auto topic = rabbitmq::unique_name("confirms");
    const auto queue = rabbitmq::unique_name("confirms.bounded");
    // A queue that takes one message and refuses the next (the broker nacks
    // a message a queue rejects).
    amqp::field_table args;
    args.set("x-max-length", std::int64_t{1});
    args.set("x-overflow", std::string("reject-publish"));
    declare_bound_queue(ioc, topic, queue, std::move(args));

    auto first = publish(ioc, b, topic, make_message("one", "c1"));
    INFO(first.ec.message());
    CHECK_FALSE(first.ec);
    CHECK(first.ack.routed == 1);
    CHECK(first.ack.sequence >= 1);
    auto second = publish(ioc, b, topic, make_message("two", "c2"));
    CHECK(second.ec == amqp::error::nacked);
    CHECK(second.ack.routed == 0);
    CHECK(queue_depth(queue) == 1);

    // Many at once, to a topic whose queue takes them (one rejecting queue
    // among those bound would nack them all): each completes once confirmed,
    // with the delivery tags in the order they were published.
    const auto open_topic = rabbitmq::unique_name("confirms.open");
    amqp::broker consumer(ioc.get_executor(), options());
    inbox in;
    auto s = consumer.subscribe(open_topic, rabbitmq::unique_name("confirms.group"), in.handler());
    wait_subscribed(ioc, b, open_topic, {&in});
    const auto ids = numbered("c-", 200);
    auto results = publish_all(ioc, b, open_topic, ids);
    for (std::size_t i = 1; i < results.size(); ++i) {
        CHECK(results[i]->ack.sequence > results[i - 1]->ack.sequence);
        CHECK(results[i]->at >= results[i - 1]->at);
    }
    REQUIRE(run_until(ioc, [&] { return in.items.size() >= ids.size(); }));

    // A window of 8 unconfirmed publishes: the rest wait for room, in order.
    auto narrow_options = options();
    narrow_options.max_in_flight = 8;
    amqp::broker narrow(ioc.get_executor(), narrow_options);
    const auto more = numbered("w-", 300);
    auto narrow_results = publish_all(ioc, narrow, open_topic, more);
    for (std::size_t i = 1; i < narrow_results.size(); ++i)
        CHECK(narrow_results[i]->ack.sequence > narrow_results[i - 1]->ack.sequence);
    REQUIRE(run_until(ioc, [&] { return in.items.size() >= ids.size() + more.size(); }));

    s.unsubscribe();
    close(ioc, b);
    close(ioc, consumer);
    close(ioc, narrow);
}

TEST_CASE("amqp async_close: publishes already sent are confirmed before the connection closes", "[amqp]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options(amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("closing");
    connect(ioc, b);
    REQUIRE_FALSE(publish(ioc, b, topic, make_message("declares the queue", "first")).ec);
    std::vector<std::shared_ptr<publish_result>> results;
    for (const auto& id : numbered("late-", 100)) results.push_back(start_publish(b, topic, make_message("x", id)));
    bool closed = false;
    b.async_close([&](error_code) { closed = true; });
    REQUIRE(run_until(ioc, [&] { return closed; }));
    for (const auto& r : results) {
        REQUIRE(r->done);
        INFO(r->ec.message());
        CHECK_FALSE(r->ec);
    }
    CHECK(queue_depth(topic) == 101);
    // After the close, a publish fails at once.
    auto after = publish(ioc, b, topic, make_message("too late", "after"));
    CHECK(after.ec == courier::error::broker_closed);
}

TEST_CASE("amqp unsubscribe: a running handler still settles its message, the others go to the remaining subscribers",
          "[amqp]") {
    asio::io_context ioc;
    amqp::broker first(ioc.get_executor(), options(amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("handover");
    // The first subscriber holds the message it is handling until told.
    asio::steady_timer gate(ioc, std::chrono::steady_clock::time_point::max());
    std::vector<std::string> handled_first;
    bool holding = false, finished = false;
    auto holder = [&](const courier::message& m, courier::context&) -> asio::awaitable<void> {
        handled_first.push_back(m.id);
        if (holding) co_return;
        holding = true;
        try {
            co_await gate.async_wait(asio::use_awaitable);
        } catch (const boost::system::system_error&) {
        }
        finished = true;
    };
    auto s1 = first.subscribe(topic, "", holder, amqp::subscribe_options{.prefetch = 1});
    REQUIRE_FALSE(publish(ioc, first, topic, make_message("held", "h0")).ec);
    REQUIRE(run_until(ioc, [&] { return holding; }));
    s1.unsubscribe();
    const auto rest = numbered("h", 10);
    publish_all(ioc, first, topic, rest);
    gate.cancel();
    REQUIRE(run_until(ioc, [&] { return finished; }));

    amqp::broker second(ioc.get_executor(), options(amqp::addressing::queue));
    inbox in;
    auto s2 = second.subscribe(topic, "", in.handler());
    REQUIRE(run_until(ioc, [&] { return in.items.size() >= rest.size(); }));
    // The held message was acked when its handler returned: it is not
    // delivered again; none of the others was lost.
    CHECK(handled_first == std::vector<std::string>{"h0"});
    CHECK(in.ids() == as_set(rest));
    CHECK(queue_depth(topic) == 0);
    s2.unsubscribe();
    close(ioc, first);
    close(ioc, second);
}

TEST_CASE("amqp consumer cancel: when its queue is deleted, the consumer declares it again and goes on", "[amqp]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options());
    const auto topic = rabbitmq::unique_name("cancelled");
    const auto group = rabbitmq::unique_name("cancelled.group");
    inbox in;
    int established = 0;
    amqp::subscribe_options so;
    so.on_consuming = [&] { ++established; };
    auto s = subscribe_and_wait(ioc, b, topic, group, in.handler(), so);
    REQUIRE(established == 1);
    REQUIRE_FALSE(publish(ioc, b, topic, make_message("before", "k1")).ec);
    REQUIRE(run_until(ioc, [&] { return in.items.size() == 1; }));

    rabbitmq::ctl({"delete_queue", group});  // the broker cancels the consumer (basic.cancel)
    REQUIRE(run_until(ioc, [&] { return established == 2; }));
    auto r = publish(ioc, b, topic, make_message("after", "k2"));
    INFO(r.ec.message());
    CHECK_FALSE(r.ec);
    REQUIRE(run_until(ioc, [&] { return in.items.size() == 2; }));
    CHECK(in.ids() == std::set<std::string>{"k1", "k2"});
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp unroutable: a mandatory message no queue takes fails with error::unroutable", "[amqp]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options());
    const auto topic = rabbitmq::unique_name("nobody.listens");
    // The first publish declares the exchange; nothing is bound to it.
    auto r = publish(ioc, b, topic, make_message("lost", "u1"));
    CHECK(r.ec == courier::error::unroutable);
    CHECK(r.ec == courier::condition::permanent);
    CHECK(r.ack.routed == 0);
    // Once a group is bound, the same topic routes.
    inbox in;
    auto s = b.subscribe(topic, rabbitmq::unique_name("late.group"), in.handler());
    wait_subscribed(ioc, b, topic, {&in});
    auto routed = publish(ioc, b, topic, make_message("found", "u2"));
    CHECK_FALSE(routed.ec);
    CHECK(routed.ack.routed == 1);
    REQUIRE(run_until(ioc, [&] { return !in.items.empty(); }));
    CHECK(in.items.front().id == "u2");
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp unroutable: a returned message fails its own publish, not another in flight with the same id",
          "[amqp]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options());
    const auto routed_topic = rabbitmq::unique_name("dup.routed");
    const auto lost_topic = rabbitmq::unique_name("dup.lost");
    inbox in;
    auto s = b.subscribe(routed_topic, rabbitmq::unique_name("dup.group"), in.handler());
    wait_subscribed(ioc, b, routed_topic, {&in});
    CHECK(publish(ioc, b, lost_topic, make_message("declares it", "d0")).ec == courier::error::unroutable);
    // Pairs with one id, all in flight at once: the routed publish of a pair
    // waits for the disk, its twin comes back at once.
    constexpr int pairs = 50;
    std::vector<std::shared_ptr<publish_result>> routed, lost;
    for (int i = 0; i < pairs; ++i) {
        const auto id = "dup-" + std::to_string(i);
        routed.push_back(start_publish(b, routed_topic, make_message("kept", id)));
        lost.push_back(start_publish(b, lost_topic, make_message("lost", id)));
    }
    REQUIRE(run_until(ioc, [&] {
        return std::all_of(routed.begin(), routed.end(), [](auto& r) { return r->done; }) &&
               std::all_of(lost.begin(), lost.end(), [](auto& r) { return r->done; });
    }));
    for (int i = 0; i < pairs; ++i) {
        INFO("pair " << i << ": " << routed[i]->ec.message() << " / " << lost[i]->ec.message());
        CHECK_FALSE(routed[i]->ec);
        CHECK(routed[i]->ack.routed == 1);
        CHECK(lost[i]->ec == courier::error::unroutable);
    }
    // Subscribers never see the header that tags a publish for its return.
    REQUIRE(run_until(ioc, [&] { return in.items.size() == pairs; }));
    for (const auto& item : in.items) CHECK_FALSE(item.headers.contains("x-courier-publish-seq"));
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp prefetch: at most `prefetch` deliveries are in handlers at once", "[amqp]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options(amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("prefetch");
    constexpr int count = 24;
    for (const auto& id : numbered("p", count)) {
        auto r = start_publish(b, topic, make_message("x", id));
        (void)r;
    }
    // The first deliveries stay in their handlers until the test has seen
    // the limit reached and no fourth come; then all run through.
    int inside = 0, most = 0, handled = 0;
    bool released = false;
    asio::steady_timer gate(ioc, asio::steady_timer::time_point::max());
    static constexpr auto wait_token = asio::as_tuple(asio::use_awaitable);  // named: GCC 12 and co_await temporaries
    auto handler = [&](const courier::message&, courier::context&) -> asio::awaitable<void> {
        ++inside;
        most = std::max(most, inside);
        if (!released) co_await gate.async_wait(wait_token);
        --inside;
        ++handled;
    };
    auto s = b.subscribe(topic, "", handler, amqp::subscribe_options{.prefetch = 3});
    REQUIRE(run_until(ioc, [&] { return inside == 3; }));
    // A fourth delivery would arrive within a round trip if the limit leaked.
    CHECK_FALSE(run_until(ioc, [&] { return inside > 3; }, 300ms));
    released = true;
    gate.cancel();
    REQUIRE(run_until(ioc, [&] { return handled == count; }));
    CHECK(most == 3);
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp redelivery: a failed handler gets the message again after the delay, ctx.attempt counting", "[amqp]") {
    asio::io_context ioc;
    auto o = options();
    o.redelivery_delay = 50ms;
    o.max_redelivery_delay = 1s;
    amqp::broker b(ioc.get_executor(), o);
    const auto topic = rabbitmq::unique_name("flaky");
    const auto group = rabbitmq::unique_name("flaky.group");
    inbox in;
    // Fails with an error, then with an exception, then succeeds.
    in.fail = [](const received& r) -> error_code {
        if (r.attempt == 1) return courier::error::unavailable;
        if (r.attempt == 2) throw std::runtime_error("handler failed");
        return {};
    };
    auto s = b.subscribe(topic, group, in.handler());
    // Another group, whose handler succeeds: the retries are the failing
    // group's alone (they go back to its queue, not through the exchange).
    inbox other;
    auto s2 = b.subscribe(topic, rabbitmq::unique_name("steady.group"), other.handler());
    wait_subscribed(ioc, b, topic, {&in, &other});
    REQUIRE_FALSE(publish(ioc, b, topic, make_message("payload", "r1")).ec);
    REQUIRE(run_until(ioc, [&] { return in.items.size() >= 3; }));
    REQUIRE(in.items.size() == 3);
    CHECK(other.items.size() == 1);
    for (unsigned i = 0; i < 3; ++i) {
        CHECK(in.items[i].id == "r1");
        CHECK(in.items[i].payload == "payload");
        CHECK(in.items[i].attempt == i + 1);
    }
    // The delay doubles: 50 ms, then 100 ms.
    CHECK(in.items[1].at - in.items[0].at >= 50ms);
    CHECK(in.items[2].at - in.items[1].at >= 100ms);
    // Settled by the third delivery: nothing left, and nothing dead-lettered.
    CHECK(queue_depth(group) == 0);
    CHECK(queue_depth(group + ".dlq") == 0);
    CHECK(queue_depth(group + ".retry.50") == 0);
    CHECK(other.items.size() == 1);
    s.unsubscribe();
    s2.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp dead-lettering: after max_deliveries, or at once for a permanent error, the message goes to <queue>.dlq",
          "[amqp]") {
    asio::io_context ioc;
    auto o = options();
    o.max_deliveries = 3;
    amqp::broker b(ioc.get_executor(), o);
    // The dead letters, read in queue mode as any application could.
    amqp::broker reader(ioc.get_executor(), options(amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("poison");
    const auto group = rabbitmq::unique_name("poison.group");
    inbox in, dead;
    const bool permanent = GENERATE(false, true);
    in.fail = [permanent](const received&) -> error_code {
        // invalid_argument matches condition::permanent: redelivery cannot help.
        return permanent ? error_code(courier::error::invalid_argument) : error_code(courier::error::unavailable);
    };
    auto s = b.subscribe(topic, group, in.handler());
    auto d = reader.subscribe(group + ".dlq", "", dead.handler());
    wait_subscribed(ioc, b, topic, {&in});
    REQUIRE_FALSE(publish(ioc, b, topic, make_message("poison pill", "d1")).ec);
    REQUIRE(run_until(ioc, [&] { return !dead.items.empty(); }));
    CHECK(dead.items.size() == 1);
    CHECK(dead.items.front().id == "d1");
    CHECK(dead.items.front().payload == "poison pill");
    CHECK(dead.items.front().content_type == "text/plain");
    const unsigned expected = permanent ? 1 : 3;
    REQUIRE(in.items.size() == expected);
    for (unsigned i = 0; i < expected; ++i) CHECK(in.items[i].attempt == i + 1);
    CHECK(queue_depth(group) == 0);
    s.unsubscribe();
    d.unsubscribe();
    close(ioc, b);
    close(ioc, reader);
}

TEST_CASE("amqp large bodies: messages far larger than frame_max arrive intact", "[amqp]") {
    // Around the edges too: no body at all, a body filling one frame
    // (frame_max - 8 bytes of payload), and one byte more.
    const auto [frame_max, size] = GENERATE(std::pair<std::uint32_t, std::size_t>{4096, 1u << 20},
                                            std::pair<std::uint32_t, std::size_t>{131072, 5u << 20},
                                            std::pair<std::uint32_t, std::size_t>{4096, (5u << 20) + 7},
                                            std::pair<std::uint32_t, std::size_t>{4096, 0},
                                            std::pair<std::uint32_t, std::size_t>{4096, 4088},
                                            std::pair<std::uint32_t, std::size_t>{4096, 4089});
    CAPTURE(frame_max, size);
    asio::io_context ioc;
    auto o = options(amqp::addressing::queue);
    o.connection.frame_max = frame_max;  // both directions: the broker splits at the frame_max we agreed
    amqp::broker b(ioc.get_executor(), o);
    const auto topic = rabbitmq::unique_name("large");
    std::string body(size, '\0');
    std::mt19937 random(static_cast<unsigned>(size));
    for (auto& c : body) c = static_cast<char>(random() % 7 == 0 ? 0 : random());
    inbox in;
    auto s = b.subscribe(topic, "", in.handler());
    auto r = publish(ioc, b, topic, make_message(body, "big"), 60s);
    INFO(r.ec.message());
    REQUIRE_FALSE(r.ec);
    REQUIRE(run_until(ioc, [&] { return !in.items.empty(); }, 60s));
    CHECK(in.items.front().payload.size() == body.size());
    CHECK((in.items.front().payload == body));
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp lifetime: a broker destroyed without async_close, its io_context stopped and destroyed, leaks nothing",
          "[amqp]") {
    // What a program stopped by a signal does: ioc.stop(), then the broker
    // and the io_context go out of scope without running again. Under
    // LeakSanitizer (the asan preset) a reference cycle left behind fails
    // the run.
    const auto topic = rabbitmq::unique_name("abandoned");
    std::shared_ptr<publish_result> pending;
    {
        asio::io_context ioc;
        auto b = std::make_unique<amqp::broker>(ioc.get_executor(), options());
        inbox in;
        auto s = b->subscribe(topic, rabbitmq::unique_name("abandoned.group"), in.handler());
        wait_subscribed(ioc, *b, topic, {&in});
        pending = start_publish(*b, topic, make_message("never confirmed", "a1"));
        REQUIRE(pending.use_count() == 2);  // the publish's handler holds the other
        ioc.stop();
        s.unsubscribe();
        b.reset();
    }
    // Everything the broker owned is gone, the publish's handler with it
    // (destroyed, never run): nothing kept it alive in a cycle.
    CHECK(pending.use_count() == 1);
    CHECK_FALSE(pending->done);
}

TEST_CASE("amqp topology: an exchange deleted behind courier's back is declared again, other publishes are not failed for it",
          "[amqp]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options());
    const auto gone = rabbitmq::unique_name("gone"), kept = rabbitmq::unique_name("kept");
    inbox in;
    auto s = b.subscribe(kept, rabbitmq::unique_name("kept.group"), in.handler());
    wait_subscribed(ioc, b, kept, {&in});
    // Declared by courier, then deleted by someone else.
    CHECK(publish(ioc, b, gone, make_message("declares it", "g0")).ec == courier::error::unroutable);
    delete_exchange(ioc, gone);

    // Publishes to the kept topic around one to the deleted exchange: the
    // broker closes the publishing channel over the latter.
    std::vector<std::shared_ptr<publish_result>> around;
    for (const auto& id : numbered("before-", 20)) around.push_back(start_publish(b, kept, make_message("x", id)));
    auto lost = start_publish(b, gone, make_message("to a deleted exchange", "g1"));
    for (const auto& id : numbered("after-", 20)) around.push_back(start_publish(b, kept, make_message("x", id)));
    REQUIRE(run_until(ioc, [&] {
        return lost->done && std::all_of(around.begin(), around.end(), [](auto& r) { return r->done; });
    }));
    INFO(lost->ec.message());
    // The publish to the deleted exchange fails (how is the broker's
    // business); the others either went through or may be sent again.
    CHECK(lost->ec);
    for (const auto& r : around) {
        INFO(r->ec.message());
        CHECK((!r->ec || r->ec == courier::condition::retryable));
    }
    // Sent again, it finds the exchange declared anew (nothing bound to it:
    // unroutable, not NOT_FOUND).
    auto again = publish(ioc, b, gone, make_message("to a deleted exchange", "g1"));
    INFO(again.ec.message());
    CHECK(again.ec == courier::error::unroutable);
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp threads: several threads publish through one broker while handlers run on two threads", "[amqp]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options(amqp::addressing::queue));
    const auto topic = rabbitmq::unique_name("threads");
    constexpr int publishers = 3, each = 500, total = publishers * each;
    std::mutex mutex;
    std::condition_variable changed;
    std::set<std::string> got;
    int handled = 0, confirmed = 0;
    std::vector<std::string> errors;
    auto s = b.subscribe(
        topic, "",
        [&](const courier::message& m, courier::context&) {
            std::lock_guard lock(mutex);
            got.insert(m.id);
            ++handled;
            changed.notify_all();
        },
        amqp::subscribe_options{.prefetch = 50});
    {
        courier_test::io_threads threads(ioc, 2);
        std::vector<std::thread> senders;
        for (int t = 0; t < publishers; ++t)
            senders.emplace_back([&, t] {
                for (int i = 0; i < each; ++i) {
                    const auto id = "t" + std::to_string(t) + "-" + std::to_string(i);
                    b.async_publish(topic, make_message("x", id), courier::context{},
                                    [&](error_code ec, courier::publish_ack) {
                                        std::lock_guard lock(mutex);
                                        if (ec) errors.push_back(ec.message());
                                        else ++confirmed;
                                        changed.notify_all();
                                    });
                }
            });
        for (auto& t : senders) t.join();
        {
            std::unique_lock lock(mutex);
            CHECK(changed.wait_for(lock, 60s, [&] {
                return (confirmed + static_cast<int>(errors.size()) == total && handled >= total);
            }));
            CHECK(errors.empty());
            CHECK(confirmed == total);
            CHECK(got.size() == static_cast<std::size_t>(total));
        }
        s.unsubscribe();
        auto closed = b.async_close(asio::use_future);
        CHECK(closed.wait_for(30s) == std::future_status::ready);
    }
}
