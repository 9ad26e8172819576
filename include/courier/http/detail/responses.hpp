// The responses the HTTP server writes itself (routing failures, malformed
// requests, handler errors): JSON `{"error": "..."}` bodies, one shape for
// every failure so clients parse one thing.
#ifndef COURIER_HTTP_DETAIL_RESPONSES_HPP
#define COURIER_HTTP_DETAIL_RESPONSES_HPP

#include <courier/http/error.hpp>
#include <courier/http/middleware.hpp>
#include <courier/system_error.hpp>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include <exception>
#include <string>
#include <string_view>

namespace courier::http::detail {

/// JSON text that never throws: invalid UTF-8 in a value (a diagnostic
/// quoting the request) is replaced rather than failing the response.
inline std::string dump_json(const nlohmann::json& j) {
    // json::dump() appends to a string that starts empty and doubles as it
    // grows: for a 60-byte body, three allocations for the string (and two
    // copies). The serializer dump() runs, writing into a string reserved
    // for a typical body, makes one. That serializer is nlohmann::detail,
    // so only the version it was written against uses it.
#if NLOHMANN_JSON_VERSION_MAJOR == 3 && NLOHMANN_JSON_VERSION_MINOR == 11
    std::string out;
    out.reserve(256);
    nlohmann::detail::serializer<nlohmann::json> s(nlohmann::detail::output_adapter<char, std::string>(out), ' ',
                                                   nlohmann::json::error_handler_t::replace);
    s.dump(j, false, false, 0);
    return out;
#else
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
#endif
}

inline response json_error(unsigned status, std::string_view text) {
    response res{static_cast<boost::beast::http::status>(status), 11};
    res.set(boost::beast::http::field::content_type, "application/json");
    res.body() = dump_json(nlohmann::json{{"error", text}});
    return res;
}

/// Request text quoted in an error response, cut to a few dozen bytes: a
/// client must not get a 10 kB method name echoed back.
inline std::string reflected(std::string_view text, std::size_t at_most = 64) {
    if (text.size() <= at_most) return std::string(text);
    return std::string(text.substr(0, at_most)) + "...";
}

/// What a client is told about a handler's error: its diagnostic when the
/// handler gave one, else the error's message.
inline response error_response(const error_code& ec, std::string_view diagnostic = {}) {
    const unsigned status = status_of(ec ? ec : error_code(courier::error::internal));
    return json_error(status, diagnostic.empty() ? std::string_view(ec.message()) : diagnostic);
}

/// The response for an exception that escaped a raw handler or middleware.
/// Only courier's and Boost's system errors say more than "internal": the
/// text of an arbitrary exception may leak internals to the client.
inline response error_response(std::exception_ptr ep) {
    try {
        std::rethrow_exception(ep);
    } catch (const courier::system_error& e) {
        return error_response(e.code(), e.diagnostic());
    } catch (const boost::system::system_error& e) {
        return error_response(e.code());
    } catch (...) {
        return error_response(courier::error::internal);
    }
}

}  // namespace courier::http::detail

#endif
