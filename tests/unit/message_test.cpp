// The vocabulary a call and a message carry: headers, message, W3C trace
// context, the per-call context (deadline helpers), and how a context
// travels inside a message (inject/extract).
#include <courier/context.hpp>
#include <courier/headers.hpp>
#include <courier/message.hpp>
#include <courier/propagation.hpp>
#include <courier/trace_context.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using courier::context;
using courier::headers;
using courier::message;
using courier::trace_context;

namespace {

std::vector<std::string> keys_of(const headers& h) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : h) keys.push_back(k);
    return keys;
}

// The example of the W3C specification.
constexpr const char* sample_traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

// --- headers ------------------------------------------------------------------

TEST_CASE("headers keep insertion order", "[headers]") {
    headers h;
    h.set("b", "2");
    h.set("a", "1");
    h.set("c", "3");
    CHECK(keys_of(h) == std::vector<std::string>{"b", "a", "c"});
    CHECK(h.size() == 3);
}

TEST_CASE("setting an existing header replaces its value in place", "[headers]") {
    headers h{{"x", "1"}, {"y", "2"}, {"z", "3"}};
    h.set("y", "two");
    CHECK(keys_of(h) == std::vector<std::string>{"x", "y", "z"});
    CHECK(h.get("y") == "two");
    CHECK(h.size() == 3);
}

TEST_CASE("a repeated key in an initializer list keeps the last value at the first position", "[headers]") {
    headers h{{"k", "first"}, {"other", "o"}, {"k", "last"}};
    CHECK(keys_of(h) == std::vector<std::string>{"k", "other"});
    CHECK(h.get("k") == "last");
}

TEST_CASE("erasing a header removes only that header and reports whether it was there", "[headers]") {
    headers h{{"x", "1"}, {"y", "2"}, {"z", "3"}};
    CHECK(h.erase("y"));
    CHECK_FALSE(h.erase("y"));
    CHECK_FALSE(h.contains("y"));
    CHECK(keys_of(h) == std::vector<std::string>{"x", "z"});
    h.clear();
    CHECK(h.empty());
}

TEST_CASE("find returns the value or null, get a fallback", "[headers]") {
    headers h{{"Content-Type", "text/plain"}};
    REQUIRE(h.find("Content-Type") != nullptr);
    CHECK(*h.find("Content-Type") == "text/plain");
    CHECK(h.find("content-type") == nullptr);  // keys compare case-sensitively
    CHECK(h.find("missing") == nullptr);
    CHECK(h.get("missing", "dflt") == "dflt");
    CHECK(h.get("missing").empty());
}

TEST_CASE("a header value may be empty and still be present", "[headers]") {
    headers h;
    h.set("empty", "");
    CHECK(h.contains("empty"));
    REQUIRE(h.find("empty") != nullptr);
    CHECK(h.find("empty")->empty());
}

// --- message ------------------------------------------------------------------

namespace {
message sample_message() {
    message m;
    m.payload = std::string("a\0b", 3);
    m.headers.set("tenant", "acme");
    m.id = "id-1";
    m.correlation_id = "corr-1";
    m.content_type = "application/json";
    m.timestamp = std::chrono::system_clock::time_point(123456789s);
    return m;
}
}  // namespace

TEST_CASE("a copied message equals its original and is independent of it", "[message]") {
    const message original = sample_message();
    message copy = original;
    CHECK(copy == original);
    copy.headers.set("tenant", "other");
    CHECK(copy != original);
    CHECK(original.headers.get("tenant") == "acme");
}

TEST_CASE("a moved message keeps every field", "[message]") {
    message source = sample_message();
    message moved = std::move(source);
    CHECK(moved == sample_message());
    message assigned;
    assigned = std::move(moved);
    CHECK(assigned == sample_message());
}

TEST_CASE("messages differing in any field are not equal", "[message]") {
    const message base = sample_message();
    auto differs = [&](auto change) {
        message m = base;
        change(m);
        return m != base;
    };
    CHECK(differs([](message& m) { m.payload = std::string("a\0c", 3); }));
    CHECK(differs([](message& m) { m.headers.set("x", "y"); }));
    CHECK(differs([](message& m) { m.id = "id-2"; }));
    CHECK(differs([](message& m) { m.correlation_id = "corr-2"; }));
    CHECK(differs([](message& m) { m.content_type = "text/plain"; }));
    CHECK(differs([](message& m) { m.timestamp += 1ms; }));
}

TEST_CASE("a payload keeps embedded NULs and exposes its bytes", "[message]") {
    const message m = sample_message();
    auto bytes = m.bytes();
    REQUIRE(bytes.size() == 3);
    CHECK(bytes[1] == std::byte{0});
    CHECK(bytes[2] == std::byte{'b'});
}

// --- trace context --------------------------------------------------------------

TEST_CASE("a traceparent parses and prints back unchanged", "[trace]") {
    auto t = trace_context::parse(sample_traceparent);
    REQUIRE(t);
    CHECK(t->valid());
    CHECK(t->sampled());
    CHECK(t->trace_id[0] == 0x4b);
    CHECK(t->trace_id[15] == 0x36);
    CHECK(t->span_id[0] == 0x00);
    CHECK(t->span_id[7] == 0xb7);
    CHECK(t->to_string() == sample_traceparent);
}

