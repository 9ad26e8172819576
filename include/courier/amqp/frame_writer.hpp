// Frame encoding: functions that append whole frames to an output buffer
// (a std::string the caller reuses between writes, so steady-state encoding
// does not allocate). Each either appends complete frames or, on error,
// leaves the buffer as it was.
//
// frame_max is the negotiated limit on a whole frame, its 8 bytes of
// overhead included; 0 means none. Values from 1 to frame_min_size - 1 are
// taken as frame_min_size (the spec allows no smaller limit, and a tiny one
// would cut bodies into absurdly many frames).
#ifndef COURIER_AMQP_FRAME_WRITER_HPP
#define COURIER_AMQP_FRAME_WRITER_HPP

#include <courier/amqp/error.hpp>
#include <courier/amqp/frame.hpp>
#include <courier/amqp/methods.hpp>
#include <courier/amqp/properties.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace courier::amqp {

/// Appends the protocol header, what a client sends before any frame.
void append_protocol_header(std::string& out);

/// Appends a method frame. Methods cannot be split: one whose payload does
/// not fit frame_max fails with error::frame_too_large. Also fails as
/// encode_method does.
template <method_type M>
error_code append_method_frame(std::string& out, std::uint16_t channel, const M& m, std::uint32_t frame_max = 0);
error_code append_method_frame(std::string& out, std::uint16_t channel, const method& m, std::uint32_t frame_max = 0);

/// Appends a content header frame (class basic) for a body of `body_size` bytes.
error_code append_header_frame(std::string& out, std::uint16_t channel, std::uint64_t body_size,
                               const basic_properties& properties, std::uint32_t frame_max = 0);

/// Appends `body` as body frames of at most frame_max bytes each; an empty
/// body appends nothing (the content header's size 0 says it all).
void append_body_frames(std::string& out, std::uint16_t channel, std::string_view body, std::uint32_t frame_max = 0);

/// Appends a heartbeat frame.
void append_heartbeat_frame(std::string& out);

/// Appends the start of a publish: the basic.publish method frame and the
/// content header for a body of `body_size` bytes, whose frames must follow
/// (append_body_frames). On failure `out` is left as it was.
error_code append_publish_head(std::string& out, std::uint16_t channel, const basic_publish& m,
                               const basic_properties& properties, std::uint64_t body_size,
                               std::uint32_t frame_max = 0);

/// Appends a whole publish: the basic.publish method frame, the content
/// header and the body frames.
error_code append_publish(std::string& out, std::uint16_t channel, const basic_publish& m,
                          const basic_properties& properties, std::string_view body, std::uint32_t frame_max = 0);

}  // namespace courier::amqp

#include <courier/amqp/impl/frame_writer.hpp>

#endif
