// Keeps an executor's execution context running while an operation is
// outstanding, for any executor. asio::executor_work_guard needs the older
// on_work_started()/on_work_finished() interface, which a strand of an
// any_io_executor (what courier serializes on, see serial_executor.hpp)
// does not have; the outstanding_work property works for every executor.
#ifndef COURIER_DETAIL_WORK_GUARD_HPP
#define COURIER_DETAIL_WORK_GUARD_HPP

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>

#include <optional>
#include <type_traits>
#include <utility>

namespace courier::detail {

/// `Executor` with outstanding work tracked: while one exists, its context's
/// run() does not return for lack of work.
template <class Executor>
using tracked_executor_t = std::decay_t<decltype(boost::asio::prefer(
    std::declval<const Executor&>(), boost::asio::execution::outstanding_work.tracked))>;

template <class Executor>
tracked_executor_t<Executor> track_work(const Executor& ex) {
    return boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
}

/// executor_work_guard's interface over tracked_executor_t.
template <class Executor>
class work_guard {
public:
    using executor_type = Executor;

    explicit work_guard(const Executor& ex) : ex_(ex), tracked_(std::in_place, track_work(ex)) {}

    const executor_type& get_executor() const noexcept { return ex_; }
    bool owns_work() const noexcept { return tracked_.has_value(); }
    /// Gives the work up; the context may run out of work from now on.
    void reset() noexcept { tracked_.reset(); }

private:
    Executor ex_;
    std::optional<tracked_executor_t<Executor>> tracked_;
};

}  // namespace courier::detail

#endif
