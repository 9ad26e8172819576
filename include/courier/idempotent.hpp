// Whether a request may safely be sent more than once. Retry and hedging
// re-send only idempotent requests (unless told otherwise).
#ifndef COURIER_IDEMPOTENT_HPP
#define COURIER_IDEMPOTENT_HPP

#include <type_traits>

namespace courier {

/// True when `Req::idempotent` is a constant true; specialize it for types
/// you cannot change: `template <> struct courier::is_idempotent<get_user> : std::true_type {};`
template <class Req>
struct is_idempotent : std::bool_constant<requires { requires static_cast<bool>(Req::idempotent); }> {};

template <class Req>
inline constexpr bool is_idempotent_v = is_idempotent<Req>::value;

}  // namespace courier

#endif
