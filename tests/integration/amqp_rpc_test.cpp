// RPC over RabbitMQ against the test broker: amqp::rpc_client and
// amqp::rpc_server, each on its own amqp::broker (connection), as two
// services would be. Every test names its queues with unique_name() (tests
// run side by side against one broker), runs its io_context on its own
// thread until a condition holds, and closes its brokers at the end.
#include "amqp_test_support.hpp"
#include "support/catch.hpp"
#include "support/rabbitmq.hpp"
#include "support/run_until.hpp"

#include <courier/amqp/broker.hpp>
#include <courier/amqp/rpc.hpp>
#include <courier/client.hpp>
#include <courier/layer.hpp>
#include <courier/policy/circuit_breaker.hpp>
#include <courier/policy/retry.hpp>
#include <courier/policy/timeout.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace amqp = courier::amqp;
namespace policy = courier::policy;
namespace rabbitmq = courier_test::rabbitmq;
using courier::error_code;
using courier_test::run_until;
using namespace std::chrono_literals;

}  // namespace

namespace rpc_test {

struct get_user {
    int id = 0;
    std::string mode;  // what the test handlers do: "", "hold", "missing", "crash"
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, id, mode)

struct user {
    int id = 0;
    std::string name;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name)

}  // namespace rpc_test

namespace {

using rpc_test::get_user;
using rpc_test::user;

/// The shared test options (short reconnection delays), on `uri` if given.
amqp::broker_options options(std::string uri = {}) {
    auto o = amqp_test::options();
    if (!uri.empty()) o.connection.uri = std::move(uri);
    return o;
}

template <class Rep>
struct outcome {
    int completions = 0;
    error_code ec;
    Rep rep{};
    std::chrono::steady_clock::time_point at{};
};

template <class Client, class Req>
std::shared_ptr<outcome<typename Client::response_type>> start_call(Client& c, Req req, courier::context ctx = {}) {
    auto o = std::make_shared<outcome<typename Client::response_type>>();
    c.async_call(std::move(req), std::move(ctx), [o](error_code ec, typename Client::response_type rep) {
        ++o->completions;
        o->ec = ec;
        o->rep = std::move(rep);
        o->at = std::chrono::steady_clock::now();
    });
    return o;
}

/// A server and a client, each with its own broker connection, and what the
/// server's handlers saw.
struct rig {
    explicit rig(std::string uri = {})
        : server_broker(ioc.get_executor(), options(uri)),
          client_broker(ioc.get_executor(), options(uri)),
          server(server_broker, {.on_consuming = [this](const std::string& q) { consuming.insert(q); }}) {}

    ~rig() {
        server.close();
        int closed = 0;
        server_broker.async_close([&](error_code) { ++closed; });
        client_broker.async_close([&](error_code) { ++closed; });
        CHECK(run_until(ioc, [&] { return closed == 2; }));
    }

    /// Waits until the server consumes `queue`.
    void wait_consuming(const std::string& queue) {
        REQUIRE(run_until(ioc, [&] { return consuming.count(queue) > 0; }));
    }

    template <class Client, class Req>
    outcome<typename Client::response_type> call(Client& c, Req req, courier::context ctx = {}) {
        auto o = start_call(c, std::move(req), std::move(ctx));
        REQUIRE(run_until(ioc, [&] { return o->completions > 0; }, 30s));
        return *o;
    }

    asio::io_context ioc;
    amqp::broker server_broker, client_broker;
    std::set<std::string> consuming;
    amqp::rpc_server server;
};

/// The users service the tests bind: id -> user, with `mode` choosing a
/// failure or a slow answer.
asio::awaitable<user> users(get_user req, courier::context& ctx) {
    if (req.mode == "missing") throw courier::system_error(courier::error::not_found, "no such user");
    if (req.mode == "crash") throw std::runtime_error("the handler broke");
    if (req.mode == "hold") {
        // Until the deadline cancels it.
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_at(ctx.deadline.value_or(std::chrono::steady_clock::now() + 60s) + 10s);
        co_await t.async_wait(asio::use_awaitable);
    }
    co_return user{req.id, "user " + std::to_string(req.id)};
}

}  // namespace

