// The HTTP server over real sockets on 127.0.0.1: routing (404, 405 + Allow),
// typed and raw handlers and how their errors become responses, middleware,
// limits and timeouts, keep-alive, HTTP/1.0, pipelining, context headers,
// graceful shutdown, several threads, TLS and mutual TLS. The server runs on
// background threads; the test thread is the client, with blocking sockets
// bounded by a receive timeout so a bug fails instead of hanging.
#include <courier/http.hpp>

#include "support/catch.hpp"
#include "support/sanitizers.hpp"
#include "support/http_server_fixture.hpp"
#include "support/run_until.hpp"
#include "support/self_signed_certificate.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
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

namespace {

struct get_user {
    std::string id;
    int verbose = 0;
};
struct user {
    std::string id, name;
};
struct create_user {
    std::string name;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(get_user, id, verbose)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(create_user, name)

// Tokens named once: GCC 12 miscompiles class temporaries in co_await.
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

user find_user(get_user req, context&) {
    if (req.id == "404") throw courier::system_error(courier::error::not_found, "User not found");
    return {req.id, req.verbose ? "user " + req.id + " (verbose)" : "user " + req.id};
}

using courier_test::closed_by_peer;
using courier_test::connect;
using courier_test::exchange;
using courier_test::make;
using courier_test::read_response;
using fixture = courier_test::server_fixture;

nlohmann::json body_of(const bhttp::response<bhttp::string_body>& res) { return nlohmann::json::parse(res.body()); }

}  // namespace

// ---------------------------------------------------------------- routing, sans-io

TEST_CASE("a path template's literals are sent percent-encoded and matched decoded, like its parameters",
          "[http][router]") {
    const http::path_template t("/files/my report/{name}");
    const std::string name = "a b/c";
    auto path = t.expand([&](std::string_view) { return &name; });
    CHECK(path == "/files/my%20report/a%20b%2Fc");
    http::router<int> r;
    r.add(http::verb::get, t, 1);
    auto m = r.match(http::verb::get, path);
    REQUIRE(m.result == http::router<int>::outcome::found);
    REQUIRE(m.params.size() == 1);
    CHECK(m.params[0].second == "a b/c");
}

TEST_CASE("router prefers a literal segment over a parameter whatever the order", "[http][router]") {
    http::router<int> r;
    r.add(http::verb::get, "/users/{id}", 1);
    r.add(http::verb::get, "/users/me", 2);
    auto me = r.match(http::verb::get, "/users/me");
    REQUIRE(me.result == http::router<int>::outcome::found);
    CHECK(*me.target == 2);
    auto other = r.match(http::verb::get, "/users/42");
    REQUIRE(other.result == http::router<int>::outcome::found);
    CHECK(*other.target == 1);
    CHECK(*http::find_param(other.params, "id") == "42");
}

TEST_CASE("router tells an unknown path from a wrong method and lists the allowed ones", "[http][router]") {
    http::router<int> r;
    r.add(http::verb::get, "/users/{id}", 1);
    r.add(http::verb::delete_, "/users/{id}", 2);
    CHECK(r.match(http::verb::get, "/orders/1").result == http::router<int>::outcome::not_found);
    auto m = r.match(http::verb::post, "/users/1");
    CHECK(m.result == http::router<int>::outcome::method_not_allowed);
    CHECK(m.allow == "DELETE, GET, HEAD");
    auto head = r.match(http::verb::head, "/users/1");
    CHECK(head.result == http::router<int>::outcome::found);
    CHECK(head.head_as_get);
    CHECK_THROWS_AS(r.add(http::verb::get, "/users/{other}", 3), std::invalid_argument);
}

// ---------------------------------------------------------------- typed routes

TEST_CASE("a typed route rebuilds the request from path and query and answers JSON", "[http]") {
    fixture f;
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto res = f.call(make(http::verb::get, "/users/7?verbose=1"));
    CHECK(res.result_int() == 200);
    CHECK(res[bhttp::field::content_type] == "application/json");
    CHECK(body_of(res) == nlohmann::json{{"id", "7"}, {"name", "user 7 (verbose)"}});
}

TEST_CASE("a handler's courier::system_error becomes its status and its diagnostic", "[http]") {
    fixture f;
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto res = f.call(make(http::verb::get, "/users/404"));
    CHECK(res.result_int() == 404);
    CHECK(res.body() == R"({"error":"User not found"})");
}

TEST_CASE("a coroutine handler's diagnostic and a result's error reach the client", "[http]") {
    fixture f;
    f.srv.route<get_user, user>(http::verb::get, "/async/{id}", [](get_user req, context&) -> asio::awaitable<user> {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer t(ex, 1ms);
        co_await t.async_wait(asio::use_awaitable);
        if (req.id == "x") throw courier::system_error(courier::error::permission_denied, "not yours");
        co_return user{req.id, "async"};
    });
    f.srv.route<get_user, user>(http::verb::get, "/result/{id}",
                                [](get_user, context&) -> boost::system::result<user> {
                                    return error_code(courier::error::unavailable);
                                });
    f.start();
    auto ok = f.call(make(http::verb::get, "/async/1"));
    CHECK(ok.result_int() == 200);
    CHECK(body_of(ok)["name"] == "async");
    auto denied = f.call(make(http::verb::get, "/async/x"));
    CHECK(denied.result_int() == 403);
    CHECK(denied.body() == R"({"error":"not yours"})");
    auto unavailable = f.call(make(http::verb::get, "/result/1"));
    CHECK(unavailable.result_int() == 503);
    CHECK(body_of(unavailable)["error"] == error_code(courier::error::unavailable).message());
}

TEST_CASE("a POST route answers with its registered status, malformed JSON is a 400 naming the problem",
          "[http]") {
    fixture f;
    f.srv.route<create_user, user>(
        http::verb::post, "/users", [](create_user req, context&) { return user{"new", req.name}; },
        {.status = 201});
    f.start();
    auto created = f.call(make(http::verb::post, "/users", R"({"name":"ada"})"));
    CHECK(created.result_int() == 201);
    CHECK(body_of(created) == nlohmann::json{{"id", "new"}, {"name", "ada"}});
    auto bad = f.call(make(http::verb::post, "/users", R"({"name":)"));
    CHECK(bad.result_int() == 400);
    CHECK(bad[bhttp::field::content_type] == "application/json");
    CHECK(body_of(bad)["error"] == "invalid request: the body is not valid JSON");
}

TEST_CASE("unknown routes are 404, a known path with another method is 405 with Allow", "[http]") {
    fixture f;
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto missing = f.call(make(http::verb::get, "/nope"));
    CHECK(missing.result_int() == 404);
    CHECK(body_of(missing).contains("error"));
    auto wrong = f.call(make(http::verb::put, "/users/1", "{}"));
    CHECK(wrong.result_int() == 405);
    CHECK(wrong[bhttp::field::allow] == "GET, HEAD");
    auto s = f.client();
    bhttp::write(s, make(http::verb::head, "/users/1"));
    bhttp::response_parser<bhttp::string_body> head;
    head.skip(true);  // a response to HEAD has no body, whatever its Content-Length says
    beast::flat_buffer buf;
    bhttp::read(s, buf, head);
    CHECK(head.get().result_int() == 200);
    // The length of the body a GET gets, though none follows.
    const auto get = f.call(make(http::verb::get, "/users/1"));
    REQUIRE(get.result_int() == 200);
    CHECK(head.get()[bhttp::field::content_length] == std::to_string(get.body().size()));
}

// The server writes a plain response's Content-Length into the head itself
// and leaves the others to Beast: each kind must come out framed once.
TEST_CASE("every response is framed by exactly one Content-Length, a 204 by none, a 304 by its own, neither with a body", "[http]") {
    fixture f;
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.srv.route_raw(http::verb::get, "/own", [](http::request&, context&) -> asio::awaitable<http::response> {
        http::response res{bhttp::status::ok, 11};
        res.body() = "twelve bytes";
        res.set(bhttp::field::content_length, "12");
        co_return res;
    });
    f.srv.route_raw(http::verb::delete_, "/own", [](http::request&, context&) -> asio::awaitable<http::response> {
        http::response res{bhttp::status::no_content, 11};
        res.body() = "a 204 has no body";  // dropped, not sent
        co_return res;
    });
    f.srv.route_raw(http::verb::get, "/cached", [](http::request&, context&) -> asio::awaitable<http::response> {
        http::response res{bhttp::status::not_modified, 11};
        res.set(bhttp::field::content_length, "57");  // the length of the 200 it stands for
        res.body() = "not sent";
        co_return res;
    });
    f.start();
    auto s = f.client();
    auto framed_once = [](const http::response& res) { return res.count(bhttp::field::content_length) == 1; };
    auto typed = exchange(s, make(http::verb::get, "/users/1"));
    CHECK(framed_once(typed));
    CHECK(typed[bhttp::field::content_length] == std::to_string(typed.body().size()));
    auto own = exchange(s, make(http::verb::get, "/own"));
    CHECK(framed_once(own));
    CHECK(own.body() == "twelve bytes");
    auto none = exchange(s, make(http::verb::delete_, "/own"));
    CHECK(none.result_int() == 204);
    CHECK(none.count(bhttp::field::content_length) == 0);
    auto cached = exchange(s, make(http::verb::get, "/cached"));
    CHECK(cached.result_int() == 304);
    CHECK(cached[bhttp::field::content_length] == "57");
    CHECK(exchange(s, make(http::verb::get, "/users/2")).result_int() == 200);  // still in step
}

// ---------------------------------------------------------------- raw routes, middleware

TEST_CASE("raw handlers see the whole request and the path parameters", "[http]") {
    fixture f;
    f.srv.route_raw(http::verb::post, "/echo", [](http::request& req, context&) -> asio::awaitable<http::response> {
        http::response res{bhttp::status::accepted, 11};
        res.set(bhttp::field::content_type, "text/plain");
        res.body() = req.body();
        co_return res;
    });
    f.srv.route_raw(http::verb::get, "/files/{name}", [](http::request&, context&, const http::path_params& p) {
        http::response res{bhttp::status::ok, 11};
        res.body() = *http::find_param(p, "name");
        return res;
    });
    f.start();
    auto echo = f.call(make(http::verb::post, "/echo", "hello"));
    CHECK(echo.result_int() == 202);
    CHECK(echo.body() == "hello");
    auto file = f.call(make(http::verb::get, "/files/a%20b"));
    CHECK(file.body() == "a b");
}

// The authentication example of docs/http.md.
http::middleware bearer_auth(std::string token) {
    return [token = std::move(token)](http::request& req, context& ctx, http::next next) -> asio::awaitable<http::response> {
        if (req[bhttp::field::authorization] != "Bearer " + token) {
            http::response res{bhttp::status::unauthorized, req.version()};
            res.set(bhttp::field::www_authenticate, "Bearer");
            res.set(bhttp::field::content_type, "application/json");
            res.body() = R"({"error":"missing or invalid bearer token"})";
            co_return res;
        }
        co_return co_await next(req, ctx);
    };
}

TEST_CASE("a bearer-token middleware answers 401 without reaching the handler", "[http][middleware]") {
    fixture f;
    std::atomic<int> handled{0};
    f.srv.use(bearer_auth("s3cret"));
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", [&](get_user r, context& c) {
        ++handled;
        return find_user(r, c);
    });
    f.start();
    auto refused = f.call(make(http::verb::get, "/users/1"));
    CHECK(refused.result_int() == 401);
    CHECK(refused[bhttp::field::www_authenticate] == "Bearer");
    CHECK(handled == 0);
    auto req = make(http::verb::get, "/users/1");
    req.set(bhttp::field::authorization, "Bearer s3cret");
    auto allowed = f.call(req);
    CHECK(allowed.result_int() == 200);
    CHECK(handled == 1);
}

