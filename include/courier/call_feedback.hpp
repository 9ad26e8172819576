// What a call tells the layers above it besides its result: today, the
// server's retry hint (HTTP Retry-After, gRPC pushback). A retry layer
// points context::feedback at one of these for each attempt; a backend, or
// an in-process handler, fills it in.
#ifndef COURIER_CALL_FEEDBACK_HPP
#define COURIER_CALL_FEEDBACK_HPP

#include <chrono>
#include <optional>

namespace courier {

struct call_feedback {
    /// Wait at least this long before trying again (the server asked).
    std::optional<std::chrono::nanoseconds> retry_after;
};

}  // namespace courier

#endif
