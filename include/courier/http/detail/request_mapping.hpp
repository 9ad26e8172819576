// How a typed request travels in an HTTP request: path parameters, query
// string, JSON body. One file for both directions, so they cannot drift.
#ifndef COURIER_HTTP_DETAIL_REQUEST_MAPPING_HPP
#define COURIER_HTTP_DETAIL_REQUEST_MAPPING_HPP

#include <courier/error.hpp>
#include <courier/http/endpoint.hpp>

#include <boost/container/small_vector.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::http::detail {

/// A field's text in a path or query: strings as they are, other scalars as
/// JSON writes them.
inline std::string field_text(const nlohmann::json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

/// The target ("/path?query") and body of `req` sent to `ep` under `base_path`
/// (the base URL's path, without a trailing '/'). Errors: encode_failed when
/// the request is not a JSON object or lacks a path parameter (`diagnostic`
/// says which).
template <class Req, class Rep>
bool encode_request(const endpoint<Req, Rep>& ep, const Req& req, std::string_view base_path, std::string& target,
                    std::string& body, error_code& ec, std::string* diagnostic = nullptr) {
    nlohmann::json j;
    try {
        j = req;
    } catch (const std::exception& e) {
        ec = courier::error::encode_failed;
        if (diagnostic) *diagnostic = e.what();
        return false;
    }
    if (!j.is_object()) {
        if (!j.is_null() || ep.path.param_count() > 0) {
            ec = courier::error::encode_failed;
            if (diagnostic) *diagnostic = "an HTTP request type must encode as a JSON object";
            return false;
        }
        j = nlohmann::json::object();
    }
    std::vector<std::string> texts;  // keeps the looked-up texts alive
    texts.reserve(ep.path.param_count());
    std::string missing;
    std::string path = ep.path.expand(
        [&](std::string_view name) -> const std::string* {
            auto it = j.find(name);
            if (it == j.end() || it->is_null()) return nullptr;
            texts.push_back(field_text(*it));
            return &texts.back();
        },
        &missing);
    if (path.empty()) {
        ec = courier::error::encode_failed;
        if (diagnostic) *diagnostic = "the request has no field for path parameter '" + missing + "'";
        return false;
    }
    for (const auto& s : ep.path.segments())
        if (s.param) j.erase(s.text);
    std::string full_path = std::string(base_path) + path;  // both percent-encoded already
    const bool no_query = has_body(ep.method) ||
                          std::all_of(j.begin(), j.end(), [](const nlohmann::json& v) { return v.is_null(); });
    if (no_query) {  // the common GET /things/{id}: no URL object to build
        body = has_body(ep.method) ? j.dump() : std::string();
        target = std::move(full_path);
        return true;
    }
    boost::urls::url u;
    u.set_encoded_path(full_path);
    auto params = u.params();
    for (const auto& [k, v] : j.items()) {
        if (v.is_null()) continue;
        if (v.is_array()) {
            for (const auto& e : v)
                if (!e.is_null()) params.append({k, field_text(e)});
        } else {
            params.append({k, field_text(v)});
        }
    }
    body.clear();
    target = std::string(u.encoded_target());
    return true;
}

/// Rebuilds a typed request from path parameters, the decoded query and the
/// body. Path parameters win over query parameters, which the body's fields
/// win over. Parameters arrive as text; a field the type wants as a number or
/// a boolean is converted when the text is one. Errors: decode_failed with
/// what went wrong in `diagnostic`.
template <class Req>
Req decode_request(const std::vector<std::pair<std::string, std::string>>& path_params,
                   boost::urls::params_view query, std::string_view body, error_code& ec,
                   std::string* diagnostic = nullptr) {
    nlohmann::json j = nlohmann::json::object();
    if (!body.empty()) {
        j = nlohmann::json::parse(body, nullptr, false);
        if (j.is_discarded()) {
            ec = courier::error::decode_failed;
            if (diagnostic) *diagnostic = "the body is not valid JSON";
            return Req{};
        }
        if (!j.is_object()) {
            ec = courier::error::decode_failed;
            if (diagnostic) *diagnostic = "the body must be a JSON object";
            return Req{};
        }
    }
    // The parameters set as text, for a second try with numbers; in place
    // for the usual few, as this runs for every request a server answers.
    boost::container::small_vector<std::string, 4> texts;
    for (auto p : query) {
        if (j.contains(p.key)) continue;
        j[p.key] = p.value;
        texts.push_back(p.key);
    }
    for (const auto& [k, v] : path_params) {
        j[k] = v;
        texts.push_back(k);
    }
    try {
        return j.get<Req>();
    } catch (const nlohmann::json::exception& first) {
        const nlohmann::json as_text = j;  // for the one-at-a-time tries below
        bool changed = false;
        for (const auto& k : texts) {
            if (!j[k].is_string()) continue;  // named twice, converted already
            const auto& text = j[k].get_ref<const std::string&>();
            auto parsed = nlohmann::json::parse(text, nullptr, false);
            if (!parsed.is_discarded() && (parsed.is_number() || parsed.is_boolean())) {
                j[k] = std::move(parsed);
                changed = true;
            }
        }
        if (changed) {
            try {
                return j.get<Req>();
            } catch (const nlohmann::json::exception&) {
            }
            // Converting every numeric-looking text also converts a string
            // field that merely looks numeric ("/users/7?verbose=1", id a
            // string): try the conversions one at a time as well.
            for (const auto& k : texts) {
                if (j[k] == as_text[k]) continue;
                nlohmann::json one = as_text;
                one[k] = j[k];
                try {
                    return one.get<Req>();
                } catch (const nlohmann::json::exception&) {
                }
            }
        }
        ec = courier::error::decode_failed;
        if (diagnostic) *diagnostic = first.what();
        return Req{};
    }
}

}  // namespace courier::http::detail

#endif
