// json_codec: round trips of a user type, and the failures (malformed JSON,
// wrong shape, unencodable strings) as error codes with a diagnostic that
// says what was wrong, or as courier::system_error from the throwing forms.
#include <courier/codec.hpp>
#include <courier/codec/json.hpp>

#include "support/catch.hpp"

#include <string>
#include <string_view>
#include <vector>

using courier::error;
using courier::error_code;
using courier::json_codec;

namespace {

struct line_item {
    std::string sku;
    int quantity = 0;
    friend bool operator==(const line_item&, const line_item&) = default;
};
struct order {
    std::string id;
    double amount = 0;
    std::vector<line_item> items;
    friend bool operator==(const order&, const order&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(line_item, sku, quantity)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(order, id, amount, items)
struct address {
    std::string city, zip;
};
struct shipment {
    std::string order_id;
    address to;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(address, city, zip)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(shipment, order_id, to)

static_assert(courier::codec_for<json_codec, order>);
static_assert(courier::codec_for<json_codec, std::string>);

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

const order sample{"o-1", 12.5, {{"book", 2}, {"pen", 10}}};

}  // namespace

TEST_CASE("json_codec round trips a user type", "[codec]") {
    json_codec codec;
    error_code ec = courier::error::internal;  // proves encode clears it
    std::string payload = codec.encode(sample, ec);
    REQUIRE_FALSE(ec);
    CHECK(contains(payload, "\"id\":\"o-1\""));

    ec = courier::error::internal;
    order back = codec.decode<order>(payload, ec);
    REQUIRE_FALSE(ec);
    CHECK(back == sample);
}

TEST_CASE("json_codec names its content type", "[codec]") {
    CHECK(json_codec::content_type() == "application/json");
}

TEST_CASE("json_codec round trips strings with NULs and non-ASCII text", "[codec]") {
    json_codec codec;
    const std::string text = std::string("caf\xc3\xa9 \0 end", 11);
    error_code ec;
    auto payload = codec.encode(text, ec);
    REQUIRE_FALSE(ec);
    CHECK(codec.decode<std::string>(payload, ec) == text);
    CHECK_FALSE(ec);
}

TEST_CASE("decoding ignores fields the type does not have", "[codec]") {
    json_codec codec;
    error_code ec;
    auto item = codec.decode<line_item>(R"({"sku":"book","quantity":2,"colour":"red"})", ec);
    REQUIRE_FALSE(ec);
    CHECK(item == line_item{"book", 2});
}

TEST_CASE("malformed JSON fails with decode_failed and says where", "[codec]") {
    json_codec codec;
    error_code ec;
    std::string diag;
    auto value = codec.decode<order>(R"({"id": "o-1", "amount": )", ec, &diag);
    CHECK(ec == error::decode_failed);
    CHECK(ec == courier::condition::permanent);
    CHECK(value == order{});
    CHECK(contains(diag, "decode_failed"));
    CHECK(contains(diag, "malformed JSON"));
    CHECK(contains(diag, "parse error"));
}

TEST_CASE("an empty payload fails with decode_failed", "[codec]") {
    json_codec codec;
    error_code ec;
    std::string diag;
    codec.decode<order>("", ec, &diag);
    CHECK(ec == error::decode_failed);
    CHECK_FALSE(diag.empty());
}

TEST_CASE("a missing field fails with decode_failed naming the field", "[codec]") {
    json_codec codec;
    error_code ec;
    std::string diag;
    codec.decode<line_item>(R"({"sku":"book"})", ec, &diag);
    CHECK(ec == error::decode_failed);
    CHECK(diag == "decode_failed: field 'quantity': missing");
}

TEST_CASE("a string where a number belongs fails with decode_failed saying so", "[codec]") {
    json_codec codec;
    error_code ec;
    std::string diag;
    codec.decode<line_item>(R"({"sku":"book","quantity":"2"})", ec, &diag);
    CHECK(ec == error::decode_failed);
    CHECK(contains(diag, "decode_failed"));
    CHECK(contains(diag, "number"));
    CHECK(contains(diag, "string"));
}

TEST_CASE("a wrongly typed field is named in the decode diagnostic, with its path", "[codec]") {
    json_codec codec;
    error_code ec;
    std::string diag;
    codec.decode<order>(R"({"id":"o-1","amount":"12.5","items":[]})", ec, &diag);
    CHECK(ec == error::decode_failed);
    CHECK(diag == "decode_failed: field 'amount': expected number, got string");

    codec.decode<shipment>(R"({"order_id":"o-1","to":{"city":"Oslo","zip":2010}})", ec, &diag);
    CHECK(ec == error::decode_failed);
    CHECK(diag == "decode_failed: field 'to.zip': expected string, got number");

    codec.decode<shipment>(R"({"order_id":"o-1","to":{"city":"Oslo"}})", ec, &diag);
    CHECK(diag == "decode_failed: field 'to.zip': missing");

    // An array's elements have no shape in a default value: the array is named.
    codec.decode<order>(R"({"id":"o-1","amount":1,"items":[{"sku":"a","quantity":"2"}]})", ec, &diag);
    CHECK(ec == error::decode_failed);
    CAPTURE(diag);
    CHECK(contains(diag, "field 'items'"));
}

TEST_CASE("a JSON value of the wrong kind fails with decode_failed", "[codec]") {
    json_codec codec;
    error_code ec;
    std::string diag;
    codec.decode<order>("[1, 2, 3]", ec, &diag);
    CHECK(ec == error::decode_failed);
    CHECK_FALSE(diag.empty());
}

TEST_CASE("decode failures need no diagnostic buffer", "[codec]") {
    json_codec codec;
    error_code ec;
    codec.decode<order>("{", ec);
    CHECK(ec == error::decode_failed);
    codec.decode<order>("{}", ec, nullptr);
    CHECK(ec == error::decode_failed);
}

TEST_CASE("a string that is not valid UTF-8 fails to encode", "[codec]") {
    json_codec codec;
    error_code ec;
    std::string diag;
    const line_item bad{"\xff\xfe", 1};
    auto payload = codec.encode(bad, ec, &diag);
    CHECK(ec == error::encode_failed);
    CHECK(ec == courier::condition::permanent);
    CHECK(payload.empty());
    CHECK(contains(diag, "encode_failed"));
    CHECK(contains(diag, "UTF-8"));
}

TEST_CASE("a failed call leaves the codec usable", "[codec]") {
    json_codec codec;
    error_code ec;
    codec.decode<order>("nope", ec);
    REQUIRE(ec);
    auto payload = codec.encode(sample, ec);
    CHECK_FALSE(ec);
    CHECK(codec.decode<order>(payload, ec) == sample);
    CHECK_FALSE(ec);
}

TEST_CASE("the throwing encode and decode return values on success", "[codec]") {
    json_codec codec;
    auto payload = courier::encode(codec, sample);
    CHECK(courier::decode<order>(codec, payload) == sample);
}

TEST_CASE("the throwing decode throws system_error with decode_failed and the diagnostic", "[codec]") {
    json_codec codec;
    try {
        courier::decode<line_item>(codec, R"({"sku":"book"})");
        FAIL("decode did not throw");
    } catch (const courier::system_error& e) {
        CHECK(e.code() == error::decode_failed);
        CHECK(contains(e.diagnostic(), "quantity"));
        CHECK(contains(e.what(), "quantity"));
    }
}

TEST_CASE("the throwing encode throws system_error with encode_failed and the diagnostic", "[codec]") {
    json_codec codec;
    const line_item bad{"\xc3\x28", 1};
    try {
        courier::encode(codec, bad);
        FAIL("encode did not throw");
    } catch (const courier::system_error& e) {
        CHECK(e.code() == error::encode_failed);
        CHECK(contains(e.diagnostic(), "UTF-8"));
    }
}
