// Beast's message parser with the limits Beast 1.81 leaves to its user: the
// size of a chunk extension, the size and count of trailer fields, and fields
// longer than basic_fields can hold (its offsets are 16 bits: above 65,533
// bytes it throws std::length_error out of the parser). Trailer fields are
// counted, then dropped: handlers read headers only, and a field sent after
// the body must not pass for one (a courier-timeout-ms, a traceparent).
// Memory is bounded by the read buffer's maximum size, since Beast needs a
// whole chunk line, or the whole trailer section, buffered before it parses
// it; these limits give the precise answer once it has.
#ifndef COURIER_HTTP_DETAIL_LIMITED_PARSER_HPP
#define COURIER_HTTP_DETAIL_LIMITED_PARSER_HPP

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace courier::http::detail {

struct framing_limits {
    std::size_t max_chunk_extension_size;
    std::size_t max_trailer_size;
    std::size_t max_trailer_count;
};

/// What a connection's read buffer may hold: a whole header, chunk line or
/// trailer section (Beast needs each buffered before it parses it), and at
/// least the 64 KiB a read asks for. A peer that sends more of one gets the
/// answer to the limit it broke, not unbounded memory.
inline std::size_t read_buffer_limit(std::size_t header_limit, const framing_limits& f) noexcept {
    constexpr std::size_t slack = 1024;  // chunk-size digits, CRLFs
    return std::max({std::size_t(64 * 1024), header_limit + slack,
                     f.max_chunk_extension_size + f.max_trailer_size + 2 * slack});
}

/// Which limit a parse failed on, when it was one of the parser's own.
enum class framing_violation { none, field_too_large, chunk_extension, trailer_size, trailer_count };

/// Bytes of a field's value or name that basic_fields can store.
inline constexpr std::size_t max_field_size = 65'533;

template <bool IsRequest>
class limited_parser final : public boost::beast::http::parser<IsRequest, boost::beast::http::string_body> {
public:
    explicit limited_parser(const framing_limits& limits) noexcept : limits_(limits) {}

    framing_violation violation() const noexcept { return violation_; }

private:
    using error_code = boost::beast::error_code;
    using string_view = boost::beast::string_view;

    void on_field_impl(boost::beast::http::field f, string_view name, string_view value, error_code& ec) override {
        if (name.size() > max_field_size || value.size() > max_field_size)
            return fail(framing_violation::field_too_large, boost::beast::http::error::header_limit, ec);
        if (!this->is_header_done()) {
            this->get().insert(f, name, value);
            return;
        }
        trailer_bytes_ += name.size() + value.size() + 4;  // name: value CRLF
        if (++trailer_count_ > limits_.max_trailer_count)
            return fail(framing_violation::trailer_count, boost::beast::http::error::header_limit, ec);
        if (trailer_bytes_ > limits_.max_trailer_size)
            return fail(framing_violation::trailer_size, boost::beast::http::error::header_limit, ec);
    }

    void on_chunk_header_impl(std::uint64_t, string_view extensions, error_code& ec) override {
        if (extensions.size() > limits_.max_chunk_extension_size)
            fail(framing_violation::chunk_extension, boost::beast::http::error::bad_chunk_extension, ec);
    }

    void fail(framing_violation v, boost::beast::http::error e, error_code& ec) {
        violation_ = v;
        ec = e;
    }

    framing_limits limits_;
    framing_violation violation_ = framing_violation::none;
    std::size_t trailer_count_ = 0;
    std::size_t trailer_bytes_ = 0;
};

}  // namespace courier::http::detail

#endif
