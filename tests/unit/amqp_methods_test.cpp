// AMQP methods and properties: layouts checked byte by byte against the
// spec's definitions (hand-built payloads, not our encoder's output), every
// method round-tripped with every field set, and every way a payload can be
// wrong: cut short at each byte, trailing bytes, unknown ids.
#include <courier/amqp/methods.hpp>
#include <courier/amqp/properties.hpp>

#include "support/catch.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace amqp = courier::amqp;
using courier::error_code;

namespace {

// Builds expected wire bytes independently of the library's encoder.
struct bytes {
    std::string s;
    bytes& u8(std::uint8_t v) {
        s.push_back(static_cast<char>(v));
        return *this;
    }
    bytes& u16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v)); }
    bytes& u32(std::uint32_t v) {
        return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v));
    }
    bytes& u64(std::uint64_t v) { return u32(static_cast<std::uint32_t>(v >> 32)).u32(static_cast<std::uint32_t>(v)); }
    bytes& shortstr(std::string_view v) {
        u8(static_cast<std::uint8_t>(v.size()));
        s.append(v);
        return *this;
    }
    bytes& longstr(std::string_view v) {
        u32(static_cast<std::uint32_t>(v.size()));
        s.append(v);
        return *this;
    }
    bytes& raw(std::string_view v) {
        s.append(v);
        return *this;
    }
};

template <class M>
std::string encoded(const M& m) {
    std::string out;
    REQUIRE_FALSE(amqp::encode_method(out, m));
    return out;
}

template <class M>
M decoded(std::string_view payload) {
    auto r = amqp::decode_method(payload);
    REQUIRE(r.has_value());
    REQUIRE(std::holds_alternative<M>(*r));
    return std::get<M>(*r);
}

// Gives every field of a method a value that differs from its default and
// from its neighbours: strings longer than the small-string buffer, numbers
// with every byte distinct, bits alternating (or all set).
template <class M, class... F>
void fill(M& m, amqp::detail::field_list<F...>, [[maybe_unused]] bool all_bits) {
    [[maybe_unused]] int i = 0;
    (
        [&] {
            ++i;
            if constexpr (!F::is_reserved) {
                auto& v = m.*amqp::detail::member_of<F>::value;
                using T = std::remove_cvref_t<decltype(v)>;
                if constexpr (std::is_same_v<T, bool>) v = all_bits || i % 2 == 1;
                else if constexpr (std::is_same_v<T, std::string>) v = "field-" + std::to_string(i) + "-of-a-method";
                else if constexpr (std::is_same_v<T, amqp::field_table>)
                    v = amqp::field_table{{"k" + std::to_string(i), std::int32_t{i}}};
                else v = static_cast<T>(0x8877665544332211ull >> (8 * (i % 4)));
            }
        }(),
        ...);
}

template <class M>
void check_round_trip(bool all_bits) {
    M m{};
    fill(m, typename M::fields{}, all_bits);
    const std::string payload = encoded(m);
    CAPTURE(amqp::method_name({M::class_id, M::method_id}));

    // The ids lead the payload.
    REQUIRE(payload.size() >= 4);
    CHECK(payload.substr(0, 4) == bytes{}.u16(M::class_id).u16(M::method_id).s);
    CHECK(decoded<M>(payload) == m);

    // Through the variant, in place, over another method: the same.
    amqp::method holder = amqp::basic_ack{};
    REQUIRE_FALSE(amqp::decode_method(payload, holder));
    CHECK(std::get<M>(holder) == m);
    std::string again;
    REQUIRE_FALSE(amqp::encode_method(again, holder));
    CHECK(again == payload);
    CHECK(amqp::key_of(holder) == amqp::method_key{M::class_id, M::method_id});
    CHECK_FALSE(amqp::method_name(holder).empty());

    // Cut short anywhere: truncated, never a method; one byte too many: trailing.
    for (std::size_t n = 0; n < payload.size(); ++n) {
        CAPTURE(n);
        auto r = amqp::decode_method(std::string_view(payload).substr(0, n));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == amqp::error::truncated_payload);
    }
    auto r = amqp::decode_method(payload + '\0');
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == amqp::error::trailing_bytes);
}

