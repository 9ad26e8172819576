// A message handler of any form a broker accepts (see invoke_consumer.hpp)
// behind one virtual call, so a broker keeps its consumers' handlers in one
// type. Shared by the backends: the settlement rules live in
// invoke_consumer, the type erasure here.
#ifndef COURIER_DETAIL_ERASED_CONSUMER_HPP
#define COURIER_DETAIL_ERASED_CONSUMER_HPP

#include <courier/context.hpp>
#include <courier/delivery.hpp>
#include <courier/detail/invoke_consumer.hpp>
#include <courier/message.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace courier::detail {

/// Where a handler's settlement goes: `fn(arg, settlement)`, once (a plain
/// function and pointer: no allocation per delivery). Move-only; when it is
/// destroyed without having been called (a coroutine handler whose
/// execution context was destroyed first), `drop(arg)` releases what `arg`
/// holds.
class settle_once {
public:
    using fn_type = void (*)(void*, settlement);
    using drop_type = void (*)(void*) noexcept;

    settle_once(fn_type fn, void* arg, drop_type drop = nullptr) noexcept : fn_(fn), drop_(drop), arg_(arg) {}
    settle_once(settle_once&& o) noexcept : fn_(o.fn_), drop_(o.drop_), arg_(std::exchange(o.arg_, nullptr)) {}
    settle_once& operator=(settle_once&&) = delete;
    ~settle_once() {
        if (arg_ && drop_) drop_(arg_);
    }

    void operator()(settlement s) { fn_(std::exchange(arg_, nullptr), s); }

private:
    fn_type fn_;
    drop_type drop_;
    void* arg_;
};

struct erased_consumer {
    virtual ~erased_consumer() = default;
    /// Runs the handler on `msg` and calls `done(arg, settlement)` exactly
    /// once, unless the handler never finishes (then `drop(arg)`, see
    /// settle_once); `msg` and `ctx` must live until then. Coroutines run on
    /// `ex`. Plain arguments rather than a settle_once: made inside, the
    /// token costs nothing on the synchronous path.
    virtual void run(const message& msg, context& ctx, const boost::asio::any_io_executor& ex,
                     settle_once::fn_type done, void* arg, settle_once::drop_type drop) = 0;
    /// Whether `run` may complete after it returns (a coroutine).
    virtual bool is_async() const noexcept = 0;
};

template <class Handler>
struct erased_consumer_impl final : erased_consumer {
    explicit erased_consumer_impl(Handler h) : h(std::move(h)) {}
    void run(const message& msg, context& ctx, const boost::asio::any_io_executor& ex, settle_once::fn_type done,
             void* arg, settle_once::drop_type drop) override {
        invoke_consumer<message>(h, msg, ctx, ex, settle_once(done, arg, drop));
    }
    bool is_async() const noexcept override {
        using R = std::invoke_result_t<Handler&, const message&, context&>;
        return is_awaitable<R>::value;
    }
    Handler h;
};

template <class Handler>
std::unique_ptr<erased_consumer> erase_consumer(Handler h) {
    return std::make_unique<erased_consumer_impl<Handler>>(std::move(h));
}

}  // namespace courier::detail

#endif
