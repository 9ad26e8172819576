// Cuts received bytes into frames, without I/O: the caller reads from its
// socket straight into the region prepare() hands out (no copy, as with
// Beast's parsers), commit()s what arrived, then takes frames with next()
// until it has none. Only whole frames come out; their payloads are views
// into the reader's buffer.
//
// Bounded: a frame larger than frame_max (connection.tune's, or
// frame_min_size before it) is an error as soon as its header is seen, and
// the buffer grows only to hold one frame up to that size. No allocation
// happens per frame: the buffer is allocated once and reused.
#ifndef COURIER_AMQP_FRAME_READER_HPP
#define COURIER_AMQP_FRAME_READER_HPP

#include <courier/amqp/error.hpp>
#include <courier/amqp/frame.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace courier::amqp {

class frame_reader {
public:
    /// `frame_max` before connection.tune: the spec's frame_min_size.
    explicit frame_reader(std::uint32_t frame_max = frame_min_size) noexcept;

    /// The limit on a whole frame (overhead included) from now on: the
    /// frame_max sent in connection.tune-ok. Values under frame_min_size
    /// count as frame_min_size; 0 ("no limit") as unlimited_frame_max.
    void set_frame_max(std::uint32_t frame_max) noexcept;
    std::uint32_t frame_max() const noexcept { return frame_max_; }

    /// What 0 stands for in set_frame_max: frames are never read without a
    /// limit, since the buffer must hold a whole one.
    static constexpr std::uint32_t unlimited_frame_max = 64u << 20;

    /// The free space after the buffered bytes, to read into; never empty
    /// once next() has returned no frame. May move buffered bytes, so it
    /// ends the validity of the payloads next() returned before.
    std::span<char> prepare();
    /// Declares that the first `n` bytes of the last prepare()d region hold
    /// received data. `n` must not exceed that region's size.
    void commit(std::size_t n) noexcept;

    /// Copies as much of `bytes` as fits (prepare + commit) and returns how
    /// many bytes it took; 0 when complete frames wait to be taken by next().
    std::size_t feed(std::string_view bytes);

    /// The next complete frame, or nothing when more bytes are needed or on
    /// error (then `ec` is set, and stays set: the connection must close).
    /// The payload stays valid until the next prepare(), feed() or reset():
    /// every frame next() returned since the last prepare() can be used
    /// together. Errors: error::bad_frame_type, error::bad_frame_end,
    /// error::frame_too_large, error::bad_heartbeat, and
    /// error::protocol_version_mismatch when the server answered the
    /// protocol header with its own (see server_protocol_header()).
    std::optional<frame> next(error_code& ec) noexcept;

    /// Bytes received and not yet returned as frames.
    std::size_t buffered() const noexcept { return end_ - begin_; }

    /// The protocol header the server answered with, when next() failed with
    /// error::protocol_version_mismatch ("AMQP" then 4 version octets);
    /// empty otherwise.
    std::string_view server_protocol_header() const noexcept;

    /// Ready for a new connection: buffered bytes and the error are dropped,
    /// frame_max is back to `frame_max`; the buffer's memory is kept.
    void reset(std::uint32_t frame_max = frame_min_size) noexcept;

private:
    std::size_t wanted_capacity() const noexcept;
    std::optional<frame> fail(error_code& ec, error e) noexcept;

    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;  // first byte not yet returned as a frame
    std::size_t end_ = 0;    // one past the last received byte
    std::uint32_t frame_max_;
    bool started_ = false;   // a first frame was seen: no protocol header can come
    error failed_{};
    char server_header_[8] = {};
};

}  // namespace courier::amqp

#include <courier/amqp/impl/frame_reader.hpp>

#endif
