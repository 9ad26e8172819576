// The executor an operation serializes on. Asio's cancellation slots are not
// thread-safe (assign, clear and emit must not overlap), and neither is an
// operation's own state; so anything courier starts that can be cancelled
// runs on a strand of the executor it was given, and cancellation is emitted
// by posting onto that strand. An executor that runs one handler at a time
// already is used as it is: a strand, or an io_context constructed with
// concurrency hint 1, Asio's way for an application to promise that one
// thread runs it.
#ifndef COURIER_DETAIL_SERIAL_EXECUTOR_HPP
#define COURIER_DETAIL_SERIAL_EXECUTOR_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/detail/concurrency_hint.hpp>
#include <boost/asio/detail/scheduler.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>

#include <type_traits>

namespace courier::detail {

template <class T>
struct is_strand : std::false_type {};
template <class E>
struct is_strand<boost::asio::strand<E>> : std::true_type {};

/// Whether the application promised that one thread runs `ctx`: an
/// io_context made with concurrency hint 1 (or one that does not lock its
/// scheduler), a thread_pool of one thread. Takes a lock: ask once per
/// context (serial_hint).
inline bool single_threaded(boost::asio::execution_context& ctx) {
    // io_context (and thread_pool, whose hint is its thread count) keeps the
    // hint in its scheduler and has no public getter.
    using boost::asio::detail::scheduler;
    if (!boost::asio::has_service<scheduler>(ctx)) return false;
    const int hint = boost::asio::use_service<scheduler>(ctx).concurrency_hint();
    return hint == BOOST_ASIO_CONCURRENCY_HINT_1 || !BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(SCHEDULER, hint);
}

template <class Executor>
boost::asio::execution_context& context_of(const Executor& ex) {
    return boost::asio::query(ex, boost::asio::execution::context);
}

/// Whether `ex` is a strand, or an any_io_executor holding one.
template <class Executor>
bool is_strand_executor(const Executor& ex) {
    using ioc_executor = boost::asio::io_context::executor_type;
    if constexpr (is_strand<Executor>::value) {
        return true;
    } else if constexpr (requires { ex.template target<ioc_executor>(); }) {
        return ex.template target<boost::asio::strand<ioc_executor>>() != nullptr ||
               ex.template target<boost::asio::strand<boost::asio::any_io_executor>>() != nullptr;
    } else {
        return false;
    }
}

/// Whether `ex` runs one handler at a time (see the top of this file).
/// False when it cannot tell: a thread_pool of several threads, a custom
/// executor.
template <class Executor>
bool runs_serially(const Executor& ex) {
    return is_strand_executor(ex) || single_threaded(context_of(ex));
}

/// runs_serially() with the context's answer asked once, for a layer whose
/// calls mostly complete on executors of its own service's context.
class serial_hint {
public:
    template <class Executor>
    explicit serial_hint(const Executor& ex)
        : context_(&context_of(ex)), single_threaded_(single_threaded(*context_)) {}

    template <class Executor>
    bool runs_serially(const Executor& ex) const {
        if (is_strand_executor(ex)) return true;
        auto& ctx = context_of(ex);
        return &ctx == context_ ? single_threaded_ : single_threaded(ctx);
    }

private:
    boost::asio::execution_context* context_;
    bool single_threaded_;
};

/// `Executor` itself when its type runs one handler at a time, a strand of
/// it otherwise.
template <class Executor>
using serial_executor_t = std::conditional_t<is_strand<Executor>::value, Executor, boost::asio::strand<Executor>>;

template <class Executor>
serial_executor_t<Executor> make_serial(const Executor& ex) {
    if constexpr (is_strand<Executor>::value) return ex;
    else return boost::asio::make_strand(ex);
}

}  // namespace courier::detail

#endif