TEST_CASE("an unsampled traceparent round trips its flags", "[trace]") {
    auto t = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    REQUIRE(t);
    CHECK_FALSE(t->sampled());
    CHECK(t->to_string() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}

TEST_CASE("invalid traceparents are rejected", "[trace]") {
    const char* invalid[] = {
        "",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // upper-case trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // upper-case span id
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // all-zero span id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    // too short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",  // version 00 too long
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01-",   // short trace id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",   // wrong separators
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",   // not hex
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version not hex
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // future version, no dash
    };
    for (const char* s : invalid) {
        CAPTURE(s);
        CHECK_FALSE(trace_context::parse(s));
    }
}

TEST_CASE("a future traceparent version is read by its first four fields", "[trace]") {
    auto exact = trace_context::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    auto longer = trace_context::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
    REQUIRE(exact);
    REQUIRE(longer);
    CHECK(*exact == *longer);
    CHECK(longer->to_string() == sample_traceparent);  // we speak version 00
}

TEST_CASE("a child keeps the trace id and gets a new span id", "[trace]") {
    auto parent = *trace_context::parse(sample_traceparent);
    parent.tracestate = "vendor=1";
    auto child = parent.child();
    CHECK(child.valid());
    CHECK(child.trace_id == parent.trace_id);
    CHECK(child.span_id != parent.span_id);
    CHECK(child.flags == parent.flags);
    CHECK(child.tracestate == "vendor=1");
    CHECK(child.child().span_id != child.span_id);
}

TEST_CASE("the child of an invalid trace context starts a new sampled trace", "[trace]") {
    trace_context none;
    CHECK_FALSE(none.valid());
    auto t = none.child();
    CHECK(t.valid());
    CHECK(t.sampled());
}

TEST_CASE("root trace contexts are valid and distinct", "[trace]") {
    auto a = trace_context::make_root();
    auto b = trace_context::make_root();
    CHECK(a.valid());
    CHECK(a.sampled());
    CHECK(a.trace_id != b.trace_id);
    auto parsed = trace_context::parse(a.to_string());
    REQUIRE(parsed);
    CHECK(*parsed == a);
}

// --- context ------------------------------------------------------------------

TEST_CASE("a context has no deadline unless given one", "[context]") {
    context c;
    CHECK_FALSE(c.deadline);
    CHECK_FALSE(c.expired());
    CHECK_FALSE(c.remaining());
    CHECK(c.attempt == 1);
}

TEST_CASE("with_timeout sets the deadline that far from now", "[context]") {
    const auto before = context::clock::now();
    auto c = context::with_timeout(250ms);
    const auto after = context::clock::now();
    REQUIRE(c.deadline);
    CHECK(*c.deadline >= before + 250ms);
    CHECK(*c.deadline <= after + 250ms);
}

TEST_CASE("tightening a deadline moves it earlier and never later", "[context]") {
    const auto t0 = context::clock::now();
    context c;
    c.tighten_deadline(t0 + 5s);
    CHECK(c.deadline == t0 + 5s);
    c.tighten_deadline(t0 + 10s);
    CHECK(c.deadline == t0 + 5s);
    c.tighten_deadline(t0 + 1s);
    CHECK(c.deadline == t0 + 1s);
}

TEST_CASE("a context is expired from its deadline on", "[context]") {
    const auto t0 = context::clock::now();
    context c;
    c.deadline = t0 + 100ms;
    CHECK_FALSE(c.expired(t0));
    CHECK_FALSE(c.expired(t0 + 99ms));
    CHECK(c.expired(t0 + 100ms));
    CHECK(c.expired(t0 + 1s));
}

TEST_CASE("remaining time shrinks to zero and stays there", "[context]") {
    const auto t0 = context::clock::now();
    context c;
    c.deadline = t0 + 100ms;
    CHECK(c.remaining(t0) == 100ms);
    CHECK(c.remaining(t0 + 40ms) == 60ms);
    CHECK(c.remaining(t0 + 100ms) == context::clock::duration::zero());
    CHECK(c.remaining(t0 + 1s) == context::clock::duration::zero());
}

// --- propagation --------------------------------------------------------------

TEST_CASE("inject then extract carries trace, correlation id, metadata and deadline", "[propagation]") {
    const auto now = context::clock::now();
    context ctx;
    ctx.deadline = now + 1500ms;
    ctx.correlation_id = "flow-7";
    ctx.trace = *trace_context::parse(sample_traceparent);
    ctx.trace.tracestate = "vendor=abc";
    ctx.metadata.set("tenant", "acme");

    message msg;
    courier::inject(ctx, msg, {}, now);
    CHECK(msg.correlation_id == "flow-7");
    CHECK(msg.headers.get("tenant") == "acme");
    CHECK(msg.headers.get(courier::header::timeout_ms) == "1500");
    CHECK(msg.headers.get(courier::header::tracestate) == "vendor=abc");

    const auto later = now + 20ms;  // the receiving side's clock
    context out = courier::extract(msg, later);
    CHECK(out.correlation_id == "flow-7");
    CHECK(out.metadata.get("tenant") == "acme");
    CHECK(out.metadata.size() == 1);  // courier's own headers are not metadata
    REQUIRE(out.deadline);
    CHECK(*out.deadline == later + 1500ms);  // relative budget, restarted on arrival
    CHECK(out.trace.valid());
    CHECK(out.trace.tracestate == "vendor=abc");
}

TEST_CASE("an injected trace is a child span of the caller's", "[propagation]") {
    context ctx;
    ctx.trace = *trace_context::parse(sample_traceparent);
    message msg;
    courier::inject(ctx, msg);
    auto sent = trace_context::parse(msg.headers.get(courier::header::traceparent));
    REQUIRE(sent);
    CHECK(sent->trace_id == ctx.trace.trace_id);
    CHECK(sent->span_id != ctx.trace.span_id);
    CHECK(courier::extract(msg).trace == *sent);
}

TEST_CASE("an untraced context injects no traceparent", "[propagation]") {
    message msg;
    courier::inject(context{}, msg);
    CHECK_FALSE(msg.headers.contains(courier::header::traceparent));
    CHECK_FALSE(msg.headers.contains(courier::header::tracestate));
    CHECK_FALSE(courier::extract(msg).trace.valid());
}

TEST_CASE("the timeout header is written only for a deadline when the option asks", "[propagation]") {
    const auto now = context::clock::now();
    context with_deadline;
    with_deadline.deadline = now + 1s;

    message pubsub;
    courier::inject(with_deadline, pubsub, {.deadline = false}, now);
    CHECK_FALSE(pubsub.headers.contains(courier::header::timeout_ms));
    CHECK_FALSE(courier::extract(pubsub, now).deadline);

    message no_deadline;
    courier::inject(context{}, no_deadline, {.deadline = true}, now);
    CHECK_FALSE(no_deadline.headers.contains(courier::header::timeout_ms));

    message rpc;
    courier::inject(with_deadline, rpc, {.deadline = true}, now);
    CHECK(rpc.headers.get(courier::header::timeout_ms) == "1000");
}

TEST_CASE("the timeout header rounds up so a sub-millisecond budget is not sent as none", "[propagation]") {
    const auto now = context::clock::now();
    context ctx;
    ctx.deadline = now + 300us;
    message msg;
    courier::inject(ctx, msg, {}, now);
    CHECK(msg.headers.get(courier::header::timeout_ms) == "1");
}

TEST_CASE("an expired deadline travels as zero and arrives expired", "[propagation]") {
    const auto now = context::clock::now();
    context ctx;
    ctx.deadline = now - 5s;
    message msg;
    courier::inject(ctx, msg, {}, now);
    CHECK(msg.headers.get(courier::header::timeout_ms) == "0");
    CHECK(courier::extract(msg, now).expired(now));
}

TEST_CASE("a malformed timeout header is ignored", "[propagation]") {
    for (const char* bad : {"", "abc", "-5", "+5", "12ms", " 12", "1.5"}) {
        CAPTURE(bad);
        message msg;
        msg.headers.set(courier::header::timeout_ms, bad);
        context ctx = courier::extract(msg);
        CHECK_FALSE(ctx.deadline);
        CHECK_FALSE(ctx.metadata.contains(courier::header::timeout_ms));
    }
}

TEST_CASE("a timeout too large for the clock means no sooner deadline, and travels on as one", "[propagation]") {
    for (const char* huge : {"9300000000000", "9223372036854775807", "99999999999999999999999"}) {
        CAPTURE(huge);
        message msg;
        msg.headers.set(courier::header::timeout_ms, huge);
        context ctx = courier::extract(msg);
        REQUIRE(ctx.deadline);
        CHECK(*ctx.deadline == context::clock::time_point::max());
        CHECK_FALSE(ctx.expired());
        message next;
        courier::inject(ctx, next);
        CHECK(courier::extract(next).deadline == context::clock::time_point::max());
    }
}

TEST_CASE("a malformed traceparent is ignored and its tracestate dropped", "[propagation]") {
    message msg;
    msg.headers.set(courier::header::traceparent, "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
    msg.headers.set(courier::header::tracestate, "vendor=abc");
    context ctx = courier::extract(msg);
    CHECK_FALSE(ctx.trace.valid());
    CHECK(ctx.trace.tracestate.empty());
    CHECK(ctx.metadata.empty());
}

TEST_CASE("inject keeps a correlation id the message already has", "[propagation]") {
    context ctx;
    ctx.correlation_id = "from-context";
    message msg;
    msg.correlation_id = "from-message";
    courier::inject(ctx, msg);
    CHECK(msg.correlation_id == "from-message");
}

TEST_CASE("metadata overrides a header of the same name and keeps the others", "[propagation]") {
    context ctx;
    ctx.metadata.set("tenant", "acme");
    message msg;
    msg.headers.set("tenant", "old");
    msg.headers.set("keep", "me");
    courier::inject(ctx, msg);
    CHECK(msg.headers.get("tenant") == "acme");
    CHECK(msg.headers.get("keep") == "me");
}
