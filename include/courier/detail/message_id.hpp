// Message ids a broker assigns to messages published without one: unique,
// short enough for std::string's inline buffer, cheap to make.
#ifndef COURIER_DETAIL_MESSAGE_ID_HPP
#define COURIER_DETAIL_MESSAGE_ID_HPP

#include <courier/detail/random.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace courier::detail {

/// Message ids of one broker: a random prefix drawn per broker, then a
/// counter, 15 URL-safe characters in all (std::string's inline buffer).
class id_source {
public:
    id_source() { reseed(); }
    // Not thread-safe: each broker calls it under its lock or on its strand.
    void assign(std::string& id) {
        id.append(text_, size);  // into the empty id: cheaper than assign
        // The counter counts like an odometer over the alphabet; when it
        // wraps (after 2^42 ids) a new prefix keeps the ids unique.
        for (std::size_t i = size; i-- > prefix_len;) {
            if (++digits_[i - prefix_len] < 64) {
                text_[i] = alphabet[digits_[i - prefix_len]];
                return;
            }
            digits_[i - prefix_len] = 0;
            text_[i] = alphabet[0];
        }
        reseed();
    }

private:
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static constexpr std::size_t prefix_len = 8, size = 15;  // 48 random bits, then 42 counting

    void reseed() {
        std::uint64_t r = courier::detail::random_u64();
        for (std::size_t i = 0; i < prefix_len; ++i, r >>= 6) text_[i] = alphabet[r & 63];
        for (std::size_t i = prefix_len; i < size; ++i) text_[i] = alphabet[0];
        for (auto& d : digits_) d = 0;
    }

    char text_[size];
    unsigned char digits_[size - prefix_len];
};

}  // namespace courier::detail

#endif