template <std::size_t... I>
void check_every_method(std::index_sequence<I...>, bool all_bits) {
    (check_round_trip<std::variant_alternative_t<I, amqp::method>>(all_bits), ...);
}

}  // namespace

TEST_CASE("every method round-trips with every field set and rejects truncation and trailing bytes",
          "[amqp][methods]") {
    check_every_method(std::make_index_sequence<std::variant_size_v<amqp::method>>{}, false);
    check_every_method(std::make_index_sequence<std::variant_size_v<amqp::method>>{}, true);
}

TEST_CASE("method ids are unique and named as in the spec", "[amqp][methods]") {
    CHECK(amqp::method_name({60, 60}) == "basic.deliver");
    CHECK(amqp::method_name({40, 51}) == "exchange.unbind-ok");
    CHECK(amqp::method_name({10, 11}) == "connection.start-ok");
    CHECK(amqp::method_name({60, 100}).empty());
    CHECK(amqp::carries_content(amqp::basic_deliver{}));
    CHECK(amqp::carries_content(amqp::basic_get_ok{}));
    CHECK(amqp::carries_content(amqp::basic_return{}));
    CHECK(amqp::carries_content(amqp::basic_publish{}));
    CHECK_FALSE(amqp::carries_content(amqp::basic_ack{}));
    CHECK_FALSE(amqp::carries_content(amqp::basic_get_empty{}));
}

TEST_CASE("connection.start as RabbitMQ sends it decodes", "[amqp][methods]") {
    bytes capabilities;
    for (const char* name : {"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                             "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
                             "authentication_failure_close", "per_consumer_qos", "direct_reply_to"})
        capabilities.shortstr(name).u8('t').u8(1);
    bytes props;
    props.shortstr("capabilities").u8('F').longstr(capabilities.s);
    props.shortstr("cluster_name").u8('S').longstr("rabbit@broker");
    props.shortstr("copyright").u8('S').longstr("Copyright (c) 2007-2023 VMware, Inc. or its affiliates.");
    props.shortstr("information").u8('S').longstr("Licensed under the MPL 2.0. Website: https://rabbitmq.com");
    props.shortstr("platform").u8('S').longstr("Erlang/OTP 25.3.2");
    props.shortstr("product").u8('S').longstr("RabbitMQ");
    props.shortstr("version").u8('S').longstr("3.12.2");
    const std::string payload =
        bytes{}.u16(10).u16(10).u8(0).u8(9).longstr(props.s).longstr("AMQPLAIN PLAIN").longstr("en_US").s;

    const auto start = decoded<amqp::connection_start>(payload);
    CHECK(start.version_major == 0);
    CHECK(start.version_minor == 9);
    CHECK(start.mechanisms == "AMQPLAIN PLAIN");
    CHECK(start.locales == "en_US");
    REQUIRE(start.server_properties.size() == 7);
    const auto* product = start.server_properties.find("product");
    REQUIRE(product);
    CHECK(*product->get_if<std::string>() == "RabbitMQ");
    const auto* caps = start.server_properties.find("capabilities");
    REQUIRE(caps);
    REQUIRE(caps->is<amqp::field_table>());
    const auto& table = *caps->get_if<amqp::field_table>();
    CHECK(table.size() == 9);
    CHECK(*table.find("basic.nack") == amqp::field_value{true});
    CHECK(*table.find("direct_reply_to") == amqp::field_value{true});
    // Re-encoded, it is the same bytes: order and types are kept.
    CHECK(encoded(start) == payload);
}

