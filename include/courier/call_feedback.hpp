// What a call tells the layers above it besides its result: today, the
// server's retry hint (HTTP Retry-After, gRPC pushback). A retry layer
// points context::feedback at one of these for each attempt; a backend, or
// an in-process handler, fills it in.
#ifndef COURIER_CALL_FEEDBACK_HPP
#define COURIER_CALL_FEEDBACK_HPP

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

namespace courier {

struct call_feedback {
    /// Wait at least this long before trying again (the server asked).
    std::optional<std::chrono::nanoseconds> retry_after;
};

namespace detail {
/// The diagnostic of a call that failed with a retry hint.
inline std::string retry_after_text(std::chrono::nanoseconds d) {
    char text[96];
    std::snprintf(text, sizeof text, "the server asked to be called again after %.10g s",
                  std::chrono::duration<double>(d).count());
    return text;
}
}  // namespace detail

}  // namespace courier

#endif
