// Memory for the broker's shared messages. One publish makes one shared
// message; a burst keeps thousands alive at once, more than any general
// per-thread cache holds, so without this each publish costs a malloc and a
// free. Freed blocks go first to a cache of the freeing thread (no atomic
// operation: a thread that both publishes and consumes, the common case,
// recycles its blocks lock-free), then to the pool's own list, each holding
// at most `retain` blocks. The pool outlives its broker while any block it
// gave out is alive: a delivery may hold its message after the broker died.
#ifndef COURIER_INPROC_DETAIL_MESSAGE_POOL_HPP
#define COURIER_INPROC_DETAIL_MESSAGE_POOL_HPP

#include <courier/detail/spinlock.hpp>
#include <courier/message.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <new>
#include <utility>

namespace courier::inproc::detail {

class message_pool {
public:
    // Room for a message and the control block allocate_shared puts before
    // it (vtable, two counts, the allocator). A larger control block, in
    // some other standard library, would come from the heap instead.
    static constexpr std::size_t block_size = sizeof(message) + 4 * sizeof(void*);

    /// Created with new; `close()` instead of delete.
    explicit message_pool(std::size_t retain) : retain_(retain) {}
    message_pool(const message_pool&) = delete;
    message_pool& operator=(const message_pool&) = delete;

    void* allocate() {
        if (auto* tc = thread_cache::get(); tc && tc->pool == this && tc->head) {
            --tc->count;
            return std::exchange(tc->head, tc->head->next);
        }
        {
            std::lock_guard lock(lock_);
            ++outstanding_;
            if (free_) {
                --kept_;
                return std::exchange(free_, free_->next);
            }
        }
        try {
            return ::operator new(block_size);
        } catch (...) {
            give_back(nullptr, 1);
            throw;
        }
    }

    void deallocate(void* p) noexcept {
        // A closed pool's blocks go back to the heap, not into a thread's
        // cache where they would outlive the broker for no use.
        if (auto* tc = thread_cache::get(); tc && !closing_.load(std::memory_order_relaxed)) {
            if (tc->pool != this) {
                tc->flush();
                tc->pool = this;
            }
            if (tc->count < retain_) {
                tc->head = ::new (p) block{tc->head};
                ++tc->count;
                return;
            }
        }
        give_back(::new (p) block{nullptr}, 1);
    }

    /// The owner is done with the pool: it frees its listed blocks and goes
    /// away once every block given out (or cached by a thread) is back.
    void close() noexcept {
        block* list = nullptr;
        bool last = false;
        {
            std::lock_guard lock(lock_);
            closed_ = true;
            closing_.store(true, std::memory_order_relaxed);
            list = std::exchange(free_, nullptr);
            kept_ = 0;
            last = outstanding_ == 0;
        }
        free_list(list);
        if (last) delete this;
    }

private:
    struct block {
        block* next;
    };

    // Blocks of one pool, cached by the thread that freed them.
    struct thread_cache {
        message_pool* pool = nullptr;
        block* head = nullptr;
        std::size_t count = 0;
        bool alive = true;

        ~thread_cache() {
            flush();
            alive = false;
        }
        void flush() noexcept {
            if (pool && count) pool->give_back(std::exchange(head, nullptr), std::exchange(count, 0));
            pool = nullptr;
        }
        // Null while the thread is exiting, after its cache died.
        static thread_cache* get() noexcept {
            thread_local thread_cache cache;
            return cache.alive ? &cache : nullptr;
        }
    };

    // Takes back the blocks of `list` (and `returning` blocks in all, one
    // that failed to allocate included) as no longer given out.
    void give_back(block* list, std::size_t returning) noexcept {
        block* excess = nullptr;
        bool last = false;
        {
            std::lock_guard lock(lock_);
            outstanding_ -= returning;
            while (list) {
                block* b = std::exchange(list, list->next);
                if (!closed_ && kept_ < retain_) {
                    b->next = std::exchange(free_, b);
                    ++kept_;
                } else {
                    b->next = std::exchange(excess, b);
                }
            }
            last = closed_ && outstanding_ == 0;
        }
        free_list(excess);
        if (last) delete this;
    }

    static void free_list(block* list) noexcept {
        while (list) ::operator delete(std::exchange(list, list->next));
    }

    courier::detail::spinlock lock_;
    block* free_ = nullptr;
    std::size_t kept_ = 0;
    std::size_t outstanding_ = 0;  // given out, including blocks threads cache
    std::size_t retain_;
    bool closed_ = false;                // under lock_
    std::atomic<bool> closing_{false};  // closed_, readable without the lock
};

/// Allocator for allocate_shared<message> over a message_pool. Anything
/// that does not fit a block goes to the heap.
template <class T>
struct message_allocator {
    using value_type = T;
    explicit message_allocator(message_pool* p) noexcept : pool(p) {}
    template <class U>
    message_allocator(const message_allocator<U>& o) noexcept : pool(o.pool) {}

    T* allocate(std::size_t n) {
        if (pooled && n == 1) return static_cast<T*>(pool->allocate());
        return static_cast<T*>(::operator new(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (pooled && n == 1) pool->deallocate(p);
        else ::operator delete(p);
    }
    template <class U>
    friend bool operator==(const message_allocator& a, const message_allocator<U>& b) noexcept {
        return a.pool == b.pool;
    }

    message_pool* pool;

private:
    static constexpr bool pooled =
        sizeof(T) <= message_pool::block_size && alignof(T) <= alignof(std::max_align_t);
};

}  // namespace courier::inproc::detail

#endif
