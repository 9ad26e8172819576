// How a context travels inside a message: what every wire backend (and the
// in-process broker) writes on one side and reads back on the other.
#ifndef COURIER_PROPAGATION_HPP
#define COURIER_PROPAGATION_HPP

#include <courier/context.hpp>
#include <courier/message.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace courier {

/// Header names courier reads and writes.
namespace header {
inline constexpr std::string_view traceparent = "traceparent";
inline constexpr std::string_view tracestate = "tracestate";
/// Remaining time in whole milliseconds, relative (clocks of two hosts
/// disagree; a relative budget does not), as gRPC's `grpc-timeout` does.
inline constexpr std::string_view timeout_ms = "courier-timeout-ms";
}  // namespace header

struct inject_options {
    /// Request-reply sends the deadline; an event outlives its publisher's
    /// deadline, so pub-sub does not.
    bool deadline = true;
};

/// Writes `ctx` into `msg`: trace (a child span of the caller's), correlation
/// id, metadata as headers, and the remaining time when asked.
inline void inject(const context& ctx, message& msg, inject_options opts = {},
                   std::optional<context::clock::time_point> now = std::nullopt) {
    for (const auto& [k, v] : ctx.metadata) msg.headers.set(k, v);
    if (ctx.trace.valid()) {
        msg.headers.set(header::traceparent, ctx.trace.child().to_string());
        if (!ctx.trace.tracestate.empty()) msg.headers.set(header::tracestate, ctx.trace.tracestate);
    }
    if (!ctx.correlation_id.empty() && msg.correlation_id.empty()) msg.correlation_id = ctx.correlation_id;
    if (opts.deadline && ctx.deadline) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(
                        *ctx.remaining(now.value_or(context::clock::now())))
                        .count();
        msg.headers.set(header::timeout_ms, std::to_string(left));
    }
}

/// Rebuilds the context a sender injected. Headers other than courier's own
/// become metadata; a malformed traceparent is ignored (a new trace starts
/// downstream), a malformed timeout too.
inline context extract(const message& msg, std::optional<context::clock::time_point> now = std::nullopt) {
    context ctx;
    ctx.correlation_id = msg.correlation_id;
    for (const auto& [k, v] : msg.headers) {
        if (k == header::traceparent) {
            if (auto t = trace_context::parse(v)) ctx.trace = *t;
        } else if (k == header::tracestate) {
            // applied below, once the traceparent is known
        } else if (k == header::timeout_ms) {
            if (auto d = detail::parse_timeout_ms(std::string_view(v), now.value_or(context::clock::now())))
                ctx.deadline = *d;
        } else {
            ctx.metadata.set(k, v);
        }
    }
    if (ctx.trace.valid())
        if (const auto* ts = msg.headers.find(header::tracestate)) ctx.trace.tracestate = *ts;
    return ctx;
}

}  // namespace courier

#endif
