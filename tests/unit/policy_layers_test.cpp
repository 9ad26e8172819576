// The other layers (bulkhead, rate limiter, hedge, fallback), composition
// with stack(), type erasure with any_client, and policies around publishing.
#include <courier/any_client.hpp>
#include <courier/layer.hpp>
#include <courier/policy/bulkhead.hpp>
#include <courier/policy/circuit_breaker.hpp>
#include <courier/policy/fallback.hpp>
#include <courier/policy/hedge.hpp>
#include <courier/policy/rate_limiter.hpp>
#include <courier/policy/retry.hpp>
#include <courier/policy/timeout.hpp>

#include "support/catch.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include "support/scripted_service.hpp"

using namespace std::chrono_literals;
using courier::error;
using courier::testing::virtual_clock;
using courier::testing::virtual_timing;
using courier_test::scripted_service;
using courier_test::step;
namespace policy = courier::policy;

TEST_CASE("bulkhead rejects calls beyond its limit and admits again as calls end", "[policy][bulkhead]") {
    scripted_service<> s([](int) { return step{.delay = 1s}; });
    policy::bulkhead layer({.max_concurrent = 2});
    auto svc = layer.wrap(s.channel());
    auto a = s.start(svc), b = s.start(svc), c = s.start(svc);
    s.settle();
    CHECK(layer.active() == 2);
    REQUIRE(c->done);
    CHECK(c->ec == error::bulkhead_full);
    s.advance(1s);
    CHECK(a->done);
    CHECK(b->done);
    CHECK(layer.active() == 0);
    auto d = s.start(svc);
    s.advance(1s);
    CHECK_FALSE(d->ec);
}

TEST_CASE("bulkhead queues up to its queue size, in order, and a cancelled waiter leaves", "[policy][bulkhead]") {
    scripted_service<> s([](int) { return step{.delay = 1s}; });
    policy::bulkhead layer({.max_concurrent = 1, .max_queued = 2});
    auto svc = layer.wrap(s.channel());
    auto first = s.start(svc, 1);
    auto second = s.start(svc, 2);
    boost::asio::cancellation_signal cancel;
    auto third = s.start(svc, cancel, 3);
    auto fourth = s.start(svc, 4);
    s.settle();
    CHECK(fourth->ec == error::bulkhead_full);
    cancel.emit(boost::asio::cancellation_type::terminal);
    s.settle();
    CHECK(third->ec == boost::asio::error::operation_aborted);
    s.advance(1s);
    CHECK(first->value == 1);
    s.advance(1s);
    CHECK(second->value == 2);
    CHECK(s.calls == 2);
}

TEST_CASE("rate limiter allows a burst, then refills with time", "[policy][rate_limiter]") {
    scripted_service<> s;
    auto svc = policy::rate_limiter<virtual_timing>({.rate = 2, .burst = 3}).wrap(s.channel());
    int ok = 0, limited = 0;
    for (int i = 0; i < 5; ++i) {
        auto out = s.start(svc);
        s.settle();
        (out->ec == error::rate_limited ? limited : ok) += 1;
    }
    CHECK(ok == 3);
    CHECK(limited == 2);
    s.advance(1s);  // two tokens
    for (int i = 0; i < 3; ++i) {
        auto out = s.start(svc);
        s.settle();
        (out->ec == error::rate_limited ? limited : ok) += 1;
    }
    CHECK(ok == 5);
    CHECK(limited == 3);
}

TEST_CASE("hedge sends another attempt after the delay and cancels the loser", "[policy][hedge]") {
    scripted_service<> s([](int n) { return step{.delay = n == 1 ? 10s : 100ms}; });
    auto svc = policy::hedge<virtual_timing>({.delay = 50ms}).wrap(s.channel());
    auto out = s.start(svc, 5);
    s.advance(40ms);
    CHECK(s.calls == 1);
    s.advance(10ms);
    CHECK(s.calls == 2);
    s.advance(100ms);
    REQUIRE(out->done);
    CHECK_FALSE(out->ec);
    CHECK(out->value == 5);
    CHECK(s.cancelled == 1);
    CHECK(out->completions == 1);
}

TEST_CASE("hedge reports the last failure when every attempt fails", "[policy][hedge]") {
    scripted_service<> s([](int n) { return step{.delay = 100ms, .error = n == 1 ? error::unavailable : error::internal}; });
    auto svc = policy::hedge<virtual_timing>({.delay = 10ms, .max_attempts = 2}).wrap(s.channel());
    auto out = s.start(svc);
    s.advance_until_done(out, 10ms);
    REQUIRE(out->done);
    CHECK(out->ec == error::internal);
    CHECK(s.calls == 2);
}

TEST_CASE("hedge does not duplicate a request that is not idempotent", "[policy][hedge]") {
    scripted_service<courier_test::unsafe_request> s([](int) { return step{.delay = 1s}; });
    auto svc = policy::hedge<virtual_timing>({.delay = 10ms}).wrap(s.channel());
    auto out = s.start(svc);
    s.advance(1s);
    CHECK(out->done);
    CHECK(s.calls == 1);
}

