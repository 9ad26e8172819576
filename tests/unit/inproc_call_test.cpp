// In-process request-reply: the completion tokens and call forms of a
// client, every kind of handler and how its failures reach the caller,
// endpoint binding, deadlines, wire mode through the codec, cancellation,
// and calls across io_contexts and threads.
#include <courier/inproc.hpp>

#include "support/catch.hpp"
#include "support/run_until.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using courier::context;
using courier::error;
using courier::error_code;
using courier_test::run_until;

namespace {

struct get_user {
    std::string userId;
};
struct user {
    std::string id, name;
    friend bool operator==(const user&, const user&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, userId)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name)

// The same JSON under other C++ types: a caller that does not share the
// server's types, as a caller in another language would not.
struct user_query {
    std::string userId;
};
struct user_name {
    std::string name;
};
struct user_age {
    int age = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user_query, userId)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user_name, name)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user_age, age)

using user_channel = courier::inproc::channel<get_user, user>;
using user_client = courier::inproc::client<get_user, user>;

// Tokens named once: GCC 12 miscompiles class temporaries in co_await.
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

boost::system::result<user> find_user(const get_user& req, context&) {
    if (req.userId == "404") return error_code(error::not_found);
    return user{req.userId, "user " + req.userId};
}

// What a callback saw; `calls` proves it ran exactly once.
struct call_result {
    int calls = 0;
    error_code ec;
    user rep;
    bool done() const { return calls > 0; }
    auto handler() {
        return [this](error_code e, user u) {
            ++calls;
            ec = e;
            rep = std::move(u);
        };
    }
};

struct fixture {
    asio::io_context ioc;
    courier::inproc::network net;
    courier::inproc::server srv{net, ioc.get_executor()};

    user_client make_client(std::string_view name = "users", courier::inproc::channel_options opts = {}) {
        return user_client(user_channel(ioc.get_executor(), net, name, opts));
    }
    bool wait(const call_result& r) {
        return run_until(ioc, [&] { return r.done(); });
    }
};

}  // namespace

// --- completion tokens --------------------------------------------------------

TEST_CASE_METHOD(fixture, "a call completes its callback with the handler's reply, never inline", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    call_result r;
    c.async_call(get_user{"7"}, context{}, r.handler());
    CHECK_FALSE(r.done());
    REQUIRE(wait(r));
    CHECK_FALSE(r.ec);
    CHECK(r.rep == user{"7", "user 7"});
    courier_test::run_ready(ioc);
    CHECK(r.calls == 1);
}

TEST_CASE_METHOD(fixture, "a call completes on the callback's associated executor", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    auto strand = asio::make_strand(ioc);
    bool on_strand = false;
    bool done = false;
    c.async_call(get_user{"1"}, context{}, asio::bind_executor(strand, [&](error_code, user) {
                     on_strand = strand.running_in_this_thread();
                     done = true;
                 }));
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK(on_strand);
}

TEST_CASE_METHOD(fixture, "a call completes a future with use_future", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    courier_test::io_threads runner(ioc);
    get_user found{"8"};
    std::future<user> ok = c.async_call(found, context{}, asio::use_future);
    CHECK(ok.get() == user{"8", "user 8"});

    get_user missing{"404"};
    std::future<user> failed = c.async_call(missing, asio::use_future);
    try {
        failed.get();
        FAIL("the future held no error");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == error::not_found);
    }
}

TEST_CASE_METHOD(fixture, "a call is awaited with use_awaitable", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    user got;
    error_code failure;
    bool done = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            get_user req{"9"};
            context ctx;
            got = co_await c.async_call(req, ctx, asio::use_awaitable);
            get_user missing{"404"};
            try {
                co_await c.async_call(missing, ctx, asio::use_awaitable);
            } catch (const boost::system::system_error& e) {
                failure = e.code();
            }
            done = true;
        },
        asio::detached);
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK(got == user{"9", "user 9"});
    CHECK(failure == error::not_found);
}

TEST_CASE_METHOD(fixture, "a call is awaited without a token through the deferred default", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    user with_ctx, without_ctx;
    bool done = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            get_user a{"10"};
            context ctx;
            with_ctx = co_await c.async_call(a, ctx);
            get_user b{"11"};
            without_ctx = co_await c.async_call(b);
            done = true;
        },
        asio::detached);
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK(with_ctx == user{"10", "user 10"});
    CHECK(without_ctx == user{"11", "user 11"});
}

