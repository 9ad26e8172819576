// A typed publisher: encodes a value with a codec and publishes it to one
// topic of any broker.
#ifndef COURIER_PUBLISHER_HPP
#define COURIER_PUBLISHER_HPP

#include <courier/broker.hpp>
#include <courier/codec.hpp>
#include <courier/codec/json.hpp>
#include <courier/detail/blocking.hpp>
#include <courier/detail/operation.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <string>

namespace courier {

template <class Msg, broker Broker, class Codec = json_codec>
    requires codec_for<Codec, Msg>
class publisher {
public:
    using executor_type = typename Broker::executor_type;

    /// The broker must outlive the publisher.
    publisher(Broker& b, std::string topic, Codec codec = {})
        : broker_(&b), topic_(std::move(topic)), codec_(std::move(codec)) {}

    executor_type get_executor() const { return broker_->get_executor(); }
    const std::string& topic() const noexcept { return topic_; }

    /// Encodes `value` and publishes it with a fresh message id.
    /// Completion: `void(error_code, publish_ack)` as the broker's
    /// async_publish; error::encode_failed (posted) when the codec fails.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_publish(const Msg& value, context ctx, CompletionToken&& token = {}) {
        error_code ec;
        message msg = to_message(value, ec);
        return boost::asio::async_initiate<CompletionToken, void(error_code, publish_ack)>(
            [this, ec](auto handler, message&& msg, context&& ctx) {
                if (ec) return detail::post_completion(std::move(handler), get_executor(), ec, publish_ack{});
                broker_->async_publish(topic_, std::move(msg), std::move(ctx), std::move(handler));
            },
            token, std::move(msg), std::move(ctx));
    }
    template <class CompletionToken = boost::asio::deferred_t>
        requires(!std::same_as<std::remove_cvref_t<CompletionToken>, context>)
    auto async_publish(const Msg& value, CompletionToken&& token = {}) {
        return async_publish(value, context{}, std::forward<CompletionToken>(token));
    }

    /// Blocking: sets `ec` on failure; error::would_deadlock on the broker's thread.
    publish_ack publish(const Msg& value, context ctx, error_code& ec) {
        return detail::run_blocking<publish_ack>(get_executor(), ec, [&](auto h) {
            async_publish(value, std::move(ctx), std::move(h));
        });
    }
    publish_ack publish(const Msg& value, error_code& ec) { return publish(value, context{}, ec); }
    /// Blocking and throwing courier::system_error.
    publish_ack publish(const Msg& value, context ctx = {}) {
        error_code ec;
        auto ack = publish(value, std::move(ctx), ec);
        if (ec) throw system_error(ec, "publish to '" + topic_ + "'");
        return ack;
    }

    /// The message `value` becomes (payload, content type, id).
    message to_message(const Msg& value, error_code& ec) const {
        message msg;
        msg.payload = codec_.encode(value, ec, nullptr);
        msg.content_type = codec_.content_type();
        msg.id = detail::random_id();
        return msg;
    }

private:
    Broker* broker_;
    std::string topic_;
    [[no_unique_address]] Codec codec_;
};

}  // namespace courier

#endif
