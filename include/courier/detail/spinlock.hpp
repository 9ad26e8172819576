// A lock for critical sections of a few instructions on hot paths (the
// deadline heap, an endpoint slot): uncontended, it is one atomic exchange
// and one store, about half of what a pthread mutex costs. Under
// contention it spins briefly, then yields the CPU.
#ifndef COURIER_DETAIL_SPINLOCK_HPP
#define COURIER_DETAIL_SPINLOCK_HPP

#include <atomic>
#include <thread>

namespace courier::detail {

class spinlock {
public:
    void lock() noexcept {
        for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins) {
            while (locked_.load(std::memory_order_relaxed)) {
                if (++spins > 64) std::this_thread::yield();  // the holder may be preempted
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            }
        }
    }
    bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

}  // namespace courier::detail

#endif