TEST_CASE("amqp rpc: a call reaches the handler bound to its queue and returns its typed reply", "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.users");
    std::optional<courier::context> seen;
    r.server.bind<get_user, user>(queue, [&](get_user req, courier::context& ctx) {
        seen = ctx;
        return user{req.id, "user " + std::to_string(req.id)};
    });
    r.wait_consuming(queue);

    amqp::rpc_client<get_user, user> users_client(r.client_broker, queue);
    auto ctx = courier::context::with_timeout(10s);
    ctx.correlation_id = "order-42";
    ctx.metadata.set("tenant", "acme");
    ctx.trace = courier::trace_context::make_root();
    const auto deadline = *ctx.deadline;

    auto o = r.call(users_client, get_user{7, ""}, ctx);
    REQUIRE_FALSE(o.ec);
    CHECK(o.completions == 1);
    CHECK(o.rep.id == 7);
    CHECK(o.rep.name == "user 7");

    // The context travelled: deadline (no later than the caller's),
    // correlation id, metadata, and a child span of the caller's trace.
    REQUIRE(seen);
    REQUIRE(seen->deadline);
    // Sent as the time left, so it moves by the time in transit.
    CHECK(*seen->deadline - deadline < 1s);
    CHECK(deadline - *seen->deadline < 1s);
    CHECK(seen->correlation_id == "order-42");
    CHECK(seen->metadata.get("tenant") == "acme");
    CHECK_FALSE(seen->metadata.contains(amqp::rpc_protocol::correlation_header));
    CHECK(seen->trace.trace_id == ctx.trace.trace_id);
    CHECK(seen->trace.span_id != ctx.trace.span_id);
}

TEST_CASE("amqp rpc: coroutine handlers and services are served too, and courier::client works over the client",
          "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.users");
    r.server.bind<get_user, user>(queue, users);
    const auto proxied = rabbitmq::unique_name("rpc.proxy");
    // A service as a handler: the proxy queue forwards to the users queue.
    r.server.serve(proxied, amqp::rpc_client<get_user, user>(r.server_broker, queue));
    r.wait_consuming(queue);
    r.wait_consuming(proxied);

    courier::client users_client{amqp::rpc_client<get_user, user>(r.client_broker, queue)};
    auto direct = r.call(users_client, get_user{1, ""});
    REQUIRE_FALSE(direct.ec);
    CHECK(direct.rep.name == "user 1");

    courier::client proxy_client{amqp::rpc_client<get_user, user>(r.client_broker, proxied)};
    auto via_proxy = r.call(proxy_client, get_user{2, ""}, courier::context::with_timeout(10s));
    REQUIRE_FALSE(via_proxy.ec);
    CHECK(via_proxy.rep.name == "user 2");
    // The failure of the service behind the proxy comes back as itself.
    auto missing = r.call(proxy_client, get_user{3, "missing"});
    CHECK(missing.ec == courier::error::not_found);
}

TEST_CASE("amqp rpc: 200 concurrent calls each get their own reply", "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.users");
    r.server.bind<get_user, user>(queue, users);
    r.wait_consuming(queue);

    amqp::rpc_client<get_user, user> users_client(r.client_broker, queue);
    std::vector<std::shared_ptr<outcome<user>>> calls;
    for (int i = 0; i < 200; ++i) calls.push_back(start_call(users_client, get_user{i, ""}));
    REQUIRE(run_until(r.ioc, [&] {
        for (auto& c : calls)
            if (c->completions == 0) return false;
        return true;
    }, 60s));
    for (int i = 0; i < 200; ++i) {
        INFO("call " << i);
        CHECK(calls[i]->completions == 1);
        CHECK_FALSE(calls[i]->ec);
        CHECK(calls[i]->rep.id == i);
        CHECK(calls[i]->rep.name == "user " + std::to_string(i));
    }
}

