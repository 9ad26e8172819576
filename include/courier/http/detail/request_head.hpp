// Checks of a request's head that Beast leaves to the server, made before
// the body is read: Host (RFC 9112 §3.2) and Transfer-Encoding, where a
// coding the server does not implement would leave the body to be read as
// the next request (request smuggling). The rule is nginx's: exactly
// "chunked", or 501 and close. And the absolute form of a target (RFC 9112
// §3.2.2, "GET http://host/path"), which routes as its origin form.
#ifndef COURIER_HTTP_DETAIL_REQUEST_HEAD_HPP
#define COURIER_HTTP_DETAIL_REQUEST_HEAD_HPP

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/url/parse.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace courier::http::detail {

struct head_rejection {
    unsigned status;
    std::string_view reason;
};

/// Why the request with this head must be answered with an error and the
/// connection closed; nullopt when it may be served.
template <class Fields>
std::optional<head_rejection> check_request_head(const boost::beast::http::request_header<Fields>& h) {
    namespace bhttp = boost::beast::http;
    const auto hosts = h.count(bhttp::field::host);
    if (hosts > 1) return head_rejection{400, "more than one Host field"};
    if (hosts == 0 && h.version() >= 11) return head_rejection{400, "an HTTP/1.1 request needs a Host field"};
    const auto codings = h.count(bhttp::field::transfer_encoding);
    if (codings == 0) return std::nullopt;
    if (h.version() < 11) return head_rejection{400, "Transfer-Encoding in an HTTP/1.0 request"};
    if (codings > 1 || !boost::beast::iequals(h[bhttp::field::transfer_encoding], "chunked"))
        return head_rejection{501, "only Transfer-Encoding: chunked is implemented"};
    return std::nullopt;
}

/// Rewrites an absolute-form http(s) target to its origin form, and Host
/// to the target's authority (which a server must use instead). Any other
/// target is left for the router to refuse.
template <class Body, class Fields>
void to_origin_form(boost::beast::http::request<Body, Fields>& req) {
    const std::string_view target = req.target();
    if (target.empty() || target.front() == '/') return;
    const auto url = boost::urls::parse_absolute_uri(target);
    if (!url || !url->has_authority() || url->encoded_host().empty()) return;
    const auto scheme = url->scheme_id();
    if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) return;
    std::string origin = url->encoded_path().empty() ? std::string("/") : std::string(url->encoded_path());
    if (url->has_query()) {
        origin += '?';
        origin += url->encoded_query();
    }
    req.set(boost::beast::http::field::host, std::string_view(url->encoded_host_and_port()));
    req.target(origin);
}

}  // namespace courier::http::detail

#endif
