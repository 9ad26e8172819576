// What the stress tests share: the two kinds of pool a user runs (an
// io_context run by several threads, an asio::thread_pool), and a ledger of
// outcomes that proves every operation completed exactly once.
#pragma once

#include <courier/error.hpp>

#include "support/catch.hpp"
#include "support/run_until.hpp"
#include "support/sanitizers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace courier_stress {

inline constexpr unsigned threads = 4;

using courier_test::under_tsan;

/// `n` operations in a plain build, a quarter of them under TSan, so a
/// stage stays within minutes.
constexpr int scaled(int n) { return under_tsan() ? n / 4 : n; }

/// How much longer than in a plain build a path takes under TSan: timing
/// that must put a deadline in the middle of the work scales by it.
constexpr int slowdown = under_tsan() ? 10 : 1;

/// An io_context constructed for, and run by, `threads` threads.
class io_pool {
public:
    io_pool() : ioc_(static_cast<int>(threads)), run_(ioc_, threads) {}
    boost::asio::io_context::executor_type get_executor() noexcept { return ioc_.get_executor(); }
    boost::asio::io_context& context() noexcept { return ioc_; }
    /// Lets the remaining work finish, then joins the threads.
    void join() { run_.join(); }

private:
    boost::asio::io_context ioc_;
    courier_test::io_threads run_;
};

/// An asio::thread_pool of `threads` threads.
class thread_pool {
public:
    thread_pool() : pool_(threads) {}
    ~thread_pool() { pool_.join(); }
    boost::asio::thread_pool::executor_type get_executor() noexcept { return pool_.get_executor(); }
    void join() { pool_.join(); }

private:
    boost::asio::thread_pool pool_;
};

template <class Pool>
struct pool_of;
template <>
struct pool_of<boost::asio::io_context> {
    using type = io_pool;
};
template <>
struct pool_of<boost::asio::thread_pool> {
    using type = thread_pool;
};

/// Records each operation's outcome from whatever thread completes it.
class outcomes {
public:
    explicit outcomes(int n) : per_op_(static_cast<std::size_t>(n)), expected_(n) {}

    /// Operation `i` completed with `ec`; `good` says whether its value was
    /// the one expected.
    void record(int i, courier::error_code ec, bool good = true) {
        per_op_[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(mutex_);
        ++by_error_[ec];
        if (!ec && !good) ++bad_values_;
        if (++completed_ == expected_) done_.notify_all();
    }

    /// Waits until every operation completed once, or `limit` passed.
    bool wait_all(std::chrono::steady_clock::duration limit) {
        std::unique_lock lock(mutex_);
        return done_.wait_for(lock, limit, [&] { return completed_ >= expected_; });
    }

    /// Every operation completed exactly once (a second completion is a
    /// failure even when the total adds up).
    void check_exactly_once() const {
        int never = 0, twice = 0;
        for (auto& n : per_op_) {
            const int c = n.load(std::memory_order_relaxed);
            never += c == 0;
            twice += c > 1;
        }
        CHECK(never == 0);
        CHECK(twice == 0);
    }

    /// What a race between deadlines and replies must end in: every
    /// operation completed exactly once, with success or error::timeout,
    /// both happened (so the race was run), and no success carried another
    /// operation's value.
    void check_deadline_race() const {
        INFO(summary());
        check_exactly_once();
        CHECK(count({}) + count(courier::error::timeout) == expected_);
        CHECK(count({}) > 0);
        CHECK(count(courier::error::timeout) > 0);
        CHECK(bad_values() == 0);
    }

    int count(courier::error_code ec) const {
        std::lock_guard lock(mutex_);
        auto it = by_error_.find(ec);
        return it == by_error_.end() ? 0 : it->second;
    }
    int completed() const {
        std::lock_guard lock(mutex_);
        return completed_;
    }
    int bad_values() const {
        std::lock_guard lock(mutex_);
        return bad_values_;
    }
    /// "timeout: 9812, success: 10188", for a failure message.
    std::string summary() const {
        std::lock_guard lock(mutex_);
        std::string s;
        for (auto& [ec, n] : by_error_)
            s += (s.empty() ? "" : ", ") + (ec ? ec.message() : std::string("success")) + ": " + std::to_string(n);
        return s;
    }

private:
    std::vector<std::atomic<int>> per_op_;
    const int expected_;
    mutable std::mutex mutex_;
    std::condition_variable done_;
    std::map<courier::error_code, int> by_error_;
    int completed_ = 0;
    int bad_values_ = 0;
};

}  // namespace courier_stress