TEST_CASE("middleware runs in registration order, outermost first, and sees every status", "[http][middleware]") {
    fixture f;
    std::mutex m;
    std::vector<std::string> log;
    auto logger = [&](std::string name) -> http::middleware {
        return [&, name](http::request& req, context& ctx, http::next next) -> asio::awaitable<http::response> {
            {
                std::lock_guard lock(m);
                log.push_back(name + " in " + std::string(req.target()));
            }
            auto res = co_await next(req, ctx);
            res.set("x-seen-by", name);
            std::lock_guard lock(m);
            log.push_back(name + " out " + std::to_string(res.result_int()));
            co_return res;
        };
    };
    f.srv.use(logger("outer")).use(logger("inner"));
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto ok = f.call(make(http::verb::get, "/users/1"));
    auto missing = f.call(make(http::verb::get, "/nope"));
    CHECK(ok["x-seen-by"] == "outer");
    CHECK(missing.result_int() == 404);
    std::lock_guard lock(m);
    CHECK(log == std::vector<std::string>{"outer in /users/1", "inner in /users/1", "inner out 200", "outer out 200",
                                          "outer in /nope", "inner in /nope", "inner out 404", "outer out 404"});
}

// ---------------------------------------------------------------- limits and timeouts

TEST_CASE("an oversized body is 413, oversized or too many headers are 431", "[http][limits]") {
    fixture f({.max_body_size = 16, .max_header_size = 512, .max_header_count = 10});
    f.srv.route<create_user, user>(http::verb::post, "/users", [](create_user r, context&) { return user{"1", r.name}; });
    f.start();
    auto big = f.call(make(http::verb::post, "/users", R"({"name":"much too long for the limit"})"));
    CHECK(big.result_int() == 413);
    auto long_header = make(http::verb::post, "/users", R"({"name":"a"})");
    long_header.set("x-filler", std::string(1000, 'x'));
    CHECK(f.call(long_header).result_int() == 431);
    auto many = make(http::verb::post, "/users", R"({"name":"a"})");
    for (int i = 0; i < 12; ++i) many.set("x-h" + std::to_string(i), "v");
    CHECK(f.call(many).result_int() == 431);
}

