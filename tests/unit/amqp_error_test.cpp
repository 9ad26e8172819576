// The AMQP backend's error codes: a distinct message for each, the
// conditions they match, and the broker's reply codes as errors.
#include <courier/amqp/error.hpp>

#include "support/catch.hpp"

#include <set>
#include <string>

namespace amqp = courier::amqp;
using courier::condition;
using courier::error_code;

namespace {

using conditions = std::set<condition>;

conditions conditions_of(const error_code& ec) {
    conditions matched;
    for (auto c : {condition::timeout, condition::unavailable, condition::retryable, condition::permanent,
                   condition::remote})
        if (ec == c) matched.insert(c);
    return matched;
}

const conditions permanent{condition::permanent};
const conditions lost{condition::unavailable, condition::retryable};

}  // namespace

TEST_CASE("every amqp error has its own message and matches one kind of condition", "[amqp][error]") {
    std::set<std::string> messages;
    const int last = static_cast<int>(amqp::error::nacked);
    for (int v = 1; v <= last; ++v) {
        const error_code ec(v, amqp::error_category());
        CAPTURE(v, ec.message());
        CHECK(ec.category().name() == std::string("courier.amqp"));
        CHECK(ec.message() != "unknown courier.amqp error");
        messages.insert(ec.message());
        const conditions c = conditions_of(ec);
        CHECK((c == permanent || c == lost));
    }
    CHECK(messages.size() == static_cast<std::size_t>(last));
    CHECK(error_code(999, amqp::error_category()).message() == "unknown courier.amqp error");
    CHECK(conditions_of(amqp::error::bad_frame_end) == permanent);
    CHECK(conditions_of(amqp::error::body_too_large) == permanent);
    CHECK(conditions_of(amqp::error::not_connected) == lost);
    CHECK(conditions_of(amqp::error::heartbeat_timeout) == lost);
    CHECK(conditions_of(amqp::error::nacked) == lost);
}

TEST_CASE("reply codes become errors of their own category, success none", "[amqp][error]") {
    CHECK_FALSE(amqp::make_reply_error(200));
    CHECK_FALSE(amqp::make_reply_error(0));
    const error_code ec = amqp::make_reply_error(404);
    CHECK(ec.category() == amqp::reply_code_category());
    CHECK(ec.category().name() == std::string("courier.amqp.reply"));
    CHECK(amqp::reply_code_of(ec) == 404);
    CHECK(amqp::reply_code_of(amqp::error::bad_uri) == 0);
    CHECK(ec.message() == "AMQP reply 404 NOT_FOUND: no such exchange or queue");
    CHECK(amqp::make_reply_error(999).message() == "AMQP reply 999 (unknown reply code)");
}

TEST_CASE("reply codes map onto courier's conditions", "[amqp][error]") {
    // Broker going away, out of resources or failing: try again later.
    for (std::uint16_t code : {313, 320, 506, 541}) {
        CAPTURE(code);
        CHECK(conditions_of(amqp::make_reply_error(code)) == lost);
    }
    // Another connection holds the exclusive queue: may be released.
    CHECK(conditions_of(amqp::make_reply_error(405)) == conditions{condition::retryable});
    // The request itself is wrong.
    for (std::uint16_t code : {311, 312, 402, 403, 404, 406, 501, 502, 503, 504, 505, 530, 540, 999}) {
        CAPTURE(code);
        CHECK(conditions_of(amqp::make_reply_error(code)) == permanent);
    }
    std::set<std::string> messages;
    for (std::uint16_t code : {311, 312, 313, 320, 402, 403, 404, 405, 406, 501, 502, 503, 504, 505, 506, 530, 540, 541})
        messages.insert(amqp::make_reply_error(code).message());
    CHECK(messages.size() == 18);
}
