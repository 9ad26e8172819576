// email-service, as in the seed story: consumes `order.created` in group
// `email-service`, prints one line per order and acks (by returning).
//   email_service --broker amqp://guest:guest@127.0.0.1:5672/ [--mode queue|exchange]
// Queue mode (the default) reads the queue `order.created` that the seed's
// amqplib publisher fills with sendToQueue; exchange mode reads the group's
// own queue `email-service`, bound to the fanout exchange `order.created`.
// Prints `consuming order.created` once the consumer is established, and
// stops cleanly on SIGINT/SIGTERM.
#include "../seed/command_line.hpp"
#include "../seed/messages.hpp"

#include <courier/amqp.hpp>
#include <courier/subscribe.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
namespace amqp = courier::amqp;

int main(int argc, char** argv) {
    auto options = seed::parse_options(argc, argv, "--broker amqp://user:pass@host:port/vhost [--mode queue|exchange]");
    amqp::broker_options config;
    config.connection.uri = options.count("broker") ? options["broker"] : "amqp://guest:guest@127.0.0.1:5672/";
    config.connection.name = "email-service";
    const auto mode = options.count("mode") ? options["mode"] : "queue";
    if (mode != "queue" && mode != "exchange") {
        std::cerr << "--mode is queue or exchange, not '" << mode << "'\n";
        return 2;
    }
    config.mode = mode == "queue" ? amqp::addressing::queue : amqp::addressing::exchange;

    asio::io_context ioc;
    amqp::broker broker(ioc.get_executor(), config);

    amqp::subscribe_options subscription;
    subscription.on_consuming = [] { std::cout << "consuming order.created" << std::endl; };
    auto email_service = courier::subscribe<seed::order>(
        broker, "order.created", "email-service",
        [](const seed::order& o, courier::context&) {
            std::cout << "Sending email for order: " << o.id << std::endl;
        },
        subscription);

    // The broker reconnects by itself; a first failure is worth a line.
    broker.async_connect([](courier::error_code ec) {
        if (ec) std::cerr << "broker unreachable (retrying): " << ec.message() << std::endl;
    });

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](courier::error_code, int) {
        email_service.unsubscribe();
        broker.async_close([&](courier::error_code) { ioc.stop(); });
    });
    ioc.run();
}
