// The handler a policy passes to the service it wraps: a pointer to the
// policy's operation state and the member to call, presenting the caller's
// handler's associations (executor, allocator, ...) so the inner operation
// completes where the caller expects and allocates from the caller's
// allocator. Bind a cancellation slot over it (bind_cancellation_slot): the
// caller's own slot belongs to the policy.
#ifndef COURIER_DETAIL_OP_HANDLER_HPP
#define COURIER_DETAIL_OP_HANDLER_HPP

#include <boost/asio/associator.hpp>

#include <type_traits>
#include <utility>

namespace courier::detail {

/// An rvalue of `arg`: the argument itself when it is one, else a copy.
/// Members take results by rvalue reference so layers pass them on without a
/// move each; a service that completes with an lvalue still works.
template <class T>
T&& as_rvalue(T&& arg) noexcept
    requires(!std::is_lvalue_reference_v<T>)
{
    return std::move(arg);
}
template <class T>
std::decay_t<T> as_rvalue(T& arg) {
    return arg;
}

/// Invokes `(op->*Member)(args...)` with every argument as an rvalue. Op has
/// a public member `handler`.
template <class Op, auto Member>
struct op_handler {
    Op* op;
    template <class... Args>
    void operator()(Args&&... args) const {
        (op->*Member)(as_rvalue(std::forward<Args>(args))...);
    }
};

}  // namespace courier::detail

template <template <class, class> class Associator, class Op, auto Member, class DefaultCandidate>
struct boost::asio::associator<Associator, courier::detail::op_handler<Op, Member>, DefaultCandidate> {
    using handler_type = decltype(std::declval<Op&>().handler);
    using type = typename Associator<handler_type, DefaultCandidate>::type;
    static type get(const courier::detail::op_handler<Op, Member>& h) noexcept {
        return Associator<handler_type, DefaultCandidate>::get(h.op->handler);
    }
    static auto get(const courier::detail::op_handler<Op, Member>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<handler_type, DefaultCandidate>::get(h.op->handler, c)) {
        return Associator<handler_type, DefaultCandidate>::get(h.op->handler, c);
    }
};

#endif
