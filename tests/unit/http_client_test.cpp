// The HTTP client against a real server on 127.0.0.1 whose behaviour each
// test scripts: mapping of requests and statuses, keep-alive reuse, the one
// deadline, cancellation, stale connections, limits, redirects, the pool's
// bound, context headers, and policies around it.
#include <courier/http/client.hpp>
#include <courier/http/server.hpp>
#include <courier/layer.hpp>
#include <courier/policy/retry.hpp>

#include "support/catch.hpp"
#include "support/run_until.hpp"
#include "support/scripted_http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <optional>

using namespace std::chrono_literals;
namespace http = courier::http;
using courier_test::scripted_http_server;
using reply = scripted_http_server::reply;

namespace {

struct get_user {
    std::string userId;
    std::optional<int> page{};
    static constexpr bool idempotent = true;  // what a retry layer goes by
};
inline void to_json(nlohmann::json& j, const get_user& g) {
    j = {{"userId", g.userId}};
    if (g.page) j["page"] = *g.page;
}
inline void from_json(const nlohmann::json& j, get_user& g) { j.at("userId").get_to(g.userId); }

struct user {
    std::string id, name, email;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name, email)

struct create_order {
    std::string userId, productId;
    double amount = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(create_order, userId, productId, amount)
struct order {
    std::string id, userId, productId;
    double amount = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(order, id, userId, productId, amount)

const http::endpoint<get_user, user> get_user_ep{http::verb::get, "/users/{userId}"};

reply user_reply(const std::string& id) {
    return scripted_http_server::json(200, R"({"id":")" + id + R"(","name":"User )" + id + R"(","email":"u@x"})");
}

struct outcome {
    bool done = false;
    courier::error_code ec;
    user value;
};

template <class Client>
std::shared_ptr<outcome> start(Client& c, get_user req, courier::context ctx = {}) {
    auto out = std::make_shared<outcome>();
    c.async_call(std::move(req), std::move(ctx), [out](courier::error_code ec, user u) {
        out->done = true;
        out->ec = ec;
        out->value = std::move(u);
    });
    return out;
}

}  // namespace

TEST_CASE("http client fills the path, encodes it, sends the rest as query and decodes the answer", "[http][client]") {
    boost::asio::io_context ioc;
    scripted_http_server server(ioc, [](const auto& req) { return user_reply(std::string(req.target())); });
    http::client c(ioc.get_executor(), server.url() + "/api/", get_user_ep);
    auto out = start(c, get_user{"a b/c", 2});
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK_FALSE(out->ec);
    CHECK(out->value.id == "/api/users/a%20b%2Fc?page=2");
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].method() == boost::beast::http::verb::get);
    CHECK(server.requests[0][boost::beast::http::field::host] == "127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("http client reuses a kept-alive connection", "[http][client]") {
    boost::asio::io_context ioc;
    scripted_http_server server(ioc, [](const auto&) { return user_reply("1"); });
    http::client c(ioc.get_executor(), server.url(), get_user_ep);
    for (int i = 0; i < 3; ++i) {
        auto out = start(c, get_user{"1"});
        REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
        CHECK_FALSE(out->ec);
    }
    CHECK(server.connections == 1);
    CHECK(server.requests.size() == 3);
}

TEST_CASE("http client maps statuses onto courier errors and conditions", "[http][client]") {
    boost::asio::io_context ioc;
    unsigned status = 404;
    scripted_http_server server(ioc, [&](const auto&) {
        auto r = scripted_http_server::json(status, R"({"error":"User not found"})");
        if (status == 503) r.res.set(boost::beast::http::field::retry_after, "2");
        r.res.prepare_payload();
        return r;
    });
    http::client c(ioc.get_executor(), server.url(), get_user_ep);
    auto call = [&](courier::context ctx = {}) {
        auto out = start(c, get_user{"9"}, std::move(ctx));
        REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
        return out->ec;
    };
    CHECK(call() == courier::error::not_found);
    CHECK(call() == courier::condition::permanent);

    status = 503;
    courier::call_feedback feedback;
    courier::context ctx;
    ctx.feedback = &feedback;
    const auto ec = call(ctx);
    CHECK(ec == courier::error::unavailable);
    CHECK(ec == courier::condition::retryable);
    REQUIRE(feedback.retry_after);
    CHECK(*feedback.retry_after == 2s);

    status = 500;
    CHECK(http::status_of(call()) == 500);
    CHECK(call() == courier::condition::retryable);
    status = 429;
    CHECK(call() == courier::condition::retryable);
    status = 422;
    CHECK(call() == courier::condition::permanent);

    status = 500;
    http::client strict(ioc.get_executor(), server.url(), get_user_ep, {.server_errors_retryable = false});
    auto out = start(strict, get_user{"9"});
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK(out->ec == courier::condition::permanent);
    CHECK(http::status_of(out->ec) == 500);
}

TEST_CASE("http client ends the whole call at the context's deadline", "[http][client]") {
    boost::asio::io_context ioc;
    scripted_http_server server(ioc, [](const auto&) { return reply{.silent = true}; });
    http::client c(ioc.get_executor(), server.url(), get_user_ep);
    const auto started = std::chrono::steady_clock::now();
    auto out = start(c, get_user{"1"}, courier::context::with_timeout(150ms));
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK(out->ec == courier::error::timeout);
    CHECK(std::chrono::steady_clock::now() - started >= 150ms);
    CHECK(c.pool()->idle(server.url()) == 0);  // a half-used connection is not pooled
}

TEST_CASE("http client call is cancellable and the connection is dropped", "[http][client]") {
    boost::asio::io_context ioc;
    scripted_http_server server(ioc, [](const auto&) { return reply{.silent = true}; });
    http::client c(ioc.get_executor(), server.url(), get_user_ep);
    boost::asio::cancellation_signal cancel;
    auto out = std::make_shared<outcome>();
    c.async_call(get_user{"1"}, {}, boost::asio::bind_cancellation_slot(cancel.slot(), [out](courier::error_code ec, user) {
                     out->done = true;
                     out->ec = ec;
                 }));
    REQUIRE(courier_test::run_until(ioc, [&] { return server.requests.size() == 1; }));
    cancel.emit(boost::asio::cancellation_type::terminal);
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK(out->ec == boost::asio::error::operation_aborted);
    CHECK(c.pool()->idle(server.url()) == 0);
}

TEST_CASE("http client resends an idempotent request once when a pooled connection was closed", "[http][client]") {
    boost::asio::io_context ioc;
    // The second request finds the kept-alive connection closed by the server
    // as it arrives (read, then closed without a word): nothing came back, so
    // the client sends it once more, on a new connection.
    int n = 0;
    scripted_http_server server(ioc, [&](const auto&) {
        auto r = user_reply("1");
        r.drop = ++n == 2;
        return r;
    });
    http::client c(ioc.get_executor(), server.url(), get_user_ep);
    auto first = start(c, get_user{"1"});
    REQUIRE(courier_test::run_until(ioc, [&] { return first->done; }));
    CHECK_FALSE(first->ec);
    auto second = start(c, get_user{"1"});
    REQUIRE(courier_test::run_until(ioc, [&] { return second->done; }));
    CHECK_FALSE(second->ec);
    CHECK(second->value.id == "1");
    CHECK(server.requests.size() == 3);  // the first, the one dropped, and its resend
    CHECK(server.connections == 2);
}

TEST_CASE("http client refuses a response body beyond its limit", "[http][client]") {
    boost::asio::io_context ioc;
    scripted_http_server server(ioc, [](const auto&) {
        return scripted_http_server::json(200, R"({"id":")" + std::string(10000, 'x') + R"(","name":"","email":""})");
    });
    http::client c(ioc.get_executor(), server.url(), get_user_ep, {.body_limit = 1000});
    auto out = start(c, get_user{"1"});
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK(out->ec == http::error::body_too_large);
    CHECK(out->ec == courier::condition::permanent);
}

TEST_CASE("http client follows redirects for GET, up to its limit", "[http][client]") {
    boost::asio::io_context ioc;
    scripted_http_server server(ioc, [](const auto& req) {
        const std::string target(req.target());
        if (target.starts_with("/loop")) {
            reply r = scripted_http_server::json(302, "");
            r.res.set(boost::beast::http::field::location, "/loop/again");
            r.res.prepare_payload();
            return r;
        }
        if (target == "/users/old") {
            reply r = scripted_http_server::json(301, "");
            r.res.set(boost::beast::http::field::location, "/users/new");
            r.res.prepare_payload();
            return r;
        }
        return user_reply(target);
    });
    http::client c(ioc.get_executor(), server.url(), get_user_ep);
    auto out = start(c, get_user{"old"});
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK_FALSE(out->ec);
    CHECK(out->value.id == "/users/new");

    http::client loop(ioc.get_executor(), server.url() + "/loop", get_user_ep, {.max_redirects = 3});
    auto looped = start(loop, get_user{"x"});
    REQUIRE(courier_test::run_until(ioc, [&] { return looped->done; }));
    CHECK(looped->ec == http::error::too_many_redirects);
}

TEST_CASE("http client POSTs the request as JSON and carries the context in headers", "[http][client]") {
    boost::asio::io_context ioc;
    scripted_http_server server(ioc, [](const auto& req) {
        auto j = nlohmann::json::parse(req.body());
        j["id"] = "o-1";
        return scripted_http_server::json(201, j.dump());
    });
    http::client c(ioc.get_executor(), server.url(), http::endpoint<create_order, order>{http::verb::post, "/orders"});
    auto ctx = courier::context::with_timeout(5s);
    ctx.trace = courier::trace_context::make_root();
    ctx.correlation_id = "flow-7";
    std::optional<order> got;
    c.async_call(create_order{"1", "p", 9.5}, ctx, [&](courier::error_code ec, order o) {
        CHECK_FALSE(ec);
        got = o;
    });
    REQUIRE(courier_test::run_until(ioc, [&] { return got.has_value(); }));
    CHECK(got->id == "o-1");
    CHECK(got->amount == 9.5);
    const auto& req = server.requests.at(0);
    CHECK(req[boost::beast::http::field::content_type] == "application/json");
    const auto parent = courier::trace_context::parse(std::string(req["traceparent"]));
    REQUIRE(parent);
    CHECK(parent->trace_id == ctx.trace.trace_id);
    CHECK(parent->span_id != ctx.trace.span_id);  // a child span
    CHECK(req["x-correlation-id"] == "flow-7");
    const auto left = std::stoi(std::string(req["courier-timeout-ms"]));
    CHECK(left > 4000);
    CHECK(left <= 5000);
}

TEST_CASE("http client waits for a free connection when the origin's limit is reached", "[http][client]") {
    boost::asio::io_context ioc;
    scripted_http_server server(ioc, [](const auto& req) { return user_reply(std::string(req.target())); });
    http::client c(ioc.get_executor(), server.url(), get_user_ep, {.pool = {.max_connections_per_origin = 1}});
    std::vector<std::shared_ptr<outcome>> outs;
    for (int i = 0; i < 5; ++i) outs.push_back(start(c, get_user{std::to_string(i)}));
    REQUIRE(courier_test::run_until(ioc, [&] {
        for (auto& o : outs)
            if (!o->done) return false;
        return true;
    }));
    for (int i = 0; i < 5; ++i) {
        CHECK_FALSE(outs[i]->ec);
        CHECK(outs[i]->value.id == "/users/" + std::to_string(i));
    }
    CHECK(server.connections == 1);
}

TEST_CASE("http client fails cleanly on a refused connection and a bad URL", "[http][client]") {
    boost::asio::io_context ioc;
    unsigned short port = 0;
    {  // a port nobody listens on any more
        boost::asio::ip::tcp::acceptor gone(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = gone.local_endpoint().port();
    }
    http::client c(ioc.get_executor(), "http://127.0.0.1:" + std::to_string(port), get_user_ep);
    auto out = start(c, get_user{"1"});
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK(out->ec == courier::condition::unavailable);
    CHECK(out->ec == courier::condition::retryable);
    CHECK_THROWS_AS((http::client(ioc.get_executor(), "ftp://x", get_user_ep)), courier::system_error);
    CHECK_THROWS_AS((http::client(ioc.get_executor(), "127.0.0.1:80", get_user_ep)), courier::system_error);
}

TEST_CASE("policies wrap the http client: retry rides over a 503", "[http][client][policy]") {
    boost::asio::io_context ioc;
    int calls = 0;
    scripted_http_server server(ioc, [&](const auto&) {
        return ++calls < 3 ? scripted_http_server::json(503, R"({"error":"busy"})") : user_reply("1");
    });
    auto svc = courier::stack(courier::policy::retry({.backoff = courier::policy::constant_backoff{1ms}}))
                   .wrap(http::client(ioc.get_executor(), server.url(), get_user_ep));
    auto out = start(svc, get_user{"1"});
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK_FALSE(out->ec);
    CHECK(calls == 3);
}

TEST_CASE("a server handler's outgoing call carries the trace on and a deadline shrunk by the time spent",
          "[http][client][server]") {
    boost::asio::io_context ioc;
    // downstream: records what arrives
    scripted_http_server downstream(ioc, [](const auto& req) { return user_reply(std::string(req.target())); });
    // the service in the middle: waits 50 ms, then calls downstream with its own context
    http::client to_downstream(ioc.get_executor(), downstream.url(), get_user_ep);
    http::server middle(ioc);
    middle.route<get_user, user>(
        http::verb::get, "/users/{userId}",
        [&](get_user req, courier::context& ctx) -> boost::asio::awaitable<user> {
            boost::asio::steady_timer work(co_await boost::asio::this_coro::executor, 50ms);
            co_await work.async_wait(boost::asio::use_awaitable);
            auto [ec, u] = co_await to_downstream.async_call(req, ctx, boost::asio::as_tuple(boost::asio::use_awaitable));
            if (ec) throw courier::system_error(ec);
            co_return u;
        });
    const auto port = middle.listen("127.0.0.1", 0);

    http::client c(ioc.get_executor(), "http://127.0.0.1:" + std::to_string(port), get_user_ep);
    auto ctx = courier::context::with_timeout(2s);
    ctx.trace = courier::trace_context::make_root();
    auto out = start(c, get_user{"5"}, ctx);
    REQUIRE(courier_test::run_until(ioc, [&] { return out->done; }));
    CHECK_FALSE(out->ec);
    REQUIRE(downstream.requests.size() == 1);
    const auto& req = downstream.requests[0];
    const auto trace = courier::trace_context::parse(std::string(req["traceparent"]));
    REQUIRE(trace);
    CHECK(trace->trace_id == ctx.trace.trace_id);  // the same trace, two hops down
    const int left = std::stoi(std::string(req["courier-timeout-ms"]));
    CHECK(left <= 2000 - 50);  // the 50 ms the middle service spent are gone
    CHECK(left > 1000);
    middle.close();
}
