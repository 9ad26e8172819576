// Runs any kind of request handler and reports its outcome exactly once as
// `done(error_code, Rep)`. Shared by every backend's server side.
#ifndef COURIER_DETAIL_INVOKE_HANDLER_HPP
#define COURIER_DETAIL_INVOKE_HANDLER_HPP

#include <courier/context.hpp>
#include <courier/error.hpp>
#include <courier/service.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/system/result.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <functional>
#include <type_traits>

namespace courier::detail {

template <class T>
struct is_result : std::false_type {};
template <class T, class E>
struct is_result<boost::system::result<T, E>> : std::true_type {};

template <class T>
struct is_awaitable : std::false_type {};
template <class T, class E>
struct is_awaitable<boost::asio::awaitable<T, E>> : std::true_type {};
template <class T, class E>
struct awaitable_value;
template <class T, class E>
struct awaitable_value<boost::asio::awaitable<T, E>, void> { using type = T; };

template <class R, class Rep>
inline constexpr bool yields_v = std::is_convertible_v<R, Rep> ||
                                 std::is_same_v<R, boost::system::result<Rep>>;

enum class handler_kind { none, function, coroutine, service };

template <class H, class Req, class Rep>
constexpr handler_kind handler_kind_for() {
    if constexpr (std::is_invocable_v<H&, Req&&, context&>) {
        using R = std::invoke_result_t<H&, Req&&, context&>;
        if constexpr (is_awaitable<R>::value) {
            if constexpr (yields_v<typename awaitable_value<R, void>::type, Rep>)
                return handler_kind::coroutine;
            else
                return handler_kind::none;
        } else if constexpr (yields_v<R, Rep>) {
            return handler_kind::function;
        } else {
            return handler_kind::none;
        }
    } else if constexpr (courier::service<H>) {
        if constexpr (std::is_same_v<typename H::request_type, Req> &&
                      std::is_same_v<typename H::response_type, Rep>)
            return handler_kind::service;
        else
            return handler_kind::none;
    } else {
        return handler_kind::none;
    }
}

template <class H, class Req, class Rep>
inline constexpr handler_kind handler_kind_of = handler_kind_for<H, Req, Rep>();

/// The error a handler's exception stands for.
inline error_code error_from_exception(std::exception_ptr ep) noexcept {
    try {
        std::rethrow_exception(ep);
    } catch (const boost::system::system_error& e) {
        return e.code() ? e.code() : error_code(error::internal);
    } catch (...) {
        return error::internal;
    }
}

template <class Rep, class R, class Done>
void deliver(R&& r, Done& done) {
    if constexpr (is_result<std::remove_cvref_t<R>>::value) {
        if (r) done(error_code{}, Rep(std::move(*r)));
        else done(r.error() ? r.error() : error_code(error::internal), Rep{});
    } else if constexpr (std::is_same_v<R, Rep> || std::is_same_v<R, Rep&&>) {
        done(error_code{}, std::forward<R>(r));  // no copy when `done` takes Rep&&
    } else {
        done(error_code{}, Rep(std::forward<R>(r)));
    }
}

/// Runs `h` for `req` on the calling thread (the server's executor) and calls
/// `done(error_code, Rep)` exactly once, inline for functions, later for
/// coroutines and services. `ctx` must live until `done` ran; cancellation
/// emitted on `slot` (from `ex`) reaches coroutines and services.
template <class Req, class Rep, class H, class Executor, class Done>
void invoke_handler(H& h, Req&& req, context& ctx, const Executor& ex,
                    boost::asio::cancellation_slot slot, Done&& done) {
    constexpr auto kind = handler_kind_of<H, Req, Rep>;
    static_assert(kind != handler_kind::none,
                  "not a request handler: expected R(Req, context&), awaitable<R>(Req, context&) "
                  "with R = Rep or result<Rep>, or a service Req -> Rep");
    if constexpr (kind == handler_kind::function) {
        try {
            deliver<Rep>(h(std::move(req), ctx), done);
        } catch (...) {
            done(error_from_exception(std::current_exception()), Rep{});
        }
    } else if constexpr (kind == handler_kind::coroutine) {
        using R = typename awaitable_value<std::invoke_result_t<H&, Req&&, context&>, void>::type;
        auto on_done = [done = std::forward<Done>(done)](std::exception_ptr ep, R r) mutable {
            if (ep) done(error_from_exception(ep), Rep{});
            else deliver<Rep>(std::move(r), done);
        };
        try {
            boost::asio::co_spawn(ex, h(std::move(req), ctx),
                                  boost::asio::bind_cancellation_slot(slot, std::move(on_done)));
        } catch (...) {  // the handler threw before its first suspension
            done(error_from_exception(std::current_exception()), Rep{});
        }
    } else {
        h.async_call(std::move(req), ctx,
                     boost::asio::bind_cancellation_slot(
                         slot, [done = std::forward<Done>(done)](error_code ec, Rep r) mutable {
                             done(ec, std::move(r));
                         }));
    }
}

}  // namespace courier::detail

#endif