TEST_CASE_METHOD(fixture, "a deferred call starts only when launched", "[inproc][call]") {
    int runs = 0;
    srv.bind<get_user, user>("users", [&](get_user r, context&) {
        ++runs;
        return user{r.userId, "lazy"};
    });
    auto c = make_client();
    auto op = c.async_call(get_user{"12"}, context{});
    courier_test::run_ready(ioc);
    CHECK(runs == 0);

    call_result r;
    std::move(op)(r.handler());
    REQUIRE(wait(r));
    CHECK(runs == 1);
    CHECK(r.rep == user{"12", "lazy"});
}

// --- the client's call forms ------------------------------------------------------

TEST_CASE_METHOD(fixture, "the client's call forms all reach the handler", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    courier_test::io_threads runner(ioc);

    SECTION("async_call without a context") {
        std::promise<std::pair<error_code, user>> p;
        c.async_call(get_user{"1"}, [&](error_code ec, user u) { p.set_value({ec, std::move(u)}); });
        auto [ec, u] = p.get_future().get();
        CHECK_FALSE(ec);
        CHECK(u == user{"1", "user 1"});
    }
    SECTION("throwing call returns the reply") {
        CHECK(c.call(get_user{"2"}) == user{"2", "user 2"});
        CHECK(c.call(get_user{"3"}, context::with_timeout(10s)) == user{"3", "user 3"});
    }
    SECTION("throwing call throws system_error with the handler's code") {
        try {
            c.call(get_user{"404"});
            FAIL("call did not throw");
        } catch (const courier::system_error& e) {
            CHECK(e.code() == error::not_found);
        }
    }
    SECTION("call with an error_code sets it and returns an empty reply") {
        error_code ec;
        CHECK(c.call(get_user{"4"}, ec) == user{"4", "user 4"});
        CHECK_FALSE(ec);
        CHECK(c.call(get_user{"404"}, context{}, ec) == user{});
        CHECK(ec == error::not_found);
    }
}

// --- handlers and their failures ------------------------------------------------------

TEST_CASE_METHOD(fixture, "a handler's result error reaches the caller as its code", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    call_result r;
    c.async_call(get_user{"404"}, context{}, r.handler());
    REQUIRE(wait(r));
    CHECK(r.ec == error::not_found);
    CHECK(r.ec == courier::condition::remote);
    CHECK(r.rep == user{});
}

TEST_CASE_METHOD(fixture, "a handler throwing system_error fails the call with its code", "[inproc][call]") {
    srv.bind<get_user, user>("courier", [](get_user, context&) -> user {
        throw courier::system_error(error::permission_denied, "not yours");
    });
    srv.bind<get_user, user>("boost", [](get_user, context&) -> user {
        throw boost::system::system_error(error_code(error::invalid_argument));
    });
    srv.bind<get_user, user>("no-code", [](get_user, context&) -> user {
        throw boost::system::system_error(error_code{});
    });
    auto a = make_client("courier");
    auto b = make_client("boost");
    auto n = make_client("no-code");
    call_result ra, rb, rn;
    a.async_call(get_user{"1"}, context{}, ra.handler());
    b.async_call(get_user{"1"}, context{}, rb.handler());
    n.async_call(get_user{"1"}, context{}, rn.handler());
    REQUIRE(run_until(ioc, [&] { return ra.done() && rb.done() && rn.done(); }));
    CHECK(ra.ec == error::permission_denied);
    CHECK(rb.ec == error::invalid_argument);
    CHECK(rn.ec == error::internal);  // a "success" code cannot fail a call
}

TEST_CASE_METHOD(fixture, "a handler throwing another exception fails the call with internal", "[inproc][call]") {
    srv.bind<get_user, user>("users", [](get_user, context&) -> user { throw std::runtime_error("boom"); });
    auto c = make_client();
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    REQUIRE(wait(r));
    CHECK(r.ec == error::internal);
}

TEST_CASE_METHOD(fixture, "a coroutine handler replies after suspending", "[inproc][call]") {
    srv.bind<get_user, user>("users", [](get_user r, context&) -> asio::awaitable<user> {
        auto ex = co_await asio::this_coro::executor;
        co_await asio::post(ex, asio::use_awaitable);
        co_return user{r.userId, "coro"};
    });
    auto c = make_client();
    call_result r;
    c.async_call(get_user{"5"}, context{}, r.handler());
    REQUIRE(wait(r));
    CHECK_FALSE(r.ec);
    CHECK(r.rep == user{"5", "coro"});
}

