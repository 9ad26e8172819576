// The RAII handle of a subscription: while it lives, the handler receives
// messages; destroying it (or unsubscribe()) stops new deliveries.
#ifndef COURIER_SUBSCRIPTION_HPP
#define COURIER_SUBSCRIPTION_HPP

#include <memory>
#include <utility>

namespace courier {

namespace detail {
/// What a backend implements behind a subscription handle.
struct subscription_state {
    virtual ~subscription_state() = default;
    /// Stops new deliveries; a handler already running finishes and its
    /// message is settled as usual. Idempotent, any thread.
    virtual void cancel() noexcept = 0;
};
}  // namespace detail

class subscription {
public:
    subscription() = default;
    explicit subscription(std::shared_ptr<detail::subscription_state> s) noexcept : state_(std::move(s)) {}
    subscription(subscription&&) noexcept = default;
    subscription& operator=(subscription&& o) noexcept {
        if (this != &o) {
            unsubscribe();
            state_ = std::move(o.state_);
        }
        return *this;
    }
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { unsubscribe(); }

    /// Stops new deliveries to this subscription's handler. Idempotent.
    void unsubscribe() noexcept {
        if (auto s = std::exchange(state_, nullptr)) s->cancel();
    }
    /// Whether this handle still holds a subscription.
    bool active() const noexcept { return state_ != nullptr; }

private:
    std::shared_ptr<detail::subscription_state> state_;
};

}  // namespace courier

#endif
