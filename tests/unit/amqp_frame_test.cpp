// AMQP framing: frames written byte for byte as the spec lays them out,
// bodies split by frame_max, and the reader cutting frames out of bytes
// however they arrive, rejecting every malformed or oversized frame, and
// recognising a server that refuses 0-9-1.
#include <courier/amqp/frame_reader.hpp>
#include <courier/amqp/frame_writer.hpp>

#include "support/catch.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace amqp = courier::amqp;
using courier::error_code;

namespace {

std::string frame_bytes(std::uint8_t type, std::uint16_t channel, std::string_view payload, char end = '\xce') {
    std::string s;
    s.push_back(static_cast<char>(type));
    s.push_back(static_cast<char>(channel >> 8));
    s.push_back(static_cast<char>(channel));
    const auto n = static_cast<std::uint32_t>(payload.size());
    for (int shift : {24, 16, 8, 0}) s.push_back(static_cast<char>(n >> shift));
    s.append(payload);
    s.push_back(end);
    return s;
}

struct read_frame {
    amqp::frame_type type;
    std::uint16_t channel;
    std::string payload;  // copied: the reader's view ends at the next feed
    friend bool operator==(const read_frame&, const read_frame&) = default;
};

// Feeds `bytes` in pieces of `step` bytes, taking frames as they complete.
std::vector<read_frame> read_all(amqp::frame_reader& reader, std::string_view bytes, std::size_t step,
                                 error_code& ec) {
    std::vector<read_frame> frames;
    while (!ec) {
        while (auto f = reader.next(ec)) frames.push_back({f->type, f->channel, std::string(f->payload)});
        if (ec || bytes.empty()) break;
        const std::size_t taken = reader.feed(bytes.substr(0, step));
        REQUIRE(taken > 0);
        bytes.remove_prefix(taken);
    }
    return frames;
}

std::vector<read_frame> read_all(std::string_view bytes, std::size_t step = 1 << 20,
                                 std::uint32_t frame_max = amqp::default_frame_max) {
    amqp::frame_reader reader(frame_max);
    error_code ec;
    auto frames = read_all(reader, bytes, step, ec);
    REQUIRE_FALSE(ec);
    CHECK(reader.buffered() == 0);
    return frames;
}

error_code read_error(std::string_view bytes, std::uint32_t frame_max = amqp::frame_min_size) {
    amqp::frame_reader reader(frame_max);
    error_code ec;
    read_all(reader, bytes, 1 << 20, ec);
    return ec;
}

}  // namespace

TEST_CASE("frames are written as the spec lays them out", "[amqp][frame]") {
    std::string out;
    amqp::append_protocol_header(out);
    CHECK(out == std::string("AMQP\0\0\x09\x01", 8));

    out.clear();
    amqp::append_heartbeat_frame(out);
    CHECK(out == std::string("\x08\0\0\0\0\0\0\xce", 8));

    out.clear();
    REQUIRE_FALSE(amqp::append_method_frame(out, 0x0102, amqp::basic_ack{5, true}));
    CHECK(out == frame_bytes(1, 0x0102, std::string("\0\x3c\0\x50\0\0\0\0\0\0\0\x05\x01", 13)));

    out.clear();
    REQUIRE_FALSE(amqp::append_header_frame(out, 1, 3, {.delivery_mode = 2}));
    CHECK(out == frame_bytes(2, 1, std::string("\0\x3c\0\0\0\0\0\0\0\0\0\x03\x10\0\x02", 15)));

    // Through the variant, appending after what is there.
    out = "x";
    REQUIRE_FALSE(amqp::append_method_frame(out, 0, amqp::method{amqp::channel_close_ok{}}));
    CHECK(out == "x" + frame_bytes(1, 0, std::string("\0\x14\0\x29", 4)));
}

