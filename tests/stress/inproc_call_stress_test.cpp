// In-process request-reply on a pool: many calls started from a foreign
// thread, handlers that suspend, deadlines that land while replies are on
// their way. Every call completes exactly once, whatever thread wins.
#include <courier/inproc.hpp>
#include <courier/policy/timeout.hpp>

#include "stress/pool.hpp"
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
using courier::error;
using courier::error_code;

namespace {

struct get_user {
    std::string userId;
};
struct user {
    std::string id;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, userId)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id)

using user_client = courier::inproc::client<get_user, user>;

// Waits 0-299 µs, spread over the calls, then answers: against a 150 µs
// timeout about half the calls time out, many at the moment they reply.
asio::awaitable<user> slow_user(get_user req, context&) {
    asio::steady_timer t(co_await asio::this_coro::executor,
                         std::chrono::microseconds(std::stoul(req.userId) * 7919 % 300));
    co_await t.async_wait(asio::use_awaitable);
    co_return user{req.userId};
}

// Both kinds of pool a user runs: an io_context run by four threads, and a
// thread_pool of four.
template <class Pool>
void timeouts_race_replies() {
    constexpr int calls = courier_stress::scaled(20'000);
    typename courier_stress::pool_of<Pool>::type pool;
    courier::inproc::network net;
    courier::inproc::server srv(net, pool.get_executor());
    srv.bind<get_user, user>("users", slow_user);
    auto client = courier::policy::timeout(150us).wrap(
        user_client(courier::inproc::channel<get_user, user>(pool.get_executor(), net, "users")));

    courier_stress::outcomes seen(calls);
    for (int i = 0; i < calls; ++i)
        client.async_call(get_user{std::to_string(i)}, context{}, [&seen, i](error_code ec, user u) {
            seen.record(i, ec, !ec && u.id == std::to_string(i));
        });
    REQUIRE(seen.wait_all(60s));
    pool.join();
    INFO(seen.summary());
    seen.check_exactly_once();
    CHECK(seen.count(error_code{}) + seen.count(error::timeout) == calls);
    CHECK(seen.count(error_code{}) > 0);  // both outcomes happened: the race was run
    CHECK(seen.count(error::timeout) > 0);
    CHECK(seen.bad_values() == 0);
}

// A function handler answers at once, on whichever thread runs it, while a
// 20 µs deadline fires on another; each caller's handler is bound to a
// strand of its own, which the timeout then uses as it is.
template <class Pool>
void timeouts_race_function_handlers() {
    constexpr int calls = courier_stress::scaled(20'000);
    typename courier_stress::pool_of<Pool>::type pool;
    courier::inproc::network net;
    courier::inproc::server srv(net, pool.get_executor());
    srv.bind<get_user, user>("users", [](get_user req, context&) { return user{req.userId}; });
    auto client = courier::policy::timeout(20us).wrap(
        user_client(courier::inproc::channel<get_user, user>(pool.get_executor(), net, "users")));

    courier_stress::outcomes seen(calls);
    for (int i = 0; i < calls; ++i)
        client.async_call(get_user{std::to_string(i)}, context{},
                          asio::bind_executor(asio::make_strand(pool.get_executor()), [&seen, i](error_code ec, user u) {
                              seen.record(i, ec, !ec && u.id == std::to_string(i));
                          }));
    REQUIRE(seen.wait_all(60s));
    pool.join();
    INFO(seen.summary());
    seen.check_exactly_once();
    CHECK(seen.count(error_code{}) + seen.count(error::timeout) == calls);
    CHECK(seen.bad_values() == 0);
}

}  // namespace

TEST_CASE("inproc calls with timeouts racing their replies complete exactly once on an io_context run by four threads",
          "[stress][inproc][timeout]") {
    timeouts_race_replies<asio::io_context>();
}

TEST_CASE("inproc calls with timeouts racing their replies complete exactly once on a thread_pool",
          "[stress][inproc][timeout]") {
    timeouts_race_replies<asio::thread_pool>();
}

TEST_CASE("inproc calls to a function handler with deadlines firing as it answers complete exactly once on a pool",
          "[stress][inproc][timeout]") {
    timeouts_race_function_handlers<asio::io_context>();
    timeouts_race_function_handlers<asio::thread_pool>();
}
