// Cost of one in-process request-reply call (courier::inproc, callback token, one io_context on one
// thread) next to a direct call of the same handler and a hand-written asio::post round trip, the
// floor for any call that hops through an executor and back. Target: courier <= 2x the round trip.
#include "alloc_counter.hpp"

#include <courier/inproc.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

namespace asio = boost::asio;

namespace {

// --- the calls: small realistic types, and int -> int ----------------------

struct get_user {
    std::string id;
};
struct user {
    std::string id, name, email;  // short: every string fits the SSO buffer
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name, email)

// Plain functions `Rep(const Req&, context&)`; noinline so that the direct
// baseline really is a function call, as it would be across translation units.
[[gnu::noinline]] user find_user(const get_user& req, courier::context&) {
    return user{req.id, "Ada Lovelace", "ada@example.com"};
}
[[gnu::noinline]] int twice(const int& x, courier::context&) { return 2 * x; }

template <class Req>
Req make_request() {
    if constexpr (std::is_same_v<Req, get_user>) return get_user{"42"};
    else return 21;
}

constexpr std::int64_t warmup_calls = 10'000;

/// Decides whether an asynchronous chain goes on: a fixed number of warm-up
/// steps first, then as long as Google Benchmark's state wants iterations.
class pacer {
public:
    explicit pacer(std::int64_t warmup) : left_(warmup) {}
    void time(benchmark::State& state) { state_ = &state; }
    bool more() { return state_ ? state_->KeepRunning() : left_-- > 0; }

private:
    std::int64_t left_;
    benchmark::State* state_ = nullptr;
};

/// Runs `start()` (a chain that ends when the pacer says so) on `ioc`:
/// warm-up, then the timed run inside an allocation-counting window.
template <class Chain>
void run_chain(benchmark::State& state, asio::io_context& ioc, Chain& chain) {
    chain();
    ioc.run();
    ioc.restart();
    chain.pace.time(state);
    courier_bench::alloc_window allocs;
    chain();
    ioc.run();
    allocs.report(state, static_cast<double>(state.iterations()));
}

// --- direct function call ---------------------------------------------------

template <class Req, class Rep, Rep (*Handler)(const Req&, courier::context&)>
void direct_call(benchmark::State& state, int /*concurrency_hint*/) {
    Req req = make_request<Req>();
    courier::context ctx;
    for (int i = 0; i < warmup_calls; ++i) benchmark::DoNotOptimize(Handler(req, ctx));
    courier_bench::alloc_window allocs;
    for (auto _ : state) {
        benchmark::DoNotOptimize(req);
        Rep rep = Handler(req, ctx);
        benchmark::DoNotOptimize(rep);
    }
    allocs.report(state, static_cast<double>(state.iterations()));
}

// --- one asio::post round trip ------------------------------------------------
// What one would write by hand: the request is copied into a job posted to
// the "server", which runs the handler and posts the reply back to the
// "caller", whose completion starts the next call.

template <class Req, class Rep, Rep (*Handler)(const Req&, courier::context&), class Executor>
void post_round_trip(benchmark::State& state, int concurrency_hint) {
    asio::io_context ioc(concurrency_hint);
    struct chain {
        Executor ex;
        const Req& req;
        courier::context& ctx;
        pacer pace;
        void operator()() {
            if (!pace.more()) return;
            asio::post(ex, [this, req = req]() {  // on the "server"
                Rep rep = Handler(req, ctx);
                asio::post(ex, [this, rep = std::move(rep)]() mutable {  // back on the "caller"
                    benchmark::DoNotOptimize(rep);
                    (*this)();
                });
            });
        }
    };
    const Req req = make_request<Req>();
    courier::context ctx;
    chain c{Executor(ioc.get_executor()), req, ctx, pacer(warmup_calls)};
    run_chain(state, ioc, c);
}

// --- courier ----------------------------------------------------------------

template <class Req, class Rep, Rep (*Handler)(const Req&, courier::context&)>
void courier_call(benchmark::State& state, int concurrency_hint) {
    asio::io_context ioc(concurrency_hint);
    courier::inproc::network net;
    courier::inproc::server server(net, ioc.get_executor());
    server.bind<Req, Rep>("svc", Handler);
    using client_type = courier::inproc::client<Req, Rep>;
    client_type client(courier::inproc::channel<Req, Rep>(ioc.get_executor(), net, "svc"));
    struct chain {
        client_type& client;
        const Req& req;
        benchmark::State& state;
        pacer pace;
        void operator()() {
            if (!pace.more()) return;
            client.async_call(req, [this](courier::error_code ec, Rep rep) {
                if (ec) return state.SkipWithError(ec.message().c_str());
                benchmark::DoNotOptimize(rep);
                (*this)();
            });
        }
    };
    const Req req = make_request<Req>();
    chain c{client, req, state, pacer(warmup_calls)};
    run_chain(state, ioc, c);
}

// --- registration -----------------------------------------------------------
// Names: request_reply/<types>/<implementation>/hint:<concurrency hint>.
// The io_context's concurrency hint changes Asio's own cost (1 = no locking
// for posts from the running thread), so each one is measured on its own.

template <class Req, class Rep, Rep (*Handler)(const Req&, courier::context&)>
void register_case(const std::string& types) {
    for (int hint : {BOOST_ASIO_CONCURRENCY_HINT_DEFAULT, 1}) {
        const std::string suffix = std::string("/hint:") + (hint == 1 ? "1" : "default");
        auto add = [&](const std::string& impl, void (*fn)(benchmark::State&, int)) {
            benchmark::RegisterBenchmark(("request_reply/" + types + "/" + impl + suffix).c_str(), fn, hint);
        };
        add("direct_call", direct_call<Req, Rep, Handler>);
        add("post_round_trip", post_round_trip<Req, Rep, Handler, asio::io_context::executor_type>);
        add("post_round_trip_any_io_executor", post_round_trip<Req, Rep, Handler, asio::any_io_executor>);
        add("courier", courier_call<Req, Rep, Handler>);
    }
}

const int registered = [] {
    register_case<get_user, user, find_user>("get_user");
    register_case<int, int, twice>("int");
    return 0;
}();

}  // namespace
