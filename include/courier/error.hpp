// courier's error model: precise error codes (courier::error) grouped by
// conditions (courier::condition), the split Boost.Beast uses. Backends keep
// their own categories and say which conditions their codes match, so a policy
// written against condition::retryable works on every backend.
#ifndef COURIER_ERROR_HPP
#define COURIER_ERROR_HPP

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/error_condition.hpp>

#include <type_traits>

namespace courier {

using error_code = boost::system::error_code;
using error_condition = boost::system::error_condition;

/// Precise failures reported by courier itself. Each value's meaning is the
/// contract; the text of message() is for people.
enum class error {
    // -- calls and policies
    timeout = 1,        ///< the deadline or a timeout layer expired first
    circuit_open,       ///< a circuit breaker refused the call without trying it
    retries_exhausted,  ///< every attempt a retry layer allowed has failed
    budget_exhausted,   ///< the retry budget allowed no further attempt
    bulkhead_full,      ///< too many calls were already in flight
    rate_limited,       ///< a rate limiter had no permit left
    would_deadlock,     ///< a blocking call was made on the thread that must complete it
    // -- codecs
    encode_failed,      ///< a value could not be turned into a payload
    decode_failed,      ///< a payload could not be turned into the expected type
    // -- transports
    not_connected,      ///< the transport has no connection to the peer
    unknown_endpoint,   ///< no server is bound to the endpoint name
    endpoint_closed,    ///< the server stopped before it answered
    broker_closed,      ///< the broker was shut down
    unroutable,         ///< the message reached no queue or group
    // -- reported by handlers (the remote side), mapped by every backend
    not_found,          ///< the requested entity does not exist
    invalid_argument,   ///< the request is malformed or violates a precondition
    already_exists,     ///< the entity to create exists already
    unauthenticated,    ///< the caller is not authenticated
    permission_denied,  ///< the caller may not do this
    unavailable,        ///< the service cannot serve now; try again later
    internal,           ///< the handler failed in an unexpected way (it threw)
};

/// Groups of errors that callers and policies act on.
enum class condition {
    timeout = 1,  ///< a deadline or timeout expired (any layer, any backend)
    unavailable,  ///< the peer could not be reached or refused to serve
    retryable,    ///< trying the same request again may succeed
    permanent,    ///< trying again will fail the same way
    remote,       ///< the peer's handler reported the failure
};

namespace detail {

class error_category_impl final : public boost::system::error_category {
public:
    constexpr error_category_impl() noexcept : boost::system::error_category(0x636f757269657231ULL) {}
    const char* name() const noexcept override { return "courier"; }
    std::string message(int ev) const override { return message(ev, nullptr, 0); }
    const char* message(int ev, char*, std::size_t) const noexcept override;
    bool equivalent(int ev, const error_condition& cond) const noexcept override;
};

class condition_category_impl final : public boost::system::error_category {
public:
    constexpr condition_category_impl() noexcept : boost::system::error_category(0x636f757269657232ULL) {}
    const char* name() const noexcept override { return "courier.condition"; }
    std::string message(int ev) const override { return message(ev, nullptr, 0); }
    const char* message(int ev, char*, std::size_t) const noexcept override;
    bool equivalent(const error_code& ec, int cv) const noexcept override;
};

}  // namespace detail

/// The category of courier::error values.
const boost::system::error_category& error_category() noexcept;
/// The category of courier::condition values.
const boost::system::error_category& condition_category() noexcept;

inline error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }
inline error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

}  // namespace courier

template <>
struct boost::system::is_error_code_enum<courier::error> : std::true_type {};
template <>
struct boost::system::is_error_condition_enum<courier::condition> : std::true_type {};
template <>
struct std::is_error_code_enum<courier::error> : std::true_type {};
template <>
struct std::is_error_condition_enum<courier::condition> : std::true_type {};

#include <courier/impl/error.hpp>

#endif