TEST_CASE("amqp rpc: the handler's courier error reaches the caller as itself, any other exception as internal",
          "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.users");
    r.server.bind<get_user, user>(queue, users);
    const auto plain = rabbitmq::unique_name("rpc.plain");
    r.server.bind<get_user, user>(plain, [](const get_user& req, courier::context&) -> user {
        if (req.mode == "missing") throw courier::system_error(courier::error::permission_denied);
        throw std::logic_error("no");
    });
    r.wait_consuming(queue);
    r.wait_consuming(plain);

    amqp::rpc_client<get_user, user> users_client(r.client_broker, queue);
    auto missing = r.call(users_client, get_user{5, "missing"});
    CHECK(missing.ec == courier::error::not_found);
    CHECK(missing.ec == courier::condition::remote);
    CHECK(missing.completions == 1);
    auto crash = r.call(users_client, get_user{5, "crash"});
    CHECK(crash.ec == courier::error::internal);

    amqp::rpc_client<get_user, user> plain_client(r.client_broker, plain);
    CHECK(r.call(plain_client, get_user{1, "missing"}).ec == courier::error::permission_denied);
    CHECK(r.call(plain_client, get_user{1, ""}).ec == courier::error::internal);
}

TEST_CASE("amqp rpc: a request the server cannot decode, or a reply the client cannot, fails with decode_failed",
          "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.users");
    int handled = 0;
    r.server.bind<get_user, user>(queue, [&](get_user req, courier::context&) {
        ++handled;
        return user{req.id, "x"};
    });
    r.wait_consuming(queue);

    // A string is not a get_user: the server answers decode_failed without
    // running the handler.
    amqp::rpc_client<std::string, user> wrong_request(r.client_broker, queue);
    auto bad = r.call(wrong_request, std::string("not a request"));
    CHECK(bad.ec == courier::error::decode_failed);
    CHECK(handled == 0);

    // A user is not an int: the client's codec fails on the reply.
    amqp::rpc_client<get_user, int> wrong_reply(r.client_broker, queue);
    auto undecodable = r.call(wrong_reply, get_user{3, ""});
    CHECK(undecodable.ec == courier::error::decode_failed);
    CHECK(handled == 1);
}

TEST_CASE("amqp rpc: a call to a queue that does not exist fails with unknown_endpoint", "[amqp][rpc]") {
    rig r;
    amqp::rpc_client<get_user, user> nobody(r.client_broker, rabbitmq::unique_name("rpc.nobody"));
    auto o = r.call(nobody, get_user{1, ""}, courier::context::with_timeout(10s));
    CHECK(o.ec == courier::error::unknown_endpoint);
    CHECK(o.ec != courier::condition::retryable);
    CHECK(o.completions == 1);
}

TEST_CASE("amqp rpc: a handler slower than the deadline: the call fails with timeout at the deadline, the handler "
          "is cancelled",
          "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.slow");
    bool started = false;
    std::optional<error_code> handler_ended;
    r.server.bind<get_user, user>(queue, [&](get_user req, courier::context& ctx) -> asio::awaitable<user> {
        started = true;
        asio::steady_timer t(co_await asio::this_coro::executor, 60s);
        error_code ec;
        try {
            co_await t.async_wait(asio::use_awaitable);
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
        handler_ended = ec;
        (void)ctx;
        co_return user{req.id, "late"};
    });
    r.wait_consuming(queue);

    amqp::rpc_client<get_user, user> users_client(r.client_broker, queue);
    const auto begin = std::chrono::steady_clock::now();
    auto o = r.call(users_client, get_user{1, ""}, courier::context::with_timeout(500ms));
    CHECK(o.ec == courier::error::timeout);
    CHECK(o.completions == 1);
    CHECK(o.at - begin >= 500ms);
    CHECK(o.at - begin < 10s);
    CHECK(started);
    // The server cancelled the handler at the deadline it received.
    REQUIRE(run_until(r.ioc, [&] { return handler_ended.has_value(); }));
    CHECK(*handler_ended == asio::error::operation_aborted);
}

