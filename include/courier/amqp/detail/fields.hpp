// Field lists: each method struct (and basic_properties) names its wire
// fields once, in wire order, as a type list of member pointers and wire
// types; one generic encoder and decoder serve them all. This keeps the
// sixty-odd method layouts as data that can be checked against the spec
// line by line, instead of sixty hand-written codecs.
#ifndef COURIER_AMQP_DETAIL_FIELDS_HPP
#define COURIER_AMQP_DETAIL_FIELDS_HPP

#include <courier/amqp/detail/wire.hpp>
#include <courier/amqp/error.hpp>
#include <courier/amqp/field_table.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace courier::amqp::detail {

/// The argument types of the spec's method and property definitions.
enum class kind { octet, short_, long_, longlong, bit, shortstr, longstr, table };

/// A field stored in a member.
template <auto Member, kind K>
struct field {
    static constexpr kind wire = K;
    static constexpr bool is_reserved = false;
};
/// A field the spec reserves ("reserved-1"): sent as zero or empty, skipped
/// (but still checked to be there) when received.
template <kind K>
struct reserved {
    static constexpr kind wire = K;
    static constexpr bool is_reserved = true;
};

template <class... Fields>
struct field_list {};

template <class Field>
struct member_of;
template <auto Member, kind K>
struct member_of<field<Member, K>> {
    static constexpr auto value = Member;
};

template <auto M> using octet = field<M, kind::octet>;
template <auto M> using short_ = field<M, kind::short_>;
template <auto M> using long_ = field<M, kind::long_>;
template <auto M> using longlong = field<M, kind::longlong>;
template <auto M> using bit = field<M, kind::bit>;
template <auto M> using shortstr = field<M, kind::shortstr>;
template <auto M> using longstr = field<M, kind::longstr>;
template <auto M> using table = field<M, kind::table>;

// -- one value of each kind ----------------------------------------------------

inline error_code encode_one(std::string& out, kind k, std::uint64_t number, std::string_view text) {
    switch (k) {
    case kind::octet: append_u8(out, static_cast<std::uint8_t>(number)); break;
    case kind::short_: append_u16(out, static_cast<std::uint16_t>(number)); break;
    case kind::long_: append_u32(out, static_cast<std::uint32_t>(number)); break;
    case kind::longlong: append_u64(out, number); break;
    case kind::shortstr:
        if (!append_shortstr(out, text)) return error::field_too_long;
        break;
    case kind::longstr:
        if (!append_longstr(out, text)) return error::field_too_long;
        break;
    case kind::bit:
    case kind::table: break;  // handled by the callers
    }
    return {};
}

template <kind K, class T>
error_code encode_value(std::string& out, const T& v) {
    if constexpr (K == kind::table) return encode_field_table(out, v);
    else if constexpr (K == kind::shortstr || K == kind::longstr) return encode_one(out, K, 0, v);
    else return encode_one(out, K, static_cast<std::uint64_t>(v), {});
}

// Strings are assigned into the existing member, so decoding into an object
// that already held a value of that type reuses its capacity: the hot
// methods (basic.deliver, basic.ack...) decode without allocating once warm.
template <kind K, class T>
error_code decode_value(wire_reader& r, T& v) {
    bool ok = false;
    if constexpr (K == kind::octet) ok = r.u8(v);
    else if constexpr (K == kind::short_) ok = r.u16(v);
    else if constexpr (K == kind::long_) ok = r.u32(v);
    else if constexpr (K == kind::longlong) ok = r.u64(v);
    else if constexpr (K == kind::shortstr || K == kind::longstr) {
        std::string_view s;
        ok = K == kind::shortstr ? r.shortstr(s) : r.longstr(s);
        if (ok) v.assign(s.data(), s.size());
    } else if constexpr (K == kind::table) {
        std::string_view rest = r.rest();
        if (auto ec = decode_field_table(rest, v)) return ec;
        std::string_view skipped;
        return r.bytes(r.remaining() - rest.size(), skipped) ? error_code{} : error::truncated_payload;
    }
    return ok ? error_code{} : error_code{error::truncated_payload};
}

template <kind K>
error_code skip_value(wire_reader& r) {
    std::string_view s;
    bool ok = false;
    switch (K) {
    case kind::octet: ok = r.bytes(1, s); break;
    case kind::short_: ok = r.bytes(2, s); break;
    case kind::long_: ok = r.bytes(4, s); break;
    case kind::longlong: ok = r.bytes(8, s); break;
    case kind::shortstr: ok = r.shortstr(s); break;
    case kind::longstr: ok = r.longstr(s); break;
    case kind::bit:
    case kind::table: break;  // no reserved field has these kinds
    }
    return ok ? error_code{} : error_code{error::truncated_payload};
}

// -- whole field lists ---------------------------------------------------------

// Consecutive bit fields share octets, least significant bit first (spec
// 4.2.5.2); any other field ends the run.
struct bit_packer {
    std::size_t octet = std::string::npos;
    unsigned next = 8;
};

template <class Field, class S>
error_code encode_field(std::string& out, const S& s, bit_packer& bits) {
    if constexpr (Field::wire == kind::bit) {
        if (bits.next == 8) {
            bits.octet = out.size();
            bits.next = 0;
            out.push_back('\0');
        }
        bool value = false;
        if constexpr (!Field::is_reserved) value = s.*member_of<Field>::value;
        if (value) out[bits.octet] = static_cast<char>(out[bits.octet] | (1u << bits.next));
        ++bits.next;
        return {};
    } else {
        bits.next = 8;
        if constexpr (Field::is_reserved) return encode_one(out, Field::wire, 0, {});
        else return encode_value<Field::wire>(out, s.*member_of<Field>::value);
    }
}

template <class Field, class S>
error_code decode_field(wire_reader& r, S& s, bit_packer& bits, std::uint8_t& octet) {
    if constexpr (Field::wire == kind::bit) {
        if (bits.next == 8) {
            if (!r.u8(octet)) return error::truncated_payload;
            bits.next = 0;
        }
        const bool value = (octet >> bits.next++) & 1u;
        if constexpr (!Field::is_reserved) s.*member_of<Field>::value = value;
        return {};
    } else {
        bits.next = 8;
        if constexpr (Field::is_reserved) return skip_value<Field::wire>(r);
        else return decode_value<Field::wire>(r, s.*member_of<Field>::value);
    }
}

template <class S, class... Fields>
error_code encode_fields(std::string& out, const S& s, field_list<Fields...>) {
    bit_packer bits;
    error_code ec;
    (void)((!(ec = encode_field<Fields>(out, s, bits))) && ...);
    return ec;
}

template <class S, class... Fields>
error_code decode_fields(wire_reader& r, S& s, field_list<Fields...>) {
    bit_packer bits;
    [[maybe_unused]] std::uint8_t octet = 0;
    error_code ec;
    (void)((!(ec = decode_field<Fields>(r, s, bits, octet))) && ...);
    return ec;
}

}  // namespace courier::amqp::detail

#endif