TEST_CASE("bodies are split so that no frame exceeds frame_max, overhead included", "[amqp][frame]") {
    const std::uint32_t frame_max = 4096;
    const std::size_t per_frame = frame_max - amqp::frame_overhead;  // 4088
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, per_frame - 1, per_frame, per_frame + 1, 2 * per_frame,
                             3 * per_frame + 7}) {
        CAPTURE(size);
        std::string body(size, '\0');
        for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>(i * 31);
        std::string out;
        amqp::append_body_frames(out, 9, body, frame_max);
        const auto frames = read_all(out, 1 << 20, frame_max);
        CHECK(frames.size() == (size + per_frame - 1) / per_frame);  // 0 bytes: no frame at all
        std::string joined;
        for (const auto& f : frames) {
            CHECK(f.type == amqp::frame_type::body);
            CHECK(f.channel == 9);
            CHECK(f.payload.size() <= per_frame);
            CHECK_FALSE(f.payload.empty());
            joined += f.payload;
        }
        CHECK(joined == body);
        CHECK(out.size() == size + frames.size() * amqp::frame_overhead);
    }
    // No limit: one frame; a limit under the spec's minimum counts as the minimum.
    std::string out;
    amqp::append_body_frames(out, 1, std::string(10000, 'b'), 0);
    CHECK(read_all(out).size() == 1);
    out.clear();
    amqp::append_body_frames(out, 1, std::string(10000, 'b'), 100);
    CHECK(read_all(out).size() == 3);
}

TEST_CASE("a publish is its method, its header and its body frames", "[amqp][frame]") {
    std::string out = "prefix";
    const amqp::basic_properties props{.content_type = "application/json", .correlation_id = "c-1"};
    const std::string body(5000, 'j');
    REQUIRE_FALSE(amqp::append_publish(out, 3, {.exchange = "x", .routing_key = "k"}, props, body, 4096));
    REQUIRE(out.starts_with("prefix"));
    const auto frames = read_all(std::string_view(out).substr(6));
    REQUIRE(frames.size() == 4);
    CHECK(frames[0].type == amqp::frame_type::method);
    CHECK(std::get<amqp::basic_publish>(*amqp::decode_method(frames[0].payload)) ==
          amqp::basic_publish{.exchange = "x", .routing_key = "k"});
    amqp::content_header h;
    REQUIRE_FALSE(amqp::decode_content_header(frames[1].payload, h));
    CHECK(h.body_size == 5000);
    CHECK(h.properties == props);
    CHECK(frames[2].payload.size() == 4088);
    CHECK(frames[3].payload.size() == 5000 - 4088);

    // An empty body: method and header only.
    out.clear();
    REQUIRE_FALSE(amqp::append_publish(out, 3, {}, {}, "", 4096));
    CHECK(read_all(out).size() == 2);

    // A failure appends nothing.
    out = "prefix";
    CHECK(amqp::append_publish(out, 3, {.routing_key = std::string(300, 'k')}, {}, body, 4096) ==
          amqp::error::field_too_long);
    CHECK(out == "prefix");
    CHECK(amqp::append_publish(out, 3, {}, {.headers = amqp::field_table{{"big", std::string(5000, 'h')}}}, body,
                               4096) == amqp::error::frame_too_large);
    CHECK(out == "prefix");
}

TEST_CASE("a method that does not fit one frame is refused", "[amqp][frame]") {
    amqp::queue_declare q;
    q.arguments.set("x", std::string(4096, 'a'));
    std::string out;
    CHECK(amqp::append_method_frame(out, 1, q, 4096) == amqp::error::frame_too_large);
    CHECK(out.empty());
    CHECK_FALSE(amqp::append_method_frame(out, 1, q, 8192));
    CHECK_FALSE(amqp::append_method_frame(out, 1, q, 0));
}

