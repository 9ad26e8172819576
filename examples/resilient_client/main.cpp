// The seed's createOrder calling a flaky user-service through
// timeout | retry | circuit_breaker, with an observer printing what each
// policy does. The user-service goes through four phases: healthy, slow,
// failing, down, then recovers; watch the breaker open, fail fast, probe
// and close.
#include <courier/courier.hpp>
#include <courier/inproc.hpp>
#include <courier/layer.hpp>
#include <courier/policy/circuit_breaker.hpp>
#include <courier/policy/retry.hpp>
#include <courier/policy/timeout.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace policy = courier::policy;
using namespace std::chrono_literals;

struct get_user {
    std::string userId;
    static constexpr bool idempotent = true;  // safe to retry
};
struct user {
    std::string id, name;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, userId)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name)

enum class phase { healthy, slow, failing, down };
const char* name(phase p) {
    switch (p) {
    case phase::healthy: return "healthy";
    case phase::slow: return "slow (300 ms per reply)";
    case phase::failing: return "failing (every reply is an error)";
    case phase::down: return "down (unavailable)";
    }
    return "?";
}

int main() {
    asio::io_context ioc;
    courier::inproc::network net;
    phase current = phase::healthy;

    // The flaky user-service: a coroutine, so a timeout really cancels it.
    courier::inproc::server user_service(net, ioc.get_executor());
    user_service.bind<get_user, user>("user-service", [&](get_user req, courier::context&) -> asio::awaitable<user> {
        if (current == phase::slow) {
            asio::steady_timer delay(co_await asio::this_coro::executor, 300ms);
            co_await delay.async_wait(asio::use_awaitable);
        }
        if (current == phase::failing || current == phase::down)
            throw courier::system_error(courier::error::unavailable, "user-service is having a bad day");
        co_return user{req.userId, "User " + req.userId};
    });

    auto print = [](const policy::event& e) {
        if (e.kind == policy::event_kind::attempt || e.kind == policy::event_kind::success) return;  // routine
        std::cout << "    [" << e.policy << "] " << policy::to_string(e.kind);
        if (e.kind == policy::event_kind::state_change)
            std::cout << ": " << policy::to_string(e.from) << " -> " << policy::to_string(e.to);
        if (e.kind == policy::event_kind::retry)
            std::cout << " after attempt " << e.attempt << ", waiting "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(e.delay).count() << " ms";
        if (e.error && e.kind != policy::event_kind::retry) std::cout << " (" << e.error.message() << ")";
        std::cout << "\n";
    };

    // First listed is outermost: a 1 s budget for the whole call, 3
    // attempts inside it, a breaker that sees every attempt, and a 100 ms
    // bound on each attempt inside the breaker, so the breaker counts a
    // timed-out attempt as a failure (outside it, it would only see the
    // cancellation, which it ignores).
    policy::circuit_breaker breaker({.window_size = 4,
                                     .minimum_calls = 4,
                                     .failure_rate_threshold = 50,
                                     .open_duration = 500ms,
                                     .half_open_calls = 2,
                                     .on_event = print});
    auto users = courier::client(courier::stack(policy::timeout({.duration = 1s}),
                                                policy::retry({.max_attempts = 3,
                                                               .backoff = policy::exponential_backoff{20ms, 100ms},
                                                               .on_event = print}),
                                                breaker, policy::timeout({.duration = 100ms, .on_event = print}))
                                     .wrap(courier::inproc::channel<get_user, user>(ioc.get_executor(), net,
                                                                                     "user-service")));

    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto create_order = [&](int n) -> asio::awaitable<void> {
                get_user req{std::to_string(n)};
                auto started = std::chrono::steady_clock::now();
                auto [ec, u] = co_await users.async_call(req, asio::as_tuple(asio::use_awaitable));
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                started);
                if (ec) std::cout << "  createOrder #" << n << " failed in " << ms.count() << " ms: " << ec.message() << "\n";
                else std::cout << "  createOrder #" << n << " ok in " << ms.count() << " ms for " << u.name << "\n";
            };
            asio::steady_timer pause(ioc);
            int n = 0;
            for (phase p : {phase::healthy, phase::slow, phase::failing, phase::down}) {
                current = p;
                std::cout << "user-service is " << name(p) << "\n";
                for (int i = 0; i < 3; ++i) co_await create_order(++n);
            }
            std::cout << "breaker is " << policy::to_string(breaker.state()) << "; user-service recovers\n";
            current = phase::healthy;
            pause.expires_after(600ms);  // longer than the open duration
            co_await pause.async_wait(asio::use_awaitable);
            for (int i = 0; i < 3; ++i) co_await create_order(++n);
            std::cout << "breaker is " << policy::to_string(breaker.state()) << "\n";
        },
        asio::detached);
    ioc.run();
    return breaker.state() == policy::breaker_state::closed ? 0 : 1;
}