TEST_CASE("a client trickling its headers is cut off after header_timeout", "[http][limits]") {
    fixture f({.header_timeout = 200ms});
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto s = f.client();
    const auto started = std::chrono::steady_clock::now();
    asio::write(s, asio::buffer(std::string("GET /users/1 HTTP/1.1\r\nHost: x\r\n")));
    CHECK(closed_by_peer(s));
    CHECK(std::chrono::steady_clock::now() - started >= 200ms);
}

TEST_CASE("an idle keep-alive connection is closed after idle_timeout", "[http][limits]") {
    fixture f({.idle_timeout = 200ms});
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto s = f.client();
    auto res = exchange(s, make(http::verb::get, "/users/1"));
    CHECK(res.keep_alive());
    CHECK(closed_by_peer(s));
}

// One timer per connection enforces all four timeouts and wakes at the
// shortest one's pace: a longer timeout must still last its whole length.
TEST_CASE("each step gets its own timeout whatever the others are: idle outlives a shorter header_timeout, "
          "a trickled body is cut at body_timeout",
          "[http][limits]") {
    fixture f({.header_timeout = 300ms, .idle_timeout = 2000ms, .body_timeout = 900ms});
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.srv.route<create_user, user>(http::verb::post, "/users", [](create_user r, context&) { return user{"1", r.name}; });
    f.start();

    auto idle = f.client();
    CHECK(exchange(idle, make(http::verb::get, "/users/1")).result_int() == 200);
    const auto answered = std::chrono::steady_clock::now();
    CHECK(closed_by_peer(idle));
    CHECK(std::chrono::steady_clock::now() - answered >= 1500ms);  // the server's wait began a little earlier

    auto trickle = f.client();
    const auto started = std::chrono::steady_clock::now();
    asio::write(trickle, asio::buffer(std::string("POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                                  "Content-Length: 100\r\n\r\n{\"name\":")));
    CHECK(closed_by_peer(trickle));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 900ms);
    CHECK(took < 2000ms * courier_test::sanitizer_slowdown);  // not the idle timeout
}

