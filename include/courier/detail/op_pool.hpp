// A per-thread cache of memory blocks for courier's operation states.
// Asio's recycling allocator keeps two blocks per thread, shared with
// Asio's own posted handlers; a call through a few policy layers has more
// states alive at once than that, and each miss is a malloc. This cache
// keeps up to `slots` blocks per size class, per thread, and is only used
// when the handler has no allocator of its own.
#ifndef COURIER_DETAIL_OP_POOL_HPP
#define COURIER_DETAIL_OP_POOL_HPP

#include <array>
#include <cstddef>
#include <new>
#include <utility>

namespace courier::detail {

class op_pool {
public:
    static constexpr std::size_t granule = 64;
    static constexpr std::size_t classes = 16;  // blocks up to 1 KiB are cached
    static constexpr std::size_t slots = 8;

    static void* allocate(std::size_t size) {
        const std::size_t c = size_class(size);
        if (c < classes) {
            if (auto* l = local())
                for (auto& p : l->cache[c])
                    if (p) return std::exchange(p, nullptr);
            return ::operator new((c + 1) * granule);
        }
        return ::operator new(size);
    }

    static void deallocate(void* p, std::size_t size) noexcept {
        const std::size_t c = size_class(size);
        if (c < classes) {
            if (auto* l = local()) {
                for (auto& slot : l->cache[c])
                    if (!slot) {
                        slot = p;
                        return;
                    }
            }
            ::operator delete(p);  // same size as allocated: (c + 1) * granule, unsized delete
            return;
        }
        ::operator delete(p);
    }

private:
    static constexpr std::size_t size_class(std::size_t size) noexcept { return size == 0 ? 0 : (size - 1) / granule; }

    struct thread_cache {
        std::array<std::array<void*, slots>, classes> cache{};
        ~thread_cache() {
            for (auto& c : cache)
                for (auto*& p : c) ::operator delete(std::exchange(p, nullptr));
            state().cache = nullptr;
            state().dead = true;
        }
    };
    // Trivially destructible and constant-initialized: no guard on the hot
    // path, and still readable after the cache was destroyed at thread exit,
    // when a later thread_local destructor may allocate or free an
    // operation (the heap serves it then).
    struct tls_state {
        thread_cache* cache;
        bool dead;
    };
    static tls_state& state() noexcept {
        thread_local constinit tls_state s{nullptr, false};
        return s;
    }
    // The cache of the calling thread; null once it was destroyed.
    static thread_cache* local() noexcept {
        auto& s = state();
        if (s.cache || s.dead) return s.cache;
        thread_local thread_cache c;
        s.cache = &c;
        return s.cache;
    }
};

/// An allocator over op_pool, for operation states.
template <class T>
struct pool_allocator {
    using value_type = T;
    pool_allocator() noexcept = default;
    template <class U>
    pool_allocator(const pool_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "over-aligned operation state");
        return static_cast<T*>(op_pool::allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { op_pool::deallocate(p, n * sizeof(T)); }
    template <class U>
    struct rebind {
        using other = pool_allocator<U>;
    };
    friend bool operator==(const pool_allocator&, const pool_allocator&) noexcept { return true; }
};

}  // namespace courier::detail

#endif
