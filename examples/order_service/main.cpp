// order-service over HTTP, as in the seed story:
//   order_service --http 127.0.0.1:3000 --user-service http://127.0.0.1:3001
// POST /orders {"userId","productId","amount"}: asks user-service for the
// user through timeout | retry | circuit_breaker, answers 201 with the order,
// 404 {"error":"User not found"} for an unknown user, 503 when user-service
// is down (at once while the breaker is open), and publishes `order.created`
// (in-process broker for now, with an in-process email-service consumer).
#include "../seed/command_line.hpp"
#include "../seed/messages.hpp"

#include <courier/http.hpp>
#include <courier/inproc.hpp>
#include <courier/layer.hpp>
#include <courier/policy/circuit_breaker.hpp>
#include <courier/policy/retry.hpp>
#include <courier/policy/timeout.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>

namespace asio = boost::asio;
namespace http = courier::http;
namespace policy = courier::policy;
using namespace std::chrono_literals;

// How order-service reaches user-service: each attempt bounded to 1 s, at most
// 3 attempts within 2.5 s in all, and a breaker that opens after half of the
// last 10 calls failed, failing fast for 5 s before it probes again.
auto user_service_client(const asio::any_io_executor& ex, const std::string& url) {
    return courier::stack(policy::timeout(2500ms),
                          policy::retry({.max_attempts = 3,
                                         .backoff = policy::exponential_backoff{.base = 50ms, .cap = 500ms}}),
                          policy::circuit_breaker({.window_size = 10, .minimum_calls = 5, .open_duration = 5s}),
                          policy::timeout(1s))
        .wrap(http::client<seed::get_user, seed::user>(ex, url, {http::verb::get, "/users/{userId}"}));
}

template <class Users>
struct create_order_handler {
    Users users;
    courier::publisher<seed::order, courier::inproc::broker> order_created;
    std::shared_ptr<std::atomic<long>> next_id;

    asio::awaitable<seed::order> operator()(seed::create_order req, courier::context& ctx) {
        if (req.userId.empty() || req.productId.empty() || !(req.amount > 0))
            throw courier::system_error(courier::error::invalid_argument,
                                        "userId and productId are required and amount must be positive");
        seed::get_user query{req.userId};
        auto [ec, u] = co_await users.async_call(query, ctx, asio::as_tuple(asio::use_awaitable));
        if (ec == courier::error::not_found) throw courier::system_error(ec, "User not found");
        if (ec) throw courier::system_error(courier::error::unavailable, "User service unavailable: " + ec.message());

        seed::order o{std::to_string((*next_id)++), u.id, req.productId, req.amount};
        co_await order_created.async_publish(o, ctx, asio::use_awaitable);
        co_return o;
    }
};

int main(int argc, char** argv) {
    auto options = seed::parse_options(argc, argv, "--http HOST:PORT --user-service URL");
    const auto [host, port] = seed::host_port(options.count("http") ? options["http"] : "127.0.0.1:3000");
    const auto users_url = options.count("user-service") ? options["user-service"] : "http://127.0.0.1:3001";

    asio::io_context ioc;
    courier::inproc::broker broker(ioc.get_executor());

    // email-service, in group `email-service`: returning normally acks.
    auto email_service = courier::subscribe<seed::order>(
        broker, "order.created", "email-service", [](const seed::order& o, courier::context&) {
            std::cout << "Sending email for order: " << o.id << std::endl;
        });

    using users_type = decltype(user_service_client(ioc.get_executor(), users_url));
    http::server server(ioc);
    server.route<seed::create_order, seed::order>(
        http::verb::post, "/orders",
        create_order_handler<users_type>{user_service_client(ioc.get_executor(), users_url),
                                         {broker, "order.created"},
                                         std::make_shared<std::atomic<long>>(1)},
        {.status = 201});
    seed::announce(host, server.listen(host, port));

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](courier::error_code, int) {
        server.async_shutdown(5s, [&](courier::error_code) {
            broker.async_shutdown([&](courier::error_code) { ioc.stop(); });
        });
    });
    ioc.run();
}
