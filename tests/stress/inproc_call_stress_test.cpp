// In-process request-reply on a pool: many calls started from a foreign
// thread, handlers that suspend, deadlines that land while replies are on
// their way. Every call completes exactly once, whatever thread wins.
#include <courier/inproc.hpp>
#include <courier/policy/timeout.hpp>

#include "stress/pool.hpp"
#include "stress/users.hpp"
#include "support/catch.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using courier::context;
using courier::error_code;

namespace {

using courier_stress::get_user;
using courier_stress::user;
using user_client = courier::inproc::client<get_user, user>;

// Waits 0-2 ms, spread over the calls, then answers: against a 1 ms
// timeout about half the calls time out, many at the moment they reply.
// The deadline is far above an unloaded call's cost and far below the
// slowest handlers, so both outcomes happen on a loaded machine too.
asio::awaitable<user> slow_user(get_user req, context&) {
    asio::steady_timer t(co_await asio::this_coro::executor,
                         std::chrono::microseconds(std::stoul(req.id) * 7919 % 2000));
    co_await t.async_wait(asio::use_awaitable);
    co_return user{req.id};
}

// A function handler answers at once, on whichever thread runs it.
user quick_user(get_user req, context&) { return user{req.id}; }

// Calls started from the main thread, the server and the callers' handlers
// on a pool of `Pool`'s kind, each call under `limit`. With `own_strands`,
// each caller's handler is bound to a strand of its own, which the timeout
// then uses as it is.
template <class Pool, class Handler>
void timeouts_race(Handler handler, std::chrono::nanoseconds limit, bool own_strands) {
    constexpr int calls = courier_stress::scaled(20'000);
    typename courier_stress::pool_of<Pool>::type pool;
    courier::inproc::network net;
    courier::inproc::server srv(net, pool.get_executor());
    srv.bind<get_user, user>("users", handler);
    auto client = courier::policy::timeout(limit).wrap(
        user_client(courier::inproc::channel<get_user, user>(pool.get_executor(), net, "users")));

    courier_stress::outcomes seen(calls);
    for (int i = 0; i < calls; ++i) {
        auto record = [&seen, i](error_code ec, user u) { seen.record(i, ec, u.id == std::to_string(i)); };
        if (own_strands)
            client.async_call(get_user{std::to_string(i)}, context{},
                              asio::bind_executor(asio::make_strand(pool.get_executor()), record));
        else
            client.async_call(get_user{std::to_string(i)}, context{}, record);
    }
    REQUIRE(seen.wait_all(60s));
    pool.join();
    seen.check_deadline_race();
}

}  // namespace

// Both kinds of pool a user runs: an io_context run by four threads, and a
// thread_pool of four.
TEST_CASE("inproc calls with timeouts racing their replies complete exactly once on an io_context run by four threads",
          "[stress][inproc][timeout]") {
    timeouts_race<asio::io_context>(slow_user, 1ms, false);
}

TEST_CASE("inproc calls with timeouts racing their replies complete exactly once on a thread_pool",
          "[stress][inproc][timeout]") {
    timeouts_race<asio::thread_pool>(slow_user, 1ms, false);
}

// 20,000 calls started at once take longer than 1 ms to get through: the
// first ones answer in time, the last ones time out.
TEST_CASE("inproc calls to a function handler with 1 ms deadlines, callers on strands of their own, complete exactly "
          "once on a pool",
          "[stress][inproc][timeout]") {
    timeouts_race<asio::io_context>(quick_user, 1ms, true);
    timeouts_race<asio::thread_pool>(quick_user, 1ms, true);
}
