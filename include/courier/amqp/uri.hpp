// amqp:// and amqps:// URIs (RabbitMQ's URI specification), parsed with
// Boost.URL into the parameters of a connection:
//
//   amqp[s]://[user[:password]@][host][:port][/vhost][?heartbeat=10&frame_max=131072
//                                                     &channel_max=2047&connection_timeout=5000]
//
// Everything is optional: user and password default to guest/guest (a user
// without a password keeps the default password), host to localhost, port to
// 5672 (amqp) or 5671 (amqps), vhost to "/". The vhost is one path segment,
// percent-decoded, so the vhost "/" is written %2F; a path of "" or "/"
// names the default vhost "/" (RabbitMQ's spec reads "/" as the empty
// vhost, which no broker has by default). Query parameters courier does not
// know (RabbitMQ's TLS options, auth_mechanism...) are ignored.
#ifndef COURIER_AMQP_URI_HPP
#define COURIER_AMQP_URI_HPP

#include <courier/amqp/error.hpp>
#include <courier/system_error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace courier::amqp {

/// A parsed amqp:// or amqps:// URI. The optionals are the query parameters
/// given; unset means "the connection's default".
struct uri {
    bool tls = false;  ///< amqps
    std::string host = "localhost";
    std::uint16_t port = 5672;
    std::string user = "guest";
    std::string password = "guest";
    std::string vhost = "/";
    std::optional<std::uint16_t> heartbeat{};                      ///< seconds, 0 disables
    std::optional<std::uint32_t> frame_max{};                      ///< bytes, overhead included
    std::optional<std::uint16_t> channel_max{};
    std::optional<std::chrono::milliseconds> connection_timeout{};
    friend bool operator==(const uri&, const uri&) = default;
};

/// Parses `text`. On failure sets `ec` to error::bad_uri and, when
/// `diagnostic` is given, stores what was wrong in it ("port 99999 is out of
/// range"). The result is then a default uri.
uri parse_uri(std::string_view text, error_code& ec, std::string* diagnostic = nullptr);

/// Parses `text`; throws courier::system_error(error::bad_uri) whose
/// diagnostic() says what was wrong.
uri parse_uri(std::string_view text);

namespace detail {

template <class T>
bool parse_uri_number(std::string_view text, T& out) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(v);
    return true;
}

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

// The parse itself; the diagnostic says what is wrong, empty when nothing is.
inline uri parse_uri_or_explain(std::string_view text, std::string& why) {
    uri out;
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) {
        why = "not a URI (" + parsed.error().message() + ")";
        return out;
    }
    const boost::urls::url_view u = *parsed;
    if (iequals(u.scheme(), "amqps")) {
        out.tls = true;
        out.port = 5671;
    } else if (!iequals(u.scheme(), "amqp")) {
        why = "scheme '" + std::string(u.scheme()) + "' is neither amqp nor amqps";
        return out;
    }
    if (!u.has_authority()) {
        why = "expected '//' after the scheme";
        return out;
    }
    if (u.has_userinfo()) {
        out.user = u.user();
        if (u.has_password()) out.password = u.password();
    }
    if (std::string host = u.host_address(); !host.empty()) out.host = std::move(host);
    if (u.has_port() && !u.port().empty()) {
        std::uint16_t port = 0;
        if (!parse_uri_number(u.port(), port) || port == 0) {
            why = "port " + std::string(u.port()) + " is out of range (1-65535)";
            return out;
        }
        out.port = port;
    }
    const std::string_view path = u.encoded_path();
    if (path.size() > 1) {
        if (path.find('/', 1) != std::string_view::npos) {
            why = "the vhost is one path segment, '" + std::string(path) + "' has several (write '/' as %2F)";
            return out;
        }
        out.vhost = boost::urls::pct_string_view(path.substr(1)).decode();
    }
    for (const auto& p : u.params()) {
        bool ok = true;
        if (p.key == "heartbeat") ok = parse_uri_number(p.value, out.heartbeat.emplace());
        else if (p.key == "frame_max") ok = parse_uri_number(p.value, out.frame_max.emplace());
        else if (p.key == "channel_max") ok = parse_uri_number(p.value, out.channel_max.emplace());
        else if (p.key == "connection_timeout") {
            std::uint32_t ms = 0;
            ok = parse_uri_number(p.value, ms);
            out.connection_timeout = std::chrono::milliseconds(ms);
        }
        if (!ok) {
            why = "query parameter " + p.key + "='" + p.value + "' is not a number in range";
            return out;
        }
    }
    return out;
}

}  // namespace detail

inline uri parse_uri(std::string_view text, error_code& ec, std::string* diagnostic) {
    std::string why;
    uri out = detail::parse_uri_or_explain(text, why);
    if (why.empty()) {
        ec = {};
        return out;
    }
    ec = error::bad_uri;
    if (diagnostic) *diagnostic = std::move(why);
    return {};
}

inline uri parse_uri(std::string_view text) {
    error_code ec;
    std::string why;
    uri out = parse_uri(text, ec, &why);
    // The URI is not repeated: it may hold a password.
    if (ec) throw courier::system_error(ec, "amqp URI: " + why);
    return out;
}

}  // namespace courier::amqp

#endif
