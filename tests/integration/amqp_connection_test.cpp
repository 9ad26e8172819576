// The connection under amqp::broker against a real RabbitMQ: heartbeats that
// keep an idle connection alive and detect a broker gone silent (through a
// TCP relay the test freezes, so the shared broker is not disturbed), and
// what bad input makes of a connection attempt: a bad URI, bad credentials,
// an unknown virtual host, a port nobody listens on.
#include "amqp_test_support.hpp"
#include "support/sanitizers.hpp"

#include "support/tcp_proxy.hpp"

#include <boost/asio/co_spawn.hpp>

using namespace amqp_test;
using courier_test::tcp_proxy;
using tcp = asio::ip::tcp;

namespace {

// A port on 127.0.0.1 where nothing listens (it did a moment ago).
unsigned short unused_port(asio::io_context& ioc) {
    tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

}  // namespace

TEST_CASE("amqp heartbeats keep an idle connection open and detect a silent broker within two intervals", "[amqp]") {
    asio::io_context ioc;
    tcp_proxy proxy(ioc, broker_endpoint());
    amqp::connection_options o;
    o.uri = url_for_port(proxy.port());
    o.heartbeat = 1s;
    auto c = std::make_shared<amqp::detail::connection>(ioc.get_executor(), o);
    bool opened = false, lost = false;
    error_code why;
    std::exception_ptr failure;
    c->on_lost = [&](error_code ec) {
        lost = true;
        why = ec;
    };
    asio::co_spawn(ioc, c->open(), [&](std::exception_ptr e) {
        failure = e;
        opened = true;
    });
    REQUIRE(run_until(ioc, [&] { return opened; }));
    if (failure) std::rethrow_exception(failure);
    CHECK(c->heartbeat() == 1s);

    // Idle for three intervals: heartbeats both ways keep it open (without
    // ours the broker would close it after two).
    CHECK_FALSE(run_until(ioc, [&] { return lost; }, 3s));
    CHECK(c->is_open());

    // The broker goes silent: the connection notices after two intervals.
    proxy.freeze();
    const auto frozen_at = std::chrono::steady_clock::now();
    REQUIRE(run_until(ioc, [&] { return lost; }, 10s));
    const auto detected_after = std::chrono::steady_clock::now() - frozen_at;
    CHECK(why == amqp::error::heartbeat_timeout);
    CHECK(why == courier::condition::retryable);
    CHECK(detected_after >= 1500ms);
    CHECK(detected_after <= 3s * courier_test::sanitizer_slowdown);  // its timer, not a hang
    CHECK_FALSE(c->is_open());
    proxy.thaw();
}

TEST_CASE("amqp broker: a publish in flight when the broker goes silent fails retryably, and it recovers when traffic flows",
          "[amqp]") {
    asio::io_context ioc;
    tcp_proxy proxy(ioc, broker_endpoint());
    auto o = options_on_port(proxy.port(), amqp::addressing::queue);
    o.connection.connect_timeout = 2s;
    amqp::broker b(ioc.get_executor(), o);
    const auto topic = rabbitmq::unique_name("heartbeat");
    inbox in;
    auto s = b.subscribe(topic, "", in.handler());
    REQUIRE_FALSE(publish(ioc, b, topic, make_message("before", "h1")).ec);
    REQUIRE(run_until(ioc, [&] { return in.ids().count("h1") == 1; }));

    proxy.freeze();
    const auto frozen_at = std::chrono::steady_clock::now();
    auto during = publish(ioc, b, topic, make_message("during", "h2"));
    INFO(during.ec.message());
    CHECK(during.ec == amqp::error::heartbeat_timeout);
    CHECK(during.ec == courier::condition::retryable);
    CHECK(during.at - frozen_at <= 3500ms * courier_test::sanitizer_slowdown);

    // Traffic flows again: the broker reconnects (its attempts while frozen
    // timed out) and the consumer is re-established.
    proxy.thaw();
    auto again = publish(ioc, b, topic, make_message("during", "h2"), 30s);
    INFO(again.ec.message());
    CHECK_FALSE(again.ec);
    REQUIRE_FALSE(publish(ioc, b, topic, make_message("after", "h3")).ec);
    REQUIRE(run_until(ioc, [&] { return in.ids() == std::set<std::string>{"h1", "h2", "h3"}; }, 30s));
    CHECK(proxy.connections() >= 2);
    s.unsubscribe();
    close(ioc, b);
}

TEST_CASE("amqp bad input: a bad URI fails with amqp::error::bad_uri", "[amqp]") {
    asio::io_context ioc;
    const std::string uri = GENERATE(std::string("http://127.0.0.1:5672/"), std::string("amqp://guest:guest@127.0.0.1:99999/"),
                                     std::string("amqp://[::1/"));
    CAPTURE(uri);
    auto o = options();
    o.connection.uri = uri;
    amqp::broker b(ioc.get_executor(), o);
    const auto ec = connect_result(ioc, b);
    CHECK(ec == amqp::error::bad_uri);
    CHECK(ec == courier::condition::permanent);
    close(ioc, b);
}

TEST_CASE("amqp bad input: the broker refusing the login or the virtual host fails async_connect with its reply code",
          "[amqp]") {
    asio::io_context ioc;
    const auto port = std::to_string(rabbitmq::port());
    SECTION("wrong password: ACCESS_REFUSED") {
        auto o = options();
        o.connection.uri = "amqp://guest:not-the-password@127.0.0.1:" + port + "/";
        amqp::broker b(ioc.get_executor(), o);
        const auto ec = connect_result(ioc, b);
        INFO(ec.message());
        CHECK(amqp::reply_code_of(ec) == static_cast<std::uint16_t>(amqp::reply_code::access_refused));
        CHECK(ec == courier::condition::permanent);
        close(ioc, b);
    }
    SECTION("unknown virtual host: NOT_ALLOWED or INVALID_PATH") {
        auto o = options();
        o.connection.uri = "amqp://guest:guest@127.0.0.1:" + port + "/" + rabbitmq::unique_name("no.such.vhost");
        amqp::broker b(ioc.get_executor(), o);
        const auto ec = connect_result(ioc, b);
        INFO(ec.message());
        const auto code = amqp::reply_code_of(ec);
        CHECK((code == static_cast<std::uint16_t>(amqp::reply_code::not_allowed) ||
               code == static_cast<std::uint16_t>(amqp::reply_code::invalid_path)));
        close(ioc, b);
    }
}

TEST_CASE("amqp bad input: no broker on the port fails with connection_refused, and the broker keeps trying until one comes",
          "[amqp]") {
    asio::io_context ioc;
    const auto port = unused_port(ioc);
    auto o = options_on_port(port, amqp::addressing::queue);
    o.reconnect_delay = 20ms;
    o.max_reconnect_delay = 100ms;
    amqp::broker b(ioc.get_executor(), o);
    const auto ec = connect_result(ioc, b);
    CHECK(ec == asio::error::connection_refused);
    CHECK(ec == courier::condition::retryable);

    // A publish meanwhile waits, through several failed attempts...
    const auto topic = rabbitmq::unique_name("patient");
    auto r = start_publish(b, topic, make_message("waited", "w1"));
    CHECK_FALSE(run_until(ioc, [&] { return r->done; }, 300ms));
    // ...until the broker is there (a relay to it on that port).
    tcp_proxy proxy(ioc, broker_endpoint(), port);
    REQUIRE(run_until(ioc, [&] { return r->done; }));
    INFO(r->ec.message());
    CHECK_FALSE(r->ec);
    CHECK(proxy.connections() == 1);
    close(ioc, b);
}

TEST_CASE("amqp broker: async_close while a connection attempt is under way leaves no connection behind", "[amqp]") {
    asio::io_context ioc;
    tcp_proxy proxy(ioc, broker_endpoint());
    proxy.freeze();  // the attempt connects, then waits for connection.start
    amqp::broker b(ioc.get_executor(), options_on_port(proxy.port()));
    b.async_connect([](error_code) {});
    REQUIRE(run_until(ioc, [&] { return proxy.connections() == 1; }));
    bool closed = false;
    b.async_close([&](error_code) { closed = true; });
    REQUIRE(run_until(ioc, [&] { return closed; }));
    // The handshake goes on once the broker answers: the closed broker must
    // not keep what it opens.
    proxy.thaw();
    CHECK(run_until(ioc, [&] { return proxy.open_connections() == 0; }, 5s));
    CHECK(proxy.connections() == 1);
}

TEST_CASE("amqp broker: a connection the operator closes (CONNECTION_FORCED) is re-established and its consumer resumes",
          "[amqp]") {
    asio::io_context ioc;
    auto o = options(amqp::addressing::queue);
    o.connection.name = rabbitmq::unique_name("forced");
    amqp::broker b(ioc.get_executor(), o);
    const auto topic = rabbitmq::unique_name("forced.queue");
    inbox in;
    int established = 0;
    amqp::subscribe_options so;
    so.on_consuming = [&] { ++established; };
    auto s = subscribe_and_wait(ioc, b, topic, "", in.handler(), so);
    REQUIRE(established == 1);
    REQUIRE_FALSE(publish(ioc, b, topic, make_message("before", "f1")).ec);
    REQUIRE(run_until(ioc, [&] { return in.items.size() == 1; }));

    // rabbitmqctl close_connection, found by the name courier gave it.
    const auto listing = rabbitmq::ctl({"list_connections", "--quiet", "--no-table-headers", "pid", "client_properties"});
    std::string pid;
    for (std::size_t pos = 0; pos < listing.size();) {
        auto end = listing.find('\n', pos);
        if (end == std::string::npos) end = listing.size();
        const auto line = listing.substr(pos, end - pos);
        pos = end + 1;
        if (line.find('"' + o.connection.name + '"') != std::string::npos) pid = line.substr(0, line.find('\t'));
    }
    REQUIRE_FALSE(pid.empty());
    rabbitmq::ctl({"close_connection", pid, "closed by a courier test"});

    // The consumer is established again on the new connection, and what is
    // published from now on reaches it.
    REQUIRE(run_until(ioc, [&] { return established == 2; }));
    auto after = publish(ioc, b, topic, make_message("after", "f2"));
    INFO(after.ec.message());
    CHECK_FALSE(after.ec);
    REQUIRE(run_until(ioc, [&] { return in.ids() == std::set<std::string>{"f1", "f2"}; }));
    s.unsubscribe();
    close(ioc, b);
}
