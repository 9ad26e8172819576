// Content assembly on one channel: deliveries, returns and get-oks put
// together from their method, header and body frames (single-frame bodies
// without a copy), and every frame out of order or out of bounds refused.
#include <courier/amqp/content_assembler.hpp>
#include <courier/amqp/frame_reader.hpp>
#include <courier/amqp/frame_writer.hpp>

#include "support/catch.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace amqp = courier::amqp;
using courier::error_code;
using event = amqp::content_assembler::event;

namespace {

// Frames as a broker would send them, owned so they outlive the test's reads.
struct frames {
    std::vector<std::string> payloads;
    std::vector<amqp::frame_type> types;

    template <class M>
    frames& method(const M& m) {
        std::string p;
        REQUIRE_FALSE(amqp::encode_method(p, m));
        return add(amqp::frame_type::method, std::move(p));
    }
    frames& header(std::uint64_t size, const amqp::basic_properties& props = {}, std::uint16_t class_id = 60) {
        std::string p;
        REQUIRE_FALSE(amqp::encode_content_header(p, size, props, class_id));
        return add(amqp::frame_type::header, std::move(p));
    }
    frames& body(std::string b) { return add(amqp::frame_type::body, std::move(b)); }
    frames& add(amqp::frame_type t, std::string p) {
        types.push_back(t);
        payloads.push_back(std::move(p));
        return *this;
    }
    amqp::frame operator[](std::size_t i) const { return {types[i], 1, payloads[i]}; }
    std::size_t size() const { return types.size(); }
};

// Feeds all but the last frame expecting nothing, then returns the last's event.
event feed_all(amqp::content_assembler& a, const frames& f, error_code& ec) {
    for (std::size_t i = 0; i + 1 < f.size(); ++i) {
        CAPTURE(i);
        REQUIRE(a.feed(f[i], ec) == event::none);
        REQUIRE_FALSE(ec);
        CHECK(a.in_content());
    }
    return a.feed(f[f.size() - 1], ec);
}

const amqp::basic_deliver delivery{"ctag", 7, true, "ex", "rk"};

}  // namespace

TEST_CASE("a delivery with a one-frame body is handed out without copying the body", "[amqp][content]") {
    amqp::content_assembler a;
    const frames f = frames{}.method(delivery).header(5, {.content_type = "text/plain"}).body("hello");
    error_code ec;
    REQUIRE(feed_all(a, f, ec) == event::content);
    CHECK_FALSE(ec);
    CHECK_FALSE(a.in_content());
    CHECK(std::get<amqp::basic_deliver>(a.current_method()) == delivery);
    CHECK(a.properties().content_type == "text/plain");
    CHECK(a.body() == "hello");
    CHECK(a.body().data() == f.payloads[2].data());
    CHECK(a.take_body() == "hello");
    CHECK(a.body().empty());
}

TEST_CASE("a body in several frames is assembled and can be moved out", "[amqp][content]") {
    amqp::content_assembler a;
    const std::string part(20, 'p');
    const frames f = frames{}.method(delivery).header(63).body(part).body("").body(part + "0").body(part + "12");
    error_code ec;
    REQUIRE(feed_all(a, f, ec) == event::content);
    const std::string whole = part + part + "0" + part + "12";
    CHECK(a.body() == whole);
    const char* storage = a.body().data();
    std::string owned = a.take_body();
    CHECK(owned == whole);
    CHECK(owned.data() == storage);  // moved, not copied

    // The next delivery decodes over the same storage.
    const frames g = frames{}.method(amqp::basic_deliver{"ctag", 8}).header(0);
    REQUIRE(feed_all(a, g, ec) == event::content);
    CHECK(std::get<amqp::basic_deliver>(a.current_method()).delivery_tag == 8);
    CHECK(a.body().empty());
}

TEST_CASE("an empty body completes at its header", "[amqp][content]") {
    amqp::content_assembler a;
    error_code ec;
    const frames f = frames{}.method(amqp::basic_get_ok{1, false, "", "q", 0}).header(0, {.message_id = "m"});
    REQUIRE(feed_all(a, f, ec) == event::content);
    CHECK(a.properties().message_id == "m");
    CHECK(a.body().empty());
    // A body frame now has no content to belong to.
    CHECK(a.feed(frames{}.body("x")[0], ec) == event::none);
    CHECK(ec == amqp::error::unexpected_frame);
}