TEST_CASE_METHOD(fixture, "a coroutine handler's result error and exception reach the caller", "[inproc][call]") {
    srv.bind<get_user, user>("result", [](get_user, context&) -> asio::awaitable<boost::system::result<user>> {
        co_return error_code(error::not_found);
    });
    srv.bind<get_user, user>("throws", [](get_user, context&) -> asio::awaitable<user> {
        auto ex = co_await asio::this_coro::executor;
        co_await asio::post(ex, asio::use_awaitable);
        throw courier::system_error(error::unavailable, "later");
    });
    auto a = make_client("result");
    auto b = make_client("throws");
    call_result ra, rb;
    a.async_call(get_user{"1"}, context{}, ra.handler());
    b.async_call(get_user{"1"}, context{}, rb.handler());
    REQUIRE(run_until(ioc, [&] { return ra.done() && rb.done(); }));
    CHECK(ra.ec == error::not_found);
    CHECK(rb.ec == error::unavailable);
}

TEST_CASE_METHOD(fixture, "a service bound as handler forwards the call and its context", "[inproc][call]") {
    std::string seen_correlation;
    srv.bind<get_user, user>("back", [&](get_user r, context& ctx) -> boost::system::result<user> {
        seen_correlation = ctx.correlation_id;
        if (r.userId == "404") return error_code(error::not_found);
        return user{r.userId, "from back"};
    });
    static_assert(courier::service<user_channel>);
    srv.bind<get_user, user>("front", user_channel(ioc.get_executor(), net, "back"));
    auto c = make_client("front");

    context ctx;
    ctx.correlation_id = "flow-1";
    call_result ok, missing;
    c.async_call(get_user{"6"}, ctx, ok.handler());
    c.async_call(get_user{"404"}, ctx, missing.handler());
    REQUIRE(run_until(ioc, [&] { return ok.done() && missing.done(); }));
    CHECK_FALSE(ok.ec);
    CHECK(ok.rep == user{"6", "from back"});
    CHECK(seen_correlation == "flow-1");
    CHECK(missing.ec == error::not_found);
}

// --- endpoints ----------------------------------------------------------------

TEST_CASE_METHOD(fixture, "a call to a name nobody bound fails with unknown_endpoint", "[inproc][call]") {
    auto c = make_client("nobody");
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    CHECK_FALSE(r.done());
    REQUIRE(wait(r));
    CHECK(r.ec == error::unknown_endpoint);
    CHECK(r.ec == courier::condition::unavailable);
}

TEST_CASE_METHOD(fixture, "a channel made before the server binds reaches it once bound", "[inproc][call]") {
    auto c = make_client();
    srv.bind<get_user, user>("users", find_user);
    CHECK(net.bound_endpoints() == 1);
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    REQUIRE(wait(r));
    CHECK_FALSE(r.ec);
}

TEST_CASE_METHOD(fixture, "binding a bound name throws already_exists and keeps the first binding", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    courier::inproc::server other(net, ioc.get_executor());
    auto impostor = [](get_user, context&) { return user{"x", "impostor"}; };
    try {
        other.bind<get_user, user>("users", impostor);
        FAIL("bind did not throw");
    } catch (const courier::system_error& e) {
        CHECK(e.code() == error::already_exists);
        CHECK(e.diagnostic().find("users") != std::string::npos);
    }
    CHECK_THROWS_AS((srv.bind<get_user, user>("users", impostor)), courier::system_error);

    auto c = make_client();
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    REQUIRE(wait(r));
    CHECK(r.rep == user{"1", "user 1"});
}

TEST_CASE_METHOD(fixture, "a closed server's endpoints fail with unknown_endpoint and can be bound again", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    srv.close();
    CHECK(net.bound_endpoints() == 0);
    auto c = make_client();
    call_result closed;
    c.async_call(get_user{"1"}, context{}, closed.handler());
    REQUIRE(wait(closed));
    CHECK(closed.ec == error::unknown_endpoint);

    courier::inproc::server next(net, ioc.get_executor());
    next.bind<get_user, user>("users", [](get_user, context&) { return user{"n", "next"}; });
    call_result again;
    c.async_call(get_user{"1"}, context{}, again.handler());
    REQUIRE(wait(again));
    CHECK(again.rep == user{"n", "next"});
}

