// What courier's AMQP integration tests share: broker options pointing at the
// test broker (with short delays, so tests wait little), publishing and
// waiting on one io_context, an inbox recording what a handler received,
// and waiting until the subscriptions of a test are registered (their
// on_consuming, or probes).
//
// Every test runs its io_context on the test's own thread (run_until), names
// its exchanges and queues with rabbitmq::unique_name() (tests run side by
// side against one broker), and waits on conditions, never on the clock.
#pragma once

#include "support/catch.hpp"
#include "support/rabbitmq.hpp"
#include "support/run_until.hpp"

#include <courier/amqp.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace amqp_test {

namespace asio = boost::asio;
namespace amqp = courier::amqp;
namespace rabbitmq = courier_test::rabbitmq;
using courier::error_code;
using courier_test::run_until;
using namespace std::chrono_literals;

/// Options for the test broker: short reconnection and redelivery delays.
inline amqp::broker_options options(amqp::addressing mode = amqp::addressing::exchange) {
    amqp::broker_options o;
    o.connection.uri = rabbitmq::url();
    o.connection.connect_timeout = 5s;
    o.mode = mode;
    o.reconnect_delay = 50ms;
    o.max_reconnect_delay = 500ms;
    o.redelivery_delay = 50ms;
    o.max_redelivery_delay = 200ms;
    return o;
}

inline courier::message make_message(std::string payload, std::string id = {}) {
    courier::message m;
    m.payload = std::move(payload);
    m.id = std::move(id);
    m.content_type = "text/plain";
    return m;
}

/// A publish under way: done once its completion handler ran.
struct publish_result {
    bool done = false;
    error_code ec;
    courier::publish_ack ack;
    std::chrono::steady_clock::time_point at{};
};

inline std::shared_ptr<publish_result> start_publish(amqp::broker& b, std::string_view topic, courier::message m,
                                                     courier::context ctx = {}) {
    auto r = std::make_shared<publish_result>();
    b.async_publish(topic, std::move(m), std::move(ctx), [r](error_code ec, courier::publish_ack ack) {
        r->done = true;
        r->ec = ec;
        r->ack = ack;
        r->at = std::chrono::steady_clock::now();
    });
    return r;
}

/// Publishes and waits for the outcome (a test failure when none comes).
inline publish_result publish(asio::io_context& ioc, amqp::broker& b, std::string_view topic, courier::message m,
                              std::chrono::steady_clock::duration limit = 20s) {
    auto r = start_publish(b, topic, std::move(m));
    REQUIRE(run_until(ioc, [&] { return r->done; }, limit));
    return *r;
}

