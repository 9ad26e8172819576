// courier's error model: the messages of courier::error, the conditions
// policies act on (for courier's codes and for Asio's), and the exception the
// throwing call forms raise.
#include <courier/error.hpp>
#include <courier/system_error.hpp>

#include "support/catch.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>

#include <set>
#include <string>
#include <system_error>

using courier::condition;
using courier::error;
using courier::error_code;

namespace {

constexpr error all_errors[] = {
    error::timeout,         error::circuit_open,     error::retries_exhausted, error::budget_exhausted,
    error::bulkhead_full,   error::rate_limited,     error::would_deadlock,    error::encode_failed,
    error::decode_failed,   error::not_connected,    error::unknown_endpoint,  error::endpoint_closed,
    error::broker_closed,   error::unroutable,       error::not_found,         error::invalid_argument,
    error::already_exists,  error::unauthenticated,  error::permission_denied, error::unavailable,
    error::internal,
};

// Which conditions a code matches, as a compact string: "t" timeout,
// "u" unavailable, "r" retryable, "p" permanent, "R" remote.
std::string conditions_of(const error_code& ec) {
    std::string s;
    if (ec == condition::timeout) s += 't';
    if (ec == condition::unavailable) s += 'u';
    if (ec == condition::retryable) s += 'r';
    if (ec == condition::permanent) s += 'p';
    if (ec == condition::remote) s += 'R';
    return s;
}

}  // namespace

TEST_CASE("every courier error has its own message in the courier category", "[error]") {
    std::set<std::string> messages;
    for (auto e : all_errors) {
        error_code ec = e;
        CAPTURE(static_cast<int>(e));
        CHECK(ec.category().name() == std::string("courier"));
        CHECK(ec.failed());
        CHECK_FALSE(ec.message().empty());
        CHECK(ec.message() != "unknown courier error");
        messages.insert(ec.message());
    }
    CHECK(messages.size() == std::size(all_errors));
    CHECK(error_code(error::timeout).message() == "the deadline expired before the operation completed");
    CHECK(error_code(999, courier::error_category()).message() == "unknown courier error");
}

TEST_CASE("conditions have names in their own category", "[error]") {
    courier::error_condition c = condition::retryable;
    CHECK(c.category().name() == std::string("courier.condition"));
    CHECK(c.message() == "retryable");
    CHECK(courier::error_condition(condition::remote).message() == "reported by the remote handler");
}

TEST_CASE("courier errors match the conditions policies act on", "[error]") {
    CHECK(conditions_of(error::timeout) == "tr");
    CHECK(conditions_of(error::circuit_open) == "u");
    CHECK(conditions_of(error::retries_exhausted) == "");
    CHECK(conditions_of(error::budget_exhausted) == "");
    CHECK(conditions_of(error::bulkhead_full) == "u");
    CHECK(conditions_of(error::rate_limited) == "u");
    CHECK(conditions_of(error::would_deadlock) == "p");
    CHECK(conditions_of(error::encode_failed) == "p");
    CHECK(conditions_of(error::decode_failed) == "p");
    CHECK(conditions_of(error::not_connected) == "ur");
    CHECK(conditions_of(error::unknown_endpoint) == "u");
    CHECK(conditions_of(error::endpoint_closed) == "ur");
    CHECK(conditions_of(error::broker_closed) == "u");
    CHECK(conditions_of(error::unroutable) == "p");
    CHECK(conditions_of(error::not_found) == "pR");
    CHECK(conditions_of(error::invalid_argument) == "pR");
    CHECK(conditions_of(error::already_exists) == "pR");
    CHECK(conditions_of(error::unauthenticated) == "pR");
    CHECK(conditions_of(error::permission_denied) == "pR");
    CHECK(conditions_of(error::unavailable) == "urR");
    CHECK(conditions_of(error::internal) == "R");
}

