// retry on virtual time: what is retried and what is not, backoff bounds,
// server hints, deadlines, and the retry budget.
#include <courier/layer.hpp>
#include <courier/policy/retry.hpp>

#include <algorithm>
#include <vector>

#include "support/catch.hpp"
#include "support/scripted_service.hpp"

using namespace std::chrono_literals;
using courier::error;
using courier::testing::virtual_clock;
using courier::testing::virtual_timing;
using courier_test::counting_random;
using courier_test::scripted_service;
using courier_test::step;
namespace policy = courier::policy;

namespace {
auto failing_until(int ok_from, courier::error_code ec = error::unavailable) {
    return [=](int n) { return n < ok_from ? step{.error = ec} : step{}; };
}
}  // namespace

TEST_CASE("retry counts total attempts, the first included", "[policy][retry]") {
    scripted_service<> s(failing_until(100));
    auto svc = policy::retry<virtual_timing>({.max_attempts = 3, .backoff = policy::constant_backoff{10ms}}).wrap(s.channel());
    auto out = s.start(svc);
    s.advance_until_done(out, 10ms);
    REQUIRE(out->done);
    CHECK(out->ec == error::unavailable);  // the last attempt's error
    CHECK(s.calls == 3);
    CHECK(s.contexts[0].attempt == 1);
    CHECK(s.contexts[2].attempt == 3);
}

TEST_CASE("retry succeeds once an attempt succeeds", "[policy][retry]") {
    scripted_service<> s(failing_until(3));
    auto svc = policy::retry<virtual_timing>({.max_attempts = 5, .backoff = policy::constant_backoff{10ms}}).wrap(s.channel());
    auto out = s.start(svc, 9);
    s.advance_until_done(out, 10ms);
    REQUIRE(out->done);
    CHECK_FALSE(out->ec);
    CHECK(out->value == 9);
    CHECK(s.calls == 3);
}

TEST_CASE("retry leaves permanent errors alone", "[policy][retry]") {
    scripted_service<> s(failing_until(100, error::not_found));
    auto svc = policy::retry<virtual_timing>({.max_attempts = 5}).wrap(s.channel());
    auto out = s.start(svc);
    s.advance_until_done(out, 10ms);
    CHECK(out->ec == error::not_found);
    CHECK(s.calls == 1);
}

TEST_CASE("retry follows a user predicate on errors and on results", "[policy][retry]") {
    SECTION("errors") {
        scripted_service<> s(failing_until(2, error::not_found));
        auto svc = policy::retry<virtual_timing>({.max_attempts = 3, .backoff = policy::constant_backoff{1ms},
                                                  .retry_on = [](const courier::error_code& ec) { return ec == error::not_found; }})
                       .wrap(s.channel());
        auto out = s.start(svc);
        s.advance_until_done(out, 1ms);
        CHECK_FALSE(out->ec);
        CHECK(s.calls == 2);
    }
    SECTION("results") {
        scripted_service<> s;
        auto odd = [](const int& v) { return v % 2 == 1; };
        auto svc = policy::retry<virtual_timing, policy::default_random, decltype(odd)>(
                       {.max_attempts = 4, .backoff = policy::constant_backoff{1ms}}, odd)
                       .wrap(s.channel());
        auto out = s.start(svc, 3);
        s.advance_until_done(out, 1ms);
        CHECK(out->ec == error::retries_exhausted);
        CHECK(out->value == 3);
        CHECK(s.calls == 4);
    }
}

TEST_CASE("retry never retries a cancelled call", "[policy][retry]") {
    scripted_service<> s([](int) { return step{.delay = 10s}; });
    auto svc = policy::retry<virtual_timing>({.max_attempts = 5}).wrap(s.channel());
    auto out = s.start_and_cancel(svc, 1s);
    REQUIRE(out->done);
    CHECK(out->ec == boost::asio::error::operation_aborted);
    CHECK(s.calls == 1);
}

