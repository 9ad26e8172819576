// courier's HTTP client against an independent server: the express app of
// tests/peers/express_peer.js, which starts this program with its base URL.
// One line per scenario; exits non-zero when any fails.
//   http_client_peer http://127.0.0.1:PORT
#include <courier/http/client.hpp>
#include <courier/policy/retry.hpp>

#include "support/run_until.hpp"
#include "support/user_calls.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace http = courier::http;
using namespace std::chrono_literals;
using courier::context;
using courier::error_code;
using courier_test::call_result;
using courier_test::call_user;
using courier_test::get_user;
using courier_test::get_user_endpoint;
using courier_test::user;
using user_client = http::client<get_user, user>;

namespace {

// How long past its deadline a call may end and still be "timely".
constexpr auto slack = 1500ms;

std::string describe(const error_code& ec) {
    if (!ec) return "success";
    return "'" + ec.message() + "' [" + ec.category().name() + ":" + std::to_string(ec.value()) + "]";
}

long long ms(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Collects the failed expectations of one scenario and prints its line.
class scenario {
public:
    explicit scenario(std::string name) : name_(std::move(name)) {}
    scenario(const scenario&) = delete;
    scenario& operator=(const scenario&) = delete;
    ~scenario() {
        const std::string problems = problems_.str();
        if (problems.empty()) std::cout << "ok    " << name_ << std::endl;
        else {
            std::cout << "FAIL  " << name_ << problems << std::endl;
            ++failed;
        }
    }

    /// Records `what` unless `ok`; returns `ok`.
    bool expect(bool ok, const std::string& what) {
        if (!ok) problems_ << "\n        expected " << what;
        return ok;
    }
    /// A call that must have completed (not hung past the wait's bound).
    bool completed(const call_result& r) { return expect(r.done, "the call to complete (it still ran after 30 s)"); }

    static inline int failed = 0;

private:
    std::string name_;
    std::ostringstream problems_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: http_client_peer BASE_URL   (run by tests/peers/express_peer.js)\n";
        return 2;
    }
    const std::string base = argv[1];
    asio::io_context ioc;
    auto client_of = [&](const std::string& prefix, http::client_options o = {}) {
        return user_client(ioc.get_executor(), base + prefix, get_user_endpoint, std::move(o));
    };
    user_client users = client_of("");

    {
        scenario s("200: a JSON user decoded into the struct");
        auto r = call_user(ioc, users, "7");
        if (s.completed(r) && s.expect(!r.ec, "success, got " + describe(r.ec))) {
            s.expect(r.value.id == "7", "id \"7\", got \"" + r.value.id + "\"");
            s.expect(r.value.name == "User 7", "name \"User 7\", got \"" + r.value.name + "\"");
            s.expect(r.value.email == "user7@example.com", "email user7@example.com, got " + r.value.email);
        }
    }
    {
        scenario s("404 {\"error\":\"User not found\"}: courier::error::not_found, not retryable");
        auto r = call_user(ioc, users, "0");
        if (s.completed(r)) {
            s.expect(r.ec == courier::error::not_found, "error::not_found, got " + describe(r.ec));
            s.expect(r.ec != courier::condition::retryable, "a condition other than retryable");
            s.expect(r.ec == courier::condition::permanent, "condition::permanent");
        }
    }
    {
        scenario s("500: a status error, retryable unless 5xx are configured permanent");
        auto broken = client_of("/broken");
        auto r = call_user(ioc, broken, "1");
        if (s.completed(r)) {
            s.expect(r.ec.category() == http::status_category(), "http::status_category(), got " + describe(r.ec));
            s.expect(http::status_of(r.ec) == 500, "status 500, got " + std::to_string(http::status_of(r.ec)));
            s.expect(r.ec == courier::condition::retryable, "condition::retryable by default");
            s.expect(r.ec == courier::condition::remote, "condition::remote");
        }
        auto strict = client_of("/broken", {.server_errors_retryable = false});
        auto p = call_user(ioc, strict, "1");
        if (s.completed(p)) s.expect(p.ec == courier::condition::permanent, "condition::permanent when 5xx are permanent");
    }
    {
        scenario s("a response slower than the deadline: error::timeout, on time");
        auto slow = client_of("/slow");
        auto r = call_user(ioc, slow, "1", context::with_timeout(300ms));
        if (s.completed(r)) {
            s.expect(r.ec == courier::error::timeout, "error::timeout, got " + describe(r.ec));
            s.expect(r.ec == courier::condition::retryable, "condition::retryable");
            s.expect(r.took >= 300ms && r.took < 300ms + slack,
                     "to end 300 ms after the start (+" + std::to_string(ms(slack)) + " ms), took " +
                         std::to_string(ms(r.took)) + " ms");
        }
    }
    for (const std::string how : {"reset", "cut"}) {
        scenario s(how == "reset" ? "a TCP reset mid-response: a retryable connection error; the next call succeeds"
                                  : "an orderly close (FIN) mid-response: a retryable connection error; the next call "
                                    "succeeds");
        auto c = client_of("/" + how);
        auto r = call_user(ioc, c, "5", context::with_timeout(5s));
        if (s.completed(r)) {
            s.expect(r.ec && r.ec != courier::error::timeout, "a connection error, got " + describe(r.ec));
            s.expect(r.ec == courier::condition::retryable, "condition::retryable, got " + describe(r.ec));
            s.expect(r.ec == courier::condition::unavailable, "condition::unavailable, got " + describe(r.ec));
            s.expect(r.took < slack, "an error at once, took " + std::to_string(ms(r.took)) + " ms");
        }
        auto next = call_user(ioc, c, "5", context::with_timeout(5s));
        if (s.completed(next)) {
            s.expect(!next.ec, "the next call to succeed, got " + describe(next.ec));
            s.expect(next.value.id == "5", "user 5 from the next call");
        }
    }
    {
        scenario s("retry recovers from a route failing 503 twice");
        auto flaky = client_of("/flaky");
        auto bare = call_user(ioc, flaky, "8");
        if (s.completed(bare)) s.expect(bare.ec == courier::error::unavailable, "503 -> error::unavailable without retry, got " + describe(bare.ec));
        auto resilient = courier::policy::retry({.max_attempts = 3,
                                                 .backoff = courier::policy::constant_backoff{10ms},
                                                 .use_budget = false})
                             .wrap(flaky);
        auto r = call_user(ioc, resilient, "9", context::with_timeout(5s));
        if (s.completed(r)) {
            s.expect(!r.ec, "success on the third attempt, got " + describe(r.ec));
            s.expect(r.value.id == "9", "user 9");
        }
    }
    {
        scenario s("100 concurrent calls over one client's pooled keep-alive connections");
        constexpr int n = 100;
        int done = 0;
        std::vector<std::string> wrong;
        for (int i = 1; i <= n; ++i)
            users.async_call(get_user{std::to_string(i)}, context::with_timeout(10s),
                             [&, i](error_code ec, user u) {
                                 ++done;
                                 if (ec || u.id != std::to_string(i))
                                     wrong.push_back(std::to_string(i) + ": " + describe(ec) + " id " + u.id);
                             });
        s.expect(courier_test::run_until(ioc, [&] { return done == n; }, 30s), "all 100 calls to complete");
        s.expect(wrong.empty(), "all to succeed; first wrong: " + (wrong.empty() ? "" : wrong.front()));
    }
    return scenario::failed == 0 ? 0 : 1;
}
