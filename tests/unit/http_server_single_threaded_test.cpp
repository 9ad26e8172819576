// server_options::single_threaded: connections run on the server's executor
// without a strand each; requests of several keep-alive connections still
// interleave correctly on the one thread, and shutdown still drains them.
#include <courier/http/server.hpp>

#include "support/catch.hpp"
#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace http = courier::http;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

struct echo_request {
    std::string id;
};
struct echo_reply {
    std::string id;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(echo_request, id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(echo_reply, id)

// Three requests on one keep-alive connection; the statuses and ids seen.
asio::awaitable<void> client(unsigned short port, int n, std::vector<std::string>& seen) {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket s(ex);
    co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    boost::beast::flat_buffer buffer;
    for (int i = 0; i < 3; ++i) {
        const auto id = std::to_string(n * 10 + i);
        bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/echo/" + id, 11};
        req.set(bhttp::field::host, "127.0.0.1");
        co_await bhttp::async_write(s, req, asio::use_awaitable);
        bhttp::response<bhttp::string_body> res;
        co_await bhttp::async_read(s, buffer, res, asio::use_awaitable);
        seen.push_back(std::to_string(res.result_int()) + " " +
                       nlohmann::json::parse(res.body()).at("id").get<std::string>());
    }
}

}  // namespace

TEST_CASE("a single-threaded server interleaves keep-alive connections on its executor and drains on shutdown",
          "[http]") {
    asio::io_context ioc(1);
    http::server srv(ioc, {.single_threaded = true});
    const auto thread = std::this_thread::get_id();
    bool on_thread = true;
    srv.route<echo_request, echo_reply>(
        http::verb::get, "/echo/{id}",
        [&](echo_request req, courier::context&) -> asio::awaitable<echo_reply> {
            // A wait lets the other connections' requests run in between.
            asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
            co_await t.async_wait(asio::use_awaitable);
            on_thread = on_thread && std::this_thread::get_id() == thread;
            co_return echo_reply{req.id};
        });
    const auto port = srv.listen("127.0.0.1", 0);

    std::vector<std::vector<std::string>> seen(3);
    int finished = 0;
    for (int n = 0; n < 3; ++n)
        asio::co_spawn(ioc, client(port, n, seen[n]), [&](std::exception_ptr ep) {
            REQUIRE_FALSE(ep);
            ++finished;
        });
    REQUIRE(courier_test::run_until(ioc, [&] { return finished == 3; }));
    for (int n = 0; n < 3; ++n) {
        const auto id = [&](int i) { return "200 " + std::to_string(n * 10 + i); };
        CHECK(seen[n] == std::vector<std::string>{id(0), id(1), id(2)});
    }
    CHECK(on_thread);

    std::optional<courier::error_code> shutdown;
    srv.async_shutdown(1s, [&](courier::error_code ec) { shutdown = ec; });
    REQUIRE(courier_test::run_until(ioc, [&] { return shutdown.has_value(); }));
    CHECK_FALSE(*shutdown);
    CHECK(srv.connection_count() == 0);
}
