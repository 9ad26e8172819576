// The seed story in one process on the in-process backend:
//   order-service asks user-service for the user (request-reply),
//   creates the order and publishes `order.created` (publish-subscribe);
//   email-service, in group `email-service`, consumes it and acks.
// Swap the backend (HTTP, gRPC, RabbitMQ, Kafka) and this code stays.
#include "../seed/messages.hpp"

#include <courier/inproc.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <iostream>
#include <map>
#include <string>

namespace asio = boost::asio;

// --- the messages (JSON on the wire, as in the seed's JavaScript) ----------
// Shared with the HTTP example services: the same shapes on every backend.
using seed::create_order;
using seed::get_user;
using seed::order;
using seed::user;

// --- user-service -----------------------------------------------------------

boost::system::result<user> find_user(const get_user& req, courier::context&) {
    static const std::map<std::string, user> users{
        {"1", {"1", "Ada Lovelace", "ada@example.com"}},
        {"2", {"2", "Alan Turing", "alan@example.com"}},
    };
    auto it = users.find(req.userId);
    if (it == users.end()) return courier::error::not_found;
    return it->second;
}

// --- order-service ----------------------------------------------------------

struct order_service {
    courier::inproc::client<get_user, user> users;
    courier::publisher<order, courier::inproc::broker> order_created;
    int next_id = 1000;

    asio::awaitable<order> operator()(create_order req, courier::context& ctx) {
        // Passing ctx on carries the caller's deadline and trace downstream.
        get_user query{req.userId};
        auto [ec, u] = co_await users.async_call(query, ctx, asio::as_tuple(asio::use_awaitable));
        if (ec == courier::error::not_found) throw courier::system_error(ec, "User not found");
        if (ec) throw courier::system_error(ec, "user-service failed");

        order o{std::to_string(next_id++), u.id, req.productId, req.amount};
        co_await order_created.async_publish(o, ctx, asio::use_awaitable);
        std::cout << "order-service: created order " << o.id << " for " << u.name << "\n";
        co_return o;
    }
};

int main() {
    asio::io_context ioc;
    courier::inproc::network net;
    courier::inproc::broker broker(ioc.get_executor());

    courier::inproc::server user_service(net, ioc.get_executor());
    user_service.bind<get_user, user>("user-service", find_user);

    courier::inproc::server orders(net, ioc.get_executor());
    orders.bind<create_order, order>(
        "order-service",
        order_service{courier::inproc::client<get_user, user>(
                          courier::inproc::channel<get_user, user>(ioc.get_executor(), net, "user-service")),
                      {broker, "order.created"}});

    // email-service: one member of group `email-service`; returning acks.
    std::atomic<int> emails{0};
    asio::steady_timer all_sent(ioc, asio::steady_timer::time_point::max());
    int expected = 0;
    auto email_service = courier::subscribe<order>(
        broker, "order.created", "email-service", [&](const order& o, courier::context&) {
            std::cout << "email-service: Sending email for order: " << o.id << "\n";
            if (++emails == expected) all_sent.cancel();
        });

    courier::inproc::client<create_order, order> order_client(
        courier::inproc::channel<create_order, order>(ioc.get_executor(), net, "order-service"));

    int failures = 0;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            const create_order requests[] = {
                {"1", "book", 25.0}, {"2", "lamp", 40.5}, {"42", "desk", 199.0}, {"1", "pen", 2.5}};
            for (const auto& req : requests) {
                auto ctx = courier::context::with_timeout(std::chrono::seconds(2));
                ctx.trace = courier::trace_context::make_root();
                auto [ec, o] = co_await order_client.async_call(req, ctx, asio::as_tuple(asio::use_awaitable));
                if (ec) {
                    ++failures;
                    std::cout << "client: order for user " << req.userId << " failed: "
                              << (ec == courier::error::not_found ? "User not found" : ec.message()) << "\n";
                } else {
                    ++expected;
                }
            }
            // Wait, without polling, until email-service has seen every order.
            if (emails < expected) co_await all_sent.async_wait(asio::as_tuple(asio::use_awaitable));
            co_await broker.async_shutdown(asio::use_awaitable);
        },
        asio::detached);

    ioc.run();
    std::cout << "done: " << expected << " orders, " << emails << " emails, " << failures
              << " failed (unknown user)\n";
    return emails == expected && failures == 1 ? 0 : 1;
}