TEST_CASE("retry cancelled during its backoff stops waiting", "[policy][retry]") {
    scripted_service<> s(failing_until(100));
    auto svc = policy::retry<virtual_timing>({.max_attempts = 5, .backoff = policy::constant_backoff{10s}}).wrap(s.channel());
    boost::asio::cancellation_signal cancel;
    auto out = s.start(svc, cancel);
    s.settle();
    REQUIRE(s.calls == 1);
    cancel.emit(boost::asio::cancellation_type::terminal);
    s.settle();
    REQUIRE(out->done);
    CHECK(out->ec == boost::asio::error::operation_aborted);
    s.advance(20s);
    CHECK(s.calls == 1);
}

TEST_CASE("retry refuses to re-send a request not marked idempotent", "[policy][retry]") {
    scripted_service<courier_test::unsafe_request> s(failing_until(100));
    auto svc = policy::retry<virtual_timing>({.max_attempts = 3}).wrap(s.channel());
    auto out = s.start(svc);
    s.advance_until_done(out, 10ms);
    CHECK(out->ec == error::unavailable);
    CHECK(s.calls == 1);

    scripted_service<courier_test::unsafe_request> allowed(failing_until(100));
    auto svc2 = policy::retry<virtual_timing>({.max_attempts = 3, .backoff = policy::constant_backoff{1ms},
                                               .retry_non_idempotent = true})
                    .wrap(allowed.channel());
    auto out2 = allowed.start(svc2);
    allowed.advance_until_done(out2, 1ms);
    CHECK(allowed.calls == 3);
}

TEST_CASE("retry re-sends a non-idempotent request that never left", "[policy][retry]") {
    boost::asio::io_context ioc;
    courier::inproc::network net;  // nothing bound: unknown_endpoint
    auto svc = policy::retry<virtual_timing>({.max_attempts = 3, .backoff = policy::constant_backoff{1ms}})
                   .wrap(courier::inproc::channel<courier_test::unsafe_request, int>(ioc.get_executor(), net, "none"));
    std::vector<unsigned> attempts;
    courier::error_code result;
    bool done = false;
    svc.async_call(courier_test::unsafe_request{1}, {}, [&](courier::error_code ec, int) {
        result = ec;
        done = true;
    });
    for (int i = 0; i < 100 && !done; ++i) {
        courier_test::run_ready(ioc);
        virtual_clock::advance(1ms);
    }
    REQUIRE(done);
    CHECK(result == error::unknown_endpoint);
}

TEST_CASE("backoff strategies stay within their bounds", "[policy][retry]") {
    counting_random random;
    using std::chrono::nanoseconds;
    for (unsigned attempt = 1; attempt < 20; ++attempt) {
        auto c = policy::detail::next_delay(policy::constant_backoff{250ms}, attempt, {}, random);
        CHECK(c == 250ms);
        auto e = policy::detail::next_delay(policy::exponential_backoff{100ms, 2s, 2.0}, attempt, {}, random);
        CHECK(e >= 0ms);
        CHECK(e <= std::min<nanoseconds>(2s, 100ms * (1LL << std::min(attempt - 1, 20u))));
        auto d = policy::detail::next_delay(policy::decorrelated_jitter{100ms, 2s}, attempt, 700ms, random);
        CHECK(d >= 100ms);
        CHECK(d <= 2s);
    }
}

TEST_CASE("retry waits as long as the server's retry hint asks, within the cap", "[policy][retry]") {
    scripted_service<> s([](int n) { return n < 3 ? step{.error = error::unavailable, .retry_after = 700ms} : step{}; });
    auto svc = policy::retry<virtual_timing>({.max_attempts = 3, .backoff = policy::exponential_backoff{10ms, 1s}})
                   .wrap(s.channel());
    auto out = s.start(svc);
    s.advance_until_done(out, 10ms);
    REQUIRE(out->done);
    CHECK_FALSE(out->ec);
    REQUIRE(s.started_at.size() == 3);
    CHECK(s.started_at[1] - s.started_at[0] >= 700ms);  // the hint, not the 10 ms backoff
    CHECK(s.started_at[1] - s.started_at[0] < 700ms + 20ms);
}

