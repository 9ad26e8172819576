// The deadline of a server connection's current step (reading a header,
// waiting idle, reading a body, writing a response), kept by one timer per
// connection. Setting a deadline is a store, not a timer operation: Beast's
// tcp_stream timeouts (which the server used before) arm a timer for every
// read and write and cancel it when the operation completes, and the
// cancelled wait then runs as a completion of its own, through the
// connection's strand: two of those per request.
//
// The timer never waits longer than the shortest of the connection's
// timeouts, `period`: a deadline set later is then never earlier than the
// timer's expiry, so a new deadline needs no re-arming. When the timer fires
// before the deadline it waits again; a connection wakes at most once per
// `period` (10 s by default) on top of the deadlines that really expire.
#ifndef COURIER_HTTP_DETAIL_WATCHDOG_HPP
#define COURIER_HTTP_DETAIL_WATCHDOG_HPP

#include <courier/detail/deadline_after.hpp>
#include <courier/error.hpp>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

namespace courier::http::detail {

class watchdog {
public:
    using clock = std::chrono::steady_clock;

    /// `period`: the shortest timeout the connection will be given. At
    /// least a millisecond: a zero timeout must not make the timer spin.
    template <class Executor>
    watchdog(const Executor& ex, clock::duration period)
        : timer_(ex), period_(std::max<clock::duration>(period, std::chrono::milliseconds(1))) {}

    /// The current step must end within `d` from now.
    void expires_after(clock::duration d) { deadline_ = courier::detail::deadline_after(clock::now(), d); }
    /// The current step has no deadline (a handler bounds its own time).
    void expires_never() noexcept { deadline_ = clock::time_point::max(); }

    /// Starts watching: `on_expiry()` runs on the timer's executor once a
    /// deadline passes, and the watchdog stops. `on_expiry` may own what
    /// owns the watchdog; stop() releases it.
    template <class OnExpiry>
    void start(OnExpiry on_expiry) {
        const auto now = clock::now();
        timer_.expires_at(deadline_ - now > period_ ? now + period_ : deadline_);
        timer_.async_wait([this, on_expiry = std::move(on_expiry)](error_code ec) mutable {
            if (ec || stopped_) return;
            if (deadline_ <= clock::now()) return on_expiry();
            start(std::move(on_expiry));
        });
    }

    /// Stops watching; call from the timer's executor.
    void stop() {
        stopped_ = true;
        timer_.cancel();
    }

private:
    boost::asio::steady_timer timer_;
    clock::duration period_;
    clock::time_point deadline_ = clock::time_point::max();
    bool stopped_ = false;
};

}  // namespace courier::http::detail

#endif
