#ifndef COURIER_AMQP_IMPL_PROPERTIES_HPP
#define COURIER_AMQP_IMPL_PROPERTIES_HPP

#include <courier/amqp/detail/wire.hpp>

namespace courier::amqp {

namespace detail {

// Property flags: bit 15 for the first property down to bit 2 for the
// fourteenth; bit 0 says another flag word follows (spec 4.2.6.1).
inline constexpr std::uint16_t property_flag_continuation = 0x0001;
inline constexpr std::uint16_t property_flags_known = 0xfffc;

template <class... Fields>
error_code encode_property_list(std::string& out, const basic_properties& p, field_list<Fields...>) {
    const std::size_t flags_at = out.size();
    append_u16(out, 0);
    std::uint16_t flags = 0;
    unsigned bit = 16;
    error_code ec;
    auto one = [&]<class Field>(Field*) {
        --bit;
        const auto& value = p.*member_of<Field>::value;
        if (!value) return true;
        flags = static_cast<std::uint16_t>(flags | (1u << bit));
        ec = encode_value<Field::wire>(out, *value);
        return !ec;
    };
    (void)(one(static_cast<Fields*>(nullptr)) && ...);
    store_u16(out.data() + flags_at, flags);
    return ec;
}

template <class... Fields>
error_code decode_property_list(wire_reader& r, basic_properties& p, field_list<Fields...>) {
    std::uint16_t flags = 0;
    if (!r.u16(flags)) return error::truncated_payload;
    if ((flags & ~property_flags_known & ~property_flag_continuation) != 0) return error::bad_content_header;
    // Continuation words would flag properties basic does not have; all-zero
    // ones are harmless.
    for (std::uint16_t more = flags; more & property_flag_continuation;) {
        if (!r.u16(more)) return error::truncated_payload;
        if ((more & ~property_flag_continuation) != 0) return error::bad_content_header;
    }
    unsigned bit = 16;
    error_code ec;
    auto one = [&]<class Field>(Field*) {
        --bit;
        auto& value = p.*member_of<Field>::value;
        if ((flags & (1u << bit)) == 0) {
            value.reset();
            return true;
        }
        if (!value) value.emplace();
        ec = decode_value<Field::wire>(r, *value);
        return !ec;
    };
    (void)(one(static_cast<Fields*>(nullptr)) && ...);
    return ec;
}

}  // namespace detail

inline error_code encode_properties(std::string& out, const basic_properties& properties) {
    const std::size_t size = out.size();
    auto ec = detail::encode_property_list(out, properties, basic_properties::fields{});
    if (ec) out.resize(size);
    return ec;
}

inline error_code decode_properties(std::string_view& in, basic_properties& out) {
    detail::wire_reader r(in);
    if (auto ec = detail::decode_property_list(r, out, basic_properties::fields{})) return ec;
    in = r.rest();
    return {};
}

inline error_code encode_content_header(std::string& out, std::uint64_t body_size,
                                        const basic_properties& properties, std::uint16_t class_id) {
    const std::size_t size = out.size();
    detail::append_u16(out, class_id);
    detail::append_u16(out, 0);  // weight: unused, always 0
    detail::append_u64(out, body_size);
    auto ec = encode_properties(out, properties);
    if (ec) out.resize(size);
    return ec;
}

inline error_code decode_content_header(std::string_view payload, content_header& out) {
    detail::wire_reader r(payload);
    std::uint16_t weight = 0;
    if (!r.u16(out.class_id) || !r.u16(weight) || !r.u64(out.body_size)) return error::truncated_payload;
    std::string_view rest = r.rest();
    if (auto ec = decode_properties(rest, out.properties)) return ec;
    return rest.empty() ? error_code{} : error_code{error::trailing_bytes};
}

}  // namespace courier::amqp

#endif
