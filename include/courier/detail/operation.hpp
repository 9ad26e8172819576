// Small pieces every asynchronous operation of courier uses.
#ifndef COURIER_DETAIL_OPERATION_HPP
#define COURIER_DETAIL_OPERATION_HPP

#include <boost/asio/append.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <courier/detail/op_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace courier::detail {

/// The allocator an operation's own state uses: the handler's, or
/// courier's per-thread block cache, so a steady stream of calls reuses the
/// same blocks instead of asking the heap every time.
template <class Handler, class T>
auto operation_allocator(const Handler& h) {
    using base = boost::asio::associated_allocator_t<Handler, pool_allocator<void>>;
    using rebound = typename std::allocator_traits<base>::template rebind_alloc<T>;
    return rebound(boost::asio::get_associated_allocator(h, pool_allocator<void>()));
}

/// Posts `f` to `ex`. When `ex` is an any_io_executor holding an
/// io_context's executor, posts to that directly: the type-erased path costs
/// an indirect call and a function allocation per post.
template <class Executor, class F>
void fast_post(const Executor& ex, F&& f) {
    if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
        if (auto* concrete = ex.template target<boost::asio::io_context::executor_type>())
            return boost::asio::post(*concrete, std::forward<F>(f));
    }
    boost::asio::post(ex, std::forward<F>(f));
}

/// Completes `handler` with `args` through its associated executor (or
/// `fallback`): never inline, as every courier operation promises.
template <class Handler, class Executor, class... Args>
void post_completion(Handler&& handler, const Executor& fallback, Args&&... args) {
    auto ex = boost::asio::get_associated_executor(handler, fallback);
    fast_post(ex, boost::asio::append(std::forward<Handler>(handler), std::forward<Args>(args)...));
}

/// Allocates and constructs an Op with the allocator `alloc`; the op frees
/// itself through `destroy_with`.
template <class Op, class Alloc, class... Args>
Op* allocate_op(Alloc alloc, Args&&... args) {
    Op* p = std::allocator_traits<Alloc>::allocate(alloc, 1);
    try {
        return ::new (static_cast<void*>(p)) Op(std::forward<Args>(args)...);
    } catch (...) {
        std::allocator_traits<Alloc>::deallocate(alloc, p, 1);
        throw;
    }
}

template <class Op, class Alloc>
void destroy_with(Alloc alloc, Op* p) noexcept {
    p->~Op();
    std::allocator_traits<Alloc>::deallocate(alloc, p, 1);
}

}  // namespace courier::detail

#endif
