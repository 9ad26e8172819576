// A completion handler that does some bookkeeping, then calls the handler it
// wraps, while presenting that handler's associated executor, allocator,
// cancellation slot (every association) to whoever completes it. Policy
// layers wrap the caller's handler this way instead of allocating.
#ifndef COURIER_DETAIL_FORWARDING_HANDLER_HPP
#define COURIER_DETAIL_FORWARDING_HANDLER_HPP

#include <boost/asio/associator.hpp>

#include <utility>

namespace courier::detail {

/// Calls `fn(std::move(handler), args...)` when invoked.
template <class Handler, class Fn>
struct forwarding_handler {
    Handler handler;
    Fn fn;

    template <class... Args>
    void operator()(Args&&... args) && {
        std::move(fn)(std::move(handler), std::forward<Args>(args)...);
    }
    template <class... Args>
    void operator()(Args&&... args) & {
        std::move(fn)(std::move(handler), std::forward<Args>(args)...);
    }
};

template <class Handler, class Fn>
forwarding_handler<std::decay_t<Handler>, std::decay_t<Fn>> forward_to(Handler&& h, Fn&& fn) {
    return {std::forward<Handler>(h), std::forward<Fn>(fn)};
}

}  // namespace courier::detail

template <template <class, class> class Associator, class Handler, class Fn, class DefaultCandidate>
struct boost::asio::associator<Associator, courier::detail::forwarding_handler<Handler, Fn>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        const courier::detail::forwarding_handler<Handler, Fn>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const courier::detail::forwarding_handler<Handler, Fn>& h,
                    const DefaultCandidate& c) noexcept -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};

#endif
