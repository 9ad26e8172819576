// Robustness of the HTTP backend over real sockets on 127.0.0.1: the server
// under 1,000 concurrent keep-alive connections and with clients vanishing
// mid-request; the client against servers that hang, reset the connection
// or answer garbage, and its recovery through retry. Server and clients
// share the test's io_context, so every wait is on a condition.
// (Malformed requests, body limits and slowloris: http_server_test.cpp.)
#include <courier/http/client.hpp>
#include <courier/http/server.hpp>
#include <courier/layer.hpp>
#include <courier/policy/retry.hpp>
#include <courier/policy/timeout.hpp>

#include "support/catch.hpp"
#include "support/sanitizers.hpp"
#include "support/run_until.hpp"
#include "support/skip.hpp"
#include "support/user_calls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sys/resource.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace http = courier::http;
using namespace std::chrono_literals;
using asio::ip::tcp;
using courier::context;
using courier::error_code;
using courier_test::call_user;
using courier_test::get_user;
using courier_test::get_user_endpoint;
using courier_test::user;

namespace {

// Tokens named once: GCC 12 miscompiles class temporaries in co_await.
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// How long past its deadline a call may end and still be "timely": room for
// a loaded machine and sanitizer builds, far below a hang.
constexpr auto slack = 1500ms * courier_test::sanitizer_slowdown;

user find_user(get_user req, context&) {
    if (req.userId == "0") throw courier::system_error(courier::error::not_found, "User not found");
    return {req.userId, "User " + req.userId, "user" + req.userId + "@example.com"};
}

std::string body_of(const user& u) { return nlohmann::json(u).dump(); }

// Raises the soft limit on open files to `wanted` if the hard limit allows.
bool enough_file_descriptors(rlim_t wanted) {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return false;
    if (l.rlim_cur >= wanted) return true;
    if (l.rlim_max != RLIM_INFINITY && l.rlim_max < wanted) return false;
    l.rlim_cur = wanted;
    return ::setrlimit(RLIMIT_NOFILE, &l) == 0;
}

// A blocking client socket. The server runs on the same thread, so these
// only connect and write (the kernel completes both without the server);
// reads go through the io_context.
tcp::socket connect_to(asio::io_context& ioc, unsigned short port) {
    tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    return s;
}

// Closes with a TCP reset instead of an orderly FIN.
void reset(tcp::socket& s) {
    s.set_option(tcp::socket::linger(true, 0));
    s.close();
}

}  // namespace

// ---------------------------------------------------------------- the server

namespace {

// 1,000 keep-alive clients, each on its own connection: all connect and get
// a first answer, wait there for each other (so all are open at once), then
// send more requests on the same connection.
struct crowd {
    explicit crowd(asio::io_context& ioc, int size) : size(size), all_in(ioc, asio::steady_timer::time_point::max()) {}
    int size;
    int arrived = 0;  // answered once (or failed)
    int finished = 0;
    int answered = 0;
    std::size_t open_at_peak = 0;
    std::vector<std::string> failures;
    asio::steady_timer all_in;  // the barrier: expires when everyone arrived
    std::function<std::size_t()> server_connections;

    void arrive() {
        if (++arrived == size) {
            open_at_peak = server_connections();
            all_in.expires_at(asio::steady_timer::time_point::min());  // wakes the waiting, and the last one won't wait
        }
    }
};

asio::awaitable<void> keep_alive_client(tcp::endpoint server, int id, int requests, crowd& c) {
    tcp::socket s(co_await asio::this_coro::executor);
    beast::flat_buffer buf;
    bool arrived = false;
    auto fail = [&](const std::string& what) {
        c.failures.push_back("client " + std::to_string(id) + ": " + what);
        if (!arrived) c.arrive();
    };
    if (auto [ec] = co_await s.async_connect(server, tuple_awaitable); ec) {
        fail("connect: " + ec.message());
        co_return;
    }
    for (int i = 0; i < requests; ++i) {
        const std::string uid = std::to_string(1 + (id * 7 + i) % 1000);
        bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/users/" + uid, 11};
        req.set(bhttp::field::host, "127.0.0.1");
        if (auto [ec, n] = co_await bhttp::async_write(s, req, tuple_awaitable); ec) {
            fail("write: " + ec.message());
            co_return;
        }
        bhttp::response<bhttp::string_body> res;
        if (auto [ec, n] = co_await bhttp::async_read(s, buf, res, tuple_awaitable); ec) {
            fail("read: " + ec.message());
            co_return;
        }
        if (res.result_int() != 200 || res.body().find(R"("id":")" + uid + '"') == std::string::npos ||
            !res.keep_alive()) {
            fail("answer: " + std::to_string(res.result_int()) + " " + res.body());
            co_return;
        }
        ++c.answered;
        if (i == 0) {
            arrived = true;
            c.arrive();
            co_await c.all_in.async_wait(tuple_awaitable);
        }
    }
    ++c.finished;
}

}  // namespace

