// user-service over HTTP, as in the seed story:
//   user_service --http 127.0.0.1:3001
// GET /users/{id}: ids 1..1000 exist as {"id","name":"User <id>","email":"user<id>@example.com"};
// any other id answers 404 {"error":"User not found"}. Stops cleanly on SIGINT/SIGTERM.
#include "../seed/command_line.hpp"
#include "../seed/messages.hpp"

#include <courier/http.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <chrono>
#include <csignal>

namespace http = courier::http;

seed::user find_user(const seed::get_user& req, courier::context&) {
    int id = 0;
    const auto& text = req.userId;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || end != text.data() + text.size() || id < 1 || id > 1000)
        throw courier::system_error(courier::error::not_found, "User not found");
    return {text, "User " + text, "user" + text + "@example.com"};
}

int main(int argc, char** argv) {
    auto options = seed::parse_options(argc, argv, "--http HOST:PORT");
    const auto [host, port] = seed::host_port(options.count("http") ? options["http"] : "127.0.0.1:3001");

    boost::asio::io_context ioc;
    http::server server(ioc);
    server.route<seed::get_user, seed::user>(http::verb::get, "/users/{userId}", find_user);
    seed::announce(host, server.listen(host, port));

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](courier::error_code, int) { server.async_shutdown(std::chrono::seconds(5), [](auto) {}); });
    ioc.run();
}
