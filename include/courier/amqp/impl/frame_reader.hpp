#ifndef COURIER_AMQP_IMPL_FRAME_READER_HPP
#define COURIER_AMQP_IMPL_FRAME_READER_HPP

#include <courier/amqp/detail/wire.hpp>

#include <algorithm>
#include <cstring>

namespace courier::amqp {

namespace detail {

// Reads are at most this large: enough for many small frames per system
// call, small enough not to hold memory a frame_max-sized buffer would not.
inline constexpr std::size_t read_chunk = 64 * 1024;

constexpr std::uint32_t effective_frame_max(std::uint32_t frame_max) noexcept {
    if (frame_max == 0) return frame_reader::unlimited_frame_max;
    return std::max(frame_max, frame_min_size);
}

}  // namespace detail

inline frame_reader::frame_reader(std::uint32_t frame_max) noexcept
    : frame_max_(detail::effective_frame_max(frame_max)) {}

inline void frame_reader::set_frame_max(std::uint32_t frame_max) noexcept {
    frame_max_ = detail::effective_frame_max(frame_max);
}

inline void frame_reader::reset(std::uint32_t frame_max) noexcept {
    begin_ = end_ = 0;
    frame_max_ = detail::effective_frame_max(frame_max);
    started_ = false;
    failed_ = {};
}

// Room for a read of a useful size, and for the whole of the frame being
// received once its header says how long it is (but never past frame_max:
// next() rejects such a frame before anyone prepares room for it).
inline std::size_t frame_reader::wanted_capacity() const noexcept {
    std::size_t want = std::min<std::size_t>(detail::read_chunk, frame_max_);
    if (buffered() >= frame_header_size) {
        const auto* p = reinterpret_cast<const unsigned char*>(buffer_.get() + begin_);
        const std::size_t total = std::size_t{detail::load_u32(p + 3)} + frame_overhead;
        if (total <= frame_max_) want = std::max(want, total);
    }
    return want;
}

inline std::span<char> frame_reader::prepare() {
    if (begin_ == end_) begin_ = end_ = 0;
    const std::size_t want = wanted_capacity();
    if (capacity_ < want) {
        // Geometric growth up to frame_max, so frames growing a little at a
        // time do not reallocate each time.
        const std::size_t size = std::max(want, std::min<std::size_t>(capacity_ * 2, frame_max_));
        auto bigger = std::make_unique_for_overwrite<char[]>(size);
        if (buffered() != 0) std::memcpy(bigger.get(), buffer_.get() + begin_, buffered());
        end_ -= begin_;
        begin_ = 0;
        buffer_ = std::move(bigger);
        capacity_ = size;
    } else if (begin_ != 0 && (capacity_ - begin_ < want || capacity_ - end_ < want / 2)) {
        // Only the tail of a frame moves, each byte at most once per frame.
        std::memmove(buffer_.get(), buffer_.get() + begin_, buffered());
        end_ -= begin_;
        begin_ = 0;
    }
    return {buffer_.get() + end_, capacity_ - end_};
}

inline void frame_reader::commit(std::size_t n) noexcept { end_ += std::min(n, capacity_ - end_); }

inline std::size_t frame_reader::feed(std::string_view bytes) {
    const std::span<char> space = prepare();
    const std::size_t n = std::min(space.size(), bytes.size());
    if (n != 0) std::memcpy(space.data(), bytes.data(), n);
    commit(n);
    return n;
}

inline std::optional<frame> frame_reader::fail(error_code& ec, error e) noexcept {
    failed_ = e;
    ec = e;
    return std::nullopt;
}

inline std::optional<frame> frame_reader::next(error_code& ec) noexcept {
    ec = {};
    if (failed_ != error{}) {
        ec = failed_;
        return std::nullopt;
    }
    const std::size_t avail = buffered();
    if (avail == 0) return std::nullopt;
    const char* at = buffer_.get() + begin_;
    const auto* p = reinterpret_cast<const unsigned char*>(at);

    // A server that does not accept 0-9-1 answers with the protocol header
    // of a version it does speak, then closes. 'A' is no frame type, so this
    // cannot be mistaken for a frame.
    if (!started_ && p[0] == 'A') {
        const std::size_t n = std::min<std::size_t>(avail, 4);
        if (std::string_view(at, n) != protocol_header.substr(0, n)) return fail(ec, error::bad_frame_type);
        if (avail < sizeof server_header_) return std::nullopt;
        std::memcpy(server_header_, at, sizeof server_header_);
        return fail(ec, error::protocol_version_mismatch);
    }

    const auto type = static_cast<frame_type>(p[0]);
    if (type != frame_type::method && type != frame_type::header && type != frame_type::body &&
        type != frame_type::heartbeat)
        return fail(ec, error::bad_frame_type);
    started_ = true;
    if (avail < frame_header_size) return std::nullopt;
    const std::uint16_t channel = detail::load_u16(p + 1);
    const std::uint32_t size = detail::load_u32(p + 3);
    if (std::size_t{size} + frame_overhead > frame_max_) return fail(ec, error::frame_too_large);
    if (type == frame_type::heartbeat && (channel != 0 || size != 0)) return fail(ec, error::bad_heartbeat);
    if (avail < std::size_t{size} + frame_overhead) return std::nullopt;
    if (p[frame_header_size + size] != frame_end) return fail(ec, error::bad_frame_end);
    begin_ += size + frame_overhead;
    return frame{type, channel, std::string_view(at + frame_header_size, size)};
}

inline std::string_view frame_reader::server_protocol_header() const noexcept {
    if (failed_ != error::protocol_version_mismatch) return {};
    return {server_header_, sizeof server_header_};
}

}  // namespace courier::amqp

#endif
