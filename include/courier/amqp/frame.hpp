// What an AMQP 0-9-1 connection is made of (spec 4.2.2-4.2.3): the protocol
// header a client opens with, then frames: type octet, channel, 32-bit
// payload size, payload, frame-end octet 0xCE. frame_writer.hpp appends
// frames to a buffer, frame_reader.hpp cuts them out of received bytes.
//
// Bytes are held in std::string everywhere in courier's AMQP code (output
// buffers, payload views as std::string_view): courier::message's payload is
// a std::string already, so bodies move between the two without conversion.
#ifndef COURIER_AMQP_FRAME_HPP
#define COURIER_AMQP_FRAME_HPP

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace courier::amqp {

enum class frame_type : std::uint8_t {
    method = 1,     ///< a method: class id, method id, arguments
    header = 2,     ///< a content header: body size and properties
    body = 3,       ///< a slice of a content body
    heartbeat = 8,  ///< keep-alive, channel 0, empty
};

/// One frame as the reader found it. `payload` views the reader's buffer;
/// see frame_reader for how long it stays valid.
struct frame {
    frame_type type = frame_type::heartbeat;
    std::uint16_t channel = 0;
    std::string_view payload;
};

/// What a client sends first: "AMQP", 0, then version 0-9-1.
inline constexpr std::string_view protocol_header{"AMQP\x00\x00\x09\x01", 8};

inline constexpr std::uint8_t frame_end = 0xCE;
/// Type (1) + channel (2) + size (4).
inline constexpr std::size_t frame_header_size = 7;
/// Header plus frame-end: what a frame costs beyond its payload. frame_max
/// counts it (a frame_max of 4096 carries 4088 payload bytes).
inline constexpr std::size_t frame_overhead = frame_header_size + 1;
/// The largest frame both peers must accept before connection.tune agreed
/// on frame_max, and the smallest frame_max either may ask for.
inline constexpr std::uint32_t frame_min_size = 4096;
/// What courier proposes in connection.tune-ok when the broker has no
/// preference: RabbitMQ's default.
inline constexpr std::uint32_t default_frame_max = 131072;

/// The frame_max to answer connection.tune with: the smaller of what the
/// client wants and the server offers, 0 on either side meaning "no limit";
/// never 0 (courier always names a limit, so that its reader has one) and
/// never below frame_min_size.
constexpr std::uint32_t negotiate_frame_max(std::uint32_t client, std::uint32_t server) noexcept {
    std::uint32_t v = client == 0 ? server : server == 0 ? client : (client < server ? client : server);
    if (v == 0) v = default_frame_max;
    return v < frame_min_size ? frame_min_size : v;
}

}  // namespace courier::amqp

#endif
