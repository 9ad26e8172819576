// Memory for the broker's shared messages. One publish makes one shared
// message; a burst keeps thousands alive at once, more than any per-thread
// cache holds, so without this each publish costs a malloc and a free.
// The pool keeps freed blocks (up to a bound) for the next publishes, from
// whichever thread frees them, and outlives its broker while any block it
// gave out is alive: a delivery may hold its message after the broker died.
#ifndef COURIER_INPROC_DETAIL_MESSAGE_POOL_HPP
#define COURIER_INPROC_DETAIL_MESSAGE_POOL_HPP

#include <courier/detail/spinlock.hpp>
#include <courier/message.hpp>

#include <cstddef>
#include <mutex>
#include <new>
#include <utility>

namespace courier::inproc::detail {

class message_pool {
public:
    // Room for a message and the control block allocate_shared puts with it.
    static constexpr std::size_t block_size = sizeof(message) + 64;

    /// Created with new; `close()` instead of delete.
    explicit message_pool(std::size_t retain) : retain_(retain) {}
    message_pool(const message_pool&) = delete;
    message_pool& operator=(const message_pool&) = delete;

    void* allocate() {
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
            release_one();
            throw;
        }
    }

    void deallocate(void* p) noexcept {
        bool last = false;
        {
            std::lock_guard lock(lock_);
            if (!closed_ && kept_ < retain_) {
                free_ = ::new (p) block{free_};
                ++kept_;
                p = nullptr;
            }
            last = --outstanding_ == 0 && closed_;
        }
        ::operator delete(p);
        if (last) delete this;
    }

    /// The owner is done with the pool: it frees its cached blocks and goes
    /// away once the last block given out comes back.
    void close() noexcept {
        block* list = nullptr;
        bool last = false;
        {
            std::lock_guard lock(lock_);
            closed_ = true;
            list = std::exchange(free_, nullptr);
            kept_ = 0;
            last = outstanding_ == 0;
        }
        while (list) ::operator delete(std::exchange(list, list->next));
        if (last) delete this;
    }

private:
    struct block {
        block* next;
    };

    void release_one() noexcept {
        bool last = false;
        {
            std::lock_guard lock(lock_);
            last = --outstanding_ == 0 && closed_;
        }
        if (last) delete this;
    }

    courier::detail::spinlock lock_;
    block* free_ = nullptr;
    std::size_t kept_ = 0;
    std::size_t outstanding_ = 0;
    std::size_t retain_;
    bool closed_ = false;
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
        if (pooled && n == 1)
            return static_cast<T*>(pool->allocate());
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
