// What every transport moves: payload bytes, headers and a few well-known
// fields. A plain value: cheap to move, copyable (a retry re-sends it).
#ifndef COURIER_MESSAGE_HPP
#define COURIER_MESSAGE_HPP

#include <courier/headers.hpp>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

namespace courier {

struct message {
    /// The encoded body. A std::string holds arbitrary bytes, NULs included.
    std::string payload;
    /// Application and propagation headers (traceparent, ...), in wire order.
    courier::headers headers;
    /// Unique per message; consumers deduplicate on it (at-least-once delivery).
    std::string id;
    /// Ties a reply (or an event) to the request or flow it belongs to.
    std::string correlation_id;
    /// MIME type of the payload, set by the codec ("application/json").
    std::string content_type;
    /// When the message was created; zero when unknown.
    std::chrono::system_clock::time_point timestamp{};

    std::span<const std::byte> bytes() const noexcept {
        return std::as_bytes(std::span(payload.data(), payload.size()));
    }

    friend bool operator==(const message&, const message&) = default;
};

}  // namespace courier

#endif