TEST_CASE("retry stops when the server asks for more time than the cap, and reports the hint", "[policy][retry]") {
    // Retry-After: 30 against a 1 s cap: not hit again sooner than it asked.
    scripted_service<> s([](int) { return step{.error = error::unavailable, .retry_after = 30s}; });
    std::vector<policy::event> events;
    auto svc = policy::retry<virtual_timing>({.max_attempts = 3,
                                              .backoff = policy::exponential_backoff{10ms, 1s},
                                              .on_event = [&](const policy::event& e) { events.push_back(e); }})
                   .wrap(s.channel());
    auto out = s.start(svc);
    s.advance_until_done(out, 10ms);
    REQUIRE(out->done);
    CHECK(out->ec == error::unavailable);  // the last attempt's error
    CHECK(s.started_at.size() == 1);
    const auto hint = std::find_if(events.begin(), events.end(), [](const policy::event& e) {
        return e.kind == policy::event_kind::retry_after_exceeded;
    });
    REQUIRE(hint != events.end());
    CHECK(hint->delay == 30s);
    CHECK(hint->error == error::unavailable);
    CHECK(policy::to_string(hint->kind) == "retry_after_exceeded");
}

TEST_CASE("retry starts no attempt after the deadline", "[policy][retry]") {
    scripted_service<> s(failing_until(100));
    auto svc = policy::retry<virtual_timing>({.max_attempts = 100, .backoff = policy::constant_backoff{300ms},
                                              .use_budget = false})
                   .wrap(s.channel());
    courier::context ctx;
    ctx.deadline = virtual_clock::now() + 1s;
    auto out = s.start(svc, 1, ctx);
    s.advance_until_done(out, 10ms);
    REQUIRE(out->done);
    CHECK(out->ec == error::unavailable);
    for (auto at : s.started_at) CHECK(at < *ctx.deadline);
    CHECK(s.calls == 4);  // at 0, 300, 600 and 900 ms
}

TEST_CASE("the retry budget keeps retry traffic within its ratio", "[policy][retry]") {
    scripted_service<> s(failing_until(1'000'000));
    policy::retry<virtual_timing> layer({.max_attempts = 5, .backoff = policy::constant_backoff{0ms},
                                         .budget = {.ratio = 0.2, .min_per_second = 0, .max_tokens = 1000}});
    auto svc = layer.wrap(s.channel());
    auto copy = layer.wrap(s.channel());  // copies share the budget
    int exhausted = 0;
    const int calls = 200;
    for (int i = 0; i < calls; ++i) {
        auto out = s.start(i % 2 ? svc : copy);
        s.settle();
        REQUIRE(out->done);
        exhausted += out->ec == error::budget_exhausted;
    }
    const int retries = s.calls - calls;
    CHECK(retries <= static_cast<int>(0.2 * calls) + 1);
    CHECK(retries >= static_cast<int>(0.2 * calls) - 1);
    CHECK(exhausted > 0);
}

TEST_CASE("retry reports attempts and retries to its observer", "[policy][retry]") {
    scripted_service<> s(failing_until(2));
    std::vector<policy::event_kind> kinds;
    auto svc = policy::retry<virtual_timing>({.max_attempts = 3, .backoff = policy::constant_backoff{5ms},
                                              .on_event = [&](const policy::event& e) { kinds.push_back(e.kind); }})
                   .wrap(s.channel());
    auto out = s.start(svc);
    s.advance_until_done(out, 5ms);
    using k = policy::event_kind;
    CHECK(kinds == std::vector<k>{k::attempt, k::retry, k::attempt, k::success});
}
