// The properties of a message (class basic's content properties, spec 4.2.6
// and the basic class definition) and the content header frame's payload
// that carries them with the body size: class id, weight (0), body size,
// property flags, then the properties present, in flag order.
#ifndef COURIER_AMQP_PROPERTIES_HPP
#define COURIER_AMQP_PROPERTIES_HPP

#include <courier/amqp/detail/fields.hpp>
#include <courier/amqp/error.hpp>
#include <courier/amqp/field_table.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier::amqp {

inline constexpr std::uint8_t delivery_mode_transient = 1;
inline constexpr std::uint8_t delivery_mode_persistent = 2;

/// The 14 properties of class basic; an empty optional is not sent.
struct basic_properties {
    std::optional<std::string> content_type{};      ///< MIME type, "application/json"
    std::optional<std::string> content_encoding{};  ///< "gzip"...
    std::optional<field_table> headers{};           ///< application headers
    std::optional<std::uint8_t> delivery_mode{};    ///< delivery_mode_transient (1) or _persistent (2)
    std::optional<std::uint8_t> priority{};         ///< 0-9
    std::optional<std::string> correlation_id{};    ///< ties a reply to its request
    std::optional<std::string> reply_to{};          ///< queue the reply goes to
    std::optional<std::string> expiration{};        ///< per-message TTL in milliseconds, as decimal text
    std::optional<std::string> message_id{};
    std::optional<std::uint64_t> timestamp{};       ///< seconds since the Unix epoch
    std::optional<std::string> type{};
    std::optional<std::string> user_id{};           ///< RabbitMQ checks it is the connection's user
    std::optional<std::string> app_id{};
    std::optional<std::string> cluster_id{};        ///< deprecated, still carried

    // In flag order: the first field is flag bit 15, the last bit 2.
    using fields = detail::field_list<detail::shortstr<&basic_properties::content_type>,
                                      detail::shortstr<&basic_properties::content_encoding>,
                                      detail::table<&basic_properties::headers>,
                                      detail::octet<&basic_properties::delivery_mode>,
                                      detail::octet<&basic_properties::priority>,
                                      detail::shortstr<&basic_properties::correlation_id>,
                                      detail::shortstr<&basic_properties::reply_to>,
                                      detail::shortstr<&basic_properties::expiration>,
                                      detail::shortstr<&basic_properties::message_id>,
                                      detail::longlong<&basic_properties::timestamp>,
                                      detail::shortstr<&basic_properties::type>,
                                      detail::shortstr<&basic_properties::user_id>,
                                      detail::shortstr<&basic_properties::app_id>,
                                      detail::shortstr<&basic_properties::cluster_id>>;

    friend bool operator==(const basic_properties&, const basic_properties&) = default;
};

/// Appends the property flags and the properties present. Fails with
/// error::field_too_long or error::nesting_too_deep, leaving `out` as it was.
error_code encode_properties(std::string& out, const basic_properties& properties);

/// Decodes property flags and properties from the front of `in`, advancing
/// it. Properties whose flag is clear are reset; those set are assigned in
/// place (a warm object decodes without allocating short strings). Errors:
/// error::truncated_payload, error::bad_content_header (a flag courier does
/// not know: bit 1, or a set bit in a continuation word), and a headers
/// table's errors.
error_code decode_properties(std::string_view& in, basic_properties& out);

/// The class id of basic, the only class with content.
inline constexpr std::uint16_t basic_class_id = 60;

/// A content header frame's payload.
struct content_header {
    std::uint16_t class_id = basic_class_id;
    std::uint64_t body_size = 0;
    basic_properties properties{};
    friend bool operator==(const content_header&, const content_header&) = default;
};

/// Appends a content header payload for a body of `body_size` bytes.
error_code encode_content_header(std::string& out, std::uint64_t body_size, const basic_properties& properties,
                                 std::uint16_t class_id = basic_class_id);

/// Decodes a whole content header payload (class id, weight, body size,
/// properties); bytes after the properties are error::trailing_bytes.
error_code decode_content_header(std::string_view payload, content_header& out);

}  // namespace courier::amqp

#include <courier/amqp/impl/properties.hpp>

#endif
