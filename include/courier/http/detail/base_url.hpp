// A parsed http(s) URL the client sends to: origin, Host header and path.
#ifndef COURIER_HTTP_DETAIL_BASE_URL_HPP
#define COURIER_HTTP_DETAIL_BASE_URL_HPP

#include <courier/http/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace courier::http::detail {

struct base_url {
    bool tls = false;
    std::string host;          ///< without brackets for IPv6
    std::uint16_t port = 0;
    std::string path;          ///< encoded, without a trailing '/'
    std::string query;         ///< encoded, without '?' (redirect targets only)
    std::string origin;        ///< "scheme://host:port", the pool's key
    std::string authority;     ///< as written in the URL (host and optional port)
    std::string host_header;   ///< host, plus ":port" when not the default

    /// Parses an absolute http:// or https:// URL; bad_url otherwise (no
    /// user info, no fragment use).
    static base_url parse(std::string_view text, error_code& ec) {
        base_url b;
        auto r = boost::urls::parse_absolute_uri(text);
        if (!r) {
            ec = error::bad_url;
            return b;
        }
        return from(*r, ec);
    }

    static base_url from(boost::urls::url_view u, error_code& ec) {
        base_url b;
        const auto scheme = u.scheme_id();
        if ((scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) || !u.has_authority() ||
            u.host().empty() || u.has_userinfo()) {
            ec = error::bad_url;
            return b;
        }
        b.tls = scheme == boost::urls::scheme::https;
        b.host = u.host_address();
        const std::uint16_t default_port = b.tls ? 443 : 80;
        b.port = u.has_port() ? u.port_number() : default_port;
        if (u.has_port() && b.port == 0) {
            ec = error::bad_url;
            return b;
        }
        b.path = u.encoded_path();
        while (!b.path.empty() && b.path.back() == '/') b.path.pop_back();
        b.query = u.encoded_query();
        b.authority = u.encoded_host_and_port();  // keeps IPv6 brackets
        std::string host_text = b.authority;
        if (!u.has_port()) host_text += ":" + std::to_string(b.port);
        b.origin = std::string(u.scheme()) + "://" + host_text;
        b.host_header = std::string(u.encoded_host_address());
        if (u.host_type() == boost::urls::host_type::ipv6) b.host_header = "[" + b.host_header + "]";
        if (b.port != default_port) b.host_header += ":" + std::to_string(b.port);
        return b;
    }
};

}  // namespace courier::http::detail

#endif
