// The request-reply concept every backend, client and policy layer speaks.
#ifndef COURIER_SERVICE_HPP
#define COURIER_SERVICE_HPP

#include <courier/context.hpp>
#include <courier/error.hpp>

#include <concepts>

namespace courier {

namespace detail {
// A plain callback standing for "any completion token" in concept checks.
template <class Rep>
struct archetype_handler {
    void operator()(error_code, Rep) const {}
};
}  // namespace detail

/// A request-reply service: `async_call(request, context, token)` starts one
/// call and completes with `void(error_code, response_type)`. Everything that
/// calls (typed clients, transport services) and everything that wraps
/// (policy layers) meets this concept alone.
template <class S>
concept service = requires(S& s, typename S::request_type req, context ctx) {
    typename S::request_type;
    typename S::response_type;
    typename S::executor_type;
    { s.get_executor() } -> std::convertible_to<typename S::executor_type>;
    s.async_call(std::move(req), std::move(ctx),
                 detail::archetype_handler<typename S::response_type>{});
};

/// The completion signature of a service's calls.
template <service S>
using call_signature_t = void(error_code, typename S::response_type);

}  // namespace courier

#endif
