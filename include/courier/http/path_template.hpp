// A REST path with parameters, "/users/{userId}/orders/{id}": the client
// fills the parameters from a request's fields, the server's router
// (router.hpp) matches request paths against its segments.
#ifndef COURIER_HTTP_PATH_TEMPLATE_HPP
#define COURIER_HTTP_PATH_TEMPLATE_HPP

#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::http {

class path_template {
public:
    struct segment {
        std::string text;   ///< the literal (decoded, as the router compares it), or the parameter's name
        bool param = false;
        std::string encoded{};  ///< a literal percent-encoded as a path segment
    };

    /// Parses `pattern`: segments separated by '/', each a literal or a
    /// whole-segment `{name}`. Throws std::invalid_argument when malformed.
    path_template(std::string_view pattern) : pattern_(pattern) {  // NOLINT: implicit from a literal on purpose
        if (pattern.empty() || pattern.front() != '/')
            throw std::invalid_argument("path template must start with '/': " + std::string(pattern));
        std::size_t pos = 1;
        while (pos <= pattern.size()) {
            const auto end = std::min(pattern.find('/', pos), pattern.size());
            std::string_view part = pattern.substr(pos, end - pos);
            if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
                auto name = part.substr(1, part.size() - 2);
                if (name.empty() || name.find_first_of("{}/") != std::string_view::npos)
                    throw std::invalid_argument("bad parameter in path template: " + std::string(pattern));
                for (const auto& s : segments_)
                    if (s.param && s.text == name)
                        throw std::invalid_argument("parameter named twice in path template: " + std::string(pattern));
                segments_.push_back({std::string(name), true, {}});
            } else {
                if (part.find_first_of("{}") != std::string_view::npos)
                    throw std::invalid_argument("a parameter must be a whole segment: " + std::string(pattern));
                segments_.push_back({std::string(part), false, boost::urls::encode(part, boost::urls::pchars)});
            }
            pos = end + 1;
        }
    }
    path_template(const char* pattern) : path_template(std::string_view(pattern)) {}  // NOLINT

    const std::string& pattern() const noexcept { return pattern_; }
    const std::vector<segment>& segments() const noexcept { return segments_; }

    /// Whether `name` is one of the parameters.
    bool has_param(std::string_view name) const noexcept {
        for (const auto& s : segments_)
            if (s.param && s.text == name) return true;
        return false;
    }

    /// The path with every parameter replaced by `value(name)`, percent-encoded
    /// as a path segment ('/' in a value becomes %2F). `value` returns a
    /// pointer to the text, or nullptr when the request has no such field;
    /// then the result is empty and `missing` names the parameter.
    template <class Lookup>
    std::string expand(Lookup&& value, std::string* missing = nullptr) const {
        std::string out;
        for (const auto& s : segments_) {
            out += '/';
            if (!s.param) {
                out += s.encoded;
                continue;
            }
            const std::string* v = value(std::string_view(s.text));
            if (!v) {
                if (missing) *missing = s.text;
                return {};
            }
            out += boost::urls::encode(*v, boost::urls::pchars);
        }
        return out;
    }

    std::size_t param_count() const noexcept {
        std::size_t n = 0;
        for (const auto& s : segments_) n += s.param;
        return n;
    }

private:
    std::string pattern_;
    std::vector<segment> segments_;
};

}  // namespace courier::http

#endif