TEST_CASE("returns and get-oks carry content, other methods are events of their own", "[amqp][content]") {
    amqp::content_assembler a;
    error_code ec;
    const frames r = frames{}.method(amqp::basic_return{312, "NO_ROUTE", "x", "k"}).header(2).body("hi");
    REQUIRE(feed_all(a, r, ec) == event::content);
    CHECK(std::get<amqp::basic_return>(a.current_method()).reply_code == 312);

    const frames acks = frames{}.method(amqp::basic_ack{3, true}).method(amqp::basic_nack{4, false, false});
    CHECK(a.feed(acks[0], ec) == event::method);
    CHECK(std::get<amqp::basic_ack>(a.current_method()) == amqp::basic_ack{3, true});
    CHECK(a.feed(acks[1], ec) == event::method);
    CHECK(std::holds_alternative<amqp::basic_nack>(a.current_method()));
    CHECK_FALSE(ec);
    CHECK(a.feed({amqp::frame_type::heartbeat, 0, {}}, ec) == event::none);
    CHECK_FALSE(ec);
}

TEST_CASE("content frames out of order are unexpected", "[amqp][content]") {
    const frames f = frames{}.method(delivery).header(4).body("ab").method(amqp::basic_ack{1}).header(1);
    auto expect_error = [&](std::vector<std::size_t> order, courier::error_code want) {
        amqp::content_assembler a;
        error_code ec;
        for (std::size_t i = 0; i + 1 < order.size(); ++i) {
            a.feed(f[order[i]], ec);
            REQUIRE_FALSE(ec);
        }
        CHECK(a.feed(f[order.back()], ec) == event::none);
        CHECK(ec == want);
        CHECK_FALSE(a.in_content());  // back to the start
    };
    expect_error({1}, amqp::error::unexpected_frame);           // header without method
    expect_error({2}, amqp::error::unexpected_frame);           // body without method
    expect_error({0, 2}, amqp::error::unexpected_frame);        // body before header
    expect_error({0, 3}, amqp::error::unexpected_frame);        // method instead of header
    expect_error({0, 1, 2, 3}, amqp::error::unexpected_frame);  // method inside the body
    expect_error({0, 1, 1}, amqp::error::unexpected_frame);     // second header
}

TEST_CASE("bodies larger than declared are refused", "[amqp][content]") {
    error_code ec;
    SECTION("more body bytes than the header declared") {
        amqp::content_assembler a;
        const frames f = frames{}.method(delivery).header(3).body("ab").body("cd");
        a.feed(f[0], ec), a.feed(f[1], ec), a.feed(f[2], ec);
        REQUIRE_FALSE(ec);
        CHECK(a.feed(f[3], ec) == event::none);
        CHECK(ec == amqp::error::body_size_mismatch);
        const frames g = frames{}.method(delivery).header(3).body("abcd");
        amqp::content_assembler b;
        CHECK(feed_all(b, g, ec) == event::none);
        CHECK(ec == amqp::error::body_size_mismatch);
    }
    SECTION("a declared size at the limit is a content") {
        amqp::content_assembler exact(1000);
        const frames h = frames{}.method(delivery).header(1000).body(std::string(1000, 'b'));
        CHECK(feed_all(exact, h, ec) == event::content);
        CHECK_FALSE(ec);
        CHECK_FALSE(exact.too_large());
    }
    SECTION("a header of another class than its method") {
        amqp::content_assembler a;
        const frames f = frames{}.method(delivery).header(1, {}, 50);
        CHECK(feed_all(a, f, ec) == event::none);
        CHECK(ec == amqp::error::bad_content_header);
    }
    SECTION("a malformed method or header") {
        amqp::content_assembler a;
        CHECK(a.feed({amqp::frame_type::method, 1, "\0<\0<"}, ec) == event::none);
        CHECK(ec == amqp::error::truncated_payload);
        const frames f = frames{}.method(delivery).add(amqp::frame_type::header, "\0<");
        CHECK(feed_all(a, f, ec) == event::none);
        CHECK(ec == amqp::error::truncated_payload);
    }
}