TEST_CASE("connections beyond max_connections are closed at once", "[http][limits]") {
    fixture f({.max_connections = 1});
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto first = f.client();
    CHECK(exchange(first, make(http::verb::get, "/users/1")).result_int() == 200);
    auto second = f.client();
    CHECK(closed_by_peer(second));
    CHECK(exchange(first, make(http::verb::get, "/users/2")).result_int() == 200);
}

// ---------------------------------------------------------------- connection handling

TEST_CASE("keep-alive serves several requests on one connection, HTTP/1.0 closes after one", "[http]") {
    fixture f;
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto s = f.client();
    CHECK(body_of(exchange(s, make(http::verb::get, "/users/1")))["id"] == "1");
    CHECK(body_of(exchange(s, make(http::verb::get, "/users/2")))["id"] == "2");
    CHECK(f.srv.connection_count() == 1);

    auto old = f.client();
    auto req = make(http::verb::get, "/users/3");
    req.version(10);
    auto res = exchange(old, req);
    CHECK(res.version() == 10);
    CHECK(body_of(res)["id"] == "3");
    CHECK(closed_by_peer(old));
}

TEST_CASE("pipelined requests are answered in order", "[http]") {
    fixture f;
    f.srv.route<get_user, user>(http::verb::get, "/slow/{id}", [](get_user r, context&) -> asio::awaitable<user> {
        asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
        co_await t.async_wait(asio::use_awaitable);
        co_return user{r.id, "slow"};
    });
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
    f.start();
    auto s = f.client();
    asio::write(s, asio::buffer(std::string("GET /slow/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                            "GET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n"
                                            "GET /users/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    beast::flat_buffer buf;
    CHECK(body_of(read_response(s, buf))["id"] == "1");
    CHECK(body_of(read_response(s, buf))["id"] == "2");
    auto last = read_response(s, buf);
    CHECK(body_of(last)["id"] == "3");
    CHECK_FALSE(last.keep_alive());
}

TEST_CASE("malformed HTTP is answered 400 and the connection closed", "[http]") {
    fixture f;
    f.start();
    auto s = f.client();
    asio::write(s, asio::buffer(std::string("GARBAGE\r\n\r\n")));
    beast::flat_buffer buf;
    auto res = read_response(s, buf);
    CHECK(res.result_int() == 400);
    CHECK(closed_by_peer(s));
}

// ---------------------------------------------------------------- context

TEST_CASE("the handler's context carries the caller's deadline, trace and correlation id", "[http][context]") {
    fixture f;
    context seen;
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", [&](get_user r, context& c) {
        seen = c;
        return user{r.id, ""};
    });
    f.start();
    auto req = make(http::verb::get, "/users/1");
    req.set("courier-timeout-ms", "5000");
    req.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    req.set("x-correlation-id", "order-17");
    CHECK(f.call(req).result_int() == 200);
    REQUIRE(seen.deadline);
    CHECK(*seen.remaining() > 3s);
    CHECK(seen.trace.valid());
    CHECK(seen.correlation_id == "order-17");
}

TEST_CASE("a request whose deadline has passed is 504 without running the handler", "[http][context]") {
    fixture f;
    std::atomic<int> handled{0};
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", [&](get_user r, context& c) {
        ++handled;
        return find_user(r, c);
    });
    f.start();
    auto req = make(http::verb::get, "/users/1");
    req.set("courier-timeout-ms", "0");
    CHECK(f.call(req).result_int() == 504);
    CHECK(handled == 0);
}