TEST_CASE("the server answers a thousand concurrent keep-alive connections and keeps answering afterwards",
          "[http][robustness]") {
    constexpr int clients = 1000;
    constexpr int requests = 3;
    // Both ends of every connection live in this process, plus the listener.
    if (!enough_file_descriptors(2 * clients + 100)) {
        courier_test::skip("RLIMIT_NOFILE's hard limit is below " + std::to_string(2 * clients + 100) +
                           ", and a process cannot raise it");
        return;
    }
    asio::io_context ioc;
    http::server srv(ioc);
    srv.route<get_user, user>(http::verb::get, "/users/{userId}", find_user);
    const tcp::endpoint at{asio::ip::make_address("127.0.0.1"), srv.listen("127.0.0.1", 0)};

    crowd c(ioc, clients);
    c.server_connections = [&] { return srv.connection_count(); };
    for (int i = 0; i < clients; ++i) asio::co_spawn(ioc, keep_alive_client(at, i, requests, c), asio::detached);
    const bool ended = courier_test::run_until(
        ioc, [&] { return c.finished + static_cast<int>(c.failures.size()) == clients; }, 120s);
    INFO("arrived " << c.arrived << ", finished " << c.finished << ", failed " << c.failures.size()
                    << "; first failure: " << (c.failures.empty() ? std::string("none") : c.failures.front()));
    REQUIRE(ended);
    CHECK(c.failures.empty());
    CHECK(c.open_at_peak == static_cast<std::size_t>(clients));  // all open at once, none refused
    CHECK(c.answered == clients * requests);

    // The clients' sockets closed with their coroutines; the server notices each.
    REQUIRE(courier_test::run_until(ioc, [&] { return srv.connection_count() == 0; }));
    http::client<get_user, user> after(ioc.get_executor(), "http://127.0.0.1:" + std::to_string(at.port()),
                                       get_user_endpoint);
    auto r = call_user(ioc, after, "42");
    REQUIRE(r.done);
    CHECK_FALSE(r.ec);
    CHECK(r.value.email == "user42@example.com");
    srv.close();
}

TEST_CASE("clients vanishing mid-request leave the server answering and no connection behind",
          "[http][robustness]") {
    asio::io_context ioc;
    http::server srv(ioc);
    srv.route<get_user, user>(http::verb::get, "/users/{userId}", find_user);
    srv.route<user, user>(http::verb::post, "/users", [](user u, context&) { return u; }, {.status = 201});
    // A handler that runs until the test lets it go: the client leaves meanwhile.
    bool entered = false, handler_done = false;
    asio::steady_timer hold(ioc, asio::steady_timer::time_point::max());
    srv.route_raw(http::verb::get, "/held", [&](http::request&, context&) -> asio::awaitable<http::response> {
        entered = true;
        co_await hold.async_wait(tuple_awaitable);
        handler_done = true;
        http::response res{bhttp::status::ok, 11};
        res.body() = "too late";
        co_return res;
    });
    const auto port = srv.listen("127.0.0.1", 0);
    http::client<get_user, user> probe(ioc.get_executor(), "http://127.0.0.1:" + std::to_string(port),
                                       get_user_endpoint);

    const std::string half_body_head =
        "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    struct partial {
        const char* what;
        std::string bytes;
    };
    const std::vector<partial> partials{
        {"half a request line", "GET /users/1 HT"},
        {"headers without their end", "GET /users/1 HTTP/1.1\r\nHost: x\r\nAccept: appl"},
        {"half a body", half_body_head + R"({"id":"1","name":)"},
    };
    for (const bool abrupt : {false, true}) {
        for (const auto& p : partials) {
            INFO(p.what << (abrupt ? ", then a reset" : ", then a close"));
            auto s = connect_to(ioc, port);
            asio::write(s, asio::buffer(p.bytes));
            REQUIRE(courier_test::run_until(ioc, [&] { return srv.connection_count() == 1; }));
            if (abrupt) reset(s);
            else s.close();
            REQUIRE(courier_test::run_until(ioc, [&] { return srv.connection_count() == 0; }));
        }
        {
            INFO("a whole request, gone before its response" << (abrupt ? " (reset)" : " (close)"));
            entered = handler_done = false;
            auto s = connect_to(ioc, port);
            asio::write(s, asio::buffer(std::string("GET /held HTTP/1.1\r\nHost: x\r\n\r\n")));
            REQUIRE(courier_test::run_until(ioc, [&] { return entered; }));
            if (abrupt) reset(s);
            else s.close();
            hold.cancel();  // the handler answers into a closed connection
            REQUIRE(courier_test::run_until(ioc, [&] { return handler_done && srv.connection_count() == 0; }));
        }
        auto r = call_user(ioc, probe, "7");
        REQUIRE(r.done);
        CHECK_FALSE(r.ec);
        CHECK(r.value.id == "7");
        probe.pool()->clear();  // the probe's idle connection would count as one
        REQUIRE(courier_test::run_until(ioc, [&] { return srv.connection_count() == 0; }));
    }
    srv.close();
}

