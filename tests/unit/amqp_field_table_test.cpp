// AMQP field tables: every value type against its wire bytes (RabbitMQ's
// tags), round trips, the table's lookups, and hostile input: unknown tags,
// lengths past the end, nesting past the limit.
#include <courier/amqp/field_table.hpp>

#include "support/catch.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace amqp = courier::amqp;

namespace {

std::string be(std::uint64_t v, int n) {
    std::string s;
    for (int i = n - 1; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
    return s;
}

// A table with one entry "v" holding the value whose tag and bytes follow.
std::string one_entry(char tag, std::string_view value_bytes) {
    std::string body = "\x01v";
    body.push_back(tag);
    body.append(value_bytes);
    return be(body.size(), 4) + body;
}

amqp::field_table decode_ok(std::string_view bytes) {
    amqp::field_table t;
    std::string_view in = bytes;
    REQUIRE_FALSE(amqp::decode_field_table(in, t));
    CHECK(in.empty());
    return t;
}

std::string encode_ok(const amqp::field_table& t) {
    std::string out;
    REQUIRE_FALSE(amqp::encode_field_table(out, t));
    return out;
}

// A table nested `depth` deep: {"n": {"n": ... {}}} (depth 1 is {}).
amqp::field_table nested_tables(unsigned depth) {
    amqp::field_table t;
    for (unsigned i = 1; i < depth; ++i) t = amqp::field_table{{"n", std::move(t)}};
    return t;
}

}  // namespace

TEST_CASE("every field value type has RabbitMQ's tag and big-endian bytes", "[amqp][field_table]") {
    struct sample {
        amqp::field_value value;
        char tag;
        std::string bytes;
    };
    const sample samples[] = {
        {true, 't', "\x01"},
        {false, 't', std::string(1, '\0')},
        {std::int8_t{-2}, 'b', "\xfe"},
        {std::uint8_t{200}, 'B', "\xc8"},
        {std::int16_t{-2}, 's', "\xff\xfe"},
        {std::uint16_t{0xabcd}, 'u', "\xab\xcd"},
        {std::int32_t{-2}, 'I', "\xff\xff\xff\xfe"},
        {std::uint32_t{0x01020304}, 'i', "\x01\x02\x03\x04"},
        {std::int64_t{-2}, 'l', "\xff\xff\xff\xff\xff\xff\xff\xfe"},
        {1.5f, 'f', be(0x3fc00000, 4)},
        {-2.25, 'd', be(0xc002000000000000, 8)},
        {amqp::decimal{2, 12345}, 'D', "\x02" + be(12345, 4)},
        {std::string("h\0i", 3), 'S', be(3, 4) + std::string("h\0i", 3)},
        {amqp::field_array{std::int32_t{1}, std::string("a")}, 'A', be(11, 4) + "I" + be(1, 4) + "S" + be(1, 4) + "a"},
        {amqp::timestamp{1700000000}, 'T', be(1700000000, 8)},
        {amqp::field_table{{"k", true}}, 'F', be(4, 4) + "\x01kt\x01"},
        {amqp::field_value{}, 'V', ""},
        {amqp::byte_array{std::string("\x00\xff", 2)}, 'x', be(2, 4) + std::string("\x00\xff", 2)},
    };
    for (const auto& s : samples) {
        CAPTURE(s.tag);
        CHECK(s.value.tag() == s.tag);
        const std::string wire = one_entry(s.tag, s.bytes);
        CHECK(encode_ok(amqp::field_table{{"v", s.value}}) == wire);
        const auto t = decode_ok(wire);
        REQUIRE(t.size() == 1);
        CHECK(*t.find("v") == s.value);
        CHECK(t.find("v")->index() == s.value.index());
    }
}

TEST_CASE("a table of every type round-trips, order and duplicates kept", "[amqp][field_table]") {
    amqp::field_table inner{{"deep", amqp::field_array{amqp::field_table{{"x", std::int64_t{-1}}}}}};
    amqp::field_table t{
        {"bool", true},
        {"i8", std::int8_t{-128}},
        {"u8", std::uint8_t{255}},
        {"i16", std::int16_t{-32768}},
        {"u16", std::uint16_t{65535}},
        {"i32", std::numeric_limits<std::int32_t>::min()},
        {"u32", std::numeric_limits<std::uint32_t>::max()},
        {"i64", std::numeric_limits<std::int64_t>::min()},
        {"float", 3.25f},
        {"double", 1e300},
        {"decimal", amqp::decimal{255, 0xffffffff}},
        {"string", std::string(300, 's')},
        {"array", amqp::field_array{true, amqp::field_value{}, 2.5, amqp::field_array{}}},
        {"time", amqp::timestamp{0xffffffffffffffff}},
        {"table", inner},
        {"void", amqp::field_value{}},
        {"bytes", amqp::byte_array{std::string(3, '\0')}},
        {"bool", false},
    };
    const std::string wire = encode_ok(t);
    const auto back = decode_ok(wire);
    CHECK(back == t);
    CHECK(back.size() == 18);
    CHECK(*back.find("bool") == amqp::field_value{true});  // the first of two
    CHECK(encode_ok(back) == wire);
}

TEST_CASE("a NaN travels bit for bit though it equals nothing", "[amqp][field_table]") {
    const amqp::field_table t{{"nan", std::numeric_limits<double>::quiet_NaN()}};
    const auto back = decode_ok(encode_ok(t));
    CHECK(std::isnan(*back.find("nan")->get_if<double>()));
    CHECK(encode_ok(back) == encode_ok(t));
}

TEST_CASE("field tables look up, replace and erase by name", "[amqp][field_table]") {
    amqp::field_table t;
    CHECK(t.empty());
    CHECK(t.find("a") == nullptr);
    t.set("a", 1);
    t.set("b", std::string("two"));
    t.set("a", 3);  // replaced in place
    REQUIRE(t.size() == 2);
    CHECK(t.begin()->first == "a");
    CHECK(*t.find("a") == amqp::field_value{3});
    t.push_back("a", 4);  // duplicates are allowed when asked for
    CHECK(t.size() == 3);
    CHECK(t.erase("a"));
    CHECK(t.size() == 1);
    CHECK_FALSE(t.erase("a"));
    CHECK(t.contains("b"));
    CHECK(t.find("b")->is<std::string>());
    CHECK(t.find("b")->get_if<std::int32_t>() == nullptr);
    t.clear();
    CHECK(t.empty());
    CHECK(encode_ok(t) == be(0, 4));
}

TEST_CASE("decoding consumes exactly one table and leaves the rest", "[amqp][field_table]") {
    const std::string wire = one_entry('t', "\x01") + "rest";
    std::string_view in = wire;
    amqp::field_table t{{"old", 1}};
    REQUIRE_FALSE(amqp::decode_field_table(in, t));
    CHECK(in == "rest");
    CHECK(t.size() == 1);
    CHECK_FALSE(t.contains("old"));
}

TEST_CASE("a table cut short anywhere is truncated and consumes nothing", "[amqp][field_table]") {
    const std::string wire = encode_ok(amqp::field_table{
        {"s", std::string("abc")}, {"a", amqp::field_array{std::int16_t{1}, amqp::field_table{{"d", 1.0}}}},
        {"x", amqp::byte_array{"zz"}}, {"D", amqp::decimal{1, 2}}});
    for (std::size_t n = 0; n < wire.size(); ++n) {
        CAPTURE(n);
        std::string_view in = std::string_view(wire).substr(0, n);
        amqp::field_table t;
        CHECK(amqp::decode_field_table(in, t) == amqp::error::truncated_payload);
        CHECK(in.size() == n);
    }
    // Inner lengths that overrun their container, though the input goes on.
    for (std::string body : {std::string("\x01vS\x00\x00\x00\x09", 8) + "abc",  // string past the table
                             std::string("\x01vA\x00\x00\x00\x02I\x00", 10),   // value past its array
                             std::string("\x05v", 2),                           // name past the table
                             std::string("\x01vt", 3)}) {                       // value missing
        const std::string w = be(body.size(), 4) + body + std::string(64, '\0');
        std::string_view in = w;
        amqp::field_table t;
        CHECK(amqp::decode_field_table(in, t) == amqp::error::truncated_payload);
    }
}

TEST_CASE("huge declared lengths fail without allocating them", "[amqp][field_table]") {
    std::string_view in = "\xff\xff\xff\xff";
    amqp::field_table t;
    CHECK(amqp::decode_field_table(in, t) == amqp::error::truncated_payload);
    const std::string s = one_entry('S', "\xff\xff\xff\xf0");
    in = s;
    CHECK(amqp::decode_field_table(in, t) == amqp::error::truncated_payload);
}

TEST_CASE("unknown value tags are rejected, including the spec's replaced ones", "[amqp][field_table]") {
    for (char tag : {'U', 'L', 'Z', '\0', 'e'}) {
        CAPTURE(tag);
        const std::string wire = one_entry(tag, std::string(8, '\0'));
        std::string_view in = wire;
        amqp::field_table t;
        CHECK(amqp::decode_field_table(in, t) == amqp::error::bad_field_type);
    }
    const std::string in_array = one_entry('A', be(1, 4) + "?");
    std::string_view in = in_array;
    amqp::field_table t;
    CHECK(amqp::decode_field_table(in, t) == amqp::error::bad_field_type);
}

TEST_CASE("nesting is limited on decode and on encode", "[amqp][field_table]") {
    const auto limit = amqp::max_nesting_depth;
    const std::string at_limit = encode_ok(nested_tables(limit));
    decode_ok(at_limit);

    // One deeper: hand-built, since the encoder refuses it.
    std::string deeper = be(0, 4);
    for (unsigned i = 1; i <= limit; ++i) {
        std::string body = "\x01nF" + deeper;
        deeper = be(body.size(), 4) + body;
    }
    std::string_view in = deeper;
    amqp::field_table t;
    CHECK(amqp::decode_field_table(in, t) == amqp::error::nesting_too_deep);
    in = at_limit;
    CHECK(amqp::decode_field_table(in, t, 3) == amqp::error::nesting_too_deep);
    in = at_limit;
    CHECK(amqp::decode_field_table(in, t, 0) == amqp::error::nesting_too_deep);

    // Arrays count as levels too.
    amqp::field_value v = amqp::field_array{};
    for (unsigned i = 1; i < limit; ++i) v = amqp::field_array{std::move(v)};
    std::string out = "kept";
    CHECK(amqp::encode_field_table(out, amqp::field_table{{"a", v}}) == amqp::error::nesting_too_deep);
    CHECK(out == "kept");
    CHECK(amqp::encode_field_table(out, nested_tables(limit + 1)) == amqp::error::nesting_too_deep);
    CHECK(out == "kept");

    // A million levels of arrays, every length consistent: refused at the
    // limit, not a stack overflow.
    const std::size_t levels = 1000000;
    std::string arrays;
    arrays.reserve(levels * 5);
    for (std::size_t k = levels; k >= 1; --k) arrays += "A" + be(5 * (k - 1), 4);
    const std::string hostile = be(2 + arrays.size(), 4) + "\x01v" + arrays;
    in = hostile;
    CHECK(amqp::decode_field_table(in, t) == amqp::error::nesting_too_deep);
}

TEST_CASE("names over 255 bytes cannot be encoded", "[amqp][field_table]") {
    std::string out;
    CHECK(amqp::encode_field_table(out, amqp::field_table{{std::string(256, 'n'), 1}}) ==
          amqp::error::field_too_long);
    CHECK(out.empty());
    CHECK_FALSE(amqp::encode_field_table(out, amqp::field_table{{std::string(255, 'n'), 1}}));
}
