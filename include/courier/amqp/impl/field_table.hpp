#ifndef COURIER_AMQP_IMPL_FIELD_TABLE_HPP
#define COURIER_AMQP_IMPL_FIELD_TABLE_HPP

#include <courier/amqp/detail/wire.hpp>

#include <algorithm>
#include <bit>
#include <type_traits>

namespace courier::amqp {

inline field_table::field_table(std::initializer_list<value_type> init) : entries_(init) {}

inline bool field_table::contains(std::string_view name) const noexcept { return find(name) != nullptr; }
inline field_table::iterator field_table::begin() noexcept { return entries_.begin(); }
inline field_table::iterator field_table::end() noexcept { return entries_.end(); }
inline field_table::const_iterator field_table::begin() const noexcept { return entries_.begin(); }
inline field_table::const_iterator field_table::end() const noexcept { return entries_.end(); }
inline std::size_t field_table::size() const noexcept { return entries_.size(); }
inline bool field_table::empty() const noexcept { return entries_.empty(); }
inline void field_table::clear() noexcept { entries_.clear(); }
inline void field_table::reserve(std::size_t n) { entries_.reserve(n); }

inline const field_value* field_table::find(std::string_view name) const noexcept {
    for (const auto& [k, v] : entries_)
        if (k == name) return &v;
    return nullptr;
}

inline field_value* field_table::find(std::string_view name) noexcept {
    for (auto& [k, v] : entries_)
        if (k == name) return &v;
    return nullptr;
}

inline void field_table::set(std::string_view name, field_value value) {
    if (auto* v = find(name)) *v = std::move(value);
    else entries_.emplace_back(std::string(name), std::move(value));
}

inline void field_table::push_back(std::string name, field_value value) {
    entries_.emplace_back(std::move(name), std::move(value));
}

inline bool field_table::erase(std::string_view name) {
    return std::erase_if(entries_, [&](const value_type& e) { return e.first == name; }) != 0;
}

inline bool operator==(const field_table& a, const field_table& b) { return a.entries_ == b.entries_; }

namespace detail {

// The wire tag of each alternative of field_variant, in index order.
inline constexpr char field_tags[] = "VtbBsuIilfdDSATFx";
static_assert(sizeof(field_tags) - 1 == std::variant_size_v<field_variant>);

error_code encode_table_entries(std::string& out, const field_table& table, unsigned depth_left);
error_code encode_array_values(std::string& out, const field_array& array, unsigned depth_left);

// Appends a 32-bit length and what `body` appends after it, patching the
// length in once it is known.
template <class Body>
error_code encode_length_prefixed(std::string& out, Body&& body) {
    const std::size_t at = out.size();
    append_u32(out, 0);
    if (auto ec = body()) return ec;
    const std::size_t n = out.size() - at - 4;
    if (n > UINT32_MAX) return error::field_too_long;
    store_u32(out.data() + at, static_cast<std::uint32_t>(n));
    return {};
}

inline error_code encode_value(std::string& out, const field_value& value, unsigned depth_left) {
    out.push_back(value.tag());
    return std::visit(
        [&](const auto& v) -> error_code {
            using T = std::remove_cvref_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
            } else if constexpr (std::is_same_v<T, bool>) {
                append_u8(out, v ? 1 : 0);
            } else if constexpr (std::is_integral_v<T>) {
                using U = std::make_unsigned_t<T>;
                if constexpr (sizeof(T) == 1) append_u8(out, static_cast<U>(v));
                else if constexpr (sizeof(T) == 2) append_u16(out, static_cast<U>(v));
                else if constexpr (sizeof(T) == 4) append_u32(out, static_cast<U>(v));
                else append_u64(out, static_cast<U>(v));
            } else if constexpr (std::is_same_v<T, float>) {
                append_u32(out, std::bit_cast<std::uint32_t>(v));
            } else if constexpr (std::is_same_v<T, double>) {
                append_u64(out, std::bit_cast<std::uint64_t>(v));
            } else if constexpr (std::is_same_v<T, decimal>) {
                append_u8(out, v.scale);
                append_u32(out, v.value);
            } else if constexpr (std::is_same_v<T, timestamp>) {
                append_u64(out, v.seconds);
            } else if constexpr (std::is_same_v<T, std::string>) {
                if (!append_longstr(out, v)) return error::field_too_long;
            } else if constexpr (std::is_same_v<T, byte_array>) {
                if (!append_longstr(out, v.bytes)) return error::field_too_long;
            } else {
                if (depth_left == 0) return error::nesting_too_deep;
                if constexpr (std::is_same_v<T, field_table>)
                    return encode_length_prefixed(out, [&] { return encode_table_entries(out, v, depth_left - 1); });
                else
                    return encode_length_prefixed(out, [&] { return encode_array_values(out, v, depth_left - 1); });
            }
            return {};
        },
        value.as_variant());
}

inline error_code encode_table_entries(std::string& out, const field_table& table, unsigned depth_left) {
    for (const auto& [name, value] : table) {
        if (!append_shortstr(out, name)) return error::field_too_long;
        if (auto ec = encode_value(out, value, depth_left)) return ec;
    }
    return {};
}

inline error_code encode_array_values(std::string& out, const field_array& array, unsigned depth_left) {
    for (const auto& value : array)
        if (auto ec = encode_value(out, value, depth_left)) return ec;
    return {};
}

error_code decode_table_entries(std::string_view body, field_table& out, unsigned depth_left);

template <class T>
bool read_integral(wire_reader& r, field_value& out) noexcept {
    using U = std::make_unsigned_t<T>;
    bool ok = false;
    U u{};
    if constexpr (sizeof(T) == 1) ok = r.u8(u);
    else if constexpr (sizeof(T) == 2) ok = r.u16(u);
    else if constexpr (sizeof(T) == 4) ok = r.u32(u);
    else ok = r.u64(u);
    // Two's complement conversion: defined since C++20.
    if (ok) out = static_cast<T>(u);
    return ok;
}

inline error_code decode_value(wire_reader& r, field_value& out, unsigned depth_left) {
    std::uint8_t tag = 0;
    if (!r.u8(tag)) return error::truncated_payload;
    bool ok = true;
    std::string_view s;
    switch (tag) {
    case 'V': out = std::monostate{}; break;
    case 't': {
        std::uint8_t b = 0;
        ok = r.u8(b);
        out = b != 0;
        break;
    }
    case 'b': ok = read_integral<std::int8_t>(r, out); break;
    case 'B': ok = read_integral<std::uint8_t>(r, out); break;
    case 's': ok = read_integral<std::int16_t>(r, out); break;
    case 'u': ok = read_integral<std::uint16_t>(r, out); break;
    case 'I': ok = read_integral<std::int32_t>(r, out); break;
    case 'i': ok = read_integral<std::uint32_t>(r, out); break;
    case 'l': ok = read_integral<std::int64_t>(r, out); break;
    case 'f': {
        std::uint32_t u = 0;
        ok = r.u32(u);
        out = std::bit_cast<float>(u);
        break;
    }
    case 'd': {
        std::uint64_t u = 0;
        ok = r.u64(u);
        out = std::bit_cast<double>(u);
        break;
    }
    case 'D': {
        decimal d;
        ok = r.u8(d.scale) && r.u32(d.value);
        out = d;
        break;
    }
    case 'T': {
        timestamp t;
        ok = r.u64(t.seconds);
        out = t;
        break;
    }
    case 'S':
        ok = r.longstr(s);
        if (ok) out = std::string(s);
        break;
    case 'x':
        ok = r.longstr(s);
        if (ok) out = byte_array{std::string(s)};
        break;
    case 'F': {
        if (!r.longstr(s)) return error::truncated_payload;
        if (depth_left == 0) return error::nesting_too_deep;
        field_table table;
        if (auto ec = decode_table_entries(s, table, depth_left - 1)) return ec;
        out = std::move(table);
        break;
    }
    case 'A': {
        if (!r.longstr(s)) return error::truncated_payload;
        if (depth_left == 0) return error::nesting_too_deep;
        field_array array;
        wire_reader items(s);
        while (!items.empty()) {
            if (auto ec = decode_value(items, array.emplace_back(), depth_left - 1)) return ec;
        }
        out = std::move(array);
        break;
    }
    default: return error::bad_field_type;
    }
    return ok ? error_code{} : error_code{error::truncated_payload};
}

inline error_code decode_table_entries(std::string_view body, field_table& out, unsigned depth_left) {
    out.clear();
    wire_reader r(body);
    while (!r.empty()) {
        std::string_view name;
        if (!r.shortstr(name)) return error::truncated_payload;
        field_value value;
        if (auto ec = decode_value(r, value, depth_left)) return ec;
        out.push_back(std::string(name), std::move(value));
    }
    return {};
}

}  // namespace detail

inline char field_value::tag() const noexcept { return detail::field_tags[index()]; }

inline error_code encode_field_table(std::string& out, const field_table& table) {
    const std::size_t size = out.size();
    auto ec = detail::encode_length_prefixed(
        out, [&] { return detail::encode_table_entries(out, table, max_nesting_depth - 1); });
    if (ec) out.resize(size);
    return ec;
}

inline error_code decode_field_table(std::string_view& in, field_table& out, unsigned max_depth) {
    detail::wire_reader r(in);
    std::string_view body;
    if (!r.longstr(body)) return error::truncated_payload;
    if (max_depth == 0) return error::nesting_too_deep;
    if (auto ec = detail::decode_table_entries(body, out, max_depth - 1)) return ec;
    in = r.rest();
    return {};
}

}  // namespace courier::amqp

#endif
