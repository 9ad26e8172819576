// async_publish's deadline and per-operation cancellation: a publish that
// cannot go out (no broker, a full window) ends at its deadline or when it is
// cancelled, and never completes twice; a confirmed publish is unaffected.
#include "amqp_test_support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

using namespace amqp_test;

namespace {

// A broker object pointed at a port where nothing listens: it keeps trying
// to connect, so its publishes wait.
amqp::broker_options unreachable() {
    auto o = options();
    o.connection.uri = "amqp://guest:guest@127.0.0.1:1/";
    return o;
}

}  // namespace

TEST_CASE("amqp publish: the context's deadline ends a publish that cannot go out", "[amqp][publish]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), unreachable());
    const auto started = std::chrono::steady_clock::now();
    auto r = start_publish(b, rabbitmq::unique_name("deadline"), make_message("x"),
                           courier::context::with_timeout(150ms));
    REQUIRE(run_until(ioc, [&] { return r->done; }));
    CHECK(r->ec == courier::error::timeout);
    CHECK(r->at - started >= 150ms);
}

TEST_CASE("amqp publish: an expired deadline fails at once", "[amqp][publish]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), unreachable());
    courier::context ctx;
    ctx.deadline = std::chrono::steady_clock::now() - 1ms;
    auto r = start_publish(b, rabbitmq::unique_name("expired"), make_message("x"), ctx);
    REQUIRE(run_until(ioc, [&] { return r->done; }));
    CHECK(r->ec == courier::error::timeout);
}

TEST_CASE("amqp publish: cancellation drops a publish not sent yet, once", "[amqp][publish]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), unreachable());
    for (auto type : {asio::cancellation_type::terminal, asio::cancellation_type::partial,
                      asio::cancellation_type::total}) {
        asio::cancellation_signal signal;
        int completions = 0;
        error_code got;
        b.async_publish(rabbitmq::unique_name("cancel"), make_message("x"), courier::context{},
                        asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, courier::publish_ack) {
                            ++completions;
                            got = ec;
                        }));
        asio::post(ioc, [&] { signal.emit(type); });
        REQUIRE(run_until(ioc, [&] { return completions > 0; }));
        // A second emission after completion reaches nobody.
        signal.emit(type);
        courier_test::run_ready(ioc);
        CHECK(completions == 1);
        CHECK(got == asio::error::operation_aborted);
    }
}

TEST_CASE("amqp publish: a deadline does not disturb a publish confirmed in time", "[amqp][publish]") {
    asio::io_context ioc;
    amqp::broker b(ioc.get_executor(), options(amqp::addressing::queue));
    auto r = start_publish(b, rabbitmq::unique_name("in-time"), make_message("x"), courier::context::with_timeout(10s));
    REQUIRE(run_until(ioc, [&] { return r->done; }));
    CHECK_FALSE(r->ec);
    CHECK(r->ack.sequence > 0);
}
