// order-service over HTTP, as in the seed story:
//   order_service --http 127.0.0.1:3000 --user-service http://127.0.0.1:3001
//                 [--broker amqp://guest:guest@127.0.0.1:5672/ [--mode queue|exchange]]
// POST /orders {"userId","productId","amount"}: asks user-service for the
// user through timeout | retry | circuit_breaker, answers 201 with the order,
// 404 {"error":"User not found"} for an unknown user, 503 when user-service
// is down (at once while the breaker is open), and publishes `order.created`:
// to RabbitMQ with --broker (queue mode by default, as the seed's amqplib
// code: the queue `order.created`; examples/email_service consumes it), else
// to an in-process broker with an in-process email-service consumer.
#include "../seed/command_line.hpp"
#include "../seed/messages.hpp"

#include <courier/amqp.hpp>
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

template <class Users, class Broker>
struct create_order_handler {
    Users users;
    courier::publisher<seed::order, Broker> order_created;
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

// Serves POST /orders, publishing to `broker`, until SIGINT/SIGTERM; then
// stops accepting, finishes the requests in flight, and `close`s the broker.
template <class Broker, class Close>
void serve(asio::io_context& ioc, const std::string& host, unsigned short port, const std::string& users_url,
           Broker& broker, Close close) {
    auto users = user_service_client(ioc.get_executor(), users_url);
    http::server server(ioc);
    server.route<seed::create_order, seed::order>(
        http::verb::post, "/orders",
        create_order_handler<decltype(users), Broker>{std::move(users),
                                                      {broker, "order.created"},
                                                      std::make_shared<std::atomic<long>>(1)},
        {.status = 201});
    seed::announce(host, server.listen(host, port));

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](courier::error_code, int) {
        server.async_shutdown(5s, [&](courier::error_code) { close([&] { ioc.stop(); }); });
    });
    ioc.run();
}

int main(int argc, char** argv) {
    auto options = seed::parse_options(
        argc, argv, "--http HOST:PORT --user-service URL [--broker amqp://... [--mode queue|exchange]]");
    const auto [host, port] = seed::host_port(options.count("http") ? options["http"] : "127.0.0.1:3000");
    const auto users_url = options.count("user-service") ? options["user-service"] : "http://127.0.0.1:3001";
    asio::io_context ioc;

    if (options.count("broker")) {
        courier::amqp::broker_options config;
        config.connection.uri = options["broker"];
        config.connection.name = "order-service";
        const auto mode = options.count("mode") ? options["mode"] : "queue";
        config.mode = mode == "exchange" ? courier::amqp::addressing::exchange : courier::amqp::addressing::queue;
        courier::amqp::broker broker(ioc.get_executor(), config);
        broker.async_connect([](courier::error_code ec) {
            if (ec) std::cerr << "broker unreachable (retrying): " << ec.message() << std::endl;
        });
        serve(ioc, host, port, users_url, broker, [&](auto done) {
            broker.async_close([done](courier::error_code) { done(); });
        });
        return 0;
    }

    courier::inproc::broker broker(ioc.get_executor());
    // email-service, in group `email-service`: returning normally acks.
    auto email_service = courier::subscribe<seed::order>(
        broker, "order.created", "email-service", [](const seed::order& o, courier::context&) {
            std::cout << "Sending email for order: " << o.id << std::endl;
        });
    serve(ioc, host, port, users_url, broker, [&](auto done) {
        broker.async_shutdown([done](courier::error_code) { done(); });
    });
}
