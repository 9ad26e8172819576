// One channel's incoming frames turned into events: a plain method, or a
// content-carrying method (basic.deliver, basic.return, basic.get-ok) put
// together with its content header and body frames into one message. The
// frames of one content must come in order and uninterrupted on their
// channel (spec 4.2.6); anything else is error::unexpected_frame.
//
// Built for the delivery hot path: the method and properties are decoded in
// place into storage kept from one message to the next, and a body that
// arrives in a single frame (any body up to frame_max - 8 bytes) is handed
// out as a view of that frame, not copied.
//
// A content whose header declares more than max_body_size bytes is not an
// error: it is legal AMQP, and failing the connection would only make the
// broker deliver it again, forever. It is reported at its header
// (event::large_content) and its body frames are handed out one by one
// (event::large_part) without being kept, so the caller decides what
// becomes of it (amqp::broker moves it to the dead-letter queue frame by
// frame) while memory stays bounded by frame_max.
#ifndef COURIER_AMQP_CONTENT_ASSEMBLER_HPP
#define COURIER_AMQP_CONTENT_ASSEMBLER_HPP

#include <courier/amqp/error.hpp>
#include <courier/amqp/frame.hpp>
#include <courier/amqp/methods.hpp>
#include <courier/amqp/properties.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace courier::amqp {

class content_assembler {
public:
    /// What a frame completed.
    enum class event {
        none,     ///< nothing yet: a content is under way, or a heartbeat
        method,   ///< a method without content: current_method()
        content,  ///< a content: current_method(), properties(), body()
        /// The header of a content over max_body_size: current_method(),
        /// properties(), body_size(); body() is empty. Its body follows as
        /// event::large_part (none when the body is empty).
        large_content,
        /// One body frame of that content, in body() until the next feed();
        /// in_content() is false after the last.
        large_part,
    };

    /// The largest body accepted unless told otherwise (RabbitMQ 3's own
    /// limit on a message).
    static constexpr std::uint64_t default_max_body_size = 128u << 20;

    /// Contents whose header declares more than `max_body_size` bytes are
    /// streamed (event::large_content, then event::large_part), never
    /// buffered.
    explicit content_assembler(std::uint64_t max_body_size = default_max_body_size) noexcept
        : max_body_size_(max_body_size) {}

    /// Takes the next frame of this channel (the caller routes frames by
    /// channel). Errors: decode_method's and decode_content_header's,
    /// error::unexpected_frame (a header or body frame without a content
    /// under way, a method frame inside one), error::bad_content_header (a
    /// header of another class than its method),
    /// error::body_size_mismatch (more body bytes than declared). After an
    /// error the channel's frames are out of step: the connection must be
    /// closed; the assembler is back to its initial state.
    event feed(const frame& f, error_code& ec);

    /// The method of the last event::method or event::content. Mutable so
    /// its strings can be moved out (the next decode then allocates again).
    method& current_method() noexcept { return method_; }
    const method& current_method() const noexcept { return method_; }
    /// The properties of the last event::content or event::large_content.
    const basic_properties& properties() const noexcept { return header_.properties; }
    basic_properties& properties() noexcept { return header_.properties; }
    /// The body of the last event::content: valid until the next feed(), and
    /// (when it came in a single frame, which it then views) until the frame
    /// reader's next prepare().
    std::string_view body() const noexcept { return body_view_; }
    /// The body as an owned string: moved out when it was assembled from
    /// several frames, copied from the frame otherwise.
    std::string take_body();

    /// The body size the content header under way (or the last) declared.
    std::uint64_t body_size() const noexcept { return header_.body_size; }
    /// Whether the content under way (or the last) is over max_body_size.
    bool too_large() const noexcept { return large_; }

    /// Whether a content is under way (its header or body frames are due).
    bool in_content() const noexcept { return state_ != state::idle; }
    void set_max_body_size(std::uint64_t n) noexcept { max_body_size_ = n; }
    /// Back to the initial state (a channel reopened).
    void reset() noexcept;

private:
    enum class state { idle, header, body };
    event fail(error_code& ec, error_code e) noexcept;

    method method_;
    content_header header_;
    std::string body_;
    std::string_view body_view_;
    std::uint64_t received_ = 0;
    std::uint64_t max_body_size_;
    state state_ = state::idle;
    bool large_ = false;
};

inline content_assembler::event content_assembler::fail(error_code& ec, error_code e) noexcept {
    reset();
    ec = e;
    return event::none;
}

inline void content_assembler::reset() noexcept {
    state_ = state::idle;
    body_view_ = {};
    received_ = 0;
    large_ = false;
}

inline content_assembler::event content_assembler::feed(const frame& f, error_code& ec) {
    ec = {};
    switch (f.type) {
    case frame_type::method:
        if (state_ != state::idle) return fail(ec, error::unexpected_frame);
        body_view_ = {};
        large_ = false;
        if (auto e = decode_method(f.payload, method_)) return fail(ec, e);
        if (!carries_content(method_)) return event::method;
        state_ = state::header;
        return event::none;
    case frame_type::header: {
        if (state_ != state::header) return fail(ec, error::unexpected_frame);
        if (auto e = decode_content_header(f.payload, header_)) return fail(ec, e);
        if (header_.class_id != key_of(method_).class_id) return fail(ec, error::bad_content_header);
        received_ = 0;
        large_ = header_.body_size > max_body_size_;
        state_ = header_.body_size == 0 ? state::idle : state::body;
        if (large_) return event::large_content;
        return state_ == state::idle ? event::content : event::none;
    }
    case frame_type::body: {
        if (state_ != state::body) return fail(ec, error::unexpected_frame);
        const std::uint64_t size = f.payload.size();
        if (size > header_.body_size - received_) return fail(ec, error::body_size_mismatch);
        if (large_) {
            received_ += size;
            body_view_ = f.payload;
            if (received_ == header_.body_size) state_ = state::idle;
            return event::large_part;
        }
        if (received_ == 0 && size == header_.body_size) {
            body_view_ = f.payload;
            state_ = state::idle;
            return event::content;
        }
        if (received_ == 0) {
            body_.clear();
            body_.reserve(static_cast<std::size_t>(header_.body_size));
        }
        body_.append(f.payload);
        received_ += size;
        if (received_ < header_.body_size) return event::none;
        body_view_ = body_;
        state_ = state::idle;
        return event::content;
    }
    case frame_type::heartbeat: return event::none;
    }
    return fail(ec, error::bad_frame_type);
}

inline std::string content_assembler::take_body() {
    std::string out;
    if (!body_view_.empty() && body_view_.data() == body_.data()) out = std::move(body_);
    else out.assign(body_view_);
    body_.clear();
    body_view_ = {};
    return out;
}

}  // namespace courier::amqp

#endif