TEST_CASE("method layouts match the spec byte for byte", "[amqp][methods]") {
    SECTION("connection.start-ok with courier's client properties") {
        amqp::connection_start_ok ok{.client_properties = amqp::client_properties("orders"),
                                     .response = amqp::plain_response("guest", "secret")};
        const std::string payload = encoded(ok);
        std::string table;
        REQUIRE_FALSE(amqp::encode_field_table(table, ok.client_properties));
        CHECK(payload ==
              bytes{}.u16(10).u16(11).raw(table).shortstr("PLAIN").longstr(std::string("\0guest\0secret", 13)).shortstr("en_US").s);
        const auto* caps = ok.client_properties.find("capabilities");
        REQUIRE(caps);
        for (const char* cap : {"publisher_confirms", "consumer_cancel_notify", "connection.blocked", "basic.nack",
                                "authentication_failure_close", "per_consumer_qos"})
            CHECK(*caps->get_if<amqp::field_table>()->find(cap) == amqp::field_value{true});
        CHECK(*ok.client_properties.find("connection_name") == amqp::field_value{std::string("orders")});
        CHECK_FALSE(amqp::client_properties().contains("connection_name"));
    }
    SECTION("connection.tune and tune-ok") {
        const std::string p = bytes{}.u16(10).u16(30).u16(2047).u32(131072).u16(60).s;
        CHECK(decoded<amqp::connection_tune>(p) == amqp::connection_tune{2047, 131072, 60});
        CHECK(encoded(amqp::connection_tune_ok{2047, 131072, 60}) == bytes{}.u16(10).u16(31).u16(2047).u32(131072).u16(60).s);
    }
    SECTION("connection.open: vhost, reserved capabilities and insist") {
        CHECK(encoded(amqp::connection_open{"/"}) == bytes{}.u16(10).u16(40).shortstr("/").shortstr("").u8(0).s);
        // A broker's open-ok carries the reserved known-hosts, often empty.
        decoded<amqp::connection_open_ok>(bytes{}.u16(10).u16(41).shortstr("").s);
    }
    SECTION("connection.close and channel.close") {
        const std::string p = bytes{}.u16(20).u16(40).u16(404).shortstr("NOT_FOUND - no queue 'q'").u16(50).u16(10).s;
        const auto close = decoded<amqp::channel_close>(p);
        CHECK(close.reply_code == 404);
        CHECK(close.reply_text == "NOT_FOUND - no queue 'q'");
        CHECK(close.failed_class_id == 50);
        CHECK(close.failed_method_id == 10);
        CHECK(encoded(amqp::connection_close{320, "CONNECTION_FORCED", 0, 0}) ==
              bytes{}.u16(10).u16(50).u16(320).shortstr("CONNECTION_FORCED").u16(0).u16(0).s);
        CHECK(encoded(amqp::connection_close_ok{}) == bytes{}.u16(10).u16(51).s);
    }
    SECTION("channel.open and open-ok with their reserved fields") {
        CHECK(encoded(amqp::channel_open{}) == bytes{}.u16(20).u16(10).shortstr("").s);
        decoded<amqp::channel_open_ok>(bytes{}.u16(20).u16(11).longstr("").s);
        CHECK(encoded(amqp::channel_flow{false}) == bytes{}.u16(20).u16(20).u8(0).s);
    }
    SECTION("exchange.declare packs its five bits in one octet, least significant first") {
        amqp::exchange_declare d{.exchange = "events", .type = "topic", .durable = true, .no_wait = true};
        d.arguments.set("alternate-exchange", std::string("ae"));
        const std::string args =
            bytes{}.shortstr("alternate-exchange").u8('S').longstr("ae").s;
        CHECK(encoded(d) == bytes{}.u16(40).u16(10).u16(0).shortstr("events").shortstr("topic")
                                .u8(0b10010).longstr(args).s);
        CHECK(decoded<amqp::exchange_declare>(encoded(d)) == d);
    }
    SECTION("exchange.bind and unbind (unbind-ok is 51)") {
        CHECK(encoded(amqp::exchange_bind{.destination = "d", .source = "s", .routing_key = "k"}) ==
              bytes{}.u16(40).u16(30).u16(0).shortstr("d").shortstr("s").shortstr("k").u8(0).u32(0).s);
        CHECK(encoded(amqp::exchange_unbind_ok{}) == bytes{}.u16(40).u16(51).s);
    }
    SECTION("queue.declare and declare-ok") {
        amqp::queue_declare q{.queue = "jobs", .durable = true, .exclusive = false, .auto_delete = true};
        CHECK(encoded(q) == bytes{}.u16(50).u16(10).u16(0).shortstr("jobs").u8(0b01010).u32(0).s);
        const auto ok = decoded<amqp::queue_declare_ok>(
            bytes{}.u16(50).u16(11).shortstr("amq.gen-JzTY20BRgKO-HjmUJj0wLg").u32(12).u32(3).s);
        CHECK(ok.queue == "amq.gen-JzTY20BRgKO-HjmUJj0wLg");
        CHECK(ok.message_count == 12);
        CHECK(ok.consumer_count == 3);
    }
    SECTION("queue.bind has no-wait, queue.unbind has none") {
        CHECK(encoded(amqp::queue_bind{.queue = "q", .exchange = "x", .routing_key = "k", .no_wait = true}) ==
              bytes{}.u16(50).u16(20).u16(0).shortstr("q").shortstr("x").shortstr("k").u8(1).u32(0).s);
        CHECK(encoded(amqp::queue_unbind{.queue = "q", .exchange = "x", .routing_key = "k"}) ==
              bytes{}.u16(50).u16(50).u16(0).shortstr("q").shortstr("x").shortstr("k").u32(0).s);
        CHECK(decoded<amqp::queue_purge_ok>(bytes{}.u16(50).u16(31).u32(7).s).message_count == 7);
        CHECK(encoded(amqp::queue_delete{.queue = "q", .if_empty = true}) ==
              bytes{}.u16(50).u16(40).u16(0).shortstr("q").u8(0b010).s);
    }
    SECTION("basic.qos, consume, cancel") {
        CHECK(encoded(amqp::basic_qos{0, 100, false}) == bytes{}.u16(60).u16(10).u32(0).u16(100).u8(0).s);
        CHECK(encoded(amqp::basic_consume{.queue = "q", .consumer_tag = "c1", .no_ack = true, .exclusive = true}) ==
              bytes{}.u16(60).u16(20).u16(0).shortstr("q").shortstr("c1").u8(0b0110).u32(0).s);
        CHECK(decoded<amqp::basic_consume_ok>(bytes{}.u16(60).u16(21).shortstr("amq.ctag-1").s).consumer_tag ==
              "amq.ctag-1");
        // The broker cancels a consumer whose queue was deleted.
        const auto cancel = decoded<amqp::basic_cancel>(bytes{}.u16(60).u16(30).shortstr("c1").u8(1).s);
        CHECK(cancel.consumer_tag == "c1");
        CHECK(cancel.no_wait);
    }
    SECTION("basic.publish") {
        CHECK(encoded(amqp::basic_publish{.exchange = "", .routing_key = "rpc", .mandatory = true}) ==
              bytes{}.u16(60).u16(40).u16(0).shortstr("").shortstr("rpc").u8(1).s);
    }
    SECTION("basic.deliver, get-ok, get-empty, return") {
        const auto d = decoded<amqp::basic_deliver>(
            bytes{}.u16(60).u16(60).shortstr("ctag").u64(0x0102030405060708).u8(1).shortstr("ex").shortstr("rk").s);
        CHECK(d == amqp::basic_deliver{"ctag", 0x0102030405060708, true, "ex", "rk"});
        const auto g = decoded<amqp::basic_get_ok>(
            bytes{}.u16(60).u16(71).u64(9).u8(0).shortstr("").shortstr("q").u32(41).s);
        CHECK(g == amqp::basic_get_ok{9, false, "", "q", 41});
        decoded<amqp::basic_get_empty>(bytes{}.u16(60).u16(72).shortstr("").s);
        const auto r = decoded<amqp::basic_return>(
            bytes{}.u16(60).u16(50).u16(312).shortstr("NO_ROUTE").shortstr("x").shortstr("nowhere").s);
        CHECK(r == amqp::basic_return{312, "NO_ROUTE", "x", "nowhere"});
    }
    SECTION("basic.ack, nack, reject, recover from either side") {
        CHECK(decoded<amqp::basic_ack>(bytes{}.u16(60).u16(80).u64(42).u8(1).s) == amqp::basic_ack{42, true});
        CHECK(decoded<amqp::basic_nack>(bytes{}.u16(60).u16(120).u64(42).u8(0b10).s) ==
              amqp::basic_nack{42, false, true});
        CHECK(encoded(amqp::basic_nack{7, true, false}) == bytes{}.u16(60).u16(120).u64(7).u8(0b01).s);
        CHECK(encoded(amqp::basic_reject{7, false}) == bytes{}.u16(60).u16(90).u64(7).u8(0).s);
        CHECK(encoded(amqp::basic_recover{true}) == bytes{}.u16(60).u16(110).u8(1).s);
    }
    SECTION("confirm.select") {
        CHECK(encoded(amqp::confirm_select{}) == bytes{}.u16(85).u16(10).u8(0).s);
        decoded<amqp::confirm_select_ok>(bytes{}.u16(85).u16(11).s);
    }
    SECTION("connection.blocked and update-secret") {
        CHECK(decoded<amqp::connection_blocked>(bytes{}.u16(10).u16(60).shortstr("low on memory").s).reason ==
              "low on memory");
        CHECK(encoded(amqp::connection_update_secret{"token", "refresh"}) ==
              bytes{}.u16(10).u16(70).longstr("token").shortstr("refresh").s);
    }
}

