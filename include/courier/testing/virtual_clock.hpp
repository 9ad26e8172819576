// Virtual time for tests: a clock that moves only when told to, and a timer
// on it. Policies take their timing as a template parameter; with
// virtual_timing a test advances time explicitly and never sleeps.
#ifndef COURIER_TESTING_VIRTUAL_CLOCK_HPP
#define COURIER_TESTING_VIRTUAL_CLOCK_HPP

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace courier::testing {

/// A steady clock whose now() advances only through advance(). Its
/// time_point is steady_clock's, placed far ahead of real time, so a context
/// deadline set in virtual time is never reached by a component that reads
/// the real clock. Process-wide, thread-safe.
class virtual_clock {
public:
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr bool is_steady = true;

    static time_point now() noexcept {
        std::lock_guard lock(state().mutex);
        return state().now;
    }

    /// Moves time forward by `d` and completes (posts) every wait that is
    /// due, earliest first. Run the io_context afterwards to see the effects.
    static void advance(duration d) { advance_to(now() + d); }
    static void advance_to(time_point tp);

    /// Waits registered and not yet due.
    static std::size_t pending() {
        std::lock_guard lock(state().mutex);
        return state().waits.size();
    }
    /// The earliest pending expiry, or time_point::max().
    static time_point next_expiry() {
        std::lock_guard lock(state().mutex);
        return state().waits.empty() ? time_point::max() : state().waits.begin()->first;
    }

private:
    friend class virtual_timer;
    struct wait {
        const void* owner;
        boost::asio::any_io_executor ex;
        boost::asio::any_completion_handler<void(boost::system::error_code)> handler;
    };
    struct state_t {
        std::mutex mutex;
        time_point now = std::chrono::steady_clock::now() + std::chrono::hours(24 * 365);
        std::multimap<time_point, std::shared_ptr<wait>> waits;
    };
    static state_t& state() {
        static state_t s;
        return s;
    }
    static void complete(std::shared_ptr<wait> w, boost::system::error_code ec) {
        // any_completion_handler's executor cannot be posted to in Boost
        // 1.81; waits complete on the timer's executor.
        auto ex = w->ex;
        boost::asio::post(ex, [w = std::move(w), ec]() mutable {
            // The slot is left as is: its handler holds only a weak_ptr to
            // this wait, so a late cancellation finds nothing to do.
            std::move(w->handler)(ec);
        });
    }
};

inline void virtual_clock::advance_to(time_point tp) {
    std::vector<std::shared_ptr<wait>> due;
    {
        std::lock_guard lock(state().mutex);
        if (tp > state().now) state().now = tp;
        auto& waits = state().waits;
        while (!waits.empty() && waits.begin()->first <= state().now) {
            due.push_back(std::move(waits.begin()->second));
            waits.erase(waits.begin());
        }
    }
    for (auto& w : due) complete(std::move(w), {});
}

/// A timer on virtual_clock with the part of asio::steady_timer's interface
/// policies use. Waits complete on the timer's executor.
class virtual_timer {
public:
    using clock_type = virtual_clock;
    using duration = virtual_clock::duration;
    using time_point = virtual_clock::time_point;
    using executor_type = boost::asio::any_io_executor;

    explicit virtual_timer(executor_type ex) : ex_(std::move(ex)) {}
    virtual_timer(executor_type ex, time_point at) : ex_(std::move(ex)), expiry_(at) {}
    virtual_timer(const virtual_timer&) = delete;
    virtual_timer& operator=(const virtual_timer&) = delete;
    ~virtual_timer() { cancel(); }

    executor_type get_executor() const { return ex_; }
    time_point expiry() const noexcept { return expiry_; }
    std::size_t expires_at(time_point tp) {
        auto n = cancel();
        expiry_ = tp;
        return n;
    }
    std::size_t expires_after(duration d) { return expires_at(virtual_clock::now() + d); }

    /// Completion: void(error_code); operation_aborted when cancelled.
    /// Cancellation: terminal/partial/total through the handler's slot.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_wait(CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [this](auto handler) {
                auto slot = boost::asio::get_associated_cancellation_slot(handler);
                auto w = std::make_shared<virtual_clock::wait>(
                    virtual_clock::wait{this, ex_, std::move(handler)});
                std::unique_lock lock(virtual_clock::state().mutex);
                if (expiry_ <= virtual_clock::state().now) {
                    lock.unlock();
                    return virtual_clock::complete(std::move(w), {});
                }
                virtual_clock::state().waits.emplace(expiry_, w);
                lock.unlock();
                if (slot.is_connected())
                    slot.assign([wp = std::weak_ptr<virtual_clock::wait>(w)](boost::asio::cancellation_type) {
                        if (auto w = wp.lock()) remove_and_abort(w.get());
                    });
            },
            token);
    }

    /// Completes every pending wait of this timer with operation_aborted.
    std::size_t cancel() {
        std::vector<std::shared_ptr<virtual_clock::wait>> mine;
        {
            std::lock_guard lock(virtual_clock::state().mutex);
            auto& waits = virtual_clock::state().waits;
            for (auto it = waits.begin(); it != waits.end();) {
                if (it->second->owner == this) {
                    mine.push_back(std::move(it->second));
                    it = waits.erase(it);
                } else {
                    ++it;
                }
            }
        }
        for (auto& w : mine) virtual_clock::complete(std::move(w), boost::asio::error::operation_aborted);
        return mine.size();
    }

private:
    static void remove_and_abort(virtual_clock::wait* target) {
        std::shared_ptr<virtual_clock::wait> found;
        {
            std::lock_guard lock(virtual_clock::state().mutex);
            auto& waits = virtual_clock::state().waits;
            for (auto it = waits.begin(); it != waits.end(); ++it)
                if (it->second.get() == target) {
                    found = std::move(it->second);
                    waits.erase(it);
                    break;
                }
        }
        if (found) virtual_clock::complete(std::move(found), boost::asio::error::operation_aborted);
    }

    executor_type ex_;
    time_point expiry_{};
};

/// Timing for policies under test: virtual clock and timer.
struct virtual_timing {
    using clock = virtual_clock;
    using timer = virtual_timer;
};

}  // namespace courier::testing

#endif
