// circuit_breaker on virtual time: each documented transition, fail-fast
// behaviour, half-open limits, growth of the open duration, administrative
// states and what counts as a failure.
#include <courier/layer.hpp>
#include <courier/policy/circuit_breaker.hpp>

#include "support/catch.hpp"
#include "support/scripted_service.hpp"

using namespace std::chrono_literals;
using courier::error;
using courier::testing::virtual_clock;
using courier::testing::virtual_timing;
using courier_test::scripted_service;
using courier_test::step;
namespace policy = courier::policy;
using state = policy::breaker_state;

namespace {
struct switchable {
    bool failing = true;
    std::chrono::nanoseconds delay{};
    step operator()(int) const { return failing ? step{.delay = delay, .error = error::unavailable} : step{.delay = delay}; }
};

policy::circuit_breaker_options small(policy::circuit_breaker_options o = {}) {
    o.window_size = 4;
    o.minimum_calls = 4;
    o.open_duration = 10s;
    o.half_open_calls = 2;
    return o;
}

template <class Svc>
courier::error_code call(scripted_service<>& s, Svc& svc) {
    auto out = s.start(svc);
    s.settle();
    REQUIRE(out->done);
    return out->ec;
}
}  // namespace

TEST_CASE("the breaker opens at the failure threshold once it has the minimum calls", "[policy][breaker]") {
    auto mode = std::make_shared<switchable>();
    scripted_service<> s([mode](int n) { return (*mode)(n); });
    policy::circuit_breaker<virtual_timing> cb(small());
    auto svc = cb.wrap(s.channel());
    for (int i = 0; i < 3; ++i) CHECK(call(s, svc) == error::unavailable);
    CHECK(cb.state() == state::closed);  // 3 calls: below the minimum
    CHECK(call(s, svc) == error::unavailable);
    CHECK(cb.state() == state::open);
    CHECK(s.calls == 4);
}

TEST_CASE("an open breaker fails fast, posted, without calling the service", "[policy][breaker]") {
    scripted_service<> s([](int) { return step{.error = error::unavailable}; });
    policy::circuit_breaker<virtual_timing> cb(small());
    auto svc = cb.wrap(s.channel());
    for (int i = 0; i < 4; ++i) call(s, svc);
    REQUIRE(cb.state() == state::open);
    auto out = s.start(svc);
    CHECK_FALSE(out->done);  // never inline
    s.settle();
    CHECK(out->ec == error::circuit_open);
    CHECK(out->ec == courier::condition::unavailable);
    CHECK(s.calls == 4);
}

TEST_CASE("after the open duration the breaker probes and closes on success", "[policy][breaker]") {
    auto mode = std::make_shared<switchable>();
    scripted_service<> s([mode](int n) { return (*mode)(n); });
    std::vector<std::pair<state, state>> changes;
    auto o = small();
    o.on_event = [&](const policy::event& e) {
        if (e.kind == policy::event_kind::state_change) changes.emplace_back(e.from, e.to);
    };
    policy::circuit_breaker<virtual_timing> cb(o);
    auto svc = cb.wrap(s.channel());
    for (int i = 0; i < 4; ++i) call(s, svc);
    mode->failing = false;
    s.advance(9s);
    CHECK(call(s, svc) == error::circuit_open);
    s.advance(1s);
    CHECK_FALSE(call(s, svc));
    CHECK(cb.state() == state::half_open);
    CHECK_FALSE(call(s, svc));
    CHECK(cb.state() == state::closed);
    CHECK(changes == std::vector<std::pair<state, state>>{
                         {state::closed, state::open}, {state::open, state::half_open}, {state::half_open, state::closed}});
}

TEST_CASE("half-open lets only the permitted probes through at once", "[policy][breaker]") {
    auto mode = std::make_shared<switchable>();
    scripted_service<> s([mode](int n) { return (*mode)(n); });
    policy::circuit_breaker<virtual_timing> cb(small());
    auto svc = cb.wrap(s.channel());
    for (int i = 0; i < 4; ++i) call(s, svc);
    mode->failing = false;
    mode->delay = 1s;  // probes stay in flight
    s.advance(10s);
    std::vector<std::shared_ptr<courier_test::outcome>> outs;
    for (int i = 0; i < 5; ++i) outs.push_back(s.start(svc));
    s.settle();
    CHECK(s.running == 2);  // in flight ≤ permitted
    int rejected = 0;
    for (auto& o : outs) rejected += o->done && o->ec == error::circuit_open;
    CHECK(rejected == 3);
    s.advance(1s);
    CHECK(cb.state() == state::closed);
}