TEST_CASE_METHOD(fixture, "a destroyed server unbinds its endpoints", "[inproc][call]") {
    {
        courier::inproc::server scoped(net, ioc.get_executor());
        scoped.bind<get_user, user>("scoped", find_user);
        CHECK(net.bound_endpoints() == 1);
    }
    CHECK(net.bound_endpoints() == 0);
    auto c = make_client("scoped");
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    REQUIRE(wait(r));
    CHECK(r.ec == error::unknown_endpoint);
}

TEST_CASE_METHOD(fixture, "a call started before the server closed still finishes", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    srv.close();
    REQUIRE(wait(r));
    CHECK_FALSE(r.ec);
    CHECK(r.rep == user{"1", "user 1"});
}

TEST_CASE("a call queued on a server whose io_context is destroyed fails with endpoint_closed", "[inproc][call]") {
    asio::io_context client_ioc;
    auto server_ioc = std::make_unique<asio::io_context>();
    courier::inproc::network net;
    int runs = 0;
    courier::inproc::server srv(net, server_ioc->get_executor());
    srv.bind<get_user, user>("users", [&](get_user, context&) {
        ++runs;
        return user{};
    });
    user_client c(user_channel(client_ioc.get_executor(), net, "users"));
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    srv.close();
    server_ioc.reset();  // the queued job is destroyed, never run
    REQUIRE(run_until(client_ioc, [&] { return r.done(); }));
    CHECK(r.ec == error::endpoint_closed);
    CHECK(runs == 0);
}

// --- deadlines ------------------------------------------------------------------

TEST_CASE_METHOD(fixture, "a call whose deadline passed fails with timeout without running the handler", "[inproc][call]") {
    int runs = 0;
    srv.bind<get_user, user>("users", [&](get_user, context&) {
        ++runs;
        return user{};
    });
    context expired;
    expired.deadline = context::clock::now() - 1ms;
    auto typed = make_client();
    auto wire = make_client("users", {.wire = true});
    call_result rt, rw;
    typed.async_call(get_user{"1"}, expired, rt.handler());
    wire.async_call(get_user{"1"}, expired, rw.handler());
    REQUIRE(run_until(ioc, [&] { return rt.done() && rw.done(); }));
    CHECK(rt.ec == error::timeout);
    CHECK(rw.ec == error::timeout);
    CHECK(runs == 0);
}

TEST_CASE_METHOD(fixture, "a typed call hands the caller's context to the handler unchanged", "[inproc][call]") {
    context seen;
    srv.bind<get_user, user>("users", [&](get_user, context& ctx) {
        seen = ctx;
        return user{};
    });
    context ctx = context::with_timeout(30s);
    ctx.trace = courier::trace_context::make_root();
    ctx.correlation_id = "c-1";
    auto c = make_client();
    call_result r;
    c.async_call(get_user{"1"}, ctx, r.handler());
    REQUIRE(wait(r));
    CHECK(seen.deadline == ctx.deadline);
    CHECK(seen.trace.trace_id == ctx.trace.trace_id);
    CHECK(seen.correlation_id == "c-1");
}

// --- wire mode and the codec ---------------------------------------------------------

TEST_CASE_METHOD(fixture, "a wire-mode call round trips through the codec and carries the context", "[inproc][call]") {
    context seen;
    get_user seen_request;
    srv.bind<get_user, user>("users", [&](get_user r, context& ctx) {
        seen = ctx;
        seen_request = r;
        return user{r.userId, "wired"};
    });
    context ctx = context::with_timeout(30s);
    ctx.trace = courier::trace_context::make_root();
    ctx.correlation_id = "c-2";
    ctx.metadata.set("tenant", "acme");
    auto c = make_client("users", {.wire = true});
    call_result r;
    c.async_call(get_user{"42"}, ctx, r.handler());
    REQUIRE(wait(r));
    CHECK_FALSE(r.ec);
    CHECK(r.rep == user{"42", "wired"});
    CHECK(seen_request.userId == "42");
    CHECK(seen.trace.valid());
    CHECK(seen.trace.trace_id == ctx.trace.trace_id);
    CHECK(seen.trace.span_id != ctx.trace.span_id);  // a child span, as over a wire
    CHECK(seen.correlation_id == "c-2");
    CHECK(seen.metadata.get("tenant") == "acme");
    REQUIRE(seen.deadline);
    // Sent as whole milliseconds left, rounded up, restarted on arrival.
    CHECK(*seen.deadline >= *ctx.deadline);
    CHECK(*seen.deadline <= *ctx.deadline + 5s);
}

