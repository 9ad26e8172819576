#ifndef COURIER_IMPL_ERROR_HPP
#define COURIER_IMPL_ERROR_HPP

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>

namespace courier {
namespace detail {

inline const char* error_category_impl::message(int ev, char*, std::size_t) const noexcept {
    switch (static_cast<error>(ev)) {
    case error::timeout: return "the deadline expired before the operation completed";
    case error::circuit_open: return "the circuit breaker is open; the call was not attempted";
    case error::retries_exhausted: return "every permitted attempt failed";
    case error::budget_exhausted: return "the retry budget is exhausted";
    case error::bulkhead_full: return "too many concurrent calls (bulkhead full)";
    case error::rate_limited: return "the rate limit was reached";
    case error::would_deadlock:
        return "a blocking call was made on a thread that must run its completion";
    case error::encode_failed: return "the value could not be encoded";
    case error::decode_failed: return "the payload could not be decoded";
    case error::not_connected: return "not connected to the peer";
    case error::unknown_endpoint: return "no server is bound to this endpoint";
    case error::endpoint_closed: return "the server stopped before answering";
    case error::broker_closed: return "the broker is shut down";
    case error::unroutable: return "the message could not be routed";
    case error::not_found: return "not found";
    case error::invalid_argument: return "invalid argument";
    case error::already_exists: return "already exists";
    case error::unauthenticated: return "unauthenticated";
    case error::permission_denied: return "permission denied";
    case error::unavailable: return "the service is unavailable";
    case error::internal: return "the handler failed";
    }
    return "unknown courier error";
}

inline bool error_category_impl::equivalent(int ev, const error_condition& cond) const noexcept {
    if (cond.category() != condition_category()) return default_error_condition(ev) == cond;
    const auto e = static_cast<error>(ev);
    switch (static_cast<condition>(cond.value())) {
    case condition::timeout: return e == error::timeout;
    case condition::unavailable:
        return e == error::circuit_open || e == error::bulkhead_full || e == error::rate_limited ||
               e == error::not_connected || e == error::unknown_endpoint ||
               e == error::endpoint_closed || e == error::broker_closed || e == error::unavailable;
    case condition::retryable:
        // Not circuit_open, bulkhead_full or budget_exhausted: those are local
        // protections, and retrying them at once defeats their purpose.
        return e == error::timeout || e == error::not_connected || e == error::endpoint_closed ||
               e == error::unavailable;
    case condition::permanent:
        return e == error::encode_failed || e == error::decode_failed ||
               e == error::would_deadlock || e == error::not_found ||
               e == error::invalid_argument || e == error::already_exists ||
               e == error::unauthenticated || e == error::permission_denied ||
               e == error::unroutable;
    case condition::remote:
        return e == error::not_found || e == error::invalid_argument ||
               e == error::already_exists || e == error::unauthenticated ||
               e == error::permission_denied || e == error::unavailable || e == error::internal;
    }
    return false;
}

inline const char* condition_category_impl::message(int cv, char*, std::size_t) const noexcept {
    switch (static_cast<condition>(cv)) {
    case condition::timeout: return "timed out";
    case condition::unavailable: return "unavailable";
    case condition::retryable: return "retryable";
    case condition::permanent: return "permanent";
    case condition::remote: return "reported by the remote handler";
    }
    return "unknown courier condition";
}

// Maps the errors of Asio and the operating system onto courier's
// conditions; courier's own codes answer through error_category_impl.
inline bool condition_category_impl::equivalent(const error_code& ec, int cv) const noexcept {
    namespace ae = boost::asio::error;
    using boost::system::errc::errc_t;
    const bool generic = ec.category() == boost::system::generic_category() ||
                         ec.category() == boost::system::system_category();
    if (!generic) return false;
    const int v = ec.value();
    const bool timed_out = v == ae::timed_out;
    const bool unreachable = v == ae::connection_refused || v == ae::connection_reset ||
                             v == ae::connection_aborted || v == ae::host_unreachable ||
                             v == ae::network_unreachable || v == ae::network_down ||
                             v == ae::broken_pipe || v == ae::not_connected ||
                             v == ae::shut_down;
    switch (static_cast<condition>(cv)) {
    case condition::timeout: return timed_out;
    case condition::unavailable: return unreachable;
    case condition::retryable: return timed_out || unreachable;
    case condition::permanent:
        return v == static_cast<int>(errc_t::invalid_argument) ||
               v == static_cast<int>(errc_t::message_size);
    case condition::remote: return false;
    }
    return false;
}

}  // namespace detail

inline const boost::system::error_category& error_category() noexcept {
    static constexpr detail::error_category_impl instance;
    return instance;
}

inline const boost::system::error_category& condition_category() noexcept {
    static constexpr detail::condition_category_impl instance;
    return instance;
}

}  // namespace courier

#endif
