// The typed publisher (its call forms, blocking on the wrong thread, codec
// failures) and publishing seen as a courier::service.
#include <courier/inproc.hpp>

#include "support/catch.hpp"
#include "support/run_until.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using courier::context;
using courier::error;
using courier::error_code;
using courier::message;
using courier::inproc::broker;
using courier_test::run_until;

namespace {

struct order_created {
    std::string id;
    double amount = 0;
    friend bool operator==(const order_created&, const order_created&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(order_created, id, amount)

using order_publisher = courier::publisher<order_created, broker>;

static_assert(courier::broker<broker>);
static_assert(courier::service<courier::publish_service<broker>>);

struct ack_result {
    int calls = 0;
    error_code ec;
    courier::publish_ack ack;
    bool done() const { return calls > 0; }
    auto handler() {
        return [this](error_code e, courier::publish_ack a) {
            ++calls;
            ec = e;
            ack = a;
        };
    }
};

// Everything published to `topic` in group "g", as raw messages; guarded so
// a test may publish from another thread.
struct recorder {
    std::mutex mutex;
    std::vector<message> messages;
    std::vector<context> contexts;
    courier::subscription sub;
    recorder(broker& b, std::string_view topic)
        : sub(b.subscribe(topic, "g", [this](const message& m, context& ctx) {
              std::lock_guard lock(mutex);
              messages.push_back(m);
              contexts.push_back(ctx);
          })) {}
    std::size_t size() {
        std::lock_guard lock(mutex);
        return messages.size();
    }
};

}  // namespace

TEST_CASE("a typed publisher publishes encoded values with the asynchronous forms", "[publisher]") {
    asio::io_context ioc;
    broker b(ioc.get_executor());
    recorder rec(b, "orders");
    order_publisher pub(b, "orders");
    CHECK(pub.topic() == "orders");

    ack_result with_ctx, without_ctx;
    context ctx;
    ctx.correlation_id = "flow-1";
    ctx.trace = courier::trace_context::make_root();
    pub.async_publish(order_created{"o-1", 10}, ctx, with_ctx.handler());
    pub.async_publish(order_created{"o-2", 20}, without_ctx.handler());
    CHECK_FALSE(with_ctx.done());  // never inline
    REQUIRE(run_until(ioc, [&] { return rec.size() == 2 && with_ctx.done() && without_ctx.done(); }));
    CHECK_FALSE(with_ctx.ec);
    CHECK(with_ctx.ack.routed == 1);
    CHECK_FALSE(without_ctx.ec);

    const auto& m = rec.messages[0];
    CHECK(courier::decode<order_created>(courier::json_codec{}, m.payload) == order_created{"o-1", 10});
    CHECK(m.content_type == "application/json");
    CHECK_FALSE(m.id.empty());
    CHECK(m.id != rec.messages[1].id);  // a fresh id per message
    CHECK(rec.contexts[0].correlation_id == "flow-1");
    CHECK(rec.contexts[0].trace.trace_id == ctx.trace.trace_id);
    CHECK(rec.contexts[1].correlation_id.empty());
}

TEST_CASE("a typed publisher's deferred publish starts only when launched", "[publisher]") {
    asio::io_context ioc;
    broker b(ioc.get_executor());
    b.declare("orders", "g");
    order_publisher pub(b, "orders");
    auto op = pub.async_publish(order_created{"o-1", 1});
    courier_test::run_ready(ioc);
    CHECK(b.depth("orders", "g") == 0);
    ack_result r;
    std::move(op)(r.handler());
    REQUIRE(run_until(ioc, [&] { return r.done(); }));
    CHECK(b.depth("orders", "g") == 1);
}

TEST_CASE("a typed publisher's blocking forms return the ack or report the error", "[publisher]") {
    asio::io_context ioc;
    broker b(ioc.get_executor());
    recorder rec(b, "orders");
    order_publisher pub(b, "orders");
    courier_test::io_threads runner(ioc);

    SECTION("throwing form") {
        auto ack = pub.publish(order_created{"o-1", 1});
        CHECK(ack.routed == 1);
        ack = pub.publish(order_created{"o-2", 2}, context::with_timeout(10s));
        CHECK(ack.routed == 1);
    }
    SECTION("error_code form") {
        error_code ec = error::internal;
        auto ack = pub.publish(order_created{"o-1", 1}, ec);
        CHECK_FALSE(ec);
        CHECK(ack.routed == 1);
        pub.publish(order_created{"o-2", 2}, context{}, ec);
        CHECK_FALSE(ec);
    }
    SECTION("a closed broker fails the throwing form with broker_closed") {
        b.shutdown();
        try {
            pub.publish(order_created{"o-1", 1});
            FAIL("publish did not throw");
        } catch (const courier::system_error& e) {
            CHECK(e.code() == error::broker_closed);
            CHECK(e.diagnostic().find("orders") != std::string::npos);
        }
        error_code ec;
        pub.publish(order_created{"o-2", 2}, ec);
        CHECK(ec == error::broker_closed);
    }
}

TEST_CASE("a blocking publish on the broker's own thread fails with would_deadlock", "[publisher]") {
    asio::io_context ioc;
    broker b(ioc.get_executor());
    b.declare("orders", "g");
    order_publisher pub(b, "orders");
    error_code typed_ec, raw_ec;
    error_code thrown;
    bool done = false;
    asio::post(ioc, [&] {
        pub.publish(order_created{"o-1", 1}, typed_ec);
        b.publish("orders", message{}, context{}, raw_ec);
        try {
            pub.publish(order_created{"o-2", 2});
        } catch (const courier::system_error& e) {
            thrown = e.code();
        }
        done = true;
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK(typed_ec == error::would_deadlock);
    CHECK(raw_ec == error::would_deadlock);
    CHECK(thrown == error::would_deadlock);
    CHECK(b.depth("orders", "g") == 0);
}

TEST_CASE("a value the codec cannot encode fails with encode_failed and publishes nothing", "[publisher]") {
    asio::io_context ioc;
    broker b(ioc.get_executor());
    b.declare("orders", "g");
    order_publisher pub(b, "orders");
    const order_created bad{"\xff\xfe", 1};

    ack_result r;
    pub.async_publish(bad, context{}, r.handler());
    CHECK_FALSE(r.done());  // posted, never inline
    REQUIRE(run_until(ioc, [&] { return r.done(); }));
    CHECK(r.ec == error::encode_failed);
    CHECK(r.ack.routed == 0);

    courier_test::io_threads runner(ioc);
    error_code ec;
    pub.publish(bad, ec);
    CHECK(ec == error::encode_failed);
    CHECK_THROWS_AS(pub.publish(bad), courier::system_error);
    CHECK(b.depth("orders", "g") == 0);
}

TEST_CASE("publishing as a service works through a client's call forms", "[publisher]") {
    asio::io_context ioc;
    broker b(ioc.get_executor());
    recorder rec(b, "events");
    courier::client<courier::publish_service<broker>> c(courier::publish_service<broker>{b});
    CHECK(&c.next().broker() == &b);

    message m;
    m.payload = "hello";
    m.id = "m-1";

    ack_result r;
    context ctx;
    ctx.correlation_id = "flow-2";
    c.async_call(courier::publish_request{"events", m}, ctx, r.handler());
    REQUIRE(run_until(ioc, [&] { return r.done() && rec.size() == 1; }));
    CHECK_FALSE(r.ec);
    CHECK(r.ack.routed == 1);
    CHECK(rec.messages[0].payload == "hello");
    CHECK(rec.messages[0].id == "m-1");
    CHECK(rec.contexts[0].correlation_id == "flow-2");

    courier_test::io_threads runner(ioc);
    auto ack = c.call(courier::publish_request{"events", m});
    CHECK(ack.routed == 1);
    error_code ec;
    ack = c.call(courier::publish_request{"nowhere", m}, ec);
    CHECK_FALSE(ec);
    CHECK(ack.routed == 0);
    std::promise<courier::publish_ack> p;
    c.async_call(courier::publish_request{"events", m}, [&](error_code, courier::publish_ack a) { p.set_value(a); });
    CHECK(p.get_future().get().routed == 1);
    runner.join();
    CHECK(rec.size() == 3);
}

TEST_CASE("a blocking call through the publish service on the broker's thread fails with would_deadlock",
          "[publisher]") {
    asio::io_context ioc;
    broker b(ioc.get_executor());
    courier::client<courier::publish_service<broker>> c(courier::publish_service<broker>{b});
    error_code ec;
    bool done = false;
    asio::post(ioc, [&] {
        c.call(courier::publish_request{"events", message{}}, ec);
        done = true;
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK(ec == error::would_deadlock);
}

// publish_service::async_call's request is a parameter, gone when the call
// returns; a token that initiates later (deferred, use_awaitable) must not
// depend on it (the broker once kept only a string_view of the topic).
TEST_CASE("a deferred publish through the service reaches its topic", "[publisher]") {
    asio::io_context ioc;
    broker b(ioc.get_executor());
    const std::string topic = "orders.created.in-a-topic-name-longer-than-sso";
    recorder rec(b, topic);
    courier::client<courier::publish_service<broker>> c(courier::publish_service<broker>{b});
    message m;
    m.payload = "x";
    context ctx;
    auto op = c.async_call(courier::publish_request{topic, m}, ctx);  // launched below
    ack_result r;
    std::move(op)(r.handler());
    REQUIRE(run_until(ioc, [&] { return r.done(); }));
    CHECK_FALSE(r.ec);
    CHECK(r.ack.routed == 1);
    CHECK(run_until(ioc, [&] { return rec.size() == 1; }));
}
