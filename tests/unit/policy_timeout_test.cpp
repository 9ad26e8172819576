// timeout on virtual time: expiry cancels the inner work, the deadline it
// sets reaches the server, an expired deadline never calls the service, and
// per-attempt versus total placement around retry.
#include <courier/layer.hpp>
#include <courier/policy/retry.hpp>
#include <courier/policy/timeout.hpp>

#include "support/catch.hpp"
#include "support/scripted_service.hpp"

using namespace std::chrono_literals;
using courier::error;
using courier::testing::virtual_clock;
using courier::testing::virtual_timing;
using courier_test::scripted_service;
using courier_test::step;
namespace policy = courier::policy;

TEST_CASE("timeout cancels a slow call and the handler sees the cancellation", "[policy][timeout]") {
    scripted_service<> s([](int) { return step{.delay = 10s}; });
    auto svc = policy::timeout<virtual_timing>(2s).wrap(s.channel());
    auto out = s.start(svc);
    s.settle();
    CHECK(s.calls == 1);
    s.advance(1999ms);
    CHECK_FALSE(out->done);
    s.advance(1ms);
    REQUIRE(out->done);
    CHECK(out->ec == error::timeout);
    CHECK(out->ec == courier::condition::timeout);
    CHECK(s.cancelled == 1);  // the work really stopped
    CHECK(out->completions == 1);
}

TEST_CASE("timeout lets a fast call through untouched", "[policy][timeout]") {
    scripted_service<> s([](int) { return step{.delay = 1s}; });
    auto svc = policy::timeout<virtual_timing>(2s).wrap(s.channel());
    auto out = s.start(svc, 42);
    s.advance(1s);
    REQUIRE(out->done);
    CHECK_FALSE(out->ec);
    CHECK(out->value == 42);
    s.advance(5s);  // the deadline passing later changes nothing
    CHECK(out->completions == 1);
    CHECK(s.cancelled == 0);
}

TEST_CASE("timeout tightens the context deadline the server receives", "[policy][timeout]") {
    scripted_service<> s;
    auto svc = policy::timeout<virtual_timing>(2s).wrap(s.channel());
    const auto before = virtual_clock::now();
    auto out = s.start(svc);
    s.settle();
    REQUIRE(s.contexts.size() == 1);
    REQUIRE(s.contexts[0].deadline);
    CHECK(*s.contexts[0].deadline == before + 2s);

    courier::context loose;
    loose.deadline = virtual_clock::now() + 10s;  // a later deadline is tightened
    s.start(svc, 1, loose);
    s.settle();
    CHECK(*s.contexts[1].deadline == virtual_clock::now() + 2s);

    courier::context tight;
    tight.deadline = virtual_clock::now() + 500ms;  // an earlier one is kept
    s.start(svc, 1, tight);
    s.settle();
    CHECK(*s.contexts[2].deadline == *tight.deadline);
}

TEST_CASE("timeout fails at once without calling the service when the deadline has passed", "[policy][timeout]") {
    scripted_service<> s;
    auto svc = policy::timeout<virtual_timing>(2s).wrap(s.channel());
    courier::context expired;
    expired.deadline = virtual_clock::now() - 1ms;
    auto out = s.start(svc, 1, expired);
    CHECK_FALSE(out->done);  // never inline
    s.settle();
    REQUIRE(out->done);
    CHECK(out->ec == error::timeout);
    CHECK(s.calls == 0);
}

TEST_CASE("timeout inside retry bounds each attempt, outside it bounds the whole call", "[policy][timeout]") {
    SECTION("per attempt") {
        scripted_service<> s([](int n) { return step{.delay = n < 3 ? 10s : 0s}; });
        auto svc = courier::stack(policy::retry<virtual_timing>({.max_attempts = 3, .backoff = policy::constant_backoff{0ms},
                                                                 .retry_on = [](auto& ec) { return ec == error::timeout; }}),
                                  policy::timeout<virtual_timing>(1s))
                       .wrap(s.channel());
        auto out = s.start(svc, 7);
        s.advance_until_done(out, 100ms);
        REQUIRE(out->done);
        CHECK_FALSE(out->ec);
        CHECK(out->value == 7);
        CHECK(s.calls == 3);
        CHECK(s.cancelled == 2);
    }
    SECTION("total") {
        scripted_service<> s([](int) { return step{.delay = 10s}; });
        auto svc = courier::stack(policy::timeout<virtual_timing>(1s),
                                  policy::retry<virtual_timing>({.max_attempts = 5}))
                       .wrap(s.channel());
        const auto start = virtual_clock::now();
        auto out = s.start(svc);
        s.advance_until_done(out, 100ms);
        REQUIRE(out->done);
        CHECK(out->ec == error::timeout);
        CHECK(virtual_clock::now() - start <= 1100ms);
        CHECK(s.calls == 1);  // cancellation is never retried
        CHECK(s.cancelled == 1);
    }
}

TEST_CASE("every call cancelled by a timeout completes exactly once", "[policy][timeout]") {
    scripted_service<> s([](int n) { return step{.delay = n % 2 ? 5s : 0s}; });
    auto svc = policy::timeout<virtual_timing>(1s).wrap(s.channel());
    std::vector<std::shared_ptr<courier_test::outcome>> outs;
    for (int i = 0; i < 50; ++i) outs.push_back(s.start(svc, i));
    s.advance(2s);
    int timed_out = 0;
    for (auto& o : outs) {
        CHECK(o->completions == 1);
        timed_out += o->ec == error::timeout;
    }
    CHECK(timed_out == 25);
    CHECK(s.cancelled == 25);
}

TEST_CASE("cancelling a call through timeout cancels the inner work", "[policy][timeout]") {
    scripted_service<> s([](int) { return step{.delay = 10s}; });
    auto svc = policy::timeout<virtual_timing>(5s).wrap(s.channel());
    boost::asio::cancellation_signal cancel;
    auto out = std::make_shared<courier_test::outcome>();
    svc.async_call(courier_test::request{1}, {},
                   boost::asio::bind_cancellation_slot(cancel.slot(), [out](courier::error_code ec, int) {
                       out->done = true;
                       out->ec = ec;
                       ++out->completions;
                   }));
    s.settle();
    cancel.emit(boost::asio::cancellation_type::terminal);
    s.settle();
    REQUIRE(out->done);
    CHECK(out->ec == boost::asio::error::operation_aborted);
    s.settle();
    CHECK(s.cancelled == 1);
}