TEST_CASE("fallback turns a failure into a value but leaves cancellation alone", "[policy][fallback]") {
    SECTION("a failure") {
        scripted_service<> s([](int) { return step{.error = error::unavailable}; });
        courier::error_code seen;
        auto svc = policy::fallback([&](const courier::error_code& ec) {
                       seen = ec;
                       return -1;
                   }).wrap(s.channel());
        auto out = s.start(svc);
        s.settle();
        REQUIRE(out->done);
        CHECK_FALSE(out->ec);
        CHECK(out->value == -1);
        CHECK(seen == error::unavailable);
    }
    SECTION("a cancelled call") {
        scripted_service<> s([](int) { return step{.delay = 1s}; });
        bool fell_back = false;
        auto svc = policy::fallback([&](const courier::error_code&) {
                       fell_back = true;
                       return -1;
                   }).wrap(s.channel());
        auto out = s.start_and_cancel(svc, 1s);
        REQUIRE(out->done);
        CHECK(out->ec == boost::asio::error::operation_aborted);
        CHECK_FALSE(fell_back);
        CHECK(s.cancelled == 1);
    }
}

TEST_CASE("stack applies layers first listed outermost", "[policy][stack]") {
    scripted_service<> s([](int) { return step{.delay = 10s}; });
    auto svc = courier::stack(policy::fallback([](const courier::error_code&) { return -7; }),
                              policy::timeout<virtual_timing>(1s))
                   .wrap(s.channel());
    auto out = s.start(svc);
    s.advance(1s);
    REQUIRE(out->done);
    CHECK_FALSE(out->ec);  // the outer fallback saw the inner timeout
    CHECK(out->value == -7);
    static_assert(courier::service<decltype(svc)>);
}

TEST_CASE("the seed stack recovers from a transient outage", "[policy][stack]") {
    scripted_service<> s([](int n) { return n <= 2 ? step{.error = error::unavailable} : step{}; });
    policy::circuit_breaker<virtual_timing> breaker;
    auto users = courier::client(courier::stack(policy::timeout<virtual_timing>(2s),
                                                policy::retry<virtual_timing>({.max_attempts = 3,
                                                                               .backoff = policy::constant_backoff{100ms}}),
                                                breaker)
                                     .wrap(s.channel()));
    auto out = std::make_shared<courier_test::outcome>();
    users.async_call(courier_test::request{11}, [out](courier::error_code ec, int v) {
        out->done = true;
        out->ec = ec;
        out->value = v;
    });
    s.advance_until_done(out, 50ms);
    CHECK_FALSE(out->ec);
    CHECK(out->value == 11);
    CHECK(s.calls == 3);
}

namespace {
// A user-written service that completes with an lvalue response and takes
// its handler by value: layers pass results on by rvalue reference and must
// still accept it.
struct lvalue_service {
    using request_type = courier_test::request;
    using response_type = std::string;
    using executor_type = boost::asio::io_context::executor_type;
    executor_type ex;
    executor_type get_executor() const { return ex; }
    template <class Token>
    auto async_call(request_type req, courier::context, Token&& token) {
        return boost::asio::async_initiate<Token, void(courier::error_code, std::string)>(
            [this](auto handler, int v) {
                boost::asio::post(ex, [handler = std::move(handler), v]() mutable {
                    const std::string answer = "value " + std::to_string(v);
                    handler(courier::error_code{}, answer);  // an lvalue, and const
                });
            },
            token, req.value);
    }
};
}  // namespace

TEST_CASE("layers accept a service that completes with an lvalue", "[policy][stack]") {
    boost::asio::io_context ioc;
    auto svc = courier::stack(policy::timeout(1s), policy::retry(), policy::circuit_breaker(), policy::bulkhead(),
                              policy::fallback([](const courier::error_code&) { return std::string("fallback"); }))
                   .wrap(lvalue_service{ioc.get_executor()});
    std::string got;
    svc.async_call(courier_test::request{5}, courier::context{}, [&](courier::error_code ec, std::string v) {
        CHECK_FALSE(ec);
        got = std::move(v);
    });
    ioc.run();
    CHECK(got == "value 5");
}

TEST_CASE("any_client erases the stack's type and keeps every call form", "[policy][any_client]") {
    scripted_service<> s;
    courier::any_client<courier_test::request, int> c(
        courier::stack(policy::retry<virtual_timing>(), policy::timeout<virtual_timing>(1s)).wrap(s.channel()));
    auto out = std::make_shared<courier_test::outcome>();
    c.async_call(courier_test::request{3}, [out](courier::error_code ec, int v) {
        out->done = true;
        out->ec = ec;
        out->value = v;
    });
    s.settle();
    CHECK(out->value == 3);
    courier_test::io_threads runner(s.ioc);
    CHECK(c.call(courier_test::request{4}) == 4);
}

TEST_CASE("policies wrap publishing like any other service", "[policy][publish]") {
    boost::asio::io_context ioc;
    courier::inproc::broker broker(ioc.get_executor(), {.queue_capacity = 1});
    broker.declare("t", "g");
    auto publish = courier::stack(policy::timeout<virtual_timing>(1s)).wrap(courier::publish_service(broker));
    courier::message m;
    m.payload = "x";
    courier::error_code first, second;
    bool done1 = false, done2 = false;
    publish.async_call({"t", m}, {}, [&](courier::error_code ec, courier::publish_ack) {
        first = ec;
        done1 = true;
    });
    publish.async_call({"t", m}, {}, [&](courier::error_code ec, courier::publish_ack) {
        second = ec;
        done2 = true;
    });
    courier_test::run_ready(ioc);
    CHECK(done1);
    CHECK_FALSE(first);
    CHECK_FALSE(done2);  // the group is full: waiting
    virtual_clock::advance(1s);
    courier_test::run_ready(ioc);
    REQUIRE(done2);
    CHECK(second == error::timeout);
}