TEST_CASE("decoding rejects unknown methods and short headers", "[amqp][methods]") {
    for (auto payload : {bytes{}.u16(60).u16(100).u8(0).s,   // basic.recover-async: not supported
                         bytes{}.u16(90).u16(10).s,          // tx.select: class not supported
                         bytes{}.u16(60).u16(999).s, bytes{}.u16(0).u16(0).s, bytes{}.u16(60).u16(127).s,
                         bytes{}.u16(60).u16(128).s}) {
        auto r = amqp::decode_method(payload);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == amqp::error::unknown_method);
    }
    for (auto payload : {std::string(), std::string("\0", 1), std::string("\0<\0", 3)}) {
        auto r = amqp::decode_method(payload);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == amqp::error::truncated_payload);
    }
}

TEST_CASE("a bad table inside a method fails the method with the table's error", "[amqp][methods]") {
    const std::string bad_type = bytes{}.shortstr("x").u8('Z').s;
    auto r = amqp::decode_method(bytes{}.u16(50).u16(10).u16(0).shortstr("q").u8(0).longstr(bad_type).s);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == amqp::error::bad_field_type);
}

TEST_CASE("encoding a short string over 255 bytes fails and leaves the buffer as it was", "[amqp][methods]") {
    std::string out = "kept";
    CHECK(amqp::encode_method(out, amqp::basic_publish{.routing_key = std::string(256, 'k')}) ==
          amqp::error::field_too_long);
    CHECK(out == "kept");
    CHECK_FALSE(amqp::encode_method(out, amqp::basic_publish{.routing_key = std::string(255, 'k')}));
    amqp::queue_declare q;
    q.arguments.set(std::string(256, 'n'), 1);
    out = "kept";
    CHECK(amqp::encode_method(out, q) == amqp::error::field_too_long);
    CHECK(out == "kept");
}

