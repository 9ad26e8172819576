// A handler that clears its own cancellation slot as it runs. An operation
// whose work finishes on another executor (a connection's strand) posts its
// completion to the handler's executor; the slot must be cleared there, on
// the executor where the caller emits cancellation and where it was
// assigned, never on the finishing thread: Asio's slots are not thread-safe.
// The operation's cancellation handler must therefore stay harmless until
// then (hold its state weakly, or look the operation up by a ticket).
#ifndef COURIER_DETAIL_SLOT_CLEARING_HANDLER_HPP
#define COURIER_DETAIL_SLOT_CLEARING_HANDLER_HPP

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associator.hpp>

#include <utility>

namespace courier::detail {

template <class Handler>
struct slot_clearing_handler {
    Handler handler;

    template <class... Args>
    void operator()(Args&&... args) {
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) slot.clear();
        std::move(handler)(std::forward<Args>(args)...);
    }
};

template <class Handler>
slot_clearing_handler(Handler) -> slot_clearing_handler<Handler>;

}  // namespace courier::detail

template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct boost::asio::associator<Associator, courier::detail::slot_clearing_handler<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        const courier::detail::slot_clearing_handler<Handler>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const courier::detail::slot_clearing_handler<Handler>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};

#endif
