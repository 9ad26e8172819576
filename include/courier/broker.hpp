// The publish-subscribe concept, and publishing seen as a service so every
// policy layer wraps it with no extra code.
#ifndef COURIER_BROKER_HPP
#define COURIER_BROKER_HPP

#include <courier/context.hpp>
#include <courier/error.hpp>
#include <courier/message.hpp>
#include <courier/subscription.hpp>

#include <boost/asio/deferred.hpp>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace courier {

/// What a broker answers once it has taken responsibility for a message.
struct publish_ack {
    /// How many groups (queues) the message was routed to; 0 means nobody
    /// was subscribed and the message was dropped, as an exchange with no
    /// bound queue drops it.
    std::size_t routed = 0;
    /// The broker's sequence number or offset for the message, if it has one.
    std::uint64_t sequence = 0;
};

namespace detail {
struct archetype_ack_handler {
    void operator()(error_code, publish_ack) const {}
};
struct archetype_message_handler {
    void operator()(const message&, context&) const {}
};
}  // namespace detail

/// A publish-subscribe broker: `async_publish(topic, message, context, token)`
/// completes with `void(error_code, publish_ack)` once the backend took
/// responsibility; `subscribe(topic, group, handler)` returns an RAII
/// subscription. Every group gets every message; members of a group compete.
template <class B>
concept broker = requires(B& b, std::string_view topic, message msg, context ctx) {
    typename B::executor_type;
    { b.get_executor() } -> std::convertible_to<typename B::executor_type>;
    b.async_publish(topic, std::move(msg), std::move(ctx), detail::archetype_ack_handler{});
    { b.subscribe(topic, topic, detail::archetype_message_handler{}) } -> std::same_as<subscription>;
};

/// The request of publishing as a service.
struct publish_request {
    std::string topic;
    courier::message message;
};

/// Publishing as a `service` (publish_request -> publish_ack), so
/// `stack(timeout, retry, ...).wrap(publish_service{broker})` works.
/// The broker must outlive it.
template <broker Broker>
class publish_service {
public:
    using request_type = publish_request;
    using response_type = publish_ack;
    using executor_type = typename Broker::executor_type;

    explicit publish_service(Broker& b) noexcept : broker_(&b) {}
    executor_type get_executor() const { return broker_->get_executor(); }
    Broker& broker() const noexcept { return *broker_; }

    template <class CompletionToken = boost::asio::deferred_t>
    auto async_call(publish_request req, context ctx, CompletionToken&& token = {}) {
        return broker_->async_publish(req.topic, std::move(req.message), std::move(ctx),
                                      std::forward<CompletionToken>(token));
    }

private:
    Broker* broker_;
};

}  // namespace courier

#endif
