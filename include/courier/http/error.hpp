// Errors of the HTTP backend, and how HTTP statuses become error codes and
// back. A status with an exact courier meaning travels as that courier error
// (404 <-> error::not_found, 503 <-> error::unavailable...), so code written
// against courier::error works the same in-process and over HTTP; every other
// status is an error_code of http::status_category() whose value is the
// status, and which says which courier::condition it matches.
#ifndef COURIER_HTTP_ERROR_HPP
#define COURIER_HTTP_ERROR_HPP

#include <courier/error.hpp>

#include <boost/beast/http/status.hpp>

#include <string>

namespace courier::http {

/// Failures of the HTTP client and server themselves.
enum class error {
    body_too_large = 1,  ///< a body exceeded the configured limit (client: response; server: 413)
    too_many_redirects,  ///< more redirects than the client follows
    bad_url,             ///< a URL (base URL or redirect location) is not a usable http(s) URL
    bad_response,        ///< the server's response was not valid HTTP/1.1
    connection_closed,   ///< the server closed the connection before the response was complete
};

}  // namespace courier::http

template <>
struct boost::system::is_error_code_enum<courier::http::error> : std::true_type {};
template <>
struct std::is_error_code_enum<courier::http::error> : std::true_type {};

namespace courier::http {

inline const boost::system::error_category& error_category() noexcept;
inline error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

namespace detail {

// Set in a status error's value when the client was told 5xx is permanent.
inline constexpr int permanent_flag = 0x10000;

class error_category_impl final : public boost::system::error_category {
public:
    constexpr error_category_impl() noexcept : boost::system::error_category(0x636f757269657268ULL) {}
    const char* name() const noexcept override { return "courier.http"; }
    std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::body_too_large: return "body larger than the configured limit";
        case error::too_many_redirects: return "too many redirects";
        case error::bad_url: return "not a usable http or https URL";
        case error::bad_response: return "malformed HTTP response";
        case error::connection_closed: return "connection closed by the server before the response was complete";
        }
        return "unknown courier.http error";
    }
    bool equivalent(int ev, const error_condition& cond) const noexcept override {
        // A closed connection is the server going away, like a reset; the
        // rest fail the same way when the same request is sent again.
        if (static_cast<error>(ev) == error::connection_closed)
            return cond == condition::retryable || cond == condition::unavailable;
        return cond == condition::permanent;
    }
};

class status_category_impl final : public boost::system::error_category {
public:
    constexpr status_category_impl() noexcept : boost::system::error_category(0x636f757269657273ULL) {}
    const char* name() const noexcept override { return "courier.http.status"; }
    std::string message(int ev) const override {
        const unsigned status = static_cast<unsigned>(ev & 0xffff);
        auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
        return "HTTP " + std::to_string(status) + (reason.empty() ? "" : " ") + std::string(reason);
    }
    bool equivalent(int ev, const error_condition& cond) const noexcept override {
        if (cond.category() != condition_category()) return false;
        const int status = ev & 0xffff;
        const bool permanent_5xx = (ev & permanent_flag) != 0;
        const bool transient = status == 408 || status == 429 || (status >= 500 && !permanent_5xx);
        switch (static_cast<condition>(cond.value())) {
        case condition::timeout: return status == 408 || status == 504;
        case condition::unavailable: return status == 502 || status == 503 || status == 504;
        case condition::retryable: return transient;
        case condition::permanent: return !transient;
        case condition::remote: return true;
        }
        return false;
    }
};

}  // namespace detail

inline const boost::system::error_category& error_category() noexcept {
    static constexpr detail::error_category_impl instance;
    return instance;
}

/// The category of HTTP statuses without a courier::error of their own.
inline const boost::system::error_category& status_category() noexcept {
    static constexpr detail::status_category_impl instance;
    return instance;
}


/// The error a response status stands for (none for 1xx-3xx). 5xx statuses
/// match condition::retryable unless `server_errors_retryable` is false;
/// 408, 429, 502, 503 and 504 always do.
inline error_code status_error(unsigned status, bool server_errors_retryable = true) noexcept {
    if (status < 400) return {};
    switch (status) {
    case 400: return courier::error::invalid_argument;
    case 401: return courier::error::unauthenticated;
    case 403: return courier::error::permission_denied;
    case 404: return courier::error::not_found;
    case 409: return courier::error::already_exists;
    case 503: return courier::error::unavailable;
    default: break;
    }
    const bool always_transient = status == 408 || status == 429 || status == 502 || status == 504;
    const int flag = status >= 500 && !server_errors_retryable && !always_transient ? detail::permanent_flag : 0;
    return {static_cast<int>(status) | flag, status_category()};
}

/// The HTTP status an error travels as: the inverse of status_error for the
/// statuses it maps, and what a server answers for a handler's error.
inline unsigned status_of(const error_code& ec) noexcept {
    if (!ec) return 200;
    if (ec.category() == status_category()) return static_cast<unsigned>(ec.value() & 0xffff);
    if (ec.category() == courier::error_category()) {
        switch (static_cast<courier::error>(ec.value())) {
        case courier::error::invalid_argument:
        case courier::error::decode_failed: return 400;
        case courier::error::unauthenticated: return 401;
        case courier::error::permission_denied: return 403;
        case courier::error::not_found: return 404;
        case courier::error::already_exists: return 409;
        case courier::error::rate_limited: return 429;
        case courier::error::unavailable:
        case courier::error::circuit_open:
        case courier::error::bulkhead_full:
        case courier::error::not_connected:
        case courier::error::unknown_endpoint:
        case courier::error::endpoint_closed: return 503;
        case courier::error::timeout: return 504;
        default: return 500;
        }
    }
    if (ec.category() == error_category() && ec == error::body_too_large) return 413;
    if (ec == condition::timeout) return 504;
    if (ec == condition::unavailable) return 503;
    return 500;
}

}  // namespace courier::http

#endif