TEST_CASE("decoding deliveries in place reuses the strings' storage", "[amqp][methods]") {
    const std::string tag(40, 't'), exchange(40, 'e'), key(40, 'k');
    auto payload = [&](std::uint64_t n, char c) {
        return bytes{}.u16(60).u16(60).shortstr(std::string(40, c)).u64(n).u8(0).shortstr(exchange).shortstr(key).s;
    };
    amqp::method m;
    REQUIRE_FALSE(amqp::decode_method(payload(1, 'a'), m));
    const auto& d = std::get<amqp::basic_deliver>(m);
    const char* tag_storage = d.consumer_tag.data();
    const char* key_storage = d.routing_key.data();
    REQUIRE_FALSE(amqp::decode_method(payload(2, 'b'), m));
    const auto& d2 = std::get<amqp::basic_deliver>(m);
    CHECK(d2.delivery_tag == 2);
    CHECK(d2.consumer_tag == std::string(40, 'b'));
    CHECK(d2.consumer_tag.data() == tag_storage);
    CHECK(d2.routing_key.data() == key_storage);
}

TEST_CASE("properties round-trip one by one and all together", "[amqp][properties]") {
    amqp::basic_properties all{
        .content_type = "application/json",
        .content_encoding = "gzip",
        .headers = amqp::field_table{{"traceparent", std::string("00-abc-def-01")}, {"retries", std::int32_t{2}}},
        .delivery_mode = amqp::delivery_mode_persistent,
        .priority = 5,
        .correlation_id = "corr-1",
        .reply_to = "amq.rabbitmq.reply-to",
        .expiration = "60000",
        .message_id = "msg-1",
        .timestamp = 1700000000,
        .type = "order.created",
        .user_id = "guest",
        .app_id = "orders",
        .cluster_id = "c1",
    };
    auto round_trip = [](const amqp::basic_properties& p) {
        std::string out;
        REQUIRE_FALSE(amqp::encode_properties(out, p));
        amqp::basic_properties back;
        back.message_id = "stale";  // cleared: its flag is not set
        std::string_view in = out;
        REQUIRE_FALSE(amqp::decode_properties(in, back));
        CHECK(in.empty());
        CHECK(back == p);
        return out;
    };
    CHECK(round_trip(all).substr(0, 2) == bytes{}.u16(0xfffc).s);
    CHECK(round_trip({}) == bytes{}.u16(0).s);
    // Each alone: its own flag bit, 15 down to 2, in declaration order.
    std::uint16_t bit = 15;
    auto one = [&](auto member) {
        amqp::basic_properties p;
        p.*member = all.*member;
        const std::string out = round_trip(p);
        CHECK(out.substr(0, 2) == bytes{}.u16(static_cast<std::uint16_t>(1u << bit)).s);
        --bit;
    };
    using P = amqp::basic_properties;
    one(&P::content_type), one(&P::content_encoding), one(&P::headers), one(&P::delivery_mode), one(&P::priority),
        one(&P::correlation_id), one(&P::reply_to), one(&P::expiration), one(&P::message_id), one(&P::timestamp),
        one(&P::type), one(&P::user_id), one(&P::app_id), one(&P::cluster_id);
    CHECK(bit == 1);
}

