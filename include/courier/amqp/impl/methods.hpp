#ifndef COURIER_AMQP_IMPL_METHODS_HPP
#define COURIER_AMQP_IMPL_METHODS_HPP

#include <array>
#include <cstddef>
#include <utility>

namespace courier::amqp {

namespace detail {

// Method ids are looked up through one dense table per class: the classes
// are few and their method ids small, so a decode costs a switch and an
// array load rather than a search over 57 alternatives.
inline constexpr std::uint16_t method_classes[] = {10, 20, 40, 50, 60, 85};
inline constexpr std::size_t method_id_limit = 128;

constexpr int class_slot(std::uint16_t class_id) noexcept {
    switch (class_id) {
    case 10: return 0;
    case 20: return 1;
    case 40: return 2;
    case 50: return 3;
    case 60: return 4;
    case 85: return 5;
    default: return -1;
    }
}

template <class... M>
constexpr auto make_method_index(std::variant<M...>*) {
    // Entry = variant index + 1; 0 marks an unknown method.
    std::array<std::array<std::uint8_t, method_id_limit>, std::size(method_classes)> table{};
    std::uint8_t i = 0;
    ((table[static_cast<std::size_t>(class_slot(M::class_id))][M::method_id] = ++i), ...);
    return table;
}
inline constexpr auto method_index = make_method_index(static_cast<method*>(nullptr));

template <std::size_t I>
error_code decode_alternative(wire_reader& r, method& out) {
    using M = std::variant_alternative_t<I, method>;
    M* m = std::get_if<I>(&out);
    if (!m) m = &out.template emplace<I>();
    if (auto ec = decode_fields(r, *m, typename M::fields{})) return ec;
    return r.empty() ? error_code{} : error_code{error::trailing_bytes};
}

using method_decoder = error_code (*)(wire_reader&, method&);

template <std::size_t... I>
constexpr std::array<method_decoder, sizeof...(I)> make_method_decoders(std::index_sequence<I...>) {
    return {&decode_alternative<I>...};
}
inline constexpr auto method_decoders =
    make_method_decoders(std::make_index_sequence<std::variant_size_v<method>>{});

struct named_method {
    std::uint16_t class_id, method_id;
    std::string_view name;
};
inline constexpr named_method method_names[] = {
    {10, 10, "connection.start"}, {10, 11, "connection.start-ok"}, {10, 20, "connection.secure"},
    {10, 21, "connection.secure-ok"}, {10, 30, "connection.tune"}, {10, 31, "connection.tune-ok"},
    {10, 40, "connection.open"}, {10, 41, "connection.open-ok"}, {10, 50, "connection.close"},
    {10, 51, "connection.close-ok"}, {10, 60, "connection.blocked"}, {10, 61, "connection.unblocked"},
    {10, 70, "connection.update-secret"}, {10, 71, "connection.update-secret-ok"},
    {20, 10, "channel.open"}, {20, 11, "channel.open-ok"}, {20, 20, "channel.flow"}, {20, 21, "channel.flow-ok"},
    {20, 40, "channel.close"}, {20, 41, "channel.close-ok"},
    {40, 10, "exchange.declare"}, {40, 11, "exchange.declare-ok"}, {40, 20, "exchange.delete"},
    {40, 21, "exchange.delete-ok"}, {40, 30, "exchange.bind"}, {40, 31, "exchange.bind-ok"},
    {40, 40, "exchange.unbind"}, {40, 51, "exchange.unbind-ok"},
    {50, 10, "queue.declare"}, {50, 11, "queue.declare-ok"}, {50, 20, "queue.bind"}, {50, 21, "queue.bind-ok"},
    {50, 30, "queue.purge"}, {50, 31, "queue.purge-ok"}, {50, 40, "queue.delete"}, {50, 41, "queue.delete-ok"},
    {50, 50, "queue.unbind"}, {50, 51, "queue.unbind-ok"},
    {60, 10, "basic.qos"}, {60, 11, "basic.qos-ok"}, {60, 20, "basic.consume"}, {60, 21, "basic.consume-ok"},
    {60, 30, "basic.cancel"}, {60, 31, "basic.cancel-ok"}, {60, 40, "basic.publish"}, {60, 50, "basic.return"},
    {60, 60, "basic.deliver"}, {60, 70, "basic.get"}, {60, 71, "basic.get-ok"}, {60, 72, "basic.get-empty"},
    {60, 80, "basic.ack"}, {60, 90, "basic.reject"}, {60, 110, "basic.recover"}, {60, 111, "basic.recover-ok"},
    {60, 120, "basic.nack"},
    {85, 10, "confirm.select"}, {85, 11, "confirm.select-ok"},
};
static_assert(std::size(method_names) == std::variant_size_v<method>);

}  // namespace detail

template <method_type M>
error_code encode_method(std::string& out, const M& m) {
    const std::size_t size = out.size();
    detail::append_u16(out, M::class_id);
    detail::append_u16(out, M::method_id);
    auto ec = detail::encode_fields(out, m, typename M::fields{});
    if (ec) out.resize(size);
    return ec;
}

inline error_code encode_method(std::string& out, const method& m) {
    return std::visit([&](const auto& alternative) { return encode_method(out, alternative); }, m);
}

inline error_code decode_method(std::string_view payload, method& out) {
    detail::wire_reader r(payload);
    std::uint16_t class_id = 0, method_id = 0;
    if (!r.u16(class_id) || !r.u16(method_id)) return error::truncated_payload;
    const int slot = detail::class_slot(class_id);
    if (slot < 0 || method_id >= detail::method_id_limit) return error::unknown_method;
    const std::uint8_t index = detail::method_index[static_cast<std::size_t>(slot)][method_id];
    if (index == 0) return error::unknown_method;
    return detail::method_decoders[index - 1u](r, out);
}

inline boost::system::result<method> decode_method(std::string_view payload) {
    method m;
    if (auto ec = decode_method(payload, m)) return ec;
    return m;
}

inline method_key key_of(const method& m) noexcept {
    return std::visit([](const auto& a) { return method_key{a.class_id, a.method_id}; }, m);
}

inline bool carries_content(const method& m) noexcept { return carries_content(key_of(m)); }

inline std::string_view method_name(method_key id) noexcept {
    for (const auto& n : detail::method_names)
        if (n.class_id == id.class_id && n.method_id == id.method_id) return n.name;
    return {};
}

}  // namespace courier::amqp

#endif
