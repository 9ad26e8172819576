// The codec concept: how a typed value becomes a message payload and back.
#ifndef COURIER_CODEC_HPP
#define COURIER_CODEC_HPP

#include <courier/error.hpp>
#include <courier/system_error.hpp>

#include <concepts>
#include <string>
#include <string_view>

namespace courier {

/// A codec for T: `encode(value, ec, diagnostic)` returns the payload,
/// `decode<T>(payload, ec, diagnostic)` the value, failing with
/// error::encode_failed / error::decode_failed and, when `diagnostic` is not
/// null, a sentence saying what was wrong. `content_type()` names the format.
/// Codecs are stateless or cheap to copy, and const-callable from any thread.
template <class C, class T>
concept codec_for = std::copy_constructible<C> &&
    requires(const C& c, const T& value, std::string_view payload, error_code& ec, std::string* diag) {
        { c.encode(value, ec, diag) } -> std::same_as<std::string>;
        { c.template decode<T>(payload, ec, diag) } -> std::same_as<T>;
        { c.content_type() } -> std::convertible_to<std::string_view>;
    };

/// Throwing form of `codec.encode`.
template <class C, class T>
    requires codec_for<C, T>
std::string encode(const C& codec, const T& value) {
    error_code ec;
    std::string diag;
    auto out = codec.encode(value, ec, &diag);
    if (ec) throw system_error(ec, std::move(diag));
    return out;
}

/// Throwing form of `codec.decode`.
template <class T, class C>
    requires codec_for<C, T>
T decode(const C& codec, std::string_view payload) {
    error_code ec;
    std::string diag;
    auto out = codec.template decode<T>(payload, ec, &diag);
    if (ec) throw system_error(ec, std::move(diag));
    return out;
}

}  // namespace courier

#endif