/// async_connect's outcome (a test failure when none comes).
inline error_code connect_result(asio::io_context& ioc, amqp::broker& b) {
    bool done = false;
    error_code result;
    b.async_connect([&](error_code ec) {
        done = true;
        result = ec;
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    return result;
}

/// Connects and checks it worked.
inline void connect(asio::io_context& ioc, amqp::broker& b) {
    const auto ec = connect_result(ioc, b);
    INFO(ec.message());
    REQUIRE_FALSE(ec);
}

/// The test broker's address, for a relay in front of it.
inline asio::ip::tcp::endpoint broker_endpoint() { return {asio::ip::make_address("127.0.0.1"), rabbitmq::port()}; }

/// The test broker's URL with another port (a relay's, or nobody's).
inline std::string url_for_port(unsigned short port) {
    return "amqp://guest:guest@127.0.0.1:" + std::to_string(port) + "/";
}

/// options() for a broker reached on another port (a relay in front of the
/// test broker), with heartbeats every second.
inline amqp::broker_options options_on_port(unsigned short port, amqp::addressing mode = amqp::addressing::exchange) {
    auto o = options(mode);
    o.connection.uri = url_for_port(port);
    o.connection.heartbeat = 1s;
    return o;
}

/// Closes the broker and waits for it (so no connection outlives the test).
inline void close(asio::io_context& ioc, amqp::broker& b) {
    bool done = false;
    b.async_close([&](error_code) { done = true; });
    CHECK(run_until(ioc, [&] { return done; }));
}

/// Subscribes and waits until the consumer is established (its
/// subscribe_options::on_consuming ran: from then on nothing published to
/// `topic` misses the group); a test failure when it is not within 20 s.
/// An on_consuming in `opts` still runs, each time the consumer is
/// established (again after a reconnection, say).
template <class Handler>
courier::subscription subscribe_and_wait(asio::io_context& ioc, amqp::broker& b, std::string_view topic,
                                         std::string_view group, Handler handler, amqp::subscribe_options opts = {}) {
    // Shared: on_consuming runs again on re-establishment, after this returned.
    auto consuming = std::make_shared<bool>(false);
    opts.on_consuming = [consuming, then = std::move(opts.on_consuming)] {
        *consuming = true;
        if (then) then();
    };
    auto s = b.subscribe(topic, group, std::move(handler), std::move(opts));
    INFO("the subscription to '" << topic << "' (group '" << group << "') never started consuming");
    REQUIRE(run_until(ioc, [&] { return *consuming; }));
    return s;
}

/// The header marking the probes of wait_subscribed(), which inboxes skip.
inline constexpr const char* probe_header = "courier-test-probe";

/// What one delivery brought to a handler.
struct received {
    std::string id, payload, content_type;
    courier::headers headers;
    unsigned attempt = 0;
    std::chrono::steady_clock::time_point at{};
};

/// Records the deliveries of the subscriptions whose handler() it made;
/// probes are counted apart. `fail` decides a delivery's outcome (default:
/// success).
struct inbox {
    std::vector<received> items;
    int probes = 0;
    std::function<error_code(const received&)> fail;

    auto handler() {
        return [this](const courier::message& m, courier::context& ctx) -> error_code {
            if (m.headers.contains(probe_header)) {
                ++probes;
                return {};
            }
            received r{m.id, m.payload, m.content_type, m.headers, ctx.attempt, std::chrono::steady_clock::now()};
            items.push_back(r);
            return fail ? fail(r) : error_code{};
        };
    }

    std::set<std::string> ids() const {
        std::set<std::string> out;
        for (const auto& r : items) out.insert(r.id);
        return out;
    }
    std::map<std::string, int> counts() const {
        std::map<std::string, int> out;
        for (const auto& r : items) ++out[r.id];
        return out;
    }
};

/// Publishes probes to `topic` until every inbox in `inboxes` has received
/// one: in exchange mode a message published before a group's queue is
/// bound reaches nobody, and a member of a group that has not registered yet
/// gets no share. Probes that reach no queue fail with unroutable; that is
/// expected here.
inline void wait_subscribed(asio::io_context& ioc, amqp::broker& b, std::string_view topic,
                            std::vector<const inbox*> inboxes, std::chrono::steady_clock::duration limit = 20s) {
    auto ready = [&] {
        for (const auto* i : inboxes)
            if (i->probes == 0) return false;
        return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!ready()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        auto probe = make_message("probe");
        probe.headers.set(probe_header, "1");
        auto r = start_publish(b, topic, std::move(probe));
        // Paces the probes: the next one goes once this one is settled and
        // either every inbox has one or 50 ms passed.
        REQUIRE(run_until(ioc, [&] { return r->done; }));
        run_until(ioc, ready, 50ms);
    }
}

/// The number of messages ready in `queue`, from rabbitmqctl (-1: no such
/// queue); `column` "messages" counts the unacknowledged ones too.
inline long queue_depth(const std::string& queue, const std::string& column = "messages_ready") {
    const auto out = rabbitmq::ctl({"list_queues", "--quiet", "--no-table-headers", "name", column});
    std::size_t pos = 0;
    while (pos < out.size()) {
        auto end = out.find('\n', pos);
        if (end == std::string::npos) end = out.size();
        const auto line = out.substr(pos, end - pos);
        pos = end + 1;
        const auto tab = line.find('\t');
        if (tab != std::string::npos && line.substr(0, tab) == queue) return std::stol(line.substr(tab + 1));
    }
    return -1;
}

/// Waits until rabbitmqctl reports `depth` messages in `queue`, acknowledged
/// or not (-1: no such queue), running `ioc` meanwhile (at most 6 s): the
/// broker's counters say when it took our acks and publishes; nothing on the
/// wire tells us.
inline bool depth_becomes(asio::io_context& ioc, const std::string& queue, long depth) {
    for (int i = 0; i < 60; ++i) {
        if (queue_depth(queue, "messages") == depth) return true;
        ioc.run_for(100ms);
    }
    return false;
}

}  // namespace amqp_test