// ---------------------------------------------------------------- the client

namespace {

// A TCP server that reads each request's head and then does what the test's
// script says for that request (numbered from 1): answer properly, never
// answer, close the connection without answering, cut it halfway through the
// response (with a reset or an orderly close), or answer bytes that are not
// HTTP.
class misbehaving_server {
public:
    enum class act { answer, hang, close_unanswered, reset_midway, close_midway, garbage };

    misbehaving_server(asio::io_context& ioc, std::function<act(int request)> script)
        : acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}), script_(std::move(script)) {
        asio::co_spawn(ioc, accept_loop(), asio::detached);
    }
    ~misbehaving_server() { stop(); }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
    int requests = 0;
    int connections = 0;

    void stop() {
        error_code ignored;
        acceptor_.close(ignored);
        for (auto& s : sockets_)
            if (auto p = s.lock()) p->close(ignored);
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto s = std::make_shared<tcp::socket>(acceptor_.get_executor());
            if (auto [ec] = co_await acceptor_.async_accept(*s, tuple_awaitable); ec) co_return;
            ++connections;
            sockets_.push_back(s);
            asio::co_spawn(acceptor_.get_executor(), serve(s), asio::detached);
        }
    }

    asio::awaitable<void> serve(std::shared_ptr<tcp::socket> s) {
        std::string in;
        for (;;) {
            auto [ec, n] = co_await asio::async_read_until(*s, asio::dynamic_buffer(in), "\r\n\r\n", tuple_awaitable);
            if (ec) co_return;  // the client left (a hung request's client gives up)
            const std::string head = in.substr(0, n);
            in.erase(0, n);  // the tests' requests are GETs: no body
            const auto start = head.find("/users/") + 7;
            const std::string id = head.substr(start, head.find(' ', start) - start);
            const std::string body = body_of({id, "User " + id, "user" + id + "@example.com"});
            const std::string ok_head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                        std::to_string(body.size()) + "\r\n\r\n";
            const act what = script_(++requests);
            switch (what) {
            case act::answer:
                std::tie(ec, n) = co_await asio::async_write(*s, asio::buffer(ok_head + body), tuple_awaitable);
                if (ec) co_return;
                break;
            case act::hang: break;  // read on: the next thing is the client closing
            case act::close_unanswered: s->close(ec); co_return;
            case act::reset_midway:
            case act::close_midway: {
                const std::string half = ok_head + body.substr(0, body.size() / 2);
                std::tie(ec, n) = co_await asio::async_write(*s, asio::buffer(half), tuple_awaitable);
                if (what == act::reset_midway) s->set_option(tcp::socket::linger(true, 0), ec);
                s->close(ec);
                co_return;
            }
            case act::garbage:
                std::tie(ec, n) = co_await asio::async_write(
                    *s, asio::buffer(std::string("SSH-2.0-OpenSSH_9.2p1\r\nnot http at all\r\n\r\n")), tuple_awaitable);
                if (ec) co_return;
                break;
            }
        }
    }

    tcp::acceptor acceptor_;
    std::function<act(int)> script_;
    std::vector<std::weak_ptr<tcp::socket>> sockets_;
};
using act = misbehaving_server::act;

// retry as a service would configure it: quick, no budget (the tests make few calls).
courier::policy::retry<> quick_retry(unsigned attempts, std::function<bool(const error_code&)> retry_on = {}) {
    return courier::policy::retry<>({.max_attempts = attempts,
                                     .backoff = courier::policy::constant_backoff{5ms},
                                     .retry_on = std::move(retry_on),
                                     .use_budget = false});
}

}  // namespace

