// Routing without sockets: which registered target a method and a request
// path select, or why none does (404, or 405 with the methods that would
// have been allowed). The server stores its handlers in a router; it is
// usable and tested on its own.
#ifndef COURIER_HTTP_ROUTER_HPP
#define COURIER_HTTP_ROUTER_HPP

#include <courier/http/endpoint.hpp>
#include <courier/http/path_template.hpp>

#include <algorithm>
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
        /// "GET, HEAD, POST": the methods the path accepts (set unless not_found).
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
    /// registration order. HEAD falls back to GET routes.
    match_result match(verb method, std::string_view path) const {
        match_result out;
        const route* best = nullptr;
        const route* best_get = nullptr;
        path_params best_params, best_get_params;
        std::vector<verb> allowed;
        path_params scratch;
        for (const auto& r : routes_) {
            scratch.clear();
            if (!r.path.match(path, scratch)) continue;
            allowed.push_back(r.method);
            if (r.method == method && (!best || more_specific(r.path, best->path))) {
                best = &r;
                best_params = scratch;
            }
            if (r.method == verb::get && (!best_get || more_specific(r.path, best_get->path))) {
                best_get = &r;
                best_get_params = scratch;
            }
        }
        if (allowed.empty()) return out;
        if (std::find(allowed.begin(), allowed.end(), verb::get) != allowed.end()) allowed.push_back(verb::head);
        std::sort(allowed.begin(), allowed.end());
        allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
        for (auto v : allowed) {
            if (!out.allow.empty()) out.allow += ", ";
            out.allow += to_string(v);
        }
        if (!best && method == verb::head && best_get) {
            best = best_get;
            best_params = std::move(best_get_params);
            out.head_as_get = true;
        }
        if (!best) {
            out.result = outcome::method_not_allowed;
            return out;
        }
        out.result = outcome::found;
        out.target = &best->target;
        out.params = std::move(best_params);
        return out;
    }

private:
    struct route {
        verb method;
        path_template path;
        Target target;
    };

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
