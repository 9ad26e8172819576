// Fast per-thread random numbers for ids (trace ids, span ids, message ids).
// Not cryptographic: ids must be unique, not unguessable.
#ifndef COURIER_DETAIL_RANDOM_HPP
#define COURIER_DETAIL_RANDOM_HPP

#include <array>
#include <cstdint>
#include <random>
#include <string>

namespace courier::detail {

// splitmix64 seeded once per thread from std::random_device; each thread gets
// an independent stream, so no lock and no shared state.
inline std::uint64_t random_u64() noexcept {
    thread_local std::uint64_t state = [] {
        std::random_device rd;
        return (std::uint64_t{rd()} << 32) ^ rd() ^
               reinterpret_cast<std::uintptr_t>(&state);  // distinct per thread
    }();
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

inline void append_hex(std::string& out, const std::uint8_t* data, std::size_t n) {
    constexpr char digits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(digits[data[i] >> 4]);
        out.push_back(digits[data[i] & 0xf]);
    }
}

template <std::size_t N>
std::array<std::uint8_t, N> random_bytes() noexcept {
    std::array<std::uint8_t, N> out{};
    for (std::size_t i = 0; i < N; i += 8) {
        auto r = random_u64();
        for (std::size_t j = i; j < N && j < i + 8; ++j, r >>= 8) out[j] = static_cast<std::uint8_t>(r);
    }
    return out;
}

/// A random id of 15 URL-safe characters (90 random bits): unique for all
/// practical purposes, and short enough for std::string's inline buffer,
/// so making one never touches the heap.
inline std::string random_id() {
    constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string s(15, '\0');
    std::uint64_t a = random_u64(), b = random_u64();
    for (int i = 0; i < 10; ++i, a >>= 6) s[static_cast<std::size_t>(i)] = alphabet[a & 63];
    for (int i = 10; i < 15; ++i, b >>= 6) s[static_cast<std::size_t>(i)] = alphabet[b & 63];
    return s;
}

}  // namespace courier::detail

#endif
