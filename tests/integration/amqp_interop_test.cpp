// courier's AMQP broker and the seed's own amqplib code (tests/peers, run
// with node) on one RabbitMQ: the seed's publisher (assertQueue +
// sendToQueue) feeding a courier consumer, a courier publisher feeding the
// seed's consumer (consume + ack), and the same in exchange mode, where
// courier's topic is a durable fanout exchange and a group a durable queue
// bound to it with routing key "", which is what the peers' --exchange mode
// declares.
#include "amqp_test_support.hpp"

#include "support/child_process.hpp"

#include <nlohmann/json.hpp>

#include <memory>

using namespace amqp_test;
using courier_test::child_process;

namespace {

// Built only when node and the npm peers are there (tests/integration/CMakeLists.txt).
const std::string node = COURIER_TEST_NODE;

// Runs tests/peers/<script> with node against the test broker.
std::unique_ptr<child_process> peer(asio::io_context& ioc, const std::string& script, std::vector<std::string> args) {
    std::vector<std::string> argv{node, std::string(COURIER_TEST_PEERS_DIR) + "/" + script, "--url", rabbitmq::url()};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<child_process>(ioc, argv);
}

// Waits for the peer to exit and checks it succeeded.
void finish(asio::io_context& ioc, child_process& p, std::chrono::steady_clock::duration limit = 60s) {
    REQUIRE(run_until(ioc, [&] { return p.exited(); }, limit));
    for (const auto& l : p.lines()) UNSCOPED_INFO(l);
    REQUIRE(p.exit_code() == 0);
}

// The seed's order as JSON, as the peers make it.
std::string order_json(const std::string& id) {
    return nlohmann::json{{"id", id}, {"userId", "7"}, {"productId", "product-1"}, {"amount", 42}}.dump();
}

courier::message order(const std::string& id) {
    courier::message m;
    m.payload = order_json(id);
    m.id = id;
    m.content_type = "application/json";
    return m;
}

// The order ids of what an inbox received (its payloads are JSON orders).
std::vector<std::string> order_ids(const inbox& in) {
    std::vector<std::string> out;
    for (const auto& r : in.items) out.push_back(nlohmann::json::parse(r.payload).at("id").get<std::string>());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> ids(const std::string& prefix, int n) {
    std::vector<std::string> out;
    for (int i = 1; i <= n; ++i) out.push_back(prefix + std::to_string(i));
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE("amqp interop: the seed's amqplib publisher (sendToQueue) feeds a courier consumer in queue mode",
          "[amqp][interop]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options(amqp::addressing::queue));
    const auto queue = rabbitmq::unique_name("order.created");
    inbox in;
    auto s = b.subscribe(queue, "email-service", in.handler());
    auto publisher = peer(ioc, "amqplib_publisher.js", {"--queue", queue, "--count", "20"});
    finish(ioc, *publisher);
    CHECK(publisher->printed("published 20 orders to queue " + queue));
    REQUIRE(run_until(ioc, [&] { return in.items.size() >= 20; }));
    CHECK(order_ids(in) == ids("order-", 20));
    CHECK(in.items.size() == 20);
    // The seed sends bare JSON: no message id or content type.
    const auto first = nlohmann::json::parse(in.items.front().payload);
    CHECK(first.contains("userId"));
    CHECK(first.contains("amount"));
    CHECK(in.items.front().attempt == 1);
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp interop: a courier publisher in queue mode feeds the seed's amqplib consumer (consume + ack)",
          "[amqp][interop]") {
    asio::io_context ioc;
    const auto queue = rabbitmq::unique_name("order.created");
    auto consumer = peer(ioc, "amqplib_consumer.js", {"--queue", queue, "--count", "20", "--properties"});
    REQUIRE(run_until(ioc, [&] { return consumer->printed("consuming ") || consumer->exited(); }, 30s));

    amqp::broker b(ioc.get_executor(), options(amqp::addressing::queue));
    std::vector<std::shared_ptr<publish_result>> results;
    for (const auto& id : ids("courier-", 20)) results.push_back(start_publish(b, queue, order(id)));
    finish(ioc, *consumer);
    for (const auto& r : results) {
        REQUIRE(r->done);
        CHECK_FALSE(r->ec);
    }
    CHECK(sorted(consumer->values("Sending email for order: ")) == ids("courier-", 20));
    // courier's metadata, as amqplib reads it.
    const auto props = consumer->values("properties: ");
    REQUIRE(props.size() == 20);
    const auto p = nlohmann::json::parse(props.front());
    CHECK(p.at("contentType") == "application/json");
    CHECK(p.at("messageId").get<std::string>().starts_with("courier-"));
    CHECK(p.at("deliveryMode") == 2);
    CHECK(p.at("fields").at("routingKey") == queue);
    close(ioc, b);
}

TEST_CASE("amqp interop: exchange mode, courier and amqplib publishers and groups on one fanout exchange",
          "[amqp][interop]") {
    asio::io_context ioc;
    const auto exchange = rabbitmq::unique_name("orders");
    const auto seed_group = rabbitmq::unique_name("email-service");
    const auto courier_group = rabbitmq::unique_name("audit");

    // The seed's consumer, exchange mode: its group's queue bound to the
    // exchange it asserts (fanout, durable), with routing key "".
    auto consumer = peer(ioc, "amqplib_consumer.js", {"--exchange", exchange, "--group", seed_group, "--count", "20"});
    REQUIRE(run_until(ioc, [&] { return consumer->printed("consuming ") || consumer->exited(); }, 30s));
    REQUIRE_FALSE(consumer->exited());

    // courier's group on the same exchange, declared by courier the same way
    // (no probes here: they would reach the seed's group, which wants JSON).
    amqp::broker b(ioc.get_executor(), options());
    inbox in;
    auto s = subscribe_and_wait(ioc, b, exchange, courier_group, in.handler());

    // Ten orders from each side: every group gets all twenty.
    auto publisher = peer(ioc, "amqplib_publisher.js", {"--exchange", exchange, "--count", "10", "--id-prefix", "seed-"});
    std::vector<std::shared_ptr<publish_result>> results;
    for (const auto& id : ids("courier-", 10)) results.push_back(start_publish(b, exchange, order(id)));
    finish(ioc, *publisher);
    CHECK(publisher->printed("published 10 orders to exchange " + exchange));
    finish(ioc, *consumer);
    REQUIRE(run_until(ioc, [&] { return in.items.size() >= 20; }));
    for (const auto& r : results) {
        REQUIRE(r->done);
        CHECK_FALSE(r->ec);
        CHECK(r->ack.routed == 1);
    }
    auto expected = ids("seed-", 10);
    for (const auto& id : ids("courier-", 10)) expected.push_back(id);
    std::sort(expected.begin(), expected.end());
    CHECK(sorted(consumer->values("Sending email for order: ")) == expected);
    CHECK(order_ids(in) == expected);
    s.unsubscribe();
    close(ioc, b);
}
