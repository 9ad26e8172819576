// A typed REST endpoint: method and path template. The request's fields fill
// the path parameters; the others go to the query string (GET, HEAD, DELETE,
// OPTIONS) or to the JSON body (POST, PUT, PATCH). The server side rebuilds
// the request from the same three places. Field access goes through
// nlohmann::json, so a type needs only its to_json/from_json.
#ifndef COURIER_HTTP_ENDPOINT_HPP
#define COURIER_HTTP_ENDPOINT_HPP

#include <courier/http/path_template.hpp>

#include <boost/beast/http/verb.hpp>

namespace courier::http {

using verb = boost::beast::http::verb;

template <class Req, class Rep>
struct endpoint {
    using request_type = Req;
    using response_type = Rep;

    verb method = verb::get;
    path_template path;
};

/// Whether requests of this method carry their fields in a body.
constexpr bool has_body(verb v) noexcept {
    return v == verb::post || v == verb::put || v == verb::patch;
}

}  // namespace courier::http

#endif
