// courier's side of the HTTP server benchmarks: GET /users/{id} served by
// courier::http::server with a typed coroutine handler, as in
// examples/user_service, on one io_context run by one thread; with
// --single-threaded, the server is told so (server_options::single_threaded:
// no strand per connection).
//   http_bench_courier_server [port] [--single-threaded]   (port 0: ephemeral)
#include "http_users.hpp"

#include <courier/http/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <string_view>

namespace http = courier::http;
using courier_bench::get_user;
using courier_bench::user;

namespace {

boost::asio::awaitable<user> lookup(get_user req, courier::context&) {
    auto found = courier_bench::find_user(req.userId);
    if (!found) throw courier::system_error(courier::error::not_found, "User not found");
    co_return std::move(*found);
}

}  // namespace

int main(int argc, char** argv) {
    const auto port = static_cast<unsigned short>(courier_bench::number_arg(argc, argv, 1, 0));
    const bool single_threaded = argc > 2 && std::string_view(argv[2]) == "--single-threaded";
    boost::asio::io_context ioc(1);
    http::server server(ioc, {.single_threaded = single_threaded});
    server.route<get_user, user>(http::verb::get, "/users/{userId}", lookup);
    courier_bench::announce(server.listen("127.0.0.1", port));

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](courier::error_code, int) { ioc.stop(); });
    ioc.run();
}
