// Heap allocations of the benchmark process, counted by alloc_counter.cpp,
// and the helper that turns them into the `allocs_per_op` counter.
#ifndef COURIER_BENCH_ALLOC_COUNTER_HPP
#define COURIER_BENCH_ALLOC_COUNTER_HPP

#include <benchmark/benchmark.h>

#include <cstdint>

namespace courier_bench {

/// Heap allocations made so far by every thread of the process.
std::uint64_t allocations() noexcept;

/// Counts the allocations made between its construction (after the warm-up,
/// so caches and queues have reached their steady size) and `report`.
class alloc_window {
public:
    alloc_window() noexcept : start_(allocations()) {}

    /// Sets the `allocs_per_op` counter: allocations per operation.
    void report(benchmark::State& state, double operations) const {
        const auto n = static_cast<double>(allocations() - start_);
        state.counters["allocs_per_op"] = operations > 0 ? n / operations : 0.0;
    }

private:
    std::uint64_t start_;
};

}  // namespace courier_bench

#endif