TEST_CASE("no courier error is both retryable and permanent", "[error]") {
    for (auto e : all_errors) {
        error_code ec = e;
        CAPTURE(ec.message());
        CHECK_FALSE((ec == condition::retryable && ec == condition::permanent));
    }
}

TEST_CASE("a courier error does not equal a condition of another meaning", "[error]") {
    CHECK(error_code(error::not_found) != condition::timeout);
    CHECK(error_code(error::timeout) != condition::permanent);
    CHECK(error_code() != condition::timeout);
    CHECK(error_code() != condition::retryable);
}

TEST_CASE("asio connection errors are unavailable and retryable", "[error]") {
    namespace ae = boost::asio::error;
    for (error_code ec : {error_code(ae::connection_refused), error_code(ae::connection_reset),
                          error_code(ae::connection_aborted), error_code(ae::host_unreachable),
                          error_code(ae::network_unreachable), error_code(ae::broken_pipe),
                          error_code(ae::not_connected), error_code(ae::shut_down)}) {
        CAPTURE(ec.message());
        CHECK(conditions_of(ec) == "ur");
    }
}

TEST_CASE("an asio timed_out is a timeout and retryable", "[error]") {
    CHECK(conditions_of(boost::asio::error::timed_out) == "tr");
    // The portable spelling, in the generic category, means the same.
    CHECK(conditions_of(boost::system::errc::make_error_code(boost::system::errc::timed_out)) == "tr");
}

TEST_CASE("std::errc codes converted to courier's error_code keep their conditions", "[error]") {
    CHECK(conditions_of(std::make_error_code(std::errc::timed_out)) == "tr");
    CHECK(conditions_of(std::make_error_code(std::errc::connection_refused)) == "ur");
    CHECK(conditions_of(std::make_error_code(std::errc::invalid_argument)) == "p");
}

TEST_CASE("operating system errors that say the request is bad are permanent", "[error]") {
    using boost::system::errc::make_error_code;
    CHECK(conditions_of(make_error_code(boost::system::errc::invalid_argument)) == "p");
    CHECK(conditions_of(make_error_code(boost::system::errc::message_size)) == "p");
}

TEST_CASE("an aborted asio operation matches no condition", "[error]") {
    CHECK(conditions_of(boost::asio::error::operation_aborted) == "");
    CHECK(conditions_of(boost::asio::error::eof) == "");
}

TEST_CASE("courier errors convert to std::error_code and keep their meaning", "[error]") {
    std::error_code sec = error_code(error::timeout);
    CHECK(sec.message() == error_code(error::timeout).message());
    CHECK(sec == std::error_condition(courier::error_condition(condition::timeout)));
    CHECK(sec != std::error_condition(courier::error_condition(condition::permanent)));
}

TEST_CASE("system_error carries the code and the diagnostic", "[error]") {
    courier::system_error e(error::not_found, "user '42'");
    CHECK(e.code() == error::not_found);
    CHECK(e.diagnostic() == "user '42'");
    const std::string what = e.what();
    CHECK(what.find("user '42'") != std::string::npos);
    CHECK(what.find("not found") != std::string::npos);
}

TEST_CASE("system_error without a diagnostic has an empty one", "[error]") {
    courier::system_error e(error::timeout);
    CHECK(e.code() == condition::timeout);
    CHECK(e.diagnostic().empty());
    CHECK(std::string(e.what()).find("deadline") != std::string::npos);
}

TEST_CASE("system_error is caught as boost's system_error with its code", "[error]") {
    try {
        throw courier::system_error(error::permission_denied, "orders.delete");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == error::permission_denied);
        return;
    }
    FAIL("not caught as boost::system::system_error");
}

TEST_CASE("throw_if throws only for a failure", "[error]") {
    CHECK_NOTHROW(courier::throw_if(error_code{}));
    try {
        courier::throw_if(error::unavailable);
        FAIL("throw_if did not throw");
    } catch (const courier::system_error& e) {
        CHECK(e.code() == error::unavailable);
    }
}
