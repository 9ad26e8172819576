// Typed subscription: decodes each message with a codec before the handler
// sees it. A payload that does not decode is rejected (dead-lettered at
// once): redelivering it could never succeed.
#ifndef COURIER_SUBSCRIBE_HPP
#define COURIER_SUBSCRIBE_HPP

#include <courier/broker.hpp>
#include <courier/codec.hpp>
#include <courier/codec/json.hpp>
#include <courier/detail/invoke_consumer.hpp>

#include <boost/asio/awaitable.hpp>

#include <string_view>
#include <utility>

namespace courier {

/// Subscribes `handler` — `R(const Msg&, context&)` or
/// `awaitable<R>(Msg, context&)`, R one of void, error_code, result<void> —
/// to `topic` in `group` of `b`. Extra arguments (options, executor) go to
/// the broker's subscribe.
template <class Msg, class Codec = json_codec, broker Broker, class Handler, class... Options>
    requires codec_for<Codec, Msg> && detail::consumer_handler<Handler, Msg>
subscription subscribe(Broker& b, std::string_view topic, std::string_view group, Handler handler,
                       Options&&... options) {
    using R = std::invoke_result_t<Handler&, const Msg&, context&>;
    if constexpr (detail::is_awaitable<R>::value) {
        using V = typename detail::awaitable_value<R, void>::type;
        return b.subscribe(
            topic, group,
            [h = std::move(handler)](const message& m, context& ctx) mutable -> boost::asio::awaitable<error_code> {
                error_code ec;
                Msg value = Codec{}.template decode<Msg>(m.payload, ec, nullptr);
                if (ec) co_return ec;
                if constexpr (std::is_void_v<V>) {
                    co_await h(value, ctx);
                    co_return error_code{};
                } else if constexpr (std::is_same_v<V, error_code>) {
                    co_return co_await h(value, ctx);
                } else {
                    auto r = co_await h(value, ctx);
                    co_return r ? error_code{} : r.error();
                }
            },
            std::forward<Options>(options)...);
    } else {
        return b.subscribe(
            topic, group,
            [h = std::move(handler)](const message& m, context& ctx) mutable -> error_code {
                error_code ec;
                Msg value = Codec{}.template decode<Msg>(m.payload, ec, nullptr);
                if (ec) return ec;
                if constexpr (std::is_void_v<R>) {
                    h(value, ctx);
                    return {};
                } else if constexpr (std::is_same_v<R, error_code>) {
                    return h(value, ctx);
                } else {
                    auto r = h(value, ctx);
                    return r ? error_code{} : r.error();
                }
            },
            std::forward<Options>(options)...);
    }
}

}  // namespace courier

#endif
