// How a call's context travels in HTTP headers. The header names and formats
// are courier's everywhere (see propagation.hpp): `traceparent` and
// `tracestate` (W3C), `courier-timeout-ms` (the remaining time in whole
// milliseconds, relative, so clocks of two hosts need not agree) and
// `x-correlation-id`. The client also sends context.metadata as headers; the
// server does not turn arbitrary request headers into metadata (forwarding
// Host or Content-Length downstream would be wrong): middleware reads them.
#ifndef COURIER_HTTP_CONTEXT_FIELDS_HPP
#define COURIER_HTTP_CONTEXT_FIELDS_HPP

#include <courier/context.hpp>
#include <courier/propagation.hpp>

#include <boost/beast/http/fields.hpp>

#include <optional>
#include <string>

namespace courier::http {

namespace header {
inline constexpr std::string_view correlation_id = "x-correlation-id";
}  // namespace header

/// Writes `ctx` into request headers: metadata, a child span of the trace,
/// the correlation id and the remaining time (as of `now`).
inline void inject(const context& ctx, boost::beast::http::fields& fields,
                   std::optional<context::clock::time_point> now = std::nullopt) {
    for (const auto& [k, v] : ctx.metadata) fields.set(k, v);
    if (ctx.trace.valid()) {
        fields.set(courier::header::traceparent, ctx.trace.child().to_string());
        if (!ctx.trace.tracestate.empty()) fields.set(courier::header::tracestate, ctx.trace.tracestate);
    }
    if (!ctx.correlation_id.empty()) fields.set(header::correlation_id, ctx.correlation_id);
    if (ctx.deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                              *ctx.remaining(now.value_or(context::clock::now())))
                              .count();
        fields.set(courier::header::timeout_ms, std::to_string(left));
    }
}

/// The context a request's headers carry: trace, correlation id, and a
/// deadline `courier-timeout-ms` after `now`. Malformed values are ignored.
inline context extract(const boost::beast::http::fields& fields,
                       std::optional<context::clock::time_point> now = std::nullopt) {
    context ctx;
    if (auto it = fields.find(courier::header::traceparent); it != fields.end()) {
        if (auto t = trace_context::parse(it->value())) {
            ctx.trace = *t;
            if (auto ts = fields.find(courier::header::tracestate); ts != fields.end())
                ctx.trace.tracestate = std::string(ts->value());
        }
    }
    if (auto it = fields.find(header::correlation_id); it != fields.end())
        ctx.correlation_id = std::string(it->value());
    if (auto it = fields.find(courier::header::timeout_ms); it != fields.end()) {
        const auto v = it->value();
        if (auto d = courier::detail::parse_timeout_ms(std::string_view(v.data(), v.size()),
                                                       now.value_or(context::clock::now())))
            ctx.deadline = *d;
    }
    return ctx;
}

}  // namespace courier::http

#endif
