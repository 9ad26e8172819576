// Runs any kind of message handler and turns its outcome into a settlement,
// the same way on every backend: return normally → ack; return or throw an
// error → nack (redelivery), or reject (dead-letter now) when the error is
// condition::permanent, since redelivering it cannot help.
#ifndef COURIER_DETAIL_INVOKE_CONSUMER_HPP
#define COURIER_DETAIL_INVOKE_CONSUMER_HPP

#include <courier/context.hpp>
#include <courier/delivery.hpp>
#include <courier/detail/invoke_handler.hpp>
#include <courier/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <exception>
#include <type_traits>

namespace courier::detail {

inline settlement settlement_for(const error_code& ec) noexcept {
    if (!ec) return settlement::ack;
    return ec == condition::permanent ? settlement::reject : settlement::nack;
}

template <class R>
inline constexpr bool consumer_result_v = std::is_void_v<R> || std::is_same_v<R, error_code> ||
                                          std::is_same_v<R, boost::system::result<void>>;

template <class R>
settlement settlement_of(R&& r) noexcept {
    if constexpr (std::is_same_v<std::remove_cvref_t<R>, error_code>) return settlement_for(r);
    else return settlement_for(r ? error_code{} : r.error());
}

/// A message handler for Msg: `R(const Msg&, context&)` or
/// `awaitable<R>(Msg, context&)`, R one of void, error_code, result<void>.
template <class H, class Msg>
constexpr bool is_consumer_handler() {
    if constexpr (std::is_invocable_v<H&, const Msg&, context&>) {
        using R = std::invoke_result_t<H&, const Msg&, context&>;
        if constexpr (is_awaitable<R>::value) return consumer_result_v<typename awaitable_value<R, void>::type>;
        else return consumer_result_v<R>;
    }
    return false;
}

template <class H, class Msg>
concept consumer_handler = is_consumer_handler<H, Msg>();

/// Runs `h(msg, ctx)` and calls `done(settlement)` exactly once: inline for
/// functions, when the coroutine ends for coroutines. `msg` and `ctx` must
/// live until `done` ran.
template <class Msg, class H, class Executor, class Done>
void invoke_consumer(H& h, const Msg& msg, context& ctx, const Executor& ex, Done&& done) {
    using R = std::invoke_result_t<H&, const Msg&, context&>;
    if constexpr (is_awaitable<R>::value) {
        using V = typename awaitable_value<R, void>::type;
        auto finish = [done = std::forward<Done>(done)](std::exception_ptr ep, auto... v) mutable {
            if (ep) done(settlement_for(error_from_exception(ep)));
            else if constexpr (sizeof...(v) == 0) done(settlement::ack);
            else done(settlement_of(v...));
        };
        if constexpr (std::is_void_v<V>)
            boost::asio::co_spawn(ex, h(msg, ctx),
                                  [f = std::move(finish)](std::exception_ptr ep) mutable { f(ep); });
        else
            boost::asio::co_spawn(ex, h(msg, ctx), std::move(finish));
    } else {
        try {
            if constexpr (std::is_void_v<R>) {
                h(msg, ctx);
                done(settlement::ack);
            } else {
                done(settlement_of(h(msg, ctx)));
            }
        } catch (...) {
            done(settlement_for(error_from_exception(std::current_exception())));
        }
    }
}

}  // namespace courier::detail

#endif
