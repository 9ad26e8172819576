// The methods of class connection (10): the handshake (start, secure, tune,
// open), close, RabbitMQ's flow-control notices (blocked, unblocked) and
// credential refresh (update-secret). Also what courier says about itself
// in connection.start-ok, and the PLAIN mechanism's response.
#ifndef COURIER_AMQP_METHODS_CONNECTION_HPP
#define COURIER_AMQP_METHODS_CONNECTION_HPP

#include <courier/amqp/methods/common.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace courier::amqp {

/// The server's greeting: its version, properties (capabilities, product...)
/// and the space-separated SASL mechanisms and locales it accepts.
struct connection_start {
    static constexpr std::uint16_t class_id = 10, method_id = 10;
    std::uint8_t version_major = 0;
    std::uint8_t version_minor = 9;
    field_table server_properties{};
    std::string mechanisms = "PLAIN";
    std::string locales = "en_US";
    using fields = detail::field_list<detail::octet<&connection_start::version_major>,
                                      detail::octet<&connection_start::version_minor>,
                                      detail::table<&connection_start::server_properties>,
                                      detail::longstr<&connection_start::mechanisms>,
                                      detail::longstr<&connection_start::locales>>;
    friend bool operator==(const connection_start&, const connection_start&) = default;
};

/// The client's answer: its properties (see client_properties()), the
/// mechanism chosen and its response (plain_response() for PLAIN).
struct connection_start_ok {
    static constexpr std::uint16_t class_id = 10, method_id = 11;
    field_table client_properties{};
    std::string mechanism = "PLAIN";
    std::string response{};
    std::string locale = "en_US";
    using fields = detail::field_list<detail::table<&connection_start_ok::client_properties>,
                                      detail::shortstr<&connection_start_ok::mechanism>,
                                      detail::longstr<&connection_start_ok::response>,
                                      detail::shortstr<&connection_start_ok::locale>>;
    friend bool operator==(const connection_start_ok&, const connection_start_ok&) = default;
};

/// A SASL challenge (mechanisms other than PLAIN).
struct connection_secure {
    static constexpr std::uint16_t class_id = 10, method_id = 20;
    std::string challenge{};
    using fields = detail::field_list<detail::longstr<&connection_secure::challenge>>;
    friend bool operator==(const connection_secure&, const connection_secure&) = default;
};

struct connection_secure_ok {
    static constexpr std::uint16_t class_id = 10, method_id = 21;
    std::string response{};
    using fields = detail::field_list<detail::longstr<&connection_secure_ok::response>>;
    friend bool operator==(const connection_secure_ok&, const connection_secure_ok&) = default;
};

/// connection.tune (server's proposal) and connection.tune-ok (client's
/// choice): limits of the connection. 0 means "no limit" for channel_max and
/// frame_max, "no heartbeats" for heartbeat (seconds).
template <std::uint16_t MethodId>
struct tune_method {
    static constexpr std::uint16_t class_id = 10, method_id = MethodId;
    std::uint16_t channel_max = 0;
    std::uint32_t frame_max = 0;
    std::uint16_t heartbeat = 0;
    using fields = detail::field_list<detail::short_<&tune_method::channel_max>,
                                      detail::long_<&tune_method::frame_max>,
                                      detail::short_<&tune_method::heartbeat>>;
    friend bool operator==(const tune_method&, const tune_method&) = default;
};
using connection_tune = tune_method<30>;
using connection_tune_ok = tune_method<31>;

struct connection_open {
    static constexpr std::uint16_t class_id = 10, method_id = 40;
    std::string virtual_host = "/";
    using fields = detail::field_list<detail::shortstr<&connection_open::virtual_host>,
                                      detail::reserved<detail::kind::shortstr>,  // capabilities
                                      detail::reserved<detail::kind::bit>>;      // insist
    friend bool operator==(const connection_open&, const connection_open&) = default;
};

struct connection_open_ok {
    static constexpr std::uint16_t class_id = 10, method_id = 41;
    using fields = detail::field_list<detail::reserved<detail::kind::shortstr>>;  // known-hosts
    friend bool operator==(const connection_open_ok&, const connection_open_ok&) = default;
};

using connection_close = close_method<10, 50>;
using connection_close_ok = empty_method<10, 51>;

/// RabbitMQ: the broker stopped reading from this connection (a resource
/// alarm); publishes will stall until connection.unblocked.
struct connection_blocked {
    static constexpr std::uint16_t class_id = 10, method_id = 60;
    std::string reason{};
    using fields = detail::field_list<detail::shortstr<&connection_blocked::reason>>;
    friend bool operator==(const connection_blocked&, const connection_blocked&) = default;
};
using connection_unblocked = empty_method<10, 61>;

/// RabbitMQ: replaces the credential of an open connection (OAuth 2 tokens).
struct connection_update_secret {
    static constexpr std::uint16_t class_id = 10, method_id = 70;
    std::string new_secret{};
    std::string reason{};
    using fields = detail::field_list<detail::longstr<&connection_update_secret::new_secret>,
                                      detail::shortstr<&connection_update_secret::reason>>;
    friend bool operator==(const connection_update_secret&, const connection_update_secret&) = default;
};
using connection_update_secret_ok = empty_method<10, 71>;

/// The client properties courier sends in connection.start-ok: product and
/// platform, the RabbitMQ extensions it implements (its "capabilities":
/// publisher confirms, basic.nack, consumer cancel notifications,
/// connection.blocked, authentication_failure_close, per-consumer qos,
/// exchange-to-exchange bindings), and the connection's name for the
/// management UI when one is given.
inline field_table client_properties(std::string_view connection_name = {}) {
    field_table capabilities{
        {"publisher_confirms", true},
        {"exchange_exchange_bindings", true},
        {"basic.nack", true},
        {"consumer_cancel_notify", true},
        {"connection.blocked", true},
        {"authentication_failure_close", true},
        {"per_consumer_qos", true},
    };
    field_table properties{
        {"product", std::string("courier")},
        {"platform", std::string("C++")},
        {"capabilities", std::move(capabilities)},
    };
    if (!connection_name.empty()) properties.push_back("connection_name", std::string(connection_name));
    return properties;
}

/// The PLAIN mechanism's response (RFC 4616 without authorization id):
/// NUL, user, NUL, password.
inline std::string plain_response(std::string_view user, std::string_view password) {
    std::string r{};
    r.reserve(user.size() + password.size() + 2);
    r.push_back('\0');
    r.append(user);
    r.push_back('\0');
    r.append(password);
    return r;
}

}  // namespace courier::amqp

#endif
