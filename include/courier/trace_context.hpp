// W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace id and
// parent span id that travel with every call and message as `traceparent`.
#ifndef COURIER_TRACE_CONTEXT_HPP
#define COURIER_TRACE_CONTEXT_HPP

#include <courier/detail/assign_if_set.hpp>
#include <courier/detail/random.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier {

struct trace_context {
    std::array<std::uint8_t, 16> trace_id{};
    std::array<std::uint8_t, 8> span_id{};
    std::uint8_t flags = 0;  ///< bit 0: sampled
    std::string tracestate;  ///< vendor data, carried through untouched

    // Copied with every context: see context's copy constructor.
    trace_context() = default;
    trace_context(const trace_context& o) : trace_id(o.trace_id), span_id(o.span_id), flags(o.flags) {
        detail::assign_if_set(tracestate, o.tracestate);
    }
    trace_context(trace_context&& o) noexcept : trace_id(o.trace_id), span_id(o.span_id), flags(o.flags) {
        detail::assign_if_set(tracestate, std::move(o.tracestate));
    }
    trace_context& operator=(const trace_context&) = default;
    trace_context& operator=(trace_context&&) noexcept = default;
    ~trace_context() = default;

    /// False for the all-zero ids the specification declares invalid.
    bool valid() const noexcept { return !all_zero(trace_id) && !all_zero(span_id); }
    bool sampled() const noexcept { return (flags & 1) != 0; }

    /// A new trace with random ids (sampled).
    static trace_context make_root() {
        trace_context t;
        t.trace_id = detail::random_bytes<16>();
        t.span_id = detail::random_bytes<8>();
        t.flags = 1;
        return t;
    }
    /// The same trace with a new span id: what a hop sends downstream.
    /// An invalid context starts a new trace instead.
    trace_context child() const {
        if (!valid()) return make_root();
        trace_context t = *this;
        t.span_id = detail::random_bytes<8>();
        return t;
    }

    /// Parses a `traceparent` header value; nullopt when malformed or invalid.
    /// Versions above 00 are accepted by their first four fields, as the
    /// specification asks.
    static std::optional<trace_context> parse(std::string_view traceparent) {
        if (traceparent.size() < 55) return std::nullopt;
        std::uint8_t version = 0;
        if (!hex(traceparent.substr(0, 2), &version, 1) || version == 0xff) return std::nullopt;
        if (version == 0 && traceparent.size() != 55) return std::nullopt;
        if (version != 0 && traceparent.size() > 55 && traceparent[55] != '-') return std::nullopt;
        if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-')
            return std::nullopt;
        trace_context t;
        if (!hex(traceparent.substr(3, 32), t.trace_id.data(), 16) ||
            !hex(traceparent.substr(36, 16), t.span_id.data(), 8) ||
            !hex(traceparent.substr(53, 2), &t.flags, 1) || !t.valid())
            return std::nullopt;
        return t;
    }

    /// The `traceparent` header value (version 00).
    std::string to_string() const {
        std::string s;
        s.reserve(55);
        s += "00-";
        detail::append_hex(s, trace_id.data(), trace_id.size());
        s += '-';
        detail::append_hex(s, span_id.data(), span_id.size());
        s += '-';
        detail::append_hex(s, &flags, 1);
        return s;
    }

    friend bool operator==(const trace_context&, const trace_context&) = default;

private:
    template <std::size_t N>
    static bool all_zero(const std::array<std::uint8_t, N>& a) noexcept {
        for (auto b : a)
            if (b) return false;
        return true;
    }
    static int nibble(char c) noexcept {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;  // upper case is invalid in traceparent
    }
    static bool hex(std::string_view in, std::uint8_t* out, std::size_t n) noexcept {
        if (in.size() != 2 * n) return false;
        for (std::size_t i = 0; i < n; ++i) {
            int hi = nibble(in[2 * i]), lo = nibble(in[2 * i + 1]);
            if (hi < 0 || lo < 0) return false;
            out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
        }
        return true;
    }
};

}  // namespace courier

#endif
