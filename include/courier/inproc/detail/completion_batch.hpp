// Publish completions that run on the broker's own executor, collected so
// that one posted job runs many of them instead of one post each. A
// completion still never runs inside the async_publish that started it
// (only a job posted to the broker's executor runs the batch) and always
// on its associated executor, since only handlers whose associated
// executor is the broker's are batched.
#ifndef COURIER_INPROC_DETAIL_COMPLETION_BATCH_HPP
#define COURIER_INPROC_DETAIL_COMPLETION_BATCH_HPP

#include <courier/broker.hpp>
#include <courier/detail/operation.hpp>
#include <courier/error.hpp>
#include <courier/inproc/detail/ring.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>

namespace courier::inproc::detail {

/// One successful publish's completion (ack {routed, 0}): the handler,
/// inline when small (no allocation), otherwise in memory from its
/// associated allocator.
class batched_completion {
public:
    template <class Handler>
    batched_completion(Handler&& h, std::size_t routed) : routed_(routed) {
        using H = std::decay_t<Handler>;
        if constexpr (fits_inline<H>) {
            ::new (static_cast<void*>(storage_)) H(std::forward<Handler>(h));
            ops_ = &inline_ops<H>;
        } else {
            auto alloc = courier::detail::operation_allocator<H, H>(h);
            H* p = courier::detail::allocate_op<H>(alloc, std::forward<Handler>(h));
            ::new (static_cast<void*>(storage_)) H*(p);
            ops_ = &heap_ops<H>;
        }
    }
    batched_completion(batched_completion&& o) noexcept : ops_(std::exchange(o.ops_, nullptr)), routed_(o.routed_) {
        if (ops_) ops_(op::relocate, o, this);
    }
    batched_completion& operator=(batched_completion&&) = delete;
    ~batched_completion() {
        if (ops_) ops_(op::destroy, *this, nullptr);
    }

    /// Calls the handler with (success, {routed, 0}); once.
    void operator()() && { std::exchange(ops_, nullptr)(op::invoke, *this, nullptr); }

private:
    static constexpr std::size_t inline_size = 32;
    enum class op { invoke, relocate, destroy };
    using ops_fn = void (*)(op, batched_completion&, batched_completion*);

    template <class H>
    static constexpr bool fits_inline = sizeof(H) <= inline_size && alignof(H) <= alignof(std::max_align_t) &&
                                        std::is_nothrow_move_constructible_v<H>;

    template <class H>
    static void inline_ops(op o, batched_completion& self, batched_completion* to) {
        H* h = std::launder(reinterpret_cast<H*>(self.storage_));
        switch (o) {
        case op::invoke: {
            // Copies first: the handler may queue completions, which can
            // move this one's storage.
            H local(std::move(*h));
            const publish_ack ack{self.routed_, 0};
            h->~H();
            std::move(local)(error_code{}, ack);
            return;
        }
        case op::relocate:
            ::new (static_cast<void*>(to->storage_)) H(std::move(*h));
            h->~H();
            return;
        case op::destroy:
            h->~H();
            return;
        }
    }

    template <class H>
    static void heap_ops(op o, batched_completion& self, batched_completion* to) {
        H* h = *std::launder(reinterpret_cast<H**>(self.storage_));
        auto alloc = courier::detail::operation_allocator<H, H>(*h);
        switch (o) {
        case op::invoke: {
            // Asio's rule: the operation's memory is freed before the upcall.
            H local(std::move(*h));
            const publish_ack ack{self.routed_, 0};
            courier::detail::destroy_with(alloc, h);
            std::move(local)(error_code{}, ack);
            return;
        }
        case op::relocate:
            ::new (static_cast<void*>(to->storage_)) H*(h);
            return;
        case op::destroy:
            courier::detail::destroy_with(alloc, h);
            return;
        }
    }

    // 48 bytes in all: a burst keeps one per publish, so size is memory
    // traffic. Lambdas capturing a few references fit.
    ops_fn ops_;
    std::size_t routed_;
    alignas(std::max_align_t) unsigned char storage_[inline_size];
};

/// The completions waiting for the broker's flush job. `push` runs under the
/// broker's lock; `run` only in the flush job, of which at most one is
/// scheduled at a time.
class completion_batch {
public:
    /// Queues a completion; true when the caller must post the flush job.
    template <class Handler>
    bool push(Handler&& h, std::size_t routed) {
        // Published from a completion this batch is running (a publisher
        // that publishes the next message when the last one completed):
        // the running job takes it in turn, without locking to find it.
        if (running_here == this) {
            running_.emplace_back(std::forward<Handler>(h), routed);
            return false;
        }
        pending_.emplace_back(std::forward<Handler>(h), routed);
        return !std::exchange(scheduled_, true);
    }

    /// Runs up to `budget` completions, taking new ones under `mutex` as it
    /// goes; true when some are left and the flush job must be posted again.
    /// A throwing handler propagates; the flush job must then be posted again.
    template <class Mutex>
    bool run(Mutex& mutex, std::size_t budget) {
        struct mark {
            completion_batch* previous;
            explicit mark(completion_batch* b) : previous(std::exchange(running_here, b)) {}
            ~mark() { running_here = previous; }
        } m(this);
        for (; budget != 0; --budget) {
            if (running_.empty() && !refill(mutex)) return false;
            // Run in place, then dropped even if it throws: a completion
            // queued meanwhile may have moved the ring, not the emptied front.
            struct pop {
                ring<batched_completion>& r;
                ~pop() { r.pop_front(); }
            } p{running_};
            std::move(running_.front())();
        }
        return !running_.empty() || refill(mutex);
    }

private:
    template <class Mutex>
    bool refill(Mutex& mutex) {
        std::lock_guard lock(mutex);
        if (pending_.empty()) {
            scheduled_ = false;
            return false;
        }
        running_.swap(pending_);
        // The next burst fills the other buffer: grown now, while it is
        // empty, it need not move its elements as it grows then.
        if (pending_.capacity() < running_.capacity()) pending_.reserve(running_.capacity());
        return true;
    }

    // Both keep their capacity, as the broker's queues do: giving a burst's
    // buffer back would cost page faults on the next one.
    ring<batched_completion> pending_;  // under the broker's lock
    bool scheduled_ = false;            // under the broker's lock
    ring<batched_completion> running_;  // the flush job's own
    static inline thread_local completion_batch* running_here = nullptr;
};

}  // namespace courier::inproc::detail

#endif
