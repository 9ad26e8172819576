#ifndef COURIER_AMQP_IMPL_FRAME_WRITER_HPP
#define COURIER_AMQP_IMPL_FRAME_WRITER_HPP

#include <courier/amqp/detail/wire.hpp>

#include <algorithm>

namespace courier::amqp {

namespace detail {

// The largest payload one frame may carry under `frame_max`.
constexpr std::size_t max_payload(std::uint32_t frame_max) noexcept {
    if (frame_max == 0) return UINT32_MAX;
    return std::max(frame_max, frame_min_size) - frame_overhead;
}

inline void append_frame_header(std::string& out, frame_type type, std::uint16_t channel, std::uint32_t size) {
    char h[frame_header_size];
    h[0] = static_cast<char>(type);
    store_u16(h + 1, channel);
    store_u32(h + 3, size);
    out.append(h, sizeof h);
}

// Appends a frame whose payload `write` appends, patching in its size once
// known; on failure (write's, or a payload over the limit) `out` is restored.
template <class Write>
error_code append_frame(std::string& out, frame_type type, std::uint16_t channel, std::uint32_t frame_max,
                        Write&& write) {
    const std::size_t at = out.size();
    append_frame_header(out, type, channel, 0);
    error_code ec = write();
    const std::size_t size = out.size() - at - frame_header_size;
    if (!ec && size > max_payload(frame_max)) ec = error::frame_too_large;
    if (ec) {
        out.resize(at);
        return ec;
    }
    store_u32(out.data() + at + 3, static_cast<std::uint32_t>(size));
    out.push_back(static_cast<char>(frame_end));
    return {};
}

}  // namespace detail

inline void append_protocol_header(std::string& out) { out.append(protocol_header); }

template <method_type M>
error_code append_method_frame(std::string& out, std::uint16_t channel, const M& m, std::uint32_t frame_max) {
    return detail::append_frame(out, frame_type::method, channel, frame_max, [&] { return encode_method(out, m); });
}

inline error_code append_method_frame(std::string& out, std::uint16_t channel, const method& m,
                                      std::uint32_t frame_max) {
    return detail::append_frame(out, frame_type::method, channel, frame_max, [&] { return encode_method(out, m); });
}

inline error_code append_header_frame(std::string& out, std::uint16_t channel, std::uint64_t body_size,
                                      const basic_properties& properties, std::uint32_t frame_max) {
    return detail::append_frame(out, frame_type::header, channel, frame_max,
                                [&] { return encode_content_header(out, body_size, properties); });
}

inline void append_body_frames(std::string& out, std::uint16_t channel, std::string_view body,
                               std::uint32_t frame_max) {
    const std::size_t chunk = detail::max_payload(frame_max);
    while (!body.empty()) {
        const std::size_t n = std::min(chunk, body.size());
        detail::append_frame_header(out, frame_type::body, channel, static_cast<std::uint32_t>(n));
        out.append(body.data(), n);
        out.push_back(static_cast<char>(frame_end));
        body.remove_prefix(n);
    }
}

inline void append_heartbeat_frame(std::string& out) {
    detail::append_frame_header(out, frame_type::heartbeat, 0, 0);
    out.push_back(static_cast<char>(frame_end));
}

inline error_code append_publish_head(std::string& out, std::uint16_t channel, const basic_publish& m,
                                      const basic_properties& properties, std::uint64_t body_size,
                                      std::uint32_t frame_max) {
    const std::size_t at = out.size();
    error_code ec = append_method_frame(out, channel, m, frame_max);
    if (!ec) ec = append_header_frame(out, channel, body_size, properties, frame_max);
    if (ec) out.resize(at);
    return ec;
}

inline error_code append_publish(std::string& out, std::uint16_t channel, const basic_publish& m,
                                 const basic_properties& properties, std::string_view body,
                                 std::uint32_t frame_max) {
    if (auto ec = append_publish_head(out, channel, m, properties, body.size(), frame_max)) return ec;
    append_body_frames(out, channel, body, frame_max);
    return {};
}

}  // namespace courier::amqp

#endif
