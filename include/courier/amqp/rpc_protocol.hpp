// The wire contract of courier's RPC over AMQP, shared by amqp::rpc_client
// and amqp::rpc_server and documented in docs/amqp.md for peers written with
// other clients: which properties and headers a request and a reply carry,
// and how an error travels back as a name in a reply header.
#ifndef COURIER_AMQP_RPC_PROTOCOL_HPP
#define COURIER_AMQP_RPC_PROTOCOL_HPP

#include <courier/error.hpp>

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace courier::amqp::rpc_protocol {

/// RabbitMQ's direct reply-to pseudo-queue: a client consumes it (no-ack)
/// and names it as reply_to on the same channel; the broker routes each
/// reply straight to that channel, with no queue in between.
inline constexpr std::string_view direct_reply_to = "amq.rabbitmq.reply-to";

/// Reply header naming the courier::error a failed call ended with (its
/// enumerator's name, "not_found"); absent on success. A reply with this
/// header has an empty body.
inline constexpr std::string_view error_header = "courier-error";
/// Reply header with a sentence for people about the failure (the error's
/// message, or a codec's diagnostic). Logged, not interpreted.
inline constexpr std::string_view error_message_header = "courier-error-message";
/// Request header carrying context::correlation_id (the business flow's id):
/// the AMQP correlation-id property belongs to the RPC, which matches a
/// reply to its request with it.
inline constexpr std::string_view correlation_header = "courier-correlation-id";

namespace detail {
inline constexpr std::array<std::pair<courier::error, std::string_view>, 21> error_names{{
    {courier::error::timeout, "timeout"},
    {courier::error::circuit_open, "circuit_open"},
    {courier::error::retries_exhausted, "retries_exhausted"},
    {courier::error::budget_exhausted, "budget_exhausted"},
    {courier::error::bulkhead_full, "bulkhead_full"},
    {courier::error::rate_limited, "rate_limited"},
    {courier::error::would_deadlock, "would_deadlock"},
    {courier::error::encode_failed, "encode_failed"},
    {courier::error::decode_failed, "decode_failed"},
    {courier::error::not_connected, "not_connected"},
    {courier::error::unknown_endpoint, "unknown_endpoint"},
    {courier::error::endpoint_closed, "endpoint_closed"},
    {courier::error::broker_closed, "broker_closed"},
    {courier::error::unroutable, "unroutable"},
    {courier::error::not_found, "not_found"},
    {courier::error::invalid_argument, "invalid_argument"},
    {courier::error::already_exists, "already_exists"},
    {courier::error::unauthenticated, "unauthenticated"},
    {courier::error::permission_denied, "permission_denied"},
    {courier::error::unavailable, "unavailable"},
    {courier::error::internal, "internal"},
}};
}  // namespace detail

/// The name an error travels under ("not_found").
constexpr std::string_view error_name(courier::error e) noexcept {
    for (const auto& [value, name] : detail::error_names)
        if (value == e) return name;
    return "internal";
}

/// The error a name stands for; nullopt for a name courier does not know.
constexpr std::optional<courier::error> parse_error_name(std::string_view name) noexcept {
    for (const auto& [value, n] : detail::error_names)
        if (n == name) return value;
    return std::nullopt;
}

/// What a handler's failure is sent as. A courier::error goes as itself;
/// an error of another category (a downstream HTTP status, an AMQP reply
/// code, an OS error) as the courier::error its condition names: timeout,
/// unavailable, or else internal. The reply's message header keeps the
/// original's text.
inline courier::error wire_error(const error_code& ec) noexcept {
    if (ec.category() == courier::error_category()) return static_cast<courier::error>(ec.value());
    if (ec == condition::timeout) return courier::error::timeout;
    if (ec == condition::unavailable) return courier::error::unavailable;
    return courier::error::internal;
}

}  // namespace courier::amqp::rpc_protocol

#endif
