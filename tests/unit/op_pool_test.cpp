// courier's per-thread cache of operation blocks: blocks are reused on the
// thread that freed them, and a thread that allocates or frees operations
// while it exits (from a thread_local destructor that runs after the cache's)
// is served by the heap, never handed a block the cache already released.
#include <courier/detail/op_pool.hpp>

#include "support/catch.hpp"

#include <cstring>
#include <thread>

using courier::detail::op_pool;

TEST_CASE("op_pool hands a freed block back to the next allocation of its size class", "[op_pool]") {
    void* a = op_pool::allocate(100);
    op_pool::deallocate(a, 100);
    void* b = op_pool::allocate(120);  // same 128-byte class
    CHECK(b == a);
    op_pool::deallocate(b, 120);
}

namespace {

// Constructed before the thread's first operation, so destroyed after the
// pool's cache: what a thread_local connection or logger of a user's looks
// like to the pool when it frees an operation at thread exit.
struct frees_at_thread_exit {
    int blocks = 0;
    ~frees_at_thread_exit() {
        for (int i = 0; i < 2 * static_cast<int>(op_pool::slots); ++i) {
            void* p = op_pool::allocate(100);
            std::memset(p, 0xab, 100);  // a block the cache already released would be a use after free
            op_pool::deallocate(p, 100);
            ++blocks;
        }
    }
};

}  // namespace

TEST_CASE("an operation allocated and freed after its thread's cache was destroyed uses the heap",
          "[op_pool][threads]") {
    std::thread t([] {
        thread_local frees_at_thread_exit late;
        late.blocks = 0;  // constructs it now, before the cache
        void* blocks[op_pool::slots];
        for (auto& b : blocks) b = op_pool::allocate(100);
        for (auto* b : blocks) op_pool::deallocate(b, 100);  // the cache is full of blocks as the thread exits
    });
    t.join();
    SUCCEED("the late allocations ran on the heap (AddressSanitizer checks the blocks)");
}
