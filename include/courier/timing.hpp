// The clock and timer a policy uses, as one template parameter, so tests
// swap in courier::testing::virtual_timing and run on virtual time.
#ifndef COURIER_TIMING_HPP
#define COURIER_TIMING_HPP

#include <boost/asio/steady_timer.hpp>

#include <chrono>

namespace courier {

/// Real time: std::chrono::steady_clock and asio::steady_timer.
/// A Timing type names `clock` (a TrivialClock whose time_point is
/// steady_clock's, so deadlines in a context mean the same on both) and
/// `timer` (constructible from an executor, with expires_at, expiry,
/// async_wait(void(error_code)) and cancel, as asio's timers).
struct steady_timing {
    using clock = std::chrono::steady_clock;
    using timer = boost::asio::steady_timer;
};

}  // namespace courier

#endif