TEST_CASE("a content header decodes from known bytes and rejects what it cannot carry", "[amqp][properties]") {
    const std::string payload = bytes{}.u16(60).u16(0).u64(5).u16(0x9000).shortstr("text/plain").u8(2).s;
    amqp::content_header h;
    REQUIRE_FALSE(amqp::decode_content_header(payload, h));
    CHECK(h.class_id == 60);
    CHECK(h.body_size == 5);
    CHECK(h.properties == amqp::basic_properties{.content_type = "text/plain", .delivery_mode = 2});
    std::string out;
    REQUIRE_FALSE(amqp::encode_content_header(out, 5, h.properties));
    CHECK(out == payload);

    for (std::size_t n = 0; n < payload.size(); ++n) {
        CAPTURE(n);
        CHECK(amqp::decode_content_header(payload.substr(0, n), h) == amqp::error::truncated_payload);
    }
    CHECK(amqp::decode_content_header(payload + 'x', h) == amqp::error::trailing_bytes);
    // Flag bit 1 names no property of basic.
    CHECK(amqp::decode_content_header(bytes{}.u16(60).u16(0).u64(0).u16(0x0002).s, h) ==
          amqp::error::bad_content_header);
    // A continuation word is allowed when it flags nothing more.
    CHECK_FALSE(amqp::decode_content_header(bytes{}.u16(60).u16(0).u64(0).u16(0x0001).u16(0).s, h));
    CHECK(amqp::decode_content_header(bytes{}.u16(60).u16(0).u64(0).u16(0x0001).u16(0x8000).s, h) ==
          amqp::error::bad_content_header);
    CHECK(amqp::decode_content_header(bytes{}.u16(60).u16(0).u64(0).u16(0x0001).u16(0x0001).s, h) ==
          amqp::error::truncated_payload);
}
