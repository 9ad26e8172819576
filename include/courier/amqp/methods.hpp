// AMQP 0-9-1 methods as values: one struct per method a client sends or
// receives (methods/<class>.hpp), `method`, a variant over all of them, and
// the codec between them and a method frame's payload (class id, method id,
// arguments; spec 4.2.4).
//
// API notes (differences from the first sketch in issue 5):
// - Each method struct has static `class_id` and `method_id` and a `fields`
//   list that drives one generic codec, instead of its own encode/decode
//   members: call encode_method(out, m) and decode_method(payload[, out]).
// - Decoded strings are owned (std::string), not views into the frame: no
//   lifetime to track. The hot path stays allocation-free another way:
//   decode_method(payload, out) decodes into `out` in place when it already
//   holds that method, so a channel decoding delivery after delivery reuses
//   the strings' capacity (content_assembler does this).
// - The close methods' "class-id"/"method-id" arguments are named
//   failed_class_id/failed_method_id (class_id is the static id).
// - Not covered: class tx (90), basic.recover-async (deprecated), and the
//   spec's access class (removed by 0-9-1).
#ifndef COURIER_AMQP_METHODS_HPP
#define COURIER_AMQP_METHODS_HPP

#include <courier/amqp/methods/basic.hpp>
#include <courier/amqp/methods/channel.hpp>
#include <courier/amqp/methods/confirm.hpp>
#include <courier/amqp/methods/connection.hpp>
#include <courier/amqp/methods/exchange.hpp>
#include <courier/amqp/methods/queue.hpp>

#include <boost/system/result.hpp>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace courier::amqp {

/// Every method courier knows, in class and method id order.
using method = std::variant<
    connection_start, connection_start_ok, connection_secure, connection_secure_ok, connection_tune,
    connection_tune_ok, connection_open, connection_open_ok, connection_close, connection_close_ok,
    connection_blocked, connection_unblocked, connection_update_secret, connection_update_secret_ok,
    channel_open, channel_open_ok, channel_flow, channel_flow_ok, channel_close, channel_close_ok,
    exchange_declare, exchange_declare_ok, exchange_delete, exchange_delete_ok, exchange_bind, exchange_bind_ok,
    exchange_unbind, exchange_unbind_ok,
    queue_declare, queue_declare_ok, queue_bind, queue_bind_ok, queue_purge, queue_purge_ok, queue_delete,
    queue_delete_ok, queue_unbind, queue_unbind_ok,
    basic_qos, basic_qos_ok, basic_consume, basic_consume_ok, basic_cancel, basic_cancel_ok, basic_publish,
    basic_return, basic_deliver, basic_get, basic_get_ok, basic_get_empty, basic_ack, basic_reject,
    basic_recover, basic_recover_ok, basic_nack,
    confirm_select, confirm_select_ok>;

/// A method struct: its ids and its wire fields.
template <class M>
concept method_type = requires {
    { M::class_id } -> std::convertible_to<std::uint16_t>;
    { M::method_id } -> std::convertible_to<std::uint16_t>;
    typename M::fields;
};

/// A method's class and method ids.
struct method_key {
    std::uint16_t class_id = 0;
    std::uint16_t method_id = 0;
    friend bool operator==(const method_key&, const method_key&) = default;
};

/// Appends the payload of a method frame: class id, method id, arguments.
/// Fails with error::field_too_long (a short string over 255 bytes) or
/// error::nesting_too_deep (a table argument), leaving `out` as it was.
template <method_type M>
error_code encode_method(std::string& out, const M& m);
error_code encode_method(std::string& out, const method& m);

/// Decodes a method frame's payload. Errors: error::truncated_payload,
/// error::trailing_bytes, error::unknown_method, and a table argument's
/// (error::bad_field_type, error::nesting_too_deep).
boost::system::result<method> decode_method(std::string_view payload);

/// The same, into `out`: when `out` already holds the method the payload
/// carries, its strings are assigned in place, reusing their capacity. On
/// error `out` holds an unspecified valid method.
error_code decode_method(std::string_view payload, method& out);

/// The ids of the method `m` holds.
method_key key_of(const method& m) noexcept;

/// Whether a content header and body frames follow this method (publish,
/// return, deliver, get-ok).
bool carries_content(const method& m) noexcept;
constexpr bool carries_content(method_key id) noexcept {
    return id.class_id == 60 && (id.method_id == 40 || id.method_id == 50 || id.method_id == 60 || id.method_id == 71);
}

/// The spec's name of a method, "basic.deliver"; empty for ids courier does
/// not know.
std::string_view method_name(method_key id) noexcept;
inline std::string_view method_name(const method& m) noexcept { return method_name(key_of(m)); }

}  // namespace courier::amqp

#include <courier/amqp/impl/methods.hpp>

#endif
