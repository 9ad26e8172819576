// The HTTP client over https against courier's own server with TLS, a
// self-signed certificate made for the test: trusted through
// pool_options::ca_file it works; untrusted, or for another host name, it
// fails at once with a TLS error; mutual TLS with pool_options'
// client certificate.
#include <courier/http/client.hpp>
#include <courier/http/server.hpp>

#include "support/catch.hpp"
#include "support/self_signed_certificate.hpp"
#include "support/user_calls.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace http = courier::http;
using namespace std::chrono_literals;
using courier::context;
using courier_test::call_user;
using courier_test::get_user;
using courier_test::get_user_endpoint;
using courier_test::user;

namespace {

// A server speaking only TLS with the test's certificate, on the test's
// io_context; with `mutual`, clients must present a certificate it trusts.
struct tls_server {
    tls_server(asio::io_context& ioc, const courier_test::self_signed& cert, bool mutual = false)
        : srv(ioc, {.tls = context_for(cert), .require_client_certificate = mutual}) {
        srv.route<get_user, user>(http::verb::get, "/users/{userId}", [](get_user req, context&) {
            return user{req.userId, "User " + req.userId, "user" + req.userId + "@example.com"};
        });
        port = srv.listen("127.0.0.1", 0);
    }
    std::string url(const std::string& host = "127.0.0.1") const {
        return "https://" + host + ":" + std::to_string(port);
    }

    static std::shared_ptr<asio::ssl::context> context_for(const courier_test::self_signed& cert) {
        auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
        cert.use_in(*tls, true);
        return tls;
    }

    http::server srv;
    unsigned short port = 0;
};

// How a failed handshake shows: an error of OpenSSL's category, or of Asio's
// SSL stream ones (stream_truncated), never a timeout.
bool tls_error(const courier::error_code& ec) {
    return ec.category() == asio::error::get_ssl_category() || ec.category() == asio::ssl::error::get_stream_category();
}

std::string describe(const courier::error_code& ec) {
    return ec.message() + " [" + ec.category().name() + ":" + std::to_string(ec.value()) + "]";
}

}  // namespace

TEST_CASE("https: a client trusting the server's CA through ca_file gets its answer, over one kept-alive connection",
          "[http][client][tls]") {
    const courier_test::self_signed cert;
    const auto files = cert.write_files();
    asio::io_context ioc;
    tls_server server(ioc, cert);
    auto pool = std::make_shared<http::connection_pool>(ioc.get_executor(),
                                                        http::pool_options{.ca_file = files.cert.string()});
    http::client<get_user, user> c(pool, server.url(), get_user_endpoint);
    for (const char* id : {"1", "2"}) {
        auto r = call_user(ioc, c, id, context::with_timeout(10s));
        REQUIRE(r.done);
        INFO(describe(r.ec));
        CHECK_FALSE(r.ec);
        CHECK(r.value.id == id);
        CHECK(r.value.email == "user" + std::string(id) + "@example.com");
    }
    CHECK(server.srv.connection_count() == 1);
    CHECK(pool->idle(server.url()) == 1);
}

// The executor constructor makes the pool from client_options.pool: its
// strings too (they were once lost to an argument moved too early).
TEST_CASE("https: pool options given through client_options reach the pool the client makes", "[http][client][tls]") {
    const courier_test::self_signed cert;
    const auto files = cert.write_files();
    asio::io_context ioc;
    tls_server server(ioc, cert);
    http::client<get_user, user> c(ioc.get_executor(), server.url(), get_user_endpoint,
                                   {.pool = {.ca_file = files.cert.string()}});
    CHECK(c.pool()->options().ca_file == files.cert.string());
    auto r = call_user(ioc, c, "1", context::with_timeout(10s));
    REQUIRE(r.done);
    INFO(describe(r.ec));
    CHECK_FALSE(r.ec);
    CHECK(r.value.id == "1");
}

TEST_CASE("https: a client that does not trust the certificate, or is given another host name, fails at once with "
          "a TLS error",
          "[http][client][tls]") {
    const courier_test::self_signed cert;
    const auto files = cert.write_files();
    asio::io_context ioc;
    tls_server server(ioc, cert);

    SECTION("an unknown CA") {
        http::client<get_user, user> c(ioc.get_executor(), server.url(), get_user_endpoint);
        auto r = call_user(ioc, c, "1", context::with_timeout(10s));
        REQUIRE(r.done);
        INFO(describe(r.ec));
        CHECK(tls_error(r.ec));
        CHECK_THAT(r.ec.message(), Catch::Matchers::Contains("certificate verify failed"));
        CHECK(r.took < 5s);  // not the deadline
    }
    SECTION("a trusted certificate for 127.0.0.1, called as localhost") {
        auto pool = std::make_shared<http::connection_pool>(ioc.get_executor(),
                                                            http::pool_options{.ca_file = files.cert.string()});
        http::client<get_user, user> c(pool, server.url("localhost"), get_user_endpoint);
        auto r = call_user(ioc, c, "1", context::with_timeout(10s));
        REQUIRE(r.done);
        INFO(describe(r.ec));
        CHECK(tls_error(r.ec));
        CHECK_THAT(r.ec.message(), Catch::Matchers::Contains("certificate verify failed"));
    }
    SECTION("verification switched off talks to anyone") {
        http::client<get_user, user> c(ioc.get_executor(), server.url(), get_user_endpoint,
                                       {.pool = {.verify_peer = false}});
        auto r = call_user(ioc, c, "3", context::with_timeout(10s));
        REQUIRE(r.done);
        INFO(describe(r.ec));
        CHECK_FALSE(r.ec);
        CHECK(r.value.id == "3");
    }
}

TEST_CASE("https with mutual TLS: the client's certificate from pool_options is accepted, no certificate is refused",
          "[http][client][tls]") {
    const courier_test::self_signed cert;
    const auto files = cert.write_files();
    asio::io_context ioc;
    tls_server server(ioc, cert, true);

    auto pool_with_cert = std::make_shared<http::connection_pool>(
        ioc.get_executor(), http::pool_options{.ca_file = files.cert.string(),
                                               .certificate_file = files.cert.string(),
                                               .private_key_file = files.key.string()});
    http::client<get_user, user> with_cert(pool_with_cert, server.url(), get_user_endpoint);
    auto ok = call_user(ioc, with_cert, "4", context::with_timeout(10s));
    REQUIRE(ok.done);
    INFO(describe(ok.ec));
    CHECK_FALSE(ok.ec);
    CHECK(ok.value.id == "4");

    auto pool_without = std::make_shared<http::connection_pool>(ioc.get_executor(),
                                                                http::pool_options{.ca_file = files.cert.string()});
    http::client<get_user, user> without(pool_without, server.url(), get_user_endpoint);
    auto refused = call_user(ioc, without, "5", context::with_timeout(10s));
    REQUIRE(refused.done);
    INFO(describe(refused.ec));
    // TLS 1.3: the client's handshake ends before the server judges its
    // certificate, so the refusal (an alert) arrives on the first read.
    CHECK(tls_error(refused.ec));
    CHECK(refused.took < 5s);
}
