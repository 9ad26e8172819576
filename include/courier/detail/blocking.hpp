// The machinery of the blocking call forms: refuse where blocking would
// deadlock, otherwise start the asynchronous form and wait for it.
#ifndef COURIER_DETAIL_BLOCKING_HPP
#define COURIER_DETAIL_BLOCKING_HPP

#include <courier/detail/serial_executor.hpp>
#include <courier/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>

namespace courier::detail {

/// Whether the calling thread is running the io_context behind `ex`.
/// Blocking such a thread on work that needs that context never ends, even
/// when the executor is a strand the thread is not inside right now.
/// Executors of other contexts (thread pools, custom ones) answer false.
template <class Executor>
bool runs_on_this_thread(const Executor& ex) {
    using ioc_executor = boost::asio::io_context::executor_type;
    if constexpr (std::is_same_v<Executor, ioc_executor>) {
        return ex.running_in_this_thread();
    } else if constexpr (is_strand<Executor>::value) {
        return runs_on_this_thread(ex.get_inner_executor());
    } else if constexpr (requires { ex.template target<ioc_executor>(); }) {
        if (auto* e = ex.template target<ioc_executor>()) return e->running_in_this_thread();
        if (auto* s = ex.template target<boost::asio::strand<ioc_executor>>())
            return s->get_inner_executor().running_in_this_thread();
        // make_strand(any_io_executor) gives a strand of the erased executor.
        if (auto* s = ex.template target<boost::asio::strand<boost::asio::any_io_executor>>())
            return runs_on_this_thread(s->get_inner_executor());
        return false;
    } else {
        return false;
    }
}

/// Waits on the calling thread for one completion `void(error_code, T...)`.
template <class... T>
class blocking_waiter {
public:
    auto handler() {
        return [this](error_code ec, T... values) {
            std::lock_guard lock(mutex_);
            result_.emplace(ec, std::move(values)...);
            // Notify under the lock: once the waiter sees the result it may
            // return and destroy this object.
            cv_.notify_one();
        };
    }
    std::tuple<error_code, T...> wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return result_.has_value(); });
        return std::move(*result_);
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::optional<std::tuple<error_code, T...>> result_;
};

/// Runs `start(handler)` and blocks until the handler ran; fails with
/// error::would_deadlock instead when the caller runs `ex`'s context.
template <class R, class Executor, class Start>
R run_blocking(const Executor& ex, error_code& ec, Start&& start) {
    if (runs_on_this_thread(ex)) {
        ec = error::would_deadlock;
        return R{};
    }
    blocking_waiter<R> waiter;
    start(waiter.handler());
    auto [e, value] = waiter.wait();
    ec = e;
    return std::move(value);
}

}  // namespace courier::detail

#endif
