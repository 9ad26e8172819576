// Waiting in tests without sleeping: run an io_context until a condition
// holds, and run io_contexts on background threads for the tests that need
// real concurrency. A bound on every wait turns a hang into a failure.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <thread>
#include <vector>

namespace courier_test {

/// Runs `ioc` on the calling thread, one handler at a time, until `done()`
/// holds. Returns false when the io_context ran out of work, or `limit`
/// passed, with `done()` still false.
template <class Predicate>
bool run_until(boost::asio::io_context& ioc, Predicate done,
               std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (ioc.stopped()) ioc.restart();
        if (ioc.run_one_until(deadline) == 0) return done();
    }
    return true;
}

/// Runs every handler that is ready now (and those they make ready), without
/// waiting for timers: what "nothing else can happen yet" means in a test.
inline void run_ready(boost::asio::io_context& ioc) {
    if (ioc.stopped()) ioc.restart();
    ioc.poll();
}

/// Runs an io_context on `n` threads until destroyed; the destructor lets
/// the remaining work finish, then joins.
class io_threads {
public:
    explicit io_threads(boost::asio::io_context& ioc, unsigned n = 1) : guard_(ioc.get_executor()) {
        if (ioc.stopped()) ioc.restart();  // run_until may have run it out of work
        for (unsigned i = 0; i < n; ++i) threads_.emplace_back([&ioc] { ioc.run(); });
    }
    io_threads(const io_threads&) = delete;
    io_threads& operator=(const io_threads&) = delete;
    ~io_threads() { join(); }

    void join() {
        guard_.reset();
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

private:
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

}  // namespace courier_test