TEST_CASE("a failed probe re-opens the breaker for longer each time", "[policy][breaker]") {
    scripted_service<> s([](int) { return step{.error = error::unavailable}; });
    auto o = small();
    o.open_duration_multiplier = 2;
    o.max_open_duration = 30s;
    policy::circuit_breaker<virtual_timing> cb(o);
    auto svc = cb.wrap(s.channel());
    for (int i = 0; i < 4; ++i) call(s, svc);
    REQUIRE(cb.state() == state::open);
    std::vector<std::chrono::seconds> waited;
    for (int round = 0; round < 3; ++round) {
        int seconds = 0;
        while (call(s, svc) == error::circuit_open) {
            s.advance(1s);
            ++seconds;
        }
        waited.emplace_back(seconds);
        call(s, svc);  // second probe fails: open again
        REQUIRE(cb.state() == state::open);
    }
    CHECK(waited == std::vector<std::chrono::seconds>{10s, 20s, 30s});  // doubled, capped
}

TEST_CASE("half-open gives up after its maximum wait", "[policy][breaker]") {
    auto mode = std::make_shared<switchable>();
    scripted_service<> s([mode](int n) { return (*mode)(n); });
    auto o = small();
    o.max_half_open_wait = 5s;
    policy::circuit_breaker<virtual_timing> cb(o);
    auto svc = cb.wrap(s.channel());
    for (int i = 0; i < 4; ++i) call(s, svc);
    mode->failing = false;
    mode->delay = 60s;  // the probes hang
    s.advance(10s);
    s.start(svc);
    s.start(svc);
    s.settle();
    CHECK(cb.state() == state::half_open);
    s.advance(5s);
    CHECK(call(s, svc) == error::circuit_open);
    CHECK(cb.state() == state::open);
    s.advance(60s);  // let the hung probes finish
}

TEST_CASE("slow calls open the breaker when their rate is over the threshold", "[policy][breaker]") {
    scripted_service<> s([](int) { return step{.delay = 3s}; });
    auto o = small();
    o.slow_call_rate_threshold = 50;
    o.slow_call_duration = 2s;
    policy::circuit_breaker<virtual_timing> cb(o);
    auto svc = cb.wrap(s.channel());
    for (int i = 0; i < 4; ++i) {
        auto out = s.start(svc);
        s.advance(3s);
        REQUIRE(out->done);
        CHECK_FALSE(out->ec);
    }
    CHECK(cb.state() == state::open);
}

TEST_CASE("client errors such as not_found do not count as failures", "[policy][breaker]") {
    scripted_service<> s([](int) { return step{.error = error::not_found}; });
    policy::circuit_breaker<virtual_timing> cb(small());
    auto svc = cb.wrap(s.channel());
    for (int i = 0; i < 20; ++i) CHECK(call(s, svc) == error::not_found);
    CHECK(cb.state() == state::closed);
    CHECK(cb.failure_rate() == 0);
}

TEST_CASE("copies of a breaker share one state", "[policy][breaker]") {
    scripted_service<> s([](int) { return step{.error = error::unavailable}; });
    policy::circuit_breaker<virtual_timing> cb(small());
    auto a = cb.wrap(s.channel());
    auto copy = cb;
    auto b = copy.wrap(s.channel());
    call(s, a);
    call(s, b);
    call(s, a);
    call(s, b);
    CHECK(cb.state() == state::open);
    CHECK(call(s, b) == error::circuit_open);
}

TEST_CASE("forced-open, disabled and metrics-only states", "[policy][breaker]") {
    scripted_service<> s([](int) { return step{.error = error::unavailable}; });
    policy::circuit_breaker<virtual_timing> cb(small());
    auto svc = cb.wrap(s.channel());
    cb.transition_to(state::forced_open);
    CHECK(call(s, svc) == error::circuit_open);
    s.advance(1h);
    CHECK(call(s, svc) == error::circuit_open);  // stays until told
    cb.transition_to(state::disabled);
    for (int i = 0; i < 10; ++i) CHECK(call(s, svc) == error::unavailable);
    CHECK(cb.state() == state::disabled);
    cb.transition_to(state::metrics_only);
    for (int i = 0; i < 10; ++i) CHECK(call(s, svc) == error::unavailable);
    CHECK(cb.state() == state::metrics_only);
    CHECK(cb.failure_rate() == 100);
    cb.transition_to(state::closed);
    CHECK(cb.failure_rate() == -1);  // window cleared
}

TEST_CASE("a time-based window forgets calls older than its size", "[policy][breaker]") {
    scripted_service<> s([](int) { return step{.error = error::unavailable}; });
    auto o = small();
    o.window = policy::window_kind::time;
    o.window_size = 2;  // seconds
    o.minimum_calls = 3;
    policy::circuit_breaker<virtual_timing> cb(o);
    auto svc = cb.wrap(s.channel());
    call(s, svc);
    call(s, svc);
    s.advance(3s);  // those two fall out of the window
    call(s, svc);
    CHECK(cb.state() == state::closed);
    call(s, svc);
    call(s, svc);
    CHECK(cb.state() == state::open);
}
