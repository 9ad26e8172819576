// A completion handler held in a queue (a publish waiting for its confirm, a
// call waiting for its reply), type-erased so one queue holds every kind of
// handler. It keeps the handler's executor busy while it waits, frees its
// memory before the handler runs, and always completes through a post on
// that executor: the connection's strand never runs user code inline, nor
// touches the caller's cancellation slot.
#ifndef COURIER_AMQP_DETAIL_COMPLETION_HPP
#define COURIER_AMQP_DETAIL_COMPLETION_HPP

#include <courier/detail/operation.hpp>
#include <courier/detail/slot_clearing_handler.hpp>
#include <courier/detail/work_guard.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>

#include <memory>
#include <tuple>
#include <utility>

namespace courier::amqp::detail {

template <class... Args>
class completion {
public:
    completion() = default;

    /// `fallback`: the executor to complete on when the handler has none.
    template <class Handler>
    completion(Handler&& h, const boost::asio::any_io_executor& fallback) {
        using impl_t = impl<std::decay_t<Handler>>;
        auto alloc = courier::detail::operation_allocator<Handler, impl_t>(h);
        p_ = courier::detail::allocate_op<impl_t>(alloc, std::forward<Handler>(h), fallback);
    }
    completion(completion&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    completion& operator=(completion&& o) noexcept {
        if (this != &o) {
            reset();
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    ~completion() { reset(); }

    explicit operator bool() const noexcept { return p_ != nullptr; }

    /// Completes the handler (posted); empties this object.
    void operator()(Args... args) {
        if (auto* p = std::exchange(p_, nullptr)) p->complete(p, std::move(args)...);
    }

private:
    struct base {
        void (*complete)(base*, Args...);
        void (*destroy)(base*);
    };

    template <class Handler>
    struct impl : base {
        using alloc_t = decltype(courier::detail::operation_allocator<Handler, impl>(std::declval<Handler&>()));
        using executor_t = boost::asio::associated_executor_t<Handler, boost::asio::any_io_executor>;

        impl(Handler&& h, const boost::asio::any_io_executor& fallback)
            : base{&do_complete, &do_destroy},
              handler(std::move(h)),
              work(boost::asio::get_associated_executor(handler, fallback)) {}

        static void do_complete(base* b, Args... args) {
            auto* self = static_cast<impl*>(b);
            auto alloc = courier::detail::operation_allocator<Handler, impl>(self->handler);
            auto h = std::move(self->handler);
            auto ex = self->work.get_executor();
            courier::detail::destroy_with(alloc, self);
            // The operation is over and its cancellation handler must go,
            // but on the handler's executor, where it may be emitted right now.
            courier::detail::post_completion(courier::detail::slot_clearing_handler{std::move(h)}, ex,
                                             std::move(args)...);
        }
        static void do_destroy(base* b) {
            auto* self = static_cast<impl*>(b);
            auto alloc = courier::detail::operation_allocator<Handler, impl>(self->handler);
            courier::detail::destroy_with(alloc, self);
        }

        Handler handler;
        courier::detail::work_guard<executor_t> work;
    };

    void reset() noexcept {
        if (auto* p = std::exchange(p_, nullptr)) p->destroy(p);
    }

    base* p_ = nullptr;
};

}  // namespace courier::amqp::detail

#endif
