// Layers: a policy is a layer, `layer.wrap(service) -> service`. stack()
// composes layers at compile time, first listed outermost:
//
//   stack(timeout{2s}, retry{...}, circuit_breaker{...}).wrap(svc)
//     == timeout.wrap(retry.wrap(breaker.wrap(svc)))
//
//   call ─▶ timeout ─▶ retry ─▶ circuit_breaker ─▶ svc
//   (total deadline)  (attempts)  (sees every attempt)
#ifndef COURIER_LAYER_HPP
#define COURIER_LAYER_HPP

#include <courier/service.hpp>

#include <tuple>
#include <type_traits>
#include <utility>

namespace courier {

/// A layer for service S: `l.wrap(s)` returns a service.
template <class L, class S>
concept layer_for = service<S> && requires(const L& l, S s) {
    { l.wrap(std::move(s)) } -> service;
};

/// Several layers as one, first outermost.
template <class... Layers>
class stack_layer {
public:
    explicit stack_layer(Layers... layers) : layers_(std::move(layers)...) {}

    template <service S>
    auto wrap(S svc) const {
        return wrap_from<sizeof...(Layers)>(std::move(svc));
    }

    const std::tuple<Layers...>& layers() const noexcept { return layers_; }

private:
    // Wraps with the layers [0, N), innermost (N-1) first.
    template <std::size_t N, class S>
    auto wrap_from(S svc) const {
        if constexpr (N == 0) return svc;
        else return wrap_from<N - 1>(std::get<N - 1>(layers_).wrap(std::move(svc)));
    }

    std::tuple<Layers...> layers_;
};

/// Composes layers, first listed outermost.
template <class... Layers>
stack_layer<std::decay_t<Layers>...> stack(Layers&&... layers) {
    return stack_layer<std::decay_t<Layers>...>(std::forward<Layers>(layers)...);
}

}  // namespace courier

#endif
