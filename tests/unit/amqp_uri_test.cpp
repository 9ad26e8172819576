// amqp:// and amqps:// URIs: defaults, percent-decoding, the vhost rules,
// query parameters, and a diagnostic for each way a URI can be unusable.
#include <courier/amqp/uri.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <string>

namespace amqp = courier::amqp;
using courier::error_code;

namespace {

amqp::uri parse_ok(std::string_view text) {
    error_code ec;
    std::string why;
    amqp::uri u = amqp::parse_uri(text, ec, &why);
    CAPTURE(text, why);
    REQUIRE_FALSE(ec);
    return u;
}

std::string parse_error(std::string_view text) {
    error_code ec;
    std::string why;
    amqp::parse_uri(text, ec, &why);
    CAPTURE(text);
    CHECK(ec == amqp::error::bad_uri);
    CHECK_FALSE(why.empty());
    return why;
}

}  // namespace

TEST_CASE("an amqp URI with nothing but a scheme takes every default", "[amqp][uri]") {
    const amqp::uri u = parse_ok("amqp://");
    CHECK(u == amqp::uri{});
    CHECK_FALSE(u.tls);
    CHECK(u.host == "localhost");
    CHECK(u.port == 5672);
    CHECK(u.user == "guest");
    CHECK(u.password == "guest");
    CHECK(u.vhost == "/");
    CHECK_FALSE(u.heartbeat);
    CHECK(parse_ok("amqp://localhost/") == amqp::uri{});
    CHECK(parse_ok("AMQP://localhost") == amqp::uri{});
}

TEST_CASE("amqps defaults to TLS on port 5671", "[amqp][uri]") {
    const amqp::uri u = parse_ok("amqps://broker.internal");
    CHECK(u.tls);
    CHECK(u.port == 5671);
    CHECK(u.host == "broker.internal");
    CHECK(parse_ok("amqps://broker.internal:5999").port == 5999);
}

TEST_CASE("every part of a full URI is taken, percent-decoded", "[amqp][uri]") {
    const amqp::uri u = parse_ok(
        "amqp://us%40er:p%3Aw%2Fd@rabbit-1.example:5673/prod%2Forders"
        "?heartbeat=30&frame_max=65536&channel_max=128&connection_timeout=2500");
    CHECK(u.user == "us@er");
    CHECK(u.password == "p:w/d");
    CHECK(u.host == "rabbit-1.example");
    CHECK(u.port == 5673);
    CHECK(u.vhost == "prod/orders");
    CHECK(u.heartbeat == 30);
    CHECK(u.frame_max == 65536u);
    CHECK(u.channel_max == 128);
    CHECK(u.connection_timeout == std::chrono::milliseconds(2500));
}

TEST_CASE("the vhost follows RabbitMQ's URI rules", "[amqp][uri]") {
    CHECK(parse_ok("amqp://h/%2f").vhost == "/");
    CHECK(parse_ok("amqp://h/%2F").vhost == "/");
    CHECK(parse_ok("amqp://h").vhost == "/");
    CHECK(parse_ok("amqp://h/").vhost == "/");
    CHECK(parse_ok("amqp://h/staging").vhost == "staging");
    CHECK(parse_ok("amqp://h/a%20b").vhost == "a b");
    CHECK(parse_error("amqp://h/a/b").find("one path segment") != std::string::npos);
}

TEST_CASE("user and password may be given apart or empty", "[amqp][uri]") {
    const amqp::uri only_user = parse_ok("amqp://alice@h");
    CHECK(only_user.user == "alice");
    CHECK(only_user.password == "guest");
    const amqp::uri empty = parse_ok("amqp://:@h");
    CHECK(empty.user.empty());
    CHECK(empty.password.empty());
}

TEST_CASE("IP addresses are hosts, IPv6 without its brackets", "[amqp][uri]") {
    CHECK(parse_ok("amqp://127.0.0.1:5672").host == "127.0.0.1");
    const amqp::uri v6 = parse_ok("amqp://[::1]:5673/");
    CHECK(v6.host == "::1");
    CHECK(v6.port == 5673);
}

TEST_CASE("unknown query parameters are ignored, known ones checked", "[amqp][uri]") {
    const amqp::uri u = parse_ok("amqps://h?cacertfile=%2Fetc%2Fca.pem&verify=verify_peer&heartbeat=0");
    CHECK(u.heartbeat == 0);
}

TEST_CASE("unusable URIs fail with bad_uri and say why", "[amqp][uri]") {
    // Each URI, and what its diagnostic must mention.
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"amqp://h?heartbeat=65536", "heartbeat"},
        {"amqp://h?frame_max=-1", "frame_max"},
        {"amqp://h?channel_max=ten", "channel_max"},
        {"amqp://h?connection_timeout=", "connection_timeout"},
        {"amqp://h?heartbeat=10s", "heartbeat"},
        {"http://h", "scheme 'http'"},
        {"amqp:h", "'//'"},
        {"not a uri", "not a URI"},
        {"", "not a URI"},
        {"amqp://h:99999", "99999"},
        {"amqp://h:0", "out of range"},
        {"amqp://h%zz", "not a URI"},
    };
    for (const auto& [text, mention] : cases) {
        CAPTURE(text);
        CHECK(parse_error(text).find(mention) != std::string::npos);
    }
}

TEST_CASE("the throwing form carries the diagnostic but not the URI's secrets", "[amqp][uri]") {
    CHECK(amqp::parse_uri("amqp://u:p@h").host == "h");
    try {
        amqp::parse_uri("amqp://user:s3cret@h:99999");
        FAIL("no exception");
    } catch (const courier::system_error& e) {
        CHECK(e.code() == amqp::error::bad_uri);
        CHECK(e.diagnostic().find("99999") != std::string::npos);
        CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
    }
}