TEST_CASE("amqp rpc: cancelling a call through its cancellation slot completes it once with operation_aborted",
          "[amqp][rpc]") {
    const auto type = GENERATE(asio::cancellation_type::terminal, asio::cancellation_type::partial,
                               asio::cancellation_type::total);
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.cancel");
    int started = 0;
    auto release = std::make_shared<asio::steady_timer>(r.ioc, std::chrono::steady_clock::time_point::max());
    r.server.bind<get_user, user>(queue, [&, release](get_user req, courier::context&) -> asio::awaitable<user> {
        ++started;
        if (req.mode == "hold") {
            error_code ignored;
            co_await release->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        co_return user{req.id, "answered"};
    });
    r.wait_consuming(queue);

    amqp::rpc_client<get_user, user> users_client(r.client_broker, queue);
    asio::cancellation_signal signal;
    auto o = std::make_shared<outcome<user>>();
    users_client.async_call(get_user{1, "hold"}, courier::context::with_timeout(20s),
                            asio::bind_cancellation_slot(signal.slot(), [o](error_code ec, user rep) {
                                ++o->completions;
                                o->ec = ec;
                                o->rep = std::move(rep);
                            }));
    REQUIRE(run_until(r.ioc, [&] { return started == 1; }));
    signal.emit(type);
    REQUIRE(run_until(r.ioc, [&] { return o->completions > 0; }));
    CHECK(o->ec == asio::error::operation_aborted);

    // The handler answers after all; that reply finds no call and is
    // dropped. A later call's reply comes after it on the same channel.
    release->cancel();
    auto next = r.call(users_client, get_user{2, ""});
    REQUIRE_FALSE(next.ec);
    CHECK(next.rep.id == 2);
    CHECK(o->completions == 1);
    // Emitting again changes nothing.
    signal.emit(type);
    courier_test::run_ready(r.ioc);
    CHECK(o->completions == 1);
}

TEST_CASE("amqp rpc: the policy stack timeout, retry, circuit_breaker wraps the client", "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.users");
    int handled = 0;
    r.server.bind<get_user, user>(queue, [&](get_user req, courier::context&) -> asio::awaitable<user> {
        ++handled;
        if (req.mode == "missing") throw courier::system_error(courier::error::not_found);
        co_return user{req.id, "user " + std::to_string(req.id)};
    });
    r.wait_consuming(queue);

    courier::client users_client{
        courier::stack(policy::timeout(5s), policy::retry({.max_attempts = 3, .backoff = policy::constant_backoff{10ms}}),
                       policy::circuit_breaker())
            .wrap(amqp::rpc_client<get_user, user>(r.client_broker, queue))};
    auto ok = r.call(users_client, get_user{9, ""});
    REQUIRE_FALSE(ok.ec);
    CHECK(ok.rep.name == "user 9");
    // Permanent: not retried.
    auto missing = r.call(users_client, get_user{9, "missing"});
    CHECK(missing.ec == courier::error::not_found);
    CHECK(handled == 2);

    // The blocking form, with the io_context on another thread.
    courier_test::io_threads threads(r.ioc);
    const auto u = users_client.call(get_user{11, ""});
    CHECK(u.name == "user 11");
    error_code ec;
    (void)users_client.call(get_user{11, "missing"}, ec);
    CHECK(ec == courier::error::not_found);
    r.ioc.stop();  // the brokers' connections would keep it running
    threads.join();
}

TEST_CASE("amqp rpc: a request still queued at its deadline expires there and never reaches a handler",
          "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.expiring");
    int handled = 0;
    auto handler = [&](get_user req, courier::context&) {
        ++handled;
        return user{req.id, "late"};
    };
    {
        // Declares the queue, then stops consuming it.
        amqp::rpc_server first(r.server_broker, {.on_consuming = [&](const std::string& q) { r.consuming.insert(q); }});
        first.bind<get_user, user>(queue, handler);
        r.wait_consuming(queue);
    }
    amqp::rpc_client<get_user, user> users_client(r.client_broker, queue);
    auto o = r.call(users_client, get_user{1, ""}, courier::context::with_timeout(300ms));
    CHECK(o.ec == courier::error::timeout);
    REQUIRE(amqp_test::depth_becomes(r.ioc, queue, 0));

    // A server arriving later gets only the request that has time left:
    // the queue is FIFO, so an unexpired first request would come first.
    r.consuming.clear();
    r.server.bind<get_user, user>(queue, handler);
    r.wait_consuming(queue);
    auto later = r.call(users_client, get_user{2, ""}, courier::context::with_timeout(10s));
    REQUIRE_FALSE(later.ec);
    CHECK(later.rep.id == 2);
    CHECK(handled == 1);
}

