// JSON codec on nlohmann/json. A user type needs only the two ADL functions
// nlohmann already asks for, `to_json(json&, const T&)` and
// `from_json(const json&, T&)` (or NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE).
#ifndef COURIER_CODEC_JSON_HPP
#define COURIER_CODEC_JSON_HPP

#include <courier/codec.hpp>
#include <courier/codec/detail/json_mismatch.hpp>
#include <courier/error.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace courier {

struct json_codec {
    static constexpr std::string_view content_type() noexcept { return "application/json"; }

    template <class T>
    std::string encode(const T& value, error_code& ec, std::string* diagnostic = nullptr) const {
        ec = {};
        try {
            return nlohmann::json(value).dump();
        } catch (const std::exception& e) {  // e.g. invalid UTF-8 in a string
            fail(ec, diagnostic, error::encode_failed, "encode_failed: ", e.what());
            return {};
        }
    }

    template <class T>
    T decode(std::string_view payload, error_code& ec, std::string* diagnostic = nullptr) const {
        ec = {};
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(payload);
        } catch (const nlohmann::json::parse_error& e) {
            fail(ec, diagnostic, error::decode_failed, "decode_failed: malformed JSON: ", e.what());
            return T{};
        }
        try {
            return j.template get<T>();
        } catch (const std::exception& e) {  // a missing field, a wrong type
            const auto where = diagnostic ? mismatch_with<T>(j) : std::nullopt;
            if (where) fail(ec, diagnostic, error::decode_failed, "decode_failed: ", *where);
            else fail(ec, diagnostic, error::decode_failed, "decode_failed: unexpected shape: ", e.what());
            return T{};
        }
    }

private:
    // Which field of `j` a T cannot be read from, when T tells its shape (a
    // default-constructed T written as JSON).
    template <class T>
    static std::optional<std::string> mismatch_with(const nlohmann::json& j) {
        if constexpr (std::is_default_constructible_v<T> && requires(const T& t) { nlohmann::json(t); }) {
            try {
                return detail::json_mismatch(nlohmann::json(T{}), j);
            } catch (const std::exception&) {
                return std::nullopt;
            }
        } else {
            return std::nullopt;
        }
    }

    static void fail(error_code& ec, std::string* diagnostic, error e, std::string_view prefix,
                     std::string_view what) {
        ec = e;
        if (diagnostic) {
            diagnostic->assign(prefix);
            diagnostic->append(what);
        }
    }
};

}  // namespace courier

#endif