TEST_CASE_METHOD(fixture, "a wire-mode call fails with encode_failed for a request the codec rejects", "[inproc][call]") {
    int runs = 0;
    srv.bind<get_user, user>("users", [&](get_user r, context&) {
        ++runs;
        return user{r.userId, ""};
    });
    const get_user bad{"\xff"};  // not UTF-8: only the codec objects
    auto typed = make_client();
    auto wire = make_client("users", {.wire = true});
    call_result rt, rw;
    typed.async_call(bad, context{}, rt.handler());
    wire.async_call(bad, context{}, rw.handler());
    REQUIRE(run_until(ioc, [&] { return rt.done() && rw.done(); }));
    CHECK_FALSE(rt.ec);
    CHECK(rw.ec == error::encode_failed);
    CHECK(runs == 1);
}

TEST_CASE_METHOD(fixture, "a wire-mode call fails with encode_failed for a reply the codec rejects", "[inproc][call]") {
    srv.bind<get_user, user>("users", [](get_user, context&) { return user{"1", "\xc3\x28"}; });
    auto c = make_client("users", {.wire = true});
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    REQUIRE(wait(r));
    CHECK(r.ec == error::encode_failed);
}

TEST_CASE_METHOD(fixture, "a wire-mode call reports the handler's error code", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client("users", {.wire = true});
    call_result r;
    c.async_call(get_user{"404"}, context{}, r.handler());
    REQUIRE(wait(r));
    CHECK(r.ec == error::not_found);
}

