// Errors of the AMQP 0-9-1 backend: what courier's protocol core and client
// report themselves (amqp::error), and the broker's reply codes as sent in
// connection.close, channel.close and basic.return (reply_code_category()).
// Both say which courier::condition they match, so the policies treat an AMQP
// failure like any other backend's.
//
// Reply codes stay in their own category, value = the code, rather than being
// folded into courier::error as HTTP statuses are: a broker's 404 is about an
// exchange or queue, not about the resource a handler was asked for, and the
// connection needs the exact code back (reply_code_of).
#ifndef COURIER_AMQP_ERROR_HPP
#define COURIER_AMQP_ERROR_HPP

#include <courier/error.hpp>

#include <cstdint>
#include <string>

namespace courier::amqp {

/// Failures detected by courier's AMQP code. Values past the last one may be
/// added; existing values keep their meaning.
enum class error {
    // -- framing (frame_reader)
    bad_frame_type = 1,         ///< a frame's type octet is not 1, 2, 3 or 8
    bad_frame_end,              ///< the octet after a frame's payload is not 0xCE
    frame_too_large,            ///< a frame exceeds frame_max (read), or a method does not fit one frame (write)
    bad_heartbeat,              ///< a heartbeat frame on a channel other than 0, or with a payload
    protocol_version_mismatch,  ///< the server answered with its own protocol header: it does not speak 0-9-1
    // -- payloads (methods, content headers, field tables)
    truncated_payload,          ///< a payload ended before its last field
    trailing_bytes,             ///< a method or content header has bytes after its last field
    unknown_method,             ///< a class/method id pair courier does not know
    bad_field_type,             ///< a field table or array holds a value type tag courier does not know
    nesting_too_deep,           ///< tables and arrays nested deeper than the limit
    bad_content_header,         ///< a content header of another class than its method, or with unknown property flags
    field_too_long,             ///< encoding: a short string (name, key, tag) over 255 bytes, or a table over 4 GiB
    // -- content (content_assembler)
    unexpected_frame,           ///< a header or body frame out of order, or a method frame inside a content
    body_size_mismatch,         ///< body frames carried more bytes than the content header declared
    body_too_large,             ///< a content header declared a body above the configured limit
    // -- client
    bad_uri,                    ///< not a usable amqp:// or amqps:// URI
    not_connected,              ///< no open connection to the broker
    connection_closed,          ///< the broker closed the TCP connection without connection.close
    heartbeat_timeout,          ///< nothing arrived from the broker for two heartbeat intervals
    channel_closed,             ///< the channel was closed (by us, or its connection went away)
    nacked,                     ///< the broker refused responsibility for a published message (basic.nack)
};

/// Reply codes of AMQP 0-9-1 (spec section 1.9 "Constants"), the values of
/// reply_code_category(). 200 (reply-success) is no error and has no value.
enum class reply_code : std::uint16_t {
    content_too_large = 311,
    no_route = 312,
    no_consumers = 313,
    connection_forced = 320,
    invalid_path = 402,
    access_refused = 403,
    not_found = 404,
    resource_locked = 405,
    precondition_failed = 406,
    frame_error = 501,
    syntax_error = 502,
    command_invalid = 503,
    channel_error = 504,
    unexpected_frame = 505,
    resource_error = 506,
    not_allowed = 530,
    not_implemented = 540,
    internal_error = 541,
};

}  // namespace courier::amqp

template <>
struct boost::system::is_error_code_enum<courier::amqp::error> : std::true_type {};
template <>
struct std::is_error_code_enum<courier::amqp::error> : std::true_type {};