TEST_CASE("the reader yields the same frames however the bytes are cut", "[amqp][frame]") {
    std::string stream;
    REQUIRE_FALSE(amqp::append_method_frame(stream, 1, amqp::basic_deliver{"tag", 1, false, "ex", "key"}));
    REQUIRE_FALSE(amqp::append_header_frame(stream, 1, 9000, {.message_id = "m"}));
    amqp::append_body_frames(stream, 1, std::string(9000, 'b'), 4096);
    amqp::append_heartbeat_frame(stream);
    REQUIRE_FALSE(amqp::append_method_frame(stream, 65535, amqp::channel_close_ok{}));

    const auto whole = read_all(stream);
    REQUIRE(whole.size() == 7);
    CHECK(whole[5].type == amqp::frame_type::heartbeat);
    CHECK(whole[6].channel == 65535);
    for (std::size_t step : {1, 2, 3, 7, 8, 100, 4095, 4096, 4097}) {
        CAPTURE(step);
        CHECK(read_all(stream, step) == whole);
    }
}

TEST_CASE("a frame cut at any byte waits for the rest without error", "[amqp][frame]") {
    std::string frame;
    REQUIRE_FALSE(amqp::append_method_frame(frame, 7, amqp::basic_consume_ok{"amq.ctag-xyz"}));
    for (std::size_t n = 0; n < frame.size(); ++n) {
        CAPTURE(n);
        amqp::frame_reader reader;
        error_code ec;
        REQUIRE(reader.feed(std::string_view(frame).substr(0, n)) == n);
        CHECK_FALSE(reader.next(ec));
        CHECK_FALSE(ec);
        CHECK(reader.buffered() == n);
        REQUIRE(reader.feed(std::string_view(frame).substr(n)) == frame.size() - n);
        auto f = reader.next(ec);
        REQUIRE(f);
        CHECK(f->channel == 7);
        CHECK(frame.ends_with(std::string(f->payload) + '\xce'));
        CHECK_FALSE(reader.next(ec));
        CHECK_FALSE(ec);
    }
}

TEST_CASE("the reader rejects malformed frames and stays failed", "[amqp][frame]") {
    SECTION("a frame end other than 0xCE") {
        CHECK(read_error(frame_bytes(1, 0, "abcd", '\xcd')) == amqp::error::bad_frame_end);
        CHECK(read_error(frame_bytes(3, 1, "", '\0')) == amqp::error::bad_frame_end);
    }
    SECTION("an unknown frame type, seen from its first byte") {
        for (std::uint8_t type : {0, 4, 7, 9, 0xce, 0xff}) {
            CAPTURE(type);
            CHECK(read_error(std::string(1, static_cast<char>(type))) == amqp::error::bad_frame_type);
        }
    }
    SECTION("a heartbeat on a channel, or with a payload") {
        CHECK(read_error(frame_bytes(8, 1, "")) == amqp::error::bad_heartbeat);
        CHECK(read_error(frame_bytes(8, 0, "x")) == amqp::error::bad_heartbeat);
    }
    SECTION("the error is sticky: the connection must be closed") {
        amqp::frame_reader reader;
        error_code ec;
        reader.feed(frame_bytes(1, 0, "abcd", 'x') + frame_bytes(8, 0, ""));
        CHECK_FALSE(reader.next(ec));
        CHECK(ec == amqp::error::bad_frame_end);
        CHECK_FALSE(reader.next(ec));
        CHECK(ec == amqp::error::bad_frame_end);
        reader.reset();
        CHECK_FALSE(reader.next(ec));
        CHECK_FALSE(ec);
    }
}

TEST_CASE("frames over frame_max are refused from their header, before tune and after", "[amqp][frame]") {
    const std::string max_before_tune = frame_bytes(1, 0, std::string(4096 - 8, 'p'));
    CHECK_FALSE(read_error(max_before_tune, amqp::frame_min_size));
    // One byte more, and the payload need not even be there.
    const std::string header_only = frame_bytes(1, 0, std::string(4096 - 7, 'p')).substr(0, 7);
    CHECK(read_error(header_only, amqp::frame_min_size) == amqp::error::frame_too_large);
    CHECK(read_error(std::string("\x03\0\x01\xff\xff\xff\xff", 7), amqp::frame_min_size) ==
          amqp::error::frame_too_large);

    amqp::frame_reader reader;
    CHECK(reader.frame_max() == amqp::frame_min_size);
    reader.set_frame_max(131072);
    error_code ec;
    const std::string big = frame_bytes(3, 1, std::string(131072 - 8, 'b'));
    auto frames = read_all(reader, big, 5000, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].payload.size() == 131064);
    read_all(reader, frame_bytes(3, 1, std::string(131072 - 7, 'b')).substr(0, 7), 1, ec);
    CHECK(ec == amqp::error::frame_too_large);

    // Limits the spec does not allow are raised to its minimum; 0 gets a cap.
    reader.set_frame_max(10);
    CHECK(reader.frame_max() == amqp::frame_min_size);
    reader.set_frame_max(0);
    CHECK(reader.frame_max() == amqp::frame_reader::unlimited_frame_max);
}

