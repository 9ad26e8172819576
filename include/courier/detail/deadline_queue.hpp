// One timer per execution context serving every deadline registered on it.
// Arming an Asio timer per call costs a timerfd_settime syscall whenever it
// becomes the earliest timer (~0.5 µs here); calls started one after another
// have ever later deadlines, so this queue re-arms its timer only when a new
// deadline is earlier than the armed one, or when the timer fires. The
// common path is a heap push and pop under an uncontended mutex.
#ifndef COURIER_DETAIL_DEADLINE_QUEUE_HPP
#define COURIER_DETAIL_DEADLINE_QUEUE_HPP

#include <courier/detail/spinlock.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>

#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

namespace courier::detail {

/// Something with a deadline. `fire` runs on the queue's executor when the
/// deadline passes, unless the entry was removed first.
template <class TimePoint>
struct deadline_entry {
    TimePoint at{};
    std::size_t index = npos;  // position in the heap, or one of the states below
    void (*fire)(deadline_entry*) = nullptr;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);      // not queued: fired or removed
    static constexpr std::size_t unqueued = static_cast<std::size_t>(-2);  // expect_add() called, add() not yet
    static constexpr std::size_t finished = static_cast<std::size_t>(-3);  // taken before it was added
};

/// What take() found.
enum class deadline_removal {
    removed,    ///< it was queued and is no longer: it will never fire
    fired,      ///< it was already taken for firing
    not_added,  ///< add() has not run yet; it will see this and return false
};

template <class Timing>
class deadline_queue final : public boost::asio::execution_context::service {
public:
    using clock = typename Timing::clock;
    using time_point = typename clock::time_point;
    using entry = deadline_entry<time_point>;

    static inline boost::asio::execution_context::id id;

    explicit deadline_queue(boost::asio::execution_context& ctx)
        : boost::asio::execution_context::service(ctx) {}

    /// Queues `e` (e->at set). `ex` runs the timer; the first caller's wins.
    /// False, and nothing queued, when `e` was taken (take()) between
    /// expect_add() and this call.
    template <class Executor>
    bool add(entry* e, const Executor& ex) {
        std::lock_guard lock(mutex_);
        if (e->index == entry::finished) return false;
        if (!timer_) timer_.emplace(boost::asio::any_io_executor(ex));
        e->index = heap_.size();
        heap_.push_back(e);
        sift_up(e->index);
        if (!armed_ || e->at < armed_at_) arm(e->at);
        return true;
    }

    /// For an entry that is added only after the work it bounds has started
    /// (so its deadline cannot fire first) and whose work may finish, on
    /// another thread, before add() runs: call before that work starts.
    static void expect_add(entry* e) noexcept { e->index = entry::unqueued; }

    /// Takes `e` out of the queue, or marks it taken when it is not in yet.
    deadline_removal take(entry* e) {
        std::lock_guard lock(mutex_);
        if (e->index == entry::npos) return deadline_removal::fired;
        if (e->index == entry::unqueued) {
            e->index = entry::finished;
            return deadline_removal::not_added;
        }
        erase_at(e->index);
        return deadline_removal::removed;
    }

    /// Removes `e`; false when it was already taken for firing.
    bool remove(entry* e) { return take(e) == deadline_removal::removed; }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return heap_.size();
    }

private:
    void shutdown() override {
        std::lock_guard lock(mutex_);
        timer_.reset();
        armed_ = false;
    }

    void arm(time_point at) {
        armed_ = true;
        armed_at_ = at;
        timer_->expires_at(at);
        timer_->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) on_timer();
        });
    }

    void on_timer() {
        std::vector<entry*> due;
        {
            std::lock_guard lock(mutex_);
            armed_ = false;
            const auto now = clock::now();
            while (!heap_.empty() && heap_.front()->at <= now) {
                due.push_back(heap_.front());
                erase_at(0);
            }
            if (!heap_.empty()) arm(heap_.front()->at);
        }
        for (auto* e : due) e->fire(e);
    }

    void erase_at(std::size_t i) {
        heap_[i]->index = entry::npos;
        const std::size_t last = heap_.size() - 1;
        if (i != last) {
            heap_[i] = heap_[last];
            heap_[i]->index = i;
        }
        heap_.pop_back();
        if (i < heap_.size()) {
            sift_up(i);
            sift_down(heap_[i]->index);
        }
    }
    void swap_at(std::size_t a, std::size_t b) {
        std::swap(heap_[a], heap_[b]);
        heap_[a]->index = a;
        heap_[b]->index = b;
    }
    void sift_up(std::size_t i) {
        while (i > 0) {
            std::size_t parent = (i - 1) / 2;
            if (!(heap_[i]->at < heap_[parent]->at)) break;
            swap_at(i, parent);
            i = parent;
        }
    }
    void sift_down(std::size_t i) {
        for (;;) {
            std::size_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < heap_.size() && heap_[l]->at < heap_[m]->at) m = l;
            if (r < heap_.size() && heap_[r]->at < heap_[m]->at) m = r;
            if (m == i) return;
            swap_at(i, m);
            i = m;
        }
    }

    mutable spinlock mutex_;
    std::vector<entry*> heap_;
    std::optional<typename Timing::timer> timer_;
    bool armed_ = false;
    time_point armed_at_{};
};

}  // namespace courier::detail

#endif
