// Parses a Retry-After header (RFC 9110 10.2.3): delay-seconds or an
// HTTP-date; the server's hint to the retry layer.
#ifndef COURIER_HTTP_DETAIL_RETRY_AFTER_HPP
#define COURIER_HTTP_DETAIL_RETRY_AFTER_HPP

#include <courier/detail/deadline_after.hpp>

#include <charconv>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace courier::http::detail {

inline std::optional<std::chrono::nanoseconds> parse_retry_after(
    std::string_view v, std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.empty()) return std::nullopt;
    long long seconds = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec == std::errc{} && p == v.data() + v.size()) {
        if (seconds < 0) return std::nullopt;
        return courier::detail::saturating_cast<std::chrono::nanoseconds>(std::chrono::seconds(seconds));
    }
    // IMF-fixdate, the form servers must send: "Sun, 06 Nov 1994 08:49:37 GMT"
    std::tm tm{};
    const std::string text(v);
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0') return std::nullopt;
    const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
    if (at <= now) return std::chrono::nanoseconds::zero();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(at - now);
}

}  // namespace courier::http::detail

#endif
