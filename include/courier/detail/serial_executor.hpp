// The executor an operation serializes on. Asio's cancellation slots are not
// thread-safe (assign, clear and emit must not overlap), and neither is an
// operation's own state; so anything courier starts that can be cancelled
// runs on a strand of the executor it was given, and cancellation is emitted
// by posting onto that strand. An executor that is a strand already is used
// as it is.
#ifndef COURIER_DETAIL_SERIAL_EXECUTOR_HPP
#define COURIER_DETAIL_SERIAL_EXECUTOR_HPP

#include <boost/asio/strand.hpp>

#include <type_traits>

namespace courier::detail {

template <class T>
struct is_strand : std::false_type {};
template <class E>
struct is_strand<boost::asio::strand<E>> : std::true_type {};

/// `Executor` itself when it runs one handler at a time, a strand of it
/// otherwise.
template <class Executor>
using serial_executor_t = std::conditional_t<is_strand<Executor>::value, Executor, boost::asio::strand<Executor>>;

template <class Executor>
serial_executor_t<Executor> make_serial(const Executor& ex) {
    if constexpr (is_strand<Executor>::value) return ex;
    else return boost::asio::make_strand(ex);
}

}  // namespace courier::detail

#endif
