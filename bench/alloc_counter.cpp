// Counts every heap allocation of the benchmark process: a replacement of
// every form of the global operator new, plus `aligned_alloc`, which Asio's
// recycling allocator calls directly (not through operator new) on a miss.
#include "alloc_counter.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define COURIER_BENCH_CALLGRIND 1
#endif

namespace {

std::atomic<std::uint64_t> allocation_count{0};

void* allocate(std::size_t size) {
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}

// posix_memalign, not aligned_alloc: that one is replaced below and counts.
void* allocate_aligned(std::size_t size, std::size_t alignment) noexcept {
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    void* p = nullptr;
    if (alignment < sizeof(void*)) alignment = sizeof(void*);
    return posix_memalign(&p, alignment, size ? size : 1) == 0 ? p : nullptr;
}

}  // namespace

std::uint64_t courier_bench::allocations() noexcept {
    return allocation_count.load(std::memory_order_relaxed);
}

#ifdef COURIER_BENCH_CALLGRIND
namespace {
double measured_operations = 0;

// Printed at exit for bench/instructions.sh, which divides callgrind's total
// by it.
struct report_operations {
    ~report_operations() {
        if (RUNNING_ON_VALGRIND) std::fprintf(stderr, "courier_bench operations: %.0f\n", measured_operations);
    }
} report_at_exit;
}  // namespace

void courier_bench::begin_instruction_window() noexcept { CALLGRIND_TOGGLE_COLLECT; }
void courier_bench::end_instruction_window(double operations) noexcept {
    CALLGRIND_TOGGLE_COLLECT;
    measured_operations += operations;
}
#else
void courier_bench::begin_instruction_window() noexcept {}
void courier_bench::end_instruction_window(double) noexcept {}
#endif

// Asio's detail::aligned_new calls std::aligned_alloc (the C function) when
// BOOST_ASIO_HAS_STD_ALIGNED_ALLOC; defining it here interposes glibc's.
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    return allocate_aligned(size, alignment);
}

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }

void* operator new(std::size_t size, std::align_val_t al) {
    if (void* p = allocate_aligned(size, static_cast<std::size_t>(al))) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t al) { return operator new(size, al); }
void* operator new(std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
    return allocate_aligned(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
    return allocate_aligned(size, static_cast<std::size_t>(al));
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
