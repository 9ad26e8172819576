// The HTTP backend against the attacks of the hardening issue, each with the
// exact bytes that broke it: endless chunk extensions and trailers (memory
// must stay bounded), request smuggling through Transfer-Encoding, deadline
// overflow, Host and absolute-form targets, reflected method names; and the
// client against an upstream that sends the same. Servers run on background
// threads; clients use blocking sockets bounded by a receive timeout.
#include <courier/client.hpp>
#include <courier/detail/deadline_after.hpp>
#include <courier/http/client.hpp>
#include <courier/http/detail/request_head.hpp>
#include <courier/http/server.hpp>
#include <courier/layer.hpp>
#include <courier/policy/retry.hpp>

#include "support/catch.hpp"
#include "support/http_server_fixture.hpp"
#include "support/run_until.hpp"
#include "support/user_calls.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace http = courier::http;
using namespace std::chrono_literals;
using asio::ip::tcp;
using courier::context;
using courier::error_code;
using courier_test::closed_by_peer;
using courier_test::read_response;
using fixture = courier_test::server_fixture;

using courier_test::get_user;
using courier_test::user;

namespace {

user find_user(get_user req, context&) { return {req.userId, "user " + req.userId, ""}; }

// The process's resident memory, in bytes.
std::size_t resident_bytes() {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// A server with GET and POST /users/{id}.
struct users_server : fixture {
    explicit users_server(http::server_options o = {}) : fixture(std::move(o)) {
        srv.route<get_user, user>(http::verb::get, "/users/{userId}", find_user);
        srv.route<get_user, user>(http::verb::post, "/users/{userId}", find_user);
        start();
    }

    // Sends `bytes`, reads one response; the connection's fate is the caller's to check.
    bhttp::response<bhttp::string_body> send(tcp::socket& s, const std::string& bytes) {
        asio::write(s, asio::buffer(bytes));
        beast::flat_buffer buf;
        return read_response(s, buf);
    }
    bhttp::response<bhttp::string_body> send(const std::string& bytes) {
        auto s = client();
        return send(s, bytes);
    }
};

// What an attacker streaming bytes learns and costs: the response, and how
// many bytes the server let in before it closed.
struct flood_result {
    unsigned status = 0;
    std::size_t sent = 0;
    std::size_t rss_growth = 0;
};

// Sends `head`, then `unit` over and over (up to `limit` bytes) while
// reading the answer on this thread; stops when the server closes.
flood_result flood(users_server& srv, const std::string& head, const std::string& unit, std::size_t limit) {
    const auto rss_before = resident_bytes();
    auto s = srv.client();
    asio::write(s, asio::buffer(head));
    std::atomic<std::size_t> sent{0};
    std::atomic<bool> answered{false};
    // The writer uses the descriptor, not the Asio socket, which only this
    // thread touches.
    const int fd = s.native_handle();
    std::thread writer([&] {
        std::string block;
        while (block.size() < 64 * 1024) block += unit;
        while (!answered && sent < limit) {
            const auto n = ::send(fd, block.data(), block.size(), MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
    });
    flood_result r;
    try {
        beast::flat_buffer buf;
        r.status = read_response(s, buf).result_int();
    } catch (const boost::system::system_error&) {
        r.status = 0;
    }
    answered = true;
    ::shutdown(fd, SHUT_RDWR);  // ends a writer blocked in send
    writer.join();
    r.sent = sent;
    const auto rss_after = resident_bytes();
    r.rss_growth = rss_after > rss_before ? rss_after - rss_before : 0;
    return r;
}

constexpr std::size_t flood_bytes = 256u * 1024 * 1024;
constexpr std::size_t few_mib = 8u * 1024 * 1024;

}  // namespace

// ---------------------------------------------------------------- bounded memory

TEST_CASE("a chunk extension that never ends is 413 after a bounded read, memory stays flat", "[http][hardening]") {
    users_server srv;
    const auto r = flood(srv, "POST /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;x=", "a",
                         flood_bytes);
    CHECK(r.status == 413);
    CHECK(r.sent < flood_bytes / 8);  // the server closed long before: kernel buffers, not the stream
    CHECK(r.rss_growth < few_mib);
}

TEST_CASE("four million trailer fields are 431 after a bounded read, memory stays flat", "[http][hardening]") {
    users_server srv;
    const auto r = flood(srv, "POST /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n",
                         "X:1\r\n", 4'000'000 * 5);
    CHECK(r.status == 431);
    CHECK(r.rss_growth < few_mib);
}

TEST_CASE("a trailer line that never ends is 431, memory stays flat", "[http][hardening]") {
    users_server srv;
    const auto r = flood(srv, "POST /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ", "a",
                         flood_bytes);
    CHECK(r.status == 431);
    CHECK(r.sent < flood_bytes / 8);
    CHECK(r.rss_growth < few_mib);
}

TEST_CASE("trailer fields beyond max_trailer_count or max_trailer_size are 431; trailers never reach a handler",
          "[http][hardening]") {
    users_server srv({.max_trailer_size = 1024, .max_trailer_count = 4});
    const std::string head = "POST /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n";
    std::string five;
    for (int i = 0; i < 5; ++i) five += "X" + std::to_string(i) + ": 1\r\n";
    auto many = srv.send(head + five + "\r\n");
    CHECK(many.result_int() == 431);
    CHECK(many.body().find("too many trailer fields") != std::string::npos);
    auto large = srv.send(head + "X: " + std::string(2000, 'v') + "\r\n\r\n");
    CHECK(large.result_int() == 431);
    CHECK(large.body().find("trailer fields larger than 1024") != std::string::npos);
    // Within the limits: served, and a trailer cannot smuggle a deadline in.
    auto fine = srv.send(head + "courier-timeout-ms: 0\r\n\r\n");
    CHECK(fine.result_int() == 200);
}

TEST_CASE("a trailer value over 65,533 bytes is 431, not an exception that drops the connection unanswered",
          "[http][hardening]") {
    // With room for it in the limits, Beast's fields would throw std::length_error.
    users_server srv({.max_trailer_size = 128 * 1024});
    auto s = srv.client();
    auto res = srv.send(s, "POST /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
                               std::string(70'000, 'v') + "\r\n\r\n");
    CHECK(res.result_int() == 431);
    CHECK(closed_by_peer(s));
    // With the default limits the trailer section overflows the read buffer first: 431 too.
    users_server defaults;
    CHECK(defaults
              .send("POST /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
                    std::string(70'000, 'v') + "\r\n\r\n")
              .result_int() == 431);
}

// ---------------------------------------------------------------- smuggling

TEST_CASE("a Transfer-Encoding other than exactly chunked is 501 and closes: the body is never a second request",
          "[http][hardening]") {
    users_server srv;
    for (const char* coding : {"xchunked", "identity", "gzip", "chunked, gzip", "gzip, chunked", "chunked, identity",
                               "chunked, chunked"}) {
        INFO(coding);
        auto s = srv.client();
        auto res = srv.send(s, std::string("GET /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") + coding +
                                   "\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(res.result_int() == 501);
        CHECK(closed_by_peer(s));  // and no second response before the close
    }
    // Two fields that together say "gzip, chunked": 501 as well.
    auto s = srv.client();
    CHECK(srv.send(s, "POST /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
                      "chunked\r\n\r\n0\r\n\r\n")
              .result_int() == 501);
    // Exactly chunked (any case) is served.
    CHECK(srv.send("POST /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
              .result_int() == 200);
}

TEST_CASE("Transfer-Encoding in an HTTP/1.0 request is 400 and closes", "[http][hardening]") {
    users_server srv;
    auto s = srv.client();
    auto res = srv.send(s, "POST /users/1 HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    CHECK(res.result_int() == 400);
    CHECK(closed_by_peer(s));
}

// ---------------------------------------------------------------- deadlines, Host, targets

TEST_CASE("a huge courier-timeout-ms means no sooner deadline, not one in the past", "[http][hardening]") {
    users_server srv;
    for (const char* ms : {"9300000000000", "10000000000000", "9223372036854775807", "99999999999999999999999"}) {
        INFO(ms);
        auto res = srv.send(std::string("GET /users/7 HTTP/1.1\r\nHost: x\r\ncourier-timeout-ms: ") + ms + "\r\n\r\n");
        CHECK(res.result_int() == 200);
    }
}

TEST_CASE("deadline_after saturates instead of overflowing", "[hardening]") {
    using clock = std::chrono::steady_clock;
    const auto now = clock::now();
    CHECK(courier::detail::deadline_after(now, std::chrono::milliseconds(9'300'000'000'000)) == clock::time_point::max());
    CHECK(courier::detail::deadline_after(now, std::chrono::hours::max()) == clock::time_point::max());
    CHECK(courier::detail::deadline_after(now, 5ms) == now + 5ms);
    CHECK(courier::detail::parse_timeout_ms("9223372036854775807", now) == clock::time_point::max());
    CHECK(courier::detail::parse_timeout_ms("99999999999999999999999", now) == clock::time_point::max());
    CHECK(courier::detail::parse_timeout_ms("250", now) == now + 250ms);
    CHECK_FALSE(courier::detail::parse_timeout_ms("-1", now));
    CHECK_FALSE(courier::detail::parse_timeout_ms("+1", now));
    CHECK_FALSE(courier::detail::parse_timeout_ms("1x", now));
    CHECK_FALSE(courier::detail::parse_timeout_ms("", now));
}

TEST_CASE("an HTTP/1.1 request without Host, or with two, is 400 and closes", "[http][hardening]") {
    users_server srv;
    for (const char* head : {"GET /users/1 HTTP/1.1\r\n\r\n", "GET /users/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                             "GET /users/1 HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"}) {
        INFO(head);
        auto s = srv.client();
        CHECK(srv.send(s, head).result_int() == 400);
        CHECK(closed_by_peer(s));
    }
    CHECK(srv.send("GET /users/1 HTTP/1.0\r\n\r\n").result_int() == 200);  // HTTP/1.0 needs none
}

TEST_CASE("an absolute-form target routes as its origin form", "[http][hardening]") {
    users_server srv;
    auto res = srv.send("GET http://x/users/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(res.result_int() == 200);
    CHECK(nlohmann::json::parse(res.body())["id"] == "1");
    CHECK(srv.send("GET http://x:8080/users/2?z=1 HTTP/1.1\r\nHost: x\r\n\r\n").result_int() == 200);
    CHECK(srv.send("GET ftp://x/users/1 HTTP/1.1\r\nHost: x\r\n\r\n").result_int() == 400);

    bhttp::request<bhttp::string_body> req{bhttp::verb::get, "https://example.com:8443/a/b?c=d", 11};
    req.set(bhttp::field::host, "elsewhere");
    http::detail::to_origin_form(req);
    CHECK(req.target() == "/a/b?c=d");
    CHECK(req[bhttp::field::host] == "example.com:8443");
}

TEST_CASE("a 10 kB method name is not echoed back in full", "[http][hardening]") {
    users_server srv;
    auto res = srv.send(std::string(10'000, 'M') + " /users/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(res.result_int() == 405);
    CHECK(res.body().size() < 300);
}

// ---------------------------------------------------------------- the client

namespace {

// An upstream that answers every request with `answer(stream)`: it reads the
// request's head, then writes what the test gives it.
class raw_upstream {
public:
    using writer = std::function<asio::awaitable<void>(tcp::socket&)>;

    raw_upstream(asio::io_context& ioc, writer w) : acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}), w_(std::move(w)) {
        asio::co_spawn(ioc, accept_loop(), asio::detached);
    }
    ~raw_upstream() {
        error_code ignored;
        acceptor_.close(ignored);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

    /// Writes `bytes`, then closes.
    static writer bytes(std::string text) {
        return [text = std::move(text)](tcp::socket& s) -> asio::awaitable<void> {
            co_await asio::async_write(s, asio::buffer(text), asio::use_awaitable);
            s.shutdown(tcp::socket::shutdown_send);
        };
    }
    /// Writes `head`, then `unit` until the peer goes away.
    static writer endless(std::string head, std::string unit, std::atomic<std::size_t>& sent) {
        return [head = std::move(head), unit = std::move(unit), &sent](tcp::socket& s) -> asio::awaitable<void> {
            co_await asio::async_write(s, asio::buffer(head), asio::use_awaitable);
            std::string block;
            while (block.size() < 64 * 1024) block += unit;
            for (;;) sent += co_await asio::async_write(s, asio::buffer(block), asio::use_awaitable);
        };
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto s = std::make_shared<tcp::socket>(co_await acceptor_.async_accept(asio::use_awaitable));
            asio::co_spawn(acceptor_.get_executor(), serve(s), asio::detached);
        }
    }
    asio::awaitable<void> serve(std::shared_ptr<tcp::socket> s) {
        std::string in;
        co_await asio::async_read_until(*s, asio::dynamic_buffer(in), "\r\n\r\n", asio::use_awaitable);
        co_await w_(*s);
    }

    tcp::acceptor acceptor_;
    writer w_;
};

// One call of `client`, run to completion on `ioc`.
template <class Client>
std::pair<error_code, user> call_once(asio::io_context& ioc, Client& client) {
    const auto r = courier_test::call_user(ioc, client, "1", {}, 20s);
    REQUIRE(r.done);
    return {r.ec, r.value};
}

}  // namespace

TEST_CASE("client: an upstream's endless chunk extension fails the call at once with bad_response, memory flat",
          "[http][hardening][client]") {
    asio::io_context ioc;
    std::atomic<std::size_t> sent{0};
    raw_upstream up(ioc, raw_upstream::endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;x=", "a", sent));
    http::client<get_user, user> client(ioc.get_executor(), up.url(), courier_test::get_user_endpoint);
    const auto rss_before = resident_bytes();
    const auto [ec, u] = call_once(ioc, client);
    CHECK(ec == http::error::bad_response);
    CHECK(sent < flood_bytes / 8);
    const auto rss_after = resident_bytes();
    CHECK((rss_after > rss_before ? rss_after - rss_before : 0) < few_mib);
}

TEST_CASE("client: a trailer value over 65,533 bytes is bad_response, not an exception out of run()",
          "[http][hardening][client]") {
    asio::io_context ioc;
    raw_upstream up(ioc, raw_upstream::bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX: " +
                                             std::string(70'000, 'v') + "\r\n\r\n"));
    http::client<get_user, user> client(ioc.get_executor(), up.url(), courier_test::get_user_endpoint,
                                        {.max_trailer_size = 128 * 1024});
    CHECK(call_once(ioc, client).first == http::error::bad_response);
    http::client<get_user, user> defaults(ioc.get_executor(), up.url(), courier_test::get_user_endpoint);
    CHECK(call_once(ioc, defaults).first == http::error::bad_response);
}

TEST_CASE("client: conflicting Content-Length values, or Transfer-Encoding with Content-Length, are bad_response",
          "[http][hardening][client]") {
    const std::string body = R"({"id":"1","name":"a","email":"a@example.com"})";
    const auto length = std::to_string(body.size());
    for (const std::string& head :
         {"HTTP/1.1 200 OK\r\nContent-Length: " + length + "\r\nContent-Length: 3\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: " + length + ", 3\r\n\r\n",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: " + length + "\r\n\r\n",
          std::string("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")}) {
        INFO(head);
        asio::io_context ioc;
        // The body as its head frames it, so that only courier's checks can refuse it.
        const bool chunked = head.find("chunked") != std::string::npos;
        std::ostringstream framed;
        if (chunked) framed << std::hex << body.size() << "\r\n" << body << "\r\n0\r\n\r\n";
        else framed << body;
        raw_upstream up(ioc, raw_upstream::bytes(head + framed.str()));
        http::client<get_user, user> client(ioc.get_executor(), up.url(), courier_test::get_user_endpoint);
        CHECK(call_once(ioc, client).first == http::error::bad_response);
    }
}

TEST_CASE("client: a response whose coding is not chunked is read until close, within the body limit",
          "[http][hardening][client]") {
    const std::string body = R"({"id":"1","name":"a","email":"a@example.com"})";
    {
        asio::io_context ioc;
        raw_upstream up(ioc, raw_upstream::bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n" + body));
        http::client<get_user, user> client(ioc.get_executor(), up.url(), courier_test::get_user_endpoint);
        const auto [ec, u] = call_once(ioc, client);
        CHECK_FALSE(ec);
        CHECK(u.name == "a");
    }
    asio::io_context ioc;
    std::atomic<std::size_t> sent{0};
    raw_upstream up(ioc, raw_upstream::endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n", "a", sent));
    http::client<get_user, user> client(ioc.get_executor(), up.url(), courier_test::get_user_endpoint, {.body_limit = 1024 * 1024});
    CHECK(call_once(ioc, client).first == http::error::body_too_large);
}

TEST_CASE("client: Retry-After beyond the retry layer's cap ends the call with the 503, without a second attempt",
          "[http][hardening][client]") {
    asio::io_context ioc;
    int requests = 0;
    raw_upstream up(ioc, [&](tcp::socket& s) -> asio::awaitable<void> {
        ++requests;
        const std::string res =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        co_await asio::async_write(s, asio::buffer(res), asio::use_awaitable);
        s.shutdown(tcp::socket::shutdown_send);
    });
    std::vector<courier::policy::event> events;
    auto client = courier::policy::retry({.max_attempts = 3,
                                          .backoff = courier::policy::exponential_backoff{10ms, 1s},
                                          .on_event = [&](const courier::policy::event& e) { events.push_back(e); }})
                      .wrap(http::client<get_user, user>(ioc.get_executor(), up.url(), courier_test::get_user_endpoint));
    const auto started = std::chrono::steady_clock::now();
    const auto [ec, u] = call_once(ioc, client);
    CHECK(ec == courier::condition::unavailable);
    CHECK(requests == 1);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    bool reported = false;
    for (const auto& e : events)
        if (e.kind == courier::policy::event_kind::retry_after_exceeded) reported = e.delay == 30s;
    CHECK(reported);
}

TEST_CASE("client: the throwing call() says after how long the server asked to be called again",
          "[http][hardening][client]") {
    asio::io_context ioc;
    raw_upstream up(ioc, raw_upstream::bytes("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\n"
                                             "Content-Length: 2\r\nConnection: close\r\n\r\n{}"));
    courier::client users(courier::policy::retry({.max_attempts = 3, .backoff = courier::policy::exponential_backoff{10ms, 1s}})
                              .wrap(http::client<get_user, user>(ioc.get_executor(), up.url(), courier_test::get_user_endpoint)));
    courier_test::io_threads runner(ioc);
    std::string diagnostic;
    courier::error_code ec;
    try {
        users.call(get_user{"1"});
    } catch (const courier::system_error& e) {
        ec = e.code();
        diagnostic = e.diagnostic();
    }
    ioc.stop();
    runner.join();
    CHECK(ec == courier::condition::unavailable);
    CHECK(diagnostic == "the server asked to be called again after 30 s");
}
