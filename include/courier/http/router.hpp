// Routing without sockets: which registered target a method and a request
// path select, or why none does (404, or 405 with the methods that would
// have been allowed). The server stores its handlers in a router; it is
// usable and tested on its own.
#ifndef COURIER_HTTP_ROUTER_HPP
#define COURIER_HTTP_ROUTER_HPP

#include <courier/http/endpoint.hpp>
#include <courier/http/path_template.hpp>

#include <boost/container/small_vector.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/grammar/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/pct_encoded_rule.hpp>

#include <algorithm>
#include <bitset>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::http {

/// Decoded path parameters of a matched route, in template order.
using path_params = std::vector<std::pair<std::string, std::string>>;

/// The value of parameter `name`, or nullptr.
inline const std::string* find_param(const path_params& params, std::string_view name) noexcept {
    for (const auto& [k, v] : params)
        if (k == name) return &v;
    return nullptr;
}

template <class Target>
class router {
public:
    enum class outcome {
        found,               ///< `target` and `params` are set
        not_found,           ///< no route has this path: 404
        method_not_allowed,  ///< routes have this path, none this method: 405, see `allow`
    };

    struct match_result {
        outcome result = outcome::not_found;
        const Target* target = nullptr;
        path_params params{};
        /// "GET, HEAD, POST": the methods the path accepts, set when
        /// method_not_allowed only (a found route leaves it empty: only a 405
        /// needs it, and building it was work on every request).
        std::string allow{};
        /// True when a HEAD request was routed to the GET route: the server
        /// sends its headers without the body.
        bool head_as_get = false;
    };

    /// Adds a route. Throws std::invalid_argument when `method` and a path
    /// with the same shape (same literals, parameters at the same places)
    /// are registered already: the second could never be selected.
    void add(verb method, path_template path, Target target) {
        for (const auto& r : routes_)
            if (r.method == method && same_shape(r.path, path))
                throw std::invalid_argument("route registered twice: " + std::string(to_string(method)) + " " +
                                            path.pattern());
        routes_.push_back({method, std::move(path), std::move(target)});
    }

    bool empty() const noexcept { return routes_.empty(); }

    /// Selects the route for `method` and `path` (percent-encoded, no query).
    /// Where several templates match, the one whose first differing segment
    /// is a literal wins ("/users/me" over "/users/{id}"), whatever the
    /// registration order. HEAD falls back to GET routes. A path that is not
    /// a valid percent-encoded path matches nothing.
    match_result match(verb method, std::string_view path) const {
        match_result out;
        select(method, path, out, out.params);
        return out;
    }

    /// As match(), but the parameters go to `params` (cleared first) and
    /// `params` of the result stays empty: a server answering request after
    /// request on a connection reuses the vector's memory.
    match_result match(verb method, std::string_view path, path_params& params) const {
        match_result out;
        params.clear();
        select(method, path, out, params);
        return out;
    }

private:
    void select(verb method, std::string_view path, match_result& out, path_params& params) const {
        // The path is split once, and compared with every template segment
        // by segment without decoding into strings: only the selected
        // route's parameters are decoded.
        segment_list parts;
        if (!split(path, parts)) return;
        const route* best = nullptr;
        const route* best_get = nullptr;
        std::bitset<verb_count> allowed;
        for (const auto& r : routes_) {
            if (!matches(r.path, parts)) continue;
            allowed.set(static_cast<std::size_t>(r.method));
            if (r.method == method && (!best || more_specific(r.path, best->path))) best = &r;
            if (r.method == verb::get && (!best_get || more_specific(r.path, best_get->path))) best_get = &r;
        }
        if (allowed.none()) return;
        if (!best && method == verb::head && best_get) {
            best = best_get;
            out.head_as_get = true;
        }
        if (!best) {
            out.result = outcome::method_not_allowed;
            if (allowed.test(static_cast<std::size_t>(verb::get))) allowed.set(static_cast<std::size_t>(verb::head));
            for (std::size_t v = 0; v < verb_count; ++v) {  // in enum order, as sorting the verbs would give
                if (!allowed.test(v)) continue;
                if (!out.allow.empty()) out.allow += ", ";
                out.allow += to_string(static_cast<verb>(v));
            }
            return;
        }
        out.result = outcome::found;
        out.target = &best->target;
        const auto& segments = best->path.segments();
        for (std::size_t i = 0; i < segments.size(); ++i)
            if (segments[i].param) params.emplace_back(segments[i].text, parts[i].decode());
    }

    struct route {
        verb method;
        path_template path;
        Target target;
    };

    // Verbs are a small enum; an allowed set is a bitset indexed by them.
    static constexpr std::size_t verb_count = 64;
    static_assert(static_cast<std::size_t>(verb::unlink) < verb_count);

    using segment_list = boost::container::small_vector<boost::urls::pct_string_view, 8>;

    // The percent-encoded segments of an origin-form path; false when it is
    // not one. "/" is one empty segment, as the template "/" parses.
    static bool split(std::string_view path, segment_list& parts) {
        if (path.empty() || path.front() != '/') return false;
        std::size_t pos = 1;
        for (;;) {
            const auto end = std::min(path.find('/', pos), path.size());
            auto seg = boost::urls::grammar::parse(path.substr(pos, end - pos),
                                                   boost::urls::pct_encoded_rule(boost::urls::pchars));
            if (!seg) return false;
            parts.push_back(*seg);
            if (end == path.size()) return true;
            pos = end + 1;
        }
    }

    static bool matches(const path_template& t, const segment_list& parts) {
        const auto& segments = t.segments();
        if (segments.size() != parts.size()) return false;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (segments[i].param ? parts[i].empty() : *parts[i] != boost::core::string_view(segments[i].text))
                return false;
        }
        return true;
    }

    static bool same_shape(const path_template& a, const path_template& b) {
        const auto& x = a.segments();
        const auto& y = b.segments();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (x[i].param != y[i].param) return false;
            if (!x[i].param && x[i].text != y[i].text) return false;
        }
        return true;
    }

    // Both templates matched the same path, so they have as many segments
    // and equal literals wherever both have one.
    static bool more_specific(const path_template& a, const path_template& b) {
        const auto& x = a.segments();
        const auto& y = b.segments();
        for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
            if (x[i].param != y[i].param) return !x[i].param;
        return false;
    }

    std::vector<route> routes_;
};

}  // namespace courier::http

#endif