TEST_CASE("the client gives up on a server that never answers at the deadline, and retry with a per-attempt timeout "
          "recovers once it answers",
          "[http][robustness][client]") {
    asio::io_context ioc;
    int hangs = 1;  // requests left to hang
    misbehaving_server server(ioc, [&](int) { return hangs-- > 0 ? act::hang : act::answer; });
    http::client<get_user, user> c(ioc.get_executor(), server.url(), get_user_endpoint);

    auto r = call_user(ioc, c, "1", context::with_timeout(300ms));
    REQUIRE(r.done);
    CHECK(r.ec == courier::error::timeout);
    CHECK(r.ec == courier::condition::retryable);
    CHECK(r.took >= 300ms);
    CHECK(r.took < 300ms + slack);
    CHECK(c.pool()->idle(server.url()) == 0);  // the hung connection is not reused

    // Two attempts hang, the third is answered: 2 x 300 ms, not the call's 10 s.
    hangs = 2;
    auto resilient = courier::stack(quick_retry(3), courier::policy::timeout(300ms)).wrap(c);
    auto healed = call_user(ioc, resilient, "2", context::with_timeout(10s));
    REQUIRE(healed.done);
    CHECK_FALSE(healed.ec);
    CHECK(healed.value.id == "2");
    CHECK(healed.took >= 600ms);
    CHECK(healed.took < 600ms + slack);
    CHECK(server.requests == 4);
}

namespace {

// The server goes away mid-call (`how`) once, then twice: the first is a
// retryable connection error at once, after which the same client succeeds;
// retry rides over the two.
void cut_then_recover(act how) {
    asio::io_context ioc;
    int cuts = 1;
    misbehaving_server server(ioc, [&](int) { return cuts-- > 0 ? how : act::answer; });
    http::client<get_user, user> c(ioc.get_executor(), server.url(), get_user_endpoint);

    auto r = call_user(ioc, c, "1", context::with_timeout(5s));
    REQUIRE(r.done);
    INFO("error: " << r.ec.message() << " [" << r.ec.category().name() << ":" << r.ec.value() << "]");
    CHECK(r.ec);
    CHECK(r.ec != courier::error::timeout);
    CHECK(r.took < slack);  // at once, not at the deadline
    CHECK(r.ec == courier::condition::retryable);
    CHECK(r.ec == courier::condition::unavailable);

    auto next = call_user(ioc, c, "2", context::with_timeout(5s));
    REQUIRE(next.done);
    CHECK_FALSE(next.ec);
    CHECK(next.value.id == "2");

    cuts = 2;
    auto resilient = quick_retry(3).wrap(c);
    auto healed = call_user(ioc, resilient, "3", context::with_timeout(5s));
    REQUIRE(healed.done);
    CHECK_FALSE(healed.ec);
    CHECK(healed.value.id == "3");
}

}  // namespace

TEST_CASE("a connection reset in the middle of a response is a retryable connection error and the next call succeeds",
          "[http][robustness][client]") {
    cut_then_recover(act::reset_midway);
}

// An orderly close (FIN) is the server going away as much as a reset is.
TEST_CASE("a connection closed before or in the middle of a response is a retryable connection error and the next "
          "call succeeds",
          "[http][robustness][client]") {
    const auto how = GENERATE(act::close_midway, act::close_unanswered);
    INFO((how == act::close_midway ? "orderly close mid-response" : "closed unanswered"));
    cut_then_recover(how);
}

TEST_CASE("garbage from the server is bad_response at once, and the client recovers when the server is good again",
          "[http][robustness][client]") {
    asio::io_context ioc;
    int garbage = 1;
    misbehaving_server server(ioc, [&](int) { return garbage-- > 0 ? act::garbage : act::answer; });
    http::client<get_user, user> c(ioc.get_executor(), server.url(), get_user_endpoint);

    auto r = call_user(ioc, c, "1", context::with_timeout(5s));
    REQUIRE(r.done);
    CHECK(r.ec == http::error::bad_response);
    CHECK(r.ec == courier::condition::permanent);  // sending it again would not help, by default
    CHECK(r.took < slack);
    CHECK(c.pool()->idle(server.url()) == 0);  // that connection is not reused

    auto next = call_user(ioc, c, "2");
    REQUIRE(next.done);
    CHECK_FALSE(next.ec);
    CHECK(next.value.id == "2");
    CHECK(server.connections == 2);

    // The default retry leaves a permanent error alone; one told to retry
    // bad responses (a flaky proxy in between) rides over them.
    garbage = 1;
    auto by_default = quick_retry(3).wrap(c);
    auto once = call_user(ioc, by_default, "3");
    REQUIRE(once.done);
    CHECK(once.ec == http::error::bad_response);
    CHECK(server.requests == 3);

    garbage = 2;
    auto lenient = quick_retry(3, [](const error_code& ec) {
                       return ec == http::error::bad_response || ec == courier::condition::retryable;
                   }).wrap(c);
    auto healed = call_user(ioc, lenient, "4");
    REQUIRE(healed.done);
    CHECK_FALSE(healed.ec);
    CHECK(healed.value.id == "4");
    CHECK(server.requests == 6);
}