// ---------------------------------------------------------------- shutdown

// A handler that waits until the test releases it (or it is cancelled).
struct gate {
    std::promise<void> entered;
    std::unique_ptr<asio::steady_timer> timer;
    std::mutex m;

    http::server::executor_type ex;
    asio::awaitable<user> wait(get_user r) {
        {
            std::lock_guard lock(m);
            timer = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor,
                                                         asio::steady_timer::time_point::max());
        }
        entered.set_value();
        auto [ec] = co_await timer->async_wait(tuple_awaitable);
        if (ec != asio::error::operation_aborted) co_return user{};
        auto st = co_await asio::this_coro::cancellation_state;
        if (st.cancelled() != asio::cancellation_type::none) throw courier::system_error(courier::error::endpoint_closed);
        co_return user{r.id, "released"};
    }
    void release() {
        std::lock_guard lock(m);
        asio::post(timer->get_executor(), [t = timer.get()] { t->cancel(); });
    }
};

TEST_CASE("graceful shutdown closes idle connections at once and lets a request in flight finish",
          "[http][shutdown]") {
    fixture f;
    gate g;
    f.srv.route<get_user, user>(http::verb::get, "/wait/{id}", [&](get_user r, context&) { return g.wait(r); });
    f.start();
    auto idle = f.client();
    CHECK(exchange(idle, make(http::verb::get, "/nope")).result_int() == 404);
    auto busy = f.client();
    auto req = make(http::verb::get, "/wait/9");
    req.prepare_payload();
    bhttp::write(busy, req);
    REQUIRE(g.entered.get_future().wait_for(10s) == std::future_status::ready);

    auto done = f.srv.async_shutdown(10s, asio::use_future);
    CHECK(closed_by_peer(idle));
    CHECK(done.wait_for(0s) == std::future_status::timeout);
    g.release();
    beast::flat_buffer buf;
    auto res = read_response(busy, buf);
    CHECK(body_of(res)["name"] == "released");
    CHECK_FALSE(res.keep_alive());
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK_NOTHROW(done.get());
    CHECK(f.srv.connection_count() == 0);
    error_code ec;
    tcp::socket late(f.client_ioc);
    late.connect({asio::ip::make_address("127.0.0.1"), f.port}, ec);
    CHECK(ec);  // no longer listening
}