namespace courier::amqp {

namespace detail {

class error_category_impl final : public boost::system::error_category {
public:
    constexpr error_category_impl() noexcept : boost::system::error_category(0x636f757269657261ULL) {}
    const char* name() const noexcept override { return "courier.amqp"; }
    std::string message(int ev) const override { return message(ev, nullptr, 0); }
    const char* message(int ev, char*, std::size_t) const noexcept override {
        switch (static_cast<error>(ev)) {
        case error::bad_frame_type: return "AMQP frame with an unknown type octet (not method, header, body or heartbeat)";
        case error::bad_frame_end: return "AMQP frame not terminated by the frame-end octet 0xCE";
        case error::frame_too_large: return "AMQP frame larger than the negotiated frame_max";
        case error::bad_heartbeat: return "AMQP heartbeat frame on a channel other than 0 or with a payload";
        case error::protocol_version_mismatch:
            return "the server rejected AMQP 0-9-1 and answered with the protocol header of its own version";
        case error::truncated_payload: return "AMQP payload ended before its last field";
        case error::trailing_bytes: return "AMQP method or content header has bytes after its last field";
        case error::unknown_method: return "AMQP method with a class and method id courier does not know";
        case error::bad_field_type: return "AMQP field table or array value with an unknown type tag";
        case error::nesting_too_deep: return "AMQP field tables and arrays nested deeper than the limit";
        case error::bad_content_header:
            return "AMQP content header of another class than its method, or with unknown property flags";
        case error::field_too_long:
            return "AMQP short string longer than 255 bytes (or table larger than 4 GiB) cannot be encoded";
        case error::unexpected_frame:
            return "AMQP content frame out of order (header or body without its method, or a method inside a content)";
        case error::body_size_mismatch: return "AMQP body frames carry more bytes than the content header declared";
        case error::body_too_large: return "AMQP content header declares a body larger than the configured limit";
        case error::bad_uri: return "not a usable amqp:// or amqps:// URI";
        case error::not_connected: return "not connected to the AMQP broker";
        case error::connection_closed: return "the AMQP broker closed the connection without connection.close";
        case error::heartbeat_timeout: return "no data from the AMQP broker for two heartbeat intervals";
        case error::channel_closed: return "the AMQP channel is closed";
        case error::nacked: return "the AMQP broker refused the published message (basic.nack)";
        }
        return "unknown courier.amqp error";
    }
    bool equivalent(int ev, const error_condition& cond) const noexcept override {
        if (cond.category() != condition_category()) return default_error_condition(ev) == cond;
        // A lost connection is worth another try on a new one; everything
        // else is a peer or a caller breaking the protocol, or a limit, and
        // fails the same way when sent again.
        const auto e = static_cast<error>(ev);
        const bool transient = e == error::not_connected || e == error::connection_closed ||
                               e == error::heartbeat_timeout || e == error::channel_closed ||
                               e == error::nacked;  // a broker-side failure (a queue's process died)
        switch (static_cast<condition>(cond.value())) {
        // A silent broker is a lost connection, not a call's deadline.
        case condition::timeout: return false;
        case condition::unavailable:
        case condition::retryable: return transient;
        case condition::permanent: return !transient;
        case condition::remote: return false;
        }
        return false;
    }
};

class reply_code_category_impl final : public boost::system::error_category {
public:
    constexpr reply_code_category_impl() noexcept : boost::system::error_category(0x636f757269657262ULL) {}
    const char* name() const noexcept override { return "courier.amqp.reply"; }
    std::string message(int ev) const override {
        return "AMQP reply " + std::to_string(ev) + " " + describe(ev);
    }
    bool equivalent(int ev, const error_condition& cond) const noexcept override {
        if (cond.category() != condition_category()) return false;
        // Forced closes (an operator, a node going down), exhausted broker
        // resources and broker bugs pass; a held exclusive lock may be
        // released. Every other code says the request itself is wrong.
        const auto code = static_cast<reply_code>(ev);
        const bool unavailable = code == reply_code::connection_forced ||
                                 code == reply_code::resource_error ||
                                 code == reply_code::internal_error ||
                                 code == reply_code::no_consumers;
        const bool retryable = unavailable || code == reply_code::resource_locked;
        switch (static_cast<condition>(cond.value())) {
        case condition::timeout: return false;
        case condition::unavailable: return unavailable;
        case condition::retryable: return retryable;
        case condition::permanent: return !retryable;
        case condition::remote: return false;
        }
        return false;
    }

private:
    static const char* describe(int ev) noexcept {
        switch (static_cast<reply_code>(ev)) {
        case reply_code::content_too_large: return "CONTENT_TOO_LARGE: the message is too large for the broker";
        case reply_code::no_route: return "NO_ROUTE: the mandatory message matched no queue";
        case reply_code::no_consumers: return "NO_CONSUMERS: the immediate message found no consumer";
        case reply_code::connection_forced: return "CONNECTION_FORCED: an operator or a broker shutdown closed the connection";
        case reply_code::invalid_path: return "INVALID_PATH: unknown virtual host";
        case reply_code::access_refused: return "ACCESS_REFUSED: the user may not do this (or bad credentials)";
        case reply_code::not_found: return "NOT_FOUND: no such exchange or queue";
        case reply_code::resource_locked: return "RESOURCE_LOCKED: an exclusive queue is in use by another connection";
        case reply_code::precondition_failed:
            return "PRECONDITION_FAILED: the request conflicts with the entity's state or arguments";
        case reply_code::frame_error: return "FRAME_ERROR: the broker received a malformed frame";
        case reply_code::syntax_error: return "SYNTAX_ERROR: the broker received a method with invalid fields";
        case reply_code::command_invalid: return "COMMAND_INVALID: the method is not allowed in this state";
        case reply_code::channel_error: return "CHANNEL_ERROR: the channel was not open";
        case reply_code::unexpected_frame: return "UNEXPECTED_FRAME: the broker received a frame out of order";
        case reply_code::resource_error: return "RESOURCE_ERROR: the broker ran out of a resource";
        case reply_code::not_allowed: return "NOT_ALLOWED: the broker forbids this request";
        case reply_code::not_implemented: return "NOT_IMPLEMENTED: the broker does not implement this";
        case reply_code::internal_error: return "INTERNAL_ERROR: the broker failed internally";
        }
        return "(unknown reply code)";
    }
};

}  // namespace detail

/// The category of amqp::error values.
inline const boost::system::error_category& error_category() noexcept {
    static constexpr detail::error_category_impl instance;
    return instance;
}

/// The category of broker reply codes; value() is the code.
inline const boost::system::error_category& reply_code_category() noexcept {
    static constexpr detail::reply_code_category_impl instance;
    return instance;
}

inline error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

/// The error a reply code stands for: none for 0 and 200 (reply-success),
/// otherwise an error_code of reply_code_category() with the code as value
/// (codes the spec does not list included: they are permanent).
inline error_code make_reply_error(std::uint16_t code) noexcept {
    if (code == 0 || code == 200) return {};
    return {static_cast<int>(code), reply_code_category()};
}

/// The reply code an error carries, or 0 when it is not a reply code.
inline std::uint16_t reply_code_of(const error_code& ec) noexcept {
    return ec.category() == reply_code_category() ? static_cast<std::uint16_t>(ec.value()) : 0;
}

}  // namespace courier::amqp

#endif
