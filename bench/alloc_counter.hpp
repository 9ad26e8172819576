// Heap allocations of the benchmark process, counted by alloc_counter.cpp,
// and the helper that turns them into the `allocs_per_op` counter.
#ifndef COURIER_BENCH_ALLOC_COUNTER_HPP
#define COURIER_BENCH_ALLOC_COUNTER_HPP

#include <benchmark/benchmark.h>

#include <cstdint>

namespace courier_bench {

/// Heap allocations made so far by every thread of the process.
std::uint64_t allocations() noexcept;

/// Under callgrind (bench/instructions.sh) only the code inside measurement
/// windows is counted; these switch collection and add up the operations,
/// which the process prints at exit. Outside valgrind they do nothing.
void begin_instruction_window() noexcept;
void end_instruction_window(double operations) noexcept;

/// Counts the allocations made between its construction (after the warm-up,
/// so caches and queues have reached their steady size) and `report`; the
/// same window is the one whose instructions callgrind counts.
class alloc_window {
public:
    alloc_window() noexcept : start_(allocations()) { begin_instruction_window(); }

    /// Sets the `allocs_per_op` counter: allocations per operation.
    void report(benchmark::State& state, double operations) const {
        end_instruction_window(operations);
        const auto n = static_cast<double>(allocations() - start_);
        state.counters["allocs_per_op"] = operations > 0 ? n / operations : 0.0;
    }

private:
    std::uint64_t start_;
};

}  // namespace courier_bench

#endif