TEST_CASE("the reader's buffer never outgrows frame_max", "[amqp][frame]") {
    amqp::frame_reader reader(8192);
    error_code ec;
    std::string stream;
    for (int i = 0; i < 50; ++i) amqp::append_body_frames(stream, 1, std::string(8185 + i, 'z'), 8192);
    std::size_t largest_region = 0, frames = 0;
    std::string_view rest = stream;
    while (!rest.empty()) {
        auto region = reader.prepare();
        REQUIRE_FALSE(region.empty());
        largest_region = std::max(largest_region, region.size());
        const std::size_t n = std::min(region.size(), rest.size());
        std::copy_n(rest.data(), n, region.data());
        reader.commit(n);
        rest.remove_prefix(n);
        while (auto f = reader.next(ec)) ++frames;
        REQUIRE_FALSE(ec);
    }
    CHECK(frames == 100);  // over 8184 bytes: two frames each
    CHECK(largest_region <= 8192);
}

TEST_CASE("frames read in one go stay valid together until the next prepare", "[amqp][frame]") {
    std::string stream;
    for (std::uint16_t ch = 1; ch <= 20; ++ch) amqp::append_body_frames(stream, ch, std::string(ch, 'a' + ch), 0);
    amqp::frame_reader reader(amqp::default_frame_max);
    REQUIRE(reader.feed(stream) == stream.size());
    error_code ec;
    std::vector<amqp::frame> frames;
    while (auto f = reader.next(ec)) frames.push_back(*f);
    REQUIRE(frames.size() == 20);
    for (std::uint16_t ch = 1; ch <= 20; ++ch)
        CHECK(frames[ch - 1u].payload == std::string(ch, static_cast<char>('a' + ch)));
}

TEST_CASE("a server that refuses 0-9-1 is told apart from garbage", "[amqp][frame]") {
    amqp::frame_reader reader;
    error_code ec;
    reader.feed("AMQP");
    CHECK_FALSE(reader.next(ec));
    CHECK_FALSE(ec);  // the version is still to come
    reader.feed(std::string("\x00\x01\x00\x00", 4));
    CHECK_FALSE(reader.next(ec));
    CHECK(ec == amqp::error::protocol_version_mismatch);
    CHECK(reader.server_protocol_header() == std::string("AMQP\0\x01\0\0", 8));
    CHECK(ec.message().find("rejected AMQP 0-9-1") != std::string::npos);

    CHECK(read_error("AMQX") == amqp::error::bad_frame_type);
    CHECK(read_error("AB") == amqp::error::bad_frame_type);
    // Once a frame came, an 'A' is just a bad frame type.
    CHECK(read_error(frame_bytes(8, 0, "") + "AMQP\0\0\x09\x01") == amqp::error::bad_frame_type);
    amqp::frame_reader fresh;
    CHECK(fresh.server_protocol_header().empty());
}

TEST_CASE("negotiate_frame_max takes the smaller limit and never none", "[amqp][frame]") {
    CHECK(amqp::negotiate_frame_max(131072, 65536) == 65536);
    CHECK(amqp::negotiate_frame_max(0, 65536) == 65536);
    CHECK(amqp::negotiate_frame_max(65536, 0) == 65536);
    CHECK(amqp::negotiate_frame_max(0, 0) == amqp::default_frame_max);
    CHECK(amqp::negotiate_frame_max(100, 0) == amqp::frame_min_size);
}
