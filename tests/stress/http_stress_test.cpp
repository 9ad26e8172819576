// The HTTP backend on a pool: a server whose coroutine handlers suspend, run
// by four threads, and clients on four threads calling it from four starting
// threads, with and without deadlines that land as replies arrive. Every call
// completes exactly once with an outcome the layers can produce.
#include <courier/http.hpp>
#include <courier/policy/timeout.hpp>

#include "stress/pool.hpp"
#include "stress/users.hpp"
#include "support/catch.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = courier::http;
using namespace std::chrono_literals;
using courier::context;
using courier::error_code;

namespace {

using courier_stress::get_user;
using courier_stress::user;

const http::endpoint<get_user, user> get_user_ep{http::verb::get, "/users/{id}"};

// Waits `delay_us(id)` µs on the connection's strand, then answers.
template <class Delay>
auto slow_user(Delay delay_us) {
    return [delay_us](get_user req, context&) -> asio::awaitable<user> {
        asio::steady_timer t(co_await asio::this_coro::executor,
                             std::chrono::microseconds(delay_us(std::stoi(req.id))));
        co_await t.async_wait(asio::use_awaitable);
        co_return user{req.id};
    };
}

// A server on one pool and `calls` calls through `svc` (on another pool),
// started from four threads, at most `window` in flight.
template <class Service>
void call_from_threads(Service& svc, courier_stress::outcomes& seen, int calls, int window) {
    std::counting_semaphore<256> room(window);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = t; i < calls; i += 4) {
                room.acquire();
                svc.async_call(get_user{std::to_string(i)}, context{}, [&seen, &room, i](error_code ec, user u) {
                    room.release();  // before the record that may end the wait, and this frame
                    seen.record(i, ec, u.id == std::to_string(i));
                });
            }
        });
    for (auto& t : threads) t.join();
    REQUIRE(seen.wait_all(120s));
}

}  // namespace

TEST_CASE("http calls from four threads to a server run by four threads complete exactly once", "[stress][http]") {
    constexpr int calls = courier_stress::scaled(8'000);
    courier_stress::io_pool server_pool, client_pool;
    http::server srv(server_pool.get_executor());
    srv.route<get_user, user>(http::verb::get, "/users/{id}", slow_user([](int id) { return id * 7919 % 300; }));
    const auto port = srv.listen("127.0.0.1", 0);
    http::client<get_user, user> client(client_pool.get_executor(), "http://127.0.0.1:" + std::to_string(port),
                                        get_user_ep);
    courier_stress::outcomes seen(calls);
    call_from_threads(client, seen, calls, 64);
    INFO(seen.summary());
    seen.check_exactly_once();
    CHECK(seen.count(error_code{}) == calls);
    CHECK(seen.bad_values() == 0);
    srv.close();
    server_pool.join();
    client_pool.join();
}

TEST_CASE("http calls whose deadlines land as replies arrive complete exactly once on pools", "[stress][http][timeout]") {
    constexpr int calls = courier_stress::scaled(8'000);
    courier_stress::io_pool server_pool, client_pool;
    http::server srv(server_pool.get_executor());
    // 0-20 ms against a 10 ms deadline (ten times both under TSan): far
    // above a loaded round trip, far below the slowest handlers.
    srv.route<get_user, user>(http::verb::get, "/users/{id}",
                              slow_user([](int id) { return id * 7919 % (20'000 * courier_stress::slowdown); }));
    const auto port = srv.listen("127.0.0.1", 0);
    auto client = courier::policy::timeout(10ms * courier_stress::slowdown)
                      .wrap(http::client<get_user, user>(client_pool.get_executor(),
                                                         "http://127.0.0.1:" + std::to_string(port), get_user_ep));
    courier_stress::outcomes seen(calls);
    call_from_threads(client, seen, calls, 32);
    seen.check_deadline_race();
    srv.close();
    server_pool.join();
    client_pool.join();
}
