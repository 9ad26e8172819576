// The primitive types of AMQP 0-9-1 on the wire (spec 4.2.5): big-endian
// integers, short strings (octet length) and long strings (32-bit length).
// wire_reader is a bounds-checked cursor that never reads past its input and
// reports a shortfall instead; the append_* functions grow an output string.
#ifndef COURIER_AMQP_DETAIL_WIRE_HPP
#define COURIER_AMQP_DETAIL_WIRE_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace courier::amqp::detail {

inline std::uint16_t load_u16(const unsigned char* p) noexcept {
    return static_cast<std::uint16_t>((unsigned{p[0]} << 8) | p[1]);
}
inline std::uint32_t load_u32(const unsigned char* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
inline std::uint64_t load_u64(const unsigned char* p) noexcept {
    return (std::uint64_t{load_u32(p)} << 32) | load_u32(p + 4);
}

inline void store_u16(char* p, std::uint16_t v) noexcept {
    p[0] = static_cast<char>(v >> 8);
    p[1] = static_cast<char>(v);
}
inline void store_u32(char* p, std::uint32_t v) noexcept {
    p[0] = static_cast<char>(v >> 24);
    p[1] = static_cast<char>(v >> 16);
    p[2] = static_cast<char>(v >> 8);
    p[3] = static_cast<char>(v);
}
inline void store_u64(char* p, std::uint64_t v) noexcept {
    store_u32(p, static_cast<std::uint32_t>(v >> 32));
    store_u32(p + 4, static_cast<std::uint32_t>(v));
}

inline void append_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void append_u16(std::string& out, std::uint16_t v) {
    char b[2];
    store_u16(b, v);
    out.append(b, 2);
}
inline void append_u32(std::string& out, std::uint32_t v) {
    char b[4];
    store_u32(b, v);
    out.append(b, 4);
}
inline void append_u64(std::string& out, std::uint64_t v) {
    char b[8];
    store_u64(b, v);
    out.append(b, 8);
}

inline constexpr std::size_t shortstr_max = 255;

/// Appends an octet-length string; false (nothing appended) when it is too long.
inline bool append_shortstr(std::string& out, std::string_view s) {
    if (s.size() > shortstr_max) return false;
    append_u8(out, static_cast<std::uint8_t>(s.size()));
    out.append(s);
    return true;
}
/// Appends a 32-bit-length string; false (nothing appended) when it is too long.
inline bool append_longstr(std::string& out, std::string_view s) {
    if (s.size() > UINT32_MAX) return false;
    append_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
    return true;
}

/// A cursor over an input; every read checks the bytes are there and, when
/// they are not, fails without moving.
class wire_reader {
public:
    explicit wire_reader(std::string_view in) noexcept
        : p_(reinterpret_cast<const unsigned char*>(in.data())), end_(p_ + in.size()) {}

    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
    bool empty() const noexcept { return p_ == end_; }
    std::string_view rest() const noexcept { return {reinterpret_cast<const char*>(p_), remaining()}; }

    bool u8(std::uint8_t& v) noexcept {
        if (remaining() < 1) return false;
        v = *p_++;
        return true;
    }
    bool u16(std::uint16_t& v) noexcept {
        if (remaining() < 2) return false;
        v = load_u16(p_);
        p_ += 2;
        return true;
    }
    bool u32(std::uint32_t& v) noexcept {
        if (remaining() < 4) return false;
        v = load_u32(p_);
        p_ += 4;
        return true;
    }
    bool u64(std::uint64_t& v) noexcept {
        if (remaining() < 8) return false;
        v = load_u64(p_);
        p_ += 8;
        return true;
    }
    /// The next `n` bytes, in place.
    bool bytes(std::size_t n, std::string_view& v) noexcept {
        if (remaining() < n) return false;
        v = {reinterpret_cast<const char*>(p_), n};
        p_ += n;
        return true;
    }
    bool shortstr(std::string_view& v) noexcept {
        std::uint8_t n = 0;
        if (remaining() < 1 || remaining() - 1 < *p_) return false;
        return u8(n) && bytes(n, v);
    }
    bool longstr(std::string_view& v) noexcept {
        if (remaining() < 4 || remaining() - 4 < load_u32(p_)) return false;
        std::uint32_t n = 0;
        return u32(n) && bytes(n, v);
    }

private:
    const unsigned char* p_;
    const unsigned char* end_;
};

}  // namespace courier::amqp::detail

#endif
