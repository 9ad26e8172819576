// A real in-process service whose behaviour each test scripts per call:
// answer, fail with an error, take a while on virtual time, hint a retry
// delay. Policies under test wrap its channel; the test advances virtual
// time and never sleeps.
#pragma once

#include "support/run_until.hpp"

#include <courier/inproc.hpp>
#include <courier/testing/virtual_clock.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/errc.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

namespace courier_test {

struct request {
    int value = 0;
    static constexpr bool idempotent = true;
};
struct unsafe_request {  // not idempotent
    int value = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(request, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(unsafe_request, value)

/// What the service does on one call.
struct step {
    std::chrono::nanoseconds delay{};  ///< virtual time before answering
    courier::error_code error{};       ///< fail with this
    std::optional<std::chrono::nanoseconds> retry_after{};
};

/// The outcome of one call, filled in by its completion handler. Until then
/// `ec` holds a failure, so a check of success on a call that never
/// completed fails too.
struct outcome {
    bool done = false;
    courier::error_code ec = boost::system::errc::make_error_code(boost::system::errc::operation_in_progress);
    int value = 0;
    int completions = 0;
};

template <class Req = request>
class scripted_service {
public:
    using clock = courier::testing::virtual_clock;

    explicit scripted_service(std::function<step(int call)> script = {}) : script_(std::move(script)) {
        server_.bind<Req, int>("svc", [this](Req r, courier::context& ctx) -> boost::asio::awaitable<int> {
            const int n = ++calls;
            contexts.push_back(ctx);
            started_at.push_back(clock::now());
            const step s = script_ ? script_(n) : step{};
            ++running;
            if (s.delay.count() > 0) {
                courier::testing::virtual_timer t(co_await boost::asio::this_coro::executor);
                t.expires_after(s.delay);
                auto [ec] = co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
                if (ec) {
                    ++cancelled;
                    --running;
                    throw courier::system_error(ec);
                }
            }
            --running;
            if (s.retry_after && ctx.feedback) ctx.feedback->retry_after = *s.retry_after;
            if (s.error) throw courier::system_error(s.error);
            co_return r.value;
        });
    }

    courier::inproc::channel<Req, int> channel() { return {ioc.get_executor(), net, "svc"}; }

    /// Starts a call on `svc`; the returned outcome fills in on completion.
    template <class Service>
    std::shared_ptr<outcome> start(Service& svc, int value = 1, courier::context ctx = {}) {
        auto out = std::make_shared<outcome>();
        svc.async_call(Req{value}, std::move(ctx), recorder(out));
        return out;
    }

    /// As start(), the call's cancellation slot connected to `cancel`.
    template <class Service>
    std::shared_ptr<outcome> start(Service& svc, boost::asio::cancellation_signal& cancel, int value = 1) {
        auto out = std::make_shared<outcome>();
        svc.async_call(Req{value}, courier::context{},
                       boost::asio::bind_cancellation_slot(cancel.slot(), recorder(out)));
        return out;
    }

    /// Starts a call, lets it get under way, cancels it (terminal), then
    /// lets `then` pass.
    template <class Service>
    std::shared_ptr<outcome> start_and_cancel(Service& svc, std::chrono::nanoseconds then) {
        boost::asio::cancellation_signal cancel;
        auto out = start(svc, cancel);
        settle();
        cancel.emit(boost::asio::cancellation_type::terminal);
        advance(then);
        return out;
    }

    /// Runs what is ready now.
    void settle() { run_ready(ioc); }
    /// Moves virtual time and runs what became ready.
    void advance(std::chrono::nanoseconds d) {
        settle();
        clock::advance(std::chrono::duration_cast<clock::duration>(d));
        settle();
    }
    /// Advances in steps of `step` until `out` is done (bounded).
    void advance_until_done(const std::shared_ptr<outcome>& out, std::chrono::nanoseconds step_size,
                            int max_steps = 10'000) {
        settle();
        for (int i = 0; i < max_steps && !out->done; ++i) advance(step_size);
    }

    boost::asio::io_context ioc;
    courier::inproc::network net;
    int calls = 0;
    int cancelled = 0;
    int running = 0;
    std::vector<courier::context> contexts;
    std::vector<clock::time_point> started_at;

private:
    static auto recorder(std::shared_ptr<outcome> out) {
        return [out = std::move(out)](courier::error_code ec, int v) {
            out->done = true;
            out->ec = ec;
            out->value = v;
            ++out->completions;
        };
    }

    std::function<step(int)> script_;
    courier::inproc::server server_{net, ioc.get_executor()};
};

/// A deterministic random source for backoff and jitter tests.
struct counting_random {
    std::uint64_t next = 0;
    std::uint64_t operator()() noexcept { return next += 0x9e3779b97f4a7c15ULL; }
};

}  // namespace courier_test