TEST_CASE("shutdown cuts a request still running when the grace period ends", "[http][shutdown]") {
    fixture f;
    gate g;
    f.srv.route<get_user, user>(http::verb::get, "/wait/{id}", [&](get_user r, context&) { return g.wait(r); });
    f.start();
    auto busy = f.client();
    auto req = make(http::verb::get, "/wait/9");
    req.prepare_payload();
    bhttp::write(busy, req);
    REQUIRE(g.entered.get_future().wait_for(10s) == std::future_status::ready);
    auto done = f.srv.async_shutdown(100ms, asio::use_future);
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    try {
        done.get();
        FAIL("expected error::timeout");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == courier::error::timeout);
    }
    CHECK(closed_by_peer(busy));
}

// ---------------------------------------------------------------- threads

TEST_CASE("one io_context run by several threads serves concurrent connections", "[http][threads]") {
    fixture f({}, 4);
    std::atomic<int> handled{0};
    f.srv.route<get_user, user>(http::verb::get, "/users/{id}", [&](get_user r, context&) -> asio::awaitable<user> {
        ++handled;
        asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
        co_await t.async_wait(asio::use_awaitable);
        co_return user{r.id, "user " + r.id};
    });
    f.start();
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int c = 0; c < 8; ++c)
        clients.emplace_back([&, c] {
            asio::io_context ioc;
            auto s = connect(ioc, f.port);
            for (int i = 0; i < 20; ++i) {
                const auto id = std::to_string(c * 100 + i);
                auto res = exchange(s, make(http::verb::get, "/users/" + id));
                if (res.result_int() == 200 && body_of(res)["id"] == id) ++ok;
            }
        });
    for (auto& t : clients) t.join();
    CHECK(ok == 160);
    CHECK(handled == 160);
}

// ---------------------------------------------------------------- TLS

namespace {

using courier_test::self_signed;
using tls_client = beast::ssl_stream<tcp::socket>;

}  // namespace

TEST_CASE("TLS: a verifying client talks to the server, mutual TLS refuses a client without certificate",
          "[http][tls]") {
    const self_signed cert;
    auto server_tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    cert.use_in(*server_tls, true);

    for (const bool mutual : {false, true}) {
        INFO("mutual TLS: " << mutual);
        fixture f({.tls = server_tls, .require_client_certificate = mutual});
        f.srv.route<get_user, user>(http::verb::get, "/users/{id}", find_user);
        f.start();

        for (const bool client_has_cert : {true, false}) {
            asio::ssl::context client_tls(asio::ssl::context::tls_client);
            cert.use_in(client_tls, client_has_cert);
            client_tls.set_verify_mode(asio::ssl::verify_peer);
            tls_client s(f.client(), client_tls);
            error_code ec;
            s.handshake(asio::ssl::stream_base::client, ec);
            bhttp::response<bhttp::string_body> res;
            if (!ec) {
                auto req = make(http::verb::get, "/users/5");
                bhttp::write(s, req, ec);
                beast::flat_buffer buf;
                if (!ec) bhttp::read(s, buf, res, ec);
            }
            if (mutual && !client_has_cert) {
                // Refused by TLS (TLS 1.3: the alert may only show on the first
                // read), not ended by the client's receive timeout.
                INFO(ec.message());
                CHECK((ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated));
            } else {
                REQUIRE_FALSE(ec);
                CHECK(res.result_int() == 200);
                CHECK(body_of(res)["id"] == "5");
            }
        }
    }
}
