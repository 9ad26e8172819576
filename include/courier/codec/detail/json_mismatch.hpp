// Where a decoded JSON value departs from the shape its type expects, for a
// decode diagnostic that names the field ("field 'amount': expected number,
// got string") without JSON_DIAGNOSTICS, which changes nlohmann::json's
// layout for the whole program. The expected shape is what to_json makes of
// a default-constructed value; only the failure path computes it.
#ifndef COURIER_CODEC_DETAIL_JSON_MISMATCH_HPP
#define COURIER_CODEC_DETAIL_JSON_MISMATCH_HPP

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace courier::detail {

inline std::string_view json_kind(const nlohmann::json& j) noexcept {
    switch (j.type()) {
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "number";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::object: return "object";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::binary: return "binary";
    default: return "null";
    }
}

/// The first place where `got` departs from `expected`, as
/// "field 'a.b[2].c': expected number, got string" (or "...: missing");
/// nullopt when the shapes agree as far as `expected` tells. A null in
/// `expected` (an empty optional) accepts anything; an empty array says
/// nothing of its elements, so a bad element is named by its array.
inline std::optional<std::string> json_mismatch(const nlohmann::json& expected, const nlohmann::json& got,
                                                const std::string& path = {}) {
    const auto field = [&](std::string_view what) { return "field '" + path + "': " + std::string(what); };
    if (expected.is_null()) return std::nullopt;
    if (json_kind(expected) != json_kind(got))
        return field("expected " + std::string(json_kind(expected)) + ", got " + std::string(json_kind(got)));
    if (expected.is_object()) {
        for (const auto& [key, value] : expected.items()) {
            const auto inner = path.empty() ? key : path + "." + key;
            const auto it = got.find(key);
            if (it == got.end()) {
                if (value.is_null()) continue;
                return "field '" + inner + "': missing";
            }
            if (auto m = json_mismatch(value, *it, inner)) return m;
        }
    } else if (expected.is_array() && !got.empty()) {
        if (expected.empty()) return field("an element does not have the expected shape");
        for (std::size_t i = 0; i < got.size(); ++i)
            if (auto m = json_mismatch(expected.front(), got[i], path + "[" + std::to_string(i) + "]")) return m;
    }
    return std::nullopt;
}

}  // namespace courier::detail

#endif