TEST_CASE_METHOD(fixture, "a caller with other types reaches the handler through the codec", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    courier::inproc::client<user_query, user_name> c(
        courier::inproc::channel<user_query, user_name>(ioc.get_executor(), net, "users"));
    bool done = false;
    error_code ec;
    user_name rep;
    c.async_call(user_query{"77"}, context{}, [&](error_code e, user_name n) {
        done = true;
        ec = e;
        rep = std::move(n);
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK_FALSE(ec);
    CHECK(rep.name == "user 77");
}

TEST_CASE_METHOD(fixture, "a caller whose types do not match the server's JSON gets decode_failed", "[inproc][call]") {
    int runs = 0;
    srv.bind<get_user, user>("users", [&](get_user r, context&) {
        ++runs;
        return user{r.userId, "n"};
    });
    SECTION("the reply does not decode") {
        courier::inproc::client<user_query, user_age> c(
            courier::inproc::channel<user_query, user_age>(ioc.get_executor(), net, "users"));
        bool done = false;
        error_code ec;
        c.async_call(user_query{"1"}, context{}, [&](error_code e, user_age) {
            done = true;
            ec = e;
        });
        REQUIRE(run_until(ioc, [&] { return done; }));
        CHECK(ec == error::decode_failed);
        CHECK(runs == 1);
    }
    SECTION("the request does not decode, so the handler never runs") {
        courier::inproc::client<user_age, user> c(
            courier::inproc::channel<user_age, user>(ioc.get_executor(), net, "users"));
        bool done = false;
        error_code ec;
        c.async_call(user_age{3}, context{}, [&](error_code e, user) {
            done = true;
            ec = e;
        });
        REQUIRE(run_until(ioc, [&] { return done; }));
        CHECK(ec == error::decode_failed);
        CHECK(runs == 0);
    }
}

// A handler bound for courier::message -> courier::message reached through
// the codec (a typed caller, or wire mode) takes the typed path on the server
// side, which does not read the headers; the context must be extracted anyway.
TEST_CASE_METHOD(fixture, "a message-level handler reached through the codec sees the caller's context", "[inproc][call]") {
    context seen;
    int runs = 0;
    srv.bind<courier::message, courier::message>("raw", [&](courier::message m, context& ctx) {
        ++runs;
        seen = ctx;
        courier::message out;
        out.payload = R"({"id":"r","name":"raw"})";
        (void)m;
        return out;
    });
    context ctx = context::with_timeout(30s);
    ctx.trace = courier::trace_context::make_root();
    auto c = make_client("raw");
    call_result r;
    c.async_call(get_user{"1"}, ctx, r.handler());
    REQUIRE(wait(r));
    CHECK_FALSE(r.ec);
    CHECK(r.rep == user{"r", "raw"});
    CHECK(seen.trace.trace_id == ctx.trace.trace_id);
    CHECK(seen.deadline.has_value());

    context expired;
    expired.deadline = context::clock::now() - 1ms;
    call_result late;
    c.async_call(get_user{"1"}, expired, late.handler());
    REQUIRE(wait(late));
    CHECK(late.ec == error::timeout);
    CHECK(runs == 1);
}

// --- blocking on the wrong thread ------------------------------------------------------

TEST_CASE_METHOD(fixture, "a blocking call on the io_context's own thread fails with would_deadlock", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    error_code ec;
    bool threw_would_deadlock = false;
    bool done = false;
    asio::post(ioc, [&] {
        c.call(get_user{"1"}, ec);
        try {
            c.call(get_user{"1"});
        } catch (const courier::system_error& e) {
            threw_would_deadlock = e.code() == error::would_deadlock;
        }
        done = true;
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK(ec == error::would_deadlock);
    CHECK(threw_would_deadlock);
}

TEST_CASE_METHOD(fixture, "a blocking call through a strand of the io_context fails with would_deadlock", "[inproc][call]") {
    srv.bind<get_user, user>("users", find_user);
    user_client c(user_channel(asio::make_strand(ioc), net, "users"));
    error_code ec;
    bool done = false;
    asio::post(ioc, [&] {  // on the io_context's thread, outside the strand
        c.call(get_user{"1"}, ec);
        done = true;
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK(ec == error::would_deadlock);
}

// Regression: runs_on_this_thread() used to recognise io_context executors and strands of
// them, but not a strand of an any_io_executor (what asio::make_strand makes
// of server::get_executor() or channel::get_executor()): a blocking call made
// on the io_context's thread through such a strand is not refused, and with
// a single thread running the io_context it hangs forever. Two threads run
// the io_context here so the missing check shows as a success, not a hang.
// Repro: channel(asio::make_strand(asio::any_io_executor(ioc.get_executor())),
// ...), then client.call(req, ec) from a handler running on ioc.
TEST_CASE("a blocking call through a strand of an any_io_executor fails with would_deadlock",
          "[inproc][call]") {
    asio::io_context ioc;
    courier::inproc::network net;
    courier::inproc::server srv(net, ioc.get_executor());
    srv.bind<get_user, user>("users", find_user);
    asio::any_io_executor polymorphic = ioc.get_executor();
    user_client c(user_channel(asio::make_strand(polymorphic), net, "users"));
    std::promise<error_code> result;
    asio::post(ioc, [&] {
        error_code ec;
        c.call(get_user{"1"}, ec);
        result.set_value(ec);
    });
    courier_test::io_threads runners(ioc, 2);
    auto f = result.get_future();
    REQUIRE(f.wait_for(20s) == std::future_status::ready);
    CHECK(f.get() == error::would_deadlock);
}

// --- cancellation -------------------------------------------------------------

namespace {
// A coroutine handler that waits on a timer until cancelled, recording what
// its wait ended with.
struct waiting_handler {
    struct state {
        bool started = false;
        bool finished = false;
        error_code wait_ec;
        asio::steady_timer* timer = nullptr;
    };
    std::shared_ptr<state> s = std::make_shared<state>();

    asio::awaitable<user> operator()(get_user, context&) {
        auto st = s;
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer t(ex, std::chrono::hours(1));
        st->timer = &t;
        st->started = true;
        auto [ec] = co_await t.async_wait(tuple_awaitable);
        st->timer = nullptr;
        st->wait_ec = ec;
        st->finished = true;
        co_return user{};
    }
};
}  // namespace

TEST_CASE_METHOD(fixture, "a cancelled call completes with operation_aborted and stops its coroutine handler", "[inproc][call][cancel]") {
    waiting_handler h;
    auto st = h.s;
    srv.bind<get_user, user>("slow", h);
    auto c = make_client("slow");
    asio::cancellation_signal cancel;
    call_result r;
    c.async_call(get_user{"1"}, context{}, asio::bind_cancellation_slot(cancel.slot(), r.handler()));
    REQUIRE(run_until(ioc, [&] { return st->started; }));
    CHECK_FALSE(r.done());

    cancel.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(ioc, [&] { return r.done() && st->finished; }, 5s));
    CHECK(r.ec == asio::error::operation_aborted);
    CHECK(st->wait_ec == asio::error::operation_aborted);
    courier_test::run_ready(ioc);
    CHECK(r.calls == 1);
}

// co_spawn lets only terminal cancellation into a coroutine: whatever type
// the caller emits, the handler must get terminal, since its result has
// nowhere to go.
TEST_CASE_METHOD(fixture, "a partial cancellation also stops a running coroutine handler", "[inproc][call][cancel]") {
    waiting_handler h;
    auto st = h.s;
    srv.bind<get_user, user>("slow", h);
    auto c = make_client("slow");
    asio::cancellation_signal cancel;
    call_result r;
    c.async_call(get_user{"1"}, context{}, asio::bind_cancellation_slot(cancel.slot(), r.handler()));
    REQUIRE(run_until(ioc, [&] { return st->started; }));

    cancel.emit(asio::cancellation_type::partial);
    REQUIRE(run_until(ioc, [&] { return r.done(); }));
    CHECK(r.ec == asio::error::operation_aborted);
    const bool handler_stopped = run_until(ioc, [&] { return st->finished; }, 1s);
    if (!handler_stopped && st->timer) {  // let the handler end so the test leaks nothing
        st->timer->cancel();
        run_until(ioc, [&] { return st->finished; });
    }
    CHECK(handler_stopped);
}

TEST_CASE_METHOD(fixture, "a cancellation arriving as the coroutine handler finishes is harmless", "[inproc][call][cancel]") {
    waiting_handler h;
    auto st = h.s;
    srv.bind<get_user, user>("slow", h);
    auto c = make_client("slow");
    asio::cancellation_signal cancel;
    call_result r;
    c.async_call(get_user{"1"}, context{}, asio::bind_cancellation_slot(cancel.slot(), r.handler()));
    REQUIRE(run_until(ioc, [&] { return st->started; }));
    // The handler's own wait ends first (its completion is queued), then the
    // caller gives up: the forwarded cancellation reaches a finished handler.
    st->timer->cancel();
    cancel.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(ioc, [&] { return r.done() && st->finished; }));
    courier_test::run_ready(ioc);
    CHECK(r.ec == asio::error::operation_aborted);
    CHECK(r.calls == 1);
}

TEST_CASE_METHOD(fixture, "a call cancelled before the server runs never runs the handler", "[inproc][call][cancel]") {
    int runs = 0;
    srv.bind<get_user, user>("users", [&](get_user, context&) {
        ++runs;
        return user{};
    });
    auto c = make_client();
    asio::cancellation_signal cancel;
    call_result r;
    c.async_call(get_user{"1"}, context{}, asio::bind_cancellation_slot(cancel.slot(), r.handler()));
    cancel.emit(asio::cancellation_type::terminal);
    REQUIRE(wait(r));
    courier_test::run_ready(ioc);
    CHECK(r.ec == asio::error::operation_aborted);
    CHECK(r.calls == 1);
    CHECK(runs == 0);
}

TEST_CASE_METHOD(fixture, "cancelling after the reply arrived changes nothing", "[inproc][call][cancel]") {
    srv.bind<get_user, user>("users", find_user);
    auto c = make_client();
    asio::cancellation_signal cancel;
    call_result r;
    c.async_call(get_user{"1"}, context{}, asio::bind_cancellation_slot(cancel.slot(), r.handler()));
    REQUIRE(wait(r));
    cancel.emit(asio::cancellation_type::terminal);  // the slot was cleared: a no-op
    courier_test::run_ready(ioc);
    CHECK_FALSE(r.ec);
    CHECK(r.calls == 1);
}

// --- threads and io_contexts ---------------------------------------------------------

TEST_CASE("a server and a client on different io_contexts, each on its own thread", "[inproc][call][threads]") {
    asio::io_context server_ioc, client_ioc;
    courier::inproc::network net;
    courier::inproc::server srv(net, server_ioc.get_executor());
    std::atomic<bool> handler_on_server{false};
    srv.bind<get_user, user>("users", [&](get_user r, context&) {
        handler_on_server = server_ioc.get_executor().running_in_this_thread();
        return user{r.userId, "remote"};
    });
    user_client c(user_channel(client_ioc.get_executor(), net, "users"));
    courier_test::io_threads server_thread(server_ioc), client_thread(client_ioc);

    struct outcome {
        error_code ec;
        user rep;
        bool on_client_thread = false;
    };
    std::promise<outcome> completion;  // Catch2 assertions stay on this thread
    c.async_call(get_user{"1"}, context{}, [&](error_code ec, user u) {
        completion.set_value({ec, std::move(u), client_ioc.get_executor().running_in_this_thread()});
    });
    auto f = completion.get_future();
    REQUIRE(f.wait_for(20s) == std::future_status::ready);
    auto got = f.get();
    CHECK_FALSE(got.ec);
    CHECK(got.rep == user{"1", "remote"});
    CHECK(got.on_client_thread);
    CHECK(handler_on_server);
    CHECK(c.call(get_user{"2"}) == user{"2", "remote"});  // from a third thread
}

TEST_CASE("a caller's io_context keeps running until its call completes", "[inproc][call][threads]") {
    asio::io_context server_ioc, client_ioc;
    courier::inproc::network net;
    courier::inproc::server srv(net, server_ioc.get_executor());
    srv.bind<get_user, user>("users", find_user);
    user_client c(user_channel(client_ioc.get_executor(), net, "users"));
    courier_test::io_threads server_thread(server_ioc);
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    client_ioc.run();  // no work guard: only the pending call keeps it running
    CHECK(r.done());
    CHECK(r.rep == user{"1", "user 1"});
}

TEST_CASE("a pending call keeps its handler's io_context from running out of work", "[inproc][call]") {
    asio::io_context server_ioc, client_ioc;
    courier::inproc::network net;
    courier::inproc::server srv(net, server_ioc.get_executor());
    srv.bind<get_user, user>("users", find_user);
    user_client c(user_channel(client_ioc.get_executor(), net, "users"));
    call_result r;
    c.async_call(get_user{"1"}, context{}, r.handler());
    client_ioc.poll();
    CHECK_FALSE(client_ioc.stopped());  // run() would wait for the reply
    server_ioc.run();  // runs the handler; the reply is posted to client_ioc
    REQUIRE(run_until(client_ioc, [&] { return r.done(); }));
    CHECK(r.rep == user{"1", "user 1"});
}

TEST_CASE("concurrent calls from four threads to a four-thread io_context each complete exactly once", "[inproc][call][threads]") {
    constexpr int callers = 4;
    constexpr int per_caller = 250;
    constexpr int total = callers * per_caller;

    asio::io_context ioc;
    courier::inproc::network net;
    courier::inproc::server srv(net, ioc.get_executor());
    std::atomic<int> handled{0};
    srv.bind<get_user, user>("users", [&](get_user r, context&) {
        ++handled;
        return user{r.userId, "n"};
    });

    std::vector<std::atomic<int>> completions(total);
    std::atomic<int> completed{0}, failures{0};
    std::promise<void> all_done;
    auto record = [&](error_code ec, const user& u) {
        if (ec) ++failures;
        else ++completions.at(static_cast<std::size_t>(std::stoi(u.id)));
        if (++completed == total) all_done.set_value();
    };

    std::vector<user_client> clients;
    for (int t = 0; t < callers; ++t) clients.emplace_back(user_channel(ioc.get_executor(), net, "users"));
    {
        courier_test::io_threads runners(ioc, 4);
        std::vector<std::thread> threads;
        for (int t = 0; t < callers; ++t) {
            threads.emplace_back([&, t] {
                auto& c = clients[static_cast<std::size_t>(t)];
                for (int i = 0; i < per_caller; ++i) {
                    get_user req{std::to_string(t * per_caller + i)};
                    if (i % 10 == 0) {  // some blocking calls among the asynchronous ones
                        error_code ec;
                        auto u = c.call(req, ec);
                        record(ec, u);
                    } else {
                        c.async_call(req, context{}, [&](error_code ec, user u) { record(ec, u); });
                    }
                }
            });
        }
        for (auto& th : threads) th.join();
        REQUIRE(all_done.get_future().wait_for(30s) == std::future_status::ready);
    }  // joins the io_context's threads: any late duplicate completion has run
    CHECK(failures == 0);
    CHECK(handled == total);
    int exactly_once = 0;
    for (auto& n : completions) exactly_once += n == 1;
    CHECK(exactly_once == total);
    CHECK(completed == total);
}