TEST_CASE("a content over the limit is streamed frame by frame, not kept", "[amqp][content]") {
    error_code ec;
    amqp::content_assembler a(4);
    const amqp::basic_properties props{.message_id = "big"};
    const frames f = frames{}.method(delivery).header(7, props).body("abc").body("defg").method(delivery).header(2).body("hi");
    REQUIRE(a.feed(f[0], ec) == event::none);
    // Reported at its header, with the method and properties, nothing kept.
    REQUIRE(a.feed(f[1], ec) == event::large_content);
    CHECK(a.too_large());
    CHECK(a.body_size() == 7);
    CHECK(a.body().empty());
    CHECK(a.properties().message_id == "big");
    CHECK(std::get<amqp::basic_deliver>(a.current_method()).delivery_tag == 7);
    CHECK(a.in_content());
    REQUIRE(a.feed(f[2], ec) == event::large_part);
    CHECK(a.body() == "abc");
    CHECK(a.in_content());
    REQUIRE(a.feed(f[3], ec) == event::large_part);
    CHECK(a.body() == "defg");
    CHECK_FALSE(a.in_content());
    CHECK_FALSE(ec);
    // The next content, within the limit, is assembled as usual.
    REQUIRE(a.feed(f[4], ec) == event::none);
    REQUIRE(a.feed(f[5], ec) == event::none);
    CHECK_FALSE(a.too_large());
    REQUIRE(a.feed(f[6], ec) == event::content);
    CHECK(a.body() == "hi");

    SECTION("even one that declares 2^64 - 1 bytes: nothing is set aside for it") {
        amqp::content_assembler huge(1000);
        const frames g = frames{}.method(delivery).header(~std::uint64_t{0}).body("x");
        REQUIRE(huge.feed(g[0], ec) == event::none);
        CHECK(huge.feed(g[1], ec) == event::large_content);
        CHECK(huge.feed(g[2], ec) == event::large_part);
        CHECK(huge.in_content());
        CHECK_FALSE(ec);
    }
    SECTION("an empty body under a limit of 0 is an ordinary content") {
        amqp::content_assembler zero(0);
        const frames g = frames{}.method(delivery).header(0);
        REQUIRE(zero.feed(g[0], ec) == event::none);
        CHECK(zero.feed(g[1], ec) == event::content);
        CHECK_FALSE(zero.too_large());
    }
    SECTION("more bytes than declared still fail") {
        amqp::content_assembler b(2);
        const frames g = frames{}.method(delivery).header(3).body("abcd");
        REQUIRE(b.feed(g[0], ec) == event::none);
        REQUIRE(b.feed(g[1], ec) == event::large_content);
        CHECK(b.feed(g[2], ec) == event::none);
        CHECK(ec == amqp::error::body_size_mismatch);
        CHECK_FALSE(b.in_content());
    }
}

TEST_CASE("a reader and an assembler take a whole publish back apart", "[amqp][content]") {
    std::string wire;
    const std::string body(20000, 'p');
    const amqp::basic_properties props{.headers = amqp::field_table{{"h", 1}}, .timestamp = 1700000000};
    for (int i = 0; i < 3; ++i)
        REQUIRE_FALSE(amqp::append_publish(wire, 1, {.exchange = "x", .routing_key = "k"}, props, body, 4096));
    amqp::frame_reader reader(4096);
    amqp::content_assembler a;
    error_code ec;
    int contents = 0;
    std::string_view rest = wire;
    while (!rest.empty() && !ec) {
        rest.remove_prefix(reader.feed(rest.substr(0, 1500)));
        while (auto f = reader.next(ec)) {
            if (a.feed(*f, ec) == event::content) {
                ++contents;
                CHECK(a.body() == body);
                CHECK(a.properties() == props);
            }
            REQUIRE_FALSE(ec);
        }
    }
    CHECK_FALSE(ec);
    CHECK(contents == 3);
}