TEST_CASE("amqp rpc: a request whose deadline passed before its handler started is acked and dropped",
          "[amqp][rpc]") {
    rig r;
    const auto queue = rabbitmq::unique_name("rpc.stale");
    std::vector<int> handled;
    r.server.bind<get_user, user>(queue, [&](get_user req, courier::context&) {
        handled.push_back(req.id);
        return user{req.id, "x"};
    });
    r.wait_consuming(queue);

    // Someone else's request, sent with no time left.
    auto publisher_options = options();
    publisher_options.mode = amqp::addressing::queue;
    amqp::broker publisher(r.ioc.get_executor(), publisher_options);
    courier::message stale;
    stale.payload = nlohmann::json(get_user{1, ""}).dump();
    stale.content_type = "application/json";
    stale.headers.set(courier::header::timeout_ms, "0");
    bool published = false;
    publisher.async_publish(queue, stale, [&](error_code ec, courier::publish_ack) {
        CHECK_FALSE(ec);
        published = true;
    });
    REQUIRE(run_until(r.ioc, [&] { return published; }));

    amqp::rpc_client<get_user, user> users_client(r.client_broker, queue);
    auto o = r.call(users_client, get_user{2, ""}, courier::context::with_timeout(10s));
    REQUIRE_FALSE(o.ec);
    CHECK(handled == std::vector<int>{2});
    bool closed = false;
    publisher.async_close([&](error_code) { closed = true; });
    REQUIRE(run_until(r.ioc, [&] { return closed; }));
    // Acked: nothing is left in the queue once the server lets go of it
    // (unacked requests would be requeued when its channel closes).
    r.server.close();
    CHECK(amqp_test::depth_becomes(r.ioc, queue, 0));
}

TEST_CASE("amqp rpc: a call in flight when the connection is lost fails retryably, and the next call succeeds",
          "[amqp][rpc]") {
    // A private virtual host: closing its connections leaves the tests
    // running beside this one alone.
    const auto vhost = rabbitmq::unique_name("rpc-vhost");
    rabbitmq::ctl({"add_vhost", vhost});
    rabbitmq::ctl({"set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"});
    struct drop_vhost {
        std::string name;
        ~drop_vhost() { rabbitmq::ctl({"delete_vhost", name}); }
    } cleanup{vhost};
    {
        rig r(rabbitmq::url() + vhost);
        const auto queue = rabbitmq::unique_name("rpc.users");
        int started = 0;
        r.server.bind<get_user, user>(queue, [&](get_user req, courier::context& ctx) {
            ++started;
            return users(std::move(req), ctx);
        });
        r.wait_consuming(queue);

        amqp::rpc_client<get_user, user> users_client(r.client_broker, queue);
        auto warm = r.call(users_client, get_user{1, ""});
        REQUIRE_FALSE(warm.ec);

        auto in_flight = start_call(users_client, get_user{2, "hold"}, courier::context::with_timeout(60s));
        REQUIRE(run_until(r.ioc, [&] { return started == 2; }));
        rabbitmq::ctl({"close_all_connections", "--vhost", vhost, "courier test: connection lost"});
        REQUIRE(run_until(r.ioc, [&] { return in_flight->completions > 0; }));
        INFO(in_flight->ec.message());
        CHECK(in_flight->ec == courier::condition::retryable);
        CHECK(in_flight->ec != courier::error::timeout);

        // Made at once: waits for both sides to reconnect.
        auto next = r.call(users_client, get_user{3, ""}, courier::context::with_timeout(30s));
        REQUIRE_FALSE(next.ec);
        CHECK(next.rep.id == 3);
        CHECK(in_flight->completions == 1);
    }
}
