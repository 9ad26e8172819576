// libFuzzer target for the HTTP server's request path. The input is the byte
// stream a client sends on one connection to a courier::http::server on
// 127.0.0.1 (small limits, so the fuzzer reaches every one of them): the
// session reads it through Beast's parser and courier's checks (Host,
// Transfer-Encoding, chunk extensions, trailers, the bounded buffer), routes
// it and answers. Beyond not crashing (ASan, UBSan), the server must answer
// with well-formed HTTP responses and close the connection once the input
// ends, every time. The same bytes also go straight through the request
// parser and check_request_head, which is where most inputs die, faster.
#include <courier/http/detail/limited_parser.hpp>
#include <courier/http/detail/request_head.hpp>
#include <courier/http/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "support/user_calls.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace http = courier::http;
using asio::ip::tcp;

namespace {

using courier_test::get_user;
using courier_test::user;

void require(bool ok) {
    if (!ok) std::abort();
}

const http::server_options limits{
    .header_timeout = std::chrono::seconds(5),
    .idle_timeout = std::chrono::seconds(5),
    .body_timeout = std::chrono::seconds(5),
    .write_timeout = std::chrono::seconds(5),
    .max_body_size = 4096,
    .max_header_size = 1024,
    .max_header_count = 16,
    .max_chunk_extension_size = 64,
    .max_trailer_size = 256,
    .max_trailer_count = 4,
    .single_threaded = true,
};

struct server {
    asio::io_context ioc{1};
    http::server srv{ioc, limits};
    unsigned short port = 0;
    server() {
        srv.route<get_user, user>(http::verb::get, "/users/{userId}",
                                  [](get_user r, courier::context&) { return user{r.userId, "user " + r.userId, ""}; });
        srv.route<get_user, user>(http::verb::post, "/users/{userId}",
                                  [](get_user r, courier::context&) { return user{r.userId, "user " + r.userId, ""}; });
        port = srv.listen("127.0.0.1", 0);
    }
};

// The sans-io half: what Beast and courier's checks make of the first
// request. Returns its method when its head parsed.
std::optional<bhttp::verb> parse_directly(std::string_view input) {
    http::detail::limited_parser<true> parser(
        {limits.max_chunk_extension_size, limits.max_trailer_size, limits.max_trailer_count});
    parser.header_limit(limits.max_header_size);
    parser.body_limit(limits.max_body_size);
    parser.eager(true);
    boost::beast::error_code ec;
    std::size_t used = 0;
    while (used < input.size() && !parser.is_done()) {
        const auto n = parser.put(asio::buffer(input.data() + used, input.size() - used), ec);
        used += n;
        if (ec || n == 0) break;
    }
    if (!parser.is_header_done()) return std::nullopt;
    (void)http::detail::check_request_head(parser.get().base());
    auto req = parser.get();
    http::detail::to_origin_form(req);
    return parser.get().method();
}

// Checks that `out` starts with a well-formed response to the first
// request, whole (a HEAD's without its body). Later ones are not checked:
// which of them answer HEADs is the server's to know.
void check_first_response(std::string_view out, std::optional<bhttp::verb> method) {
    if (out.empty()) return;  // closed without an answer: a timeout or an empty request
    bhttp::response_parser<bhttp::string_body> p;
    p.header_limit(64 * 1024);
    p.body_limit(1024 * 1024);
    p.eager(true);
    if (method == bhttp::verb::head) p.skip(true);
    boost::beast::error_code ec;
    p.put(asio::buffer(out.data(), out.size()), ec);
    require(!ec && p.is_done());
    require(p.get().result_int() >= 100 && p.get().result_int() < 600);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto* s = new server;  // one server for the whole run
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto method = parse_directly(input);

    tcp::socket client(s->ioc);
    boost::system::error_code refused;
    client.connect({asio::ip::make_address("127.0.0.1"), s->port}, refused);
    if (refused) return 0;  // the machine ran out of ephemeral ports: not the server's doing
    std::string out;
    bool done = false;
    asio::async_write(client, asio::buffer(input), [&](boost::system::error_code ec, std::size_t) {
        if (!ec) client.shutdown(tcp::socket::shutdown_send, ec);
    });
    asio::async_read(client, asio::dynamic_buffer(out), [&](boost::system::error_code, std::size_t) { done = true; });
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    while (!done && std::chrono::steady_clock::now() < limit) s->ioc.run_one_until(limit);
    require(done);  // the server closed: it never hangs on a finished stream
    check_first_response(out, method);
    return 0;
}
