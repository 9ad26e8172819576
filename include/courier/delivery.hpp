// One message handed to a pull consumer (async_receive). It must be settled:
// ack() when processed, nack() to have it redelivered; a delivery destroyed
// unsettled is nacked, so a consumer that dies mid-message loses nothing.
#ifndef COURIER_DELIVERY_HPP
#define COURIER_DELIVERY_HPP

#include <courier/context.hpp>
#include <courier/message.hpp>

#include <memory>
#include <utility>

namespace courier {

/// How a consumer settles a message.
enum class settlement {
    ack,     ///< processed; forget it
    nack,    ///< failed; redeliver after the backoff (dead-letter after the limit)
    reject,  ///< will never succeed; dead-letter now
};

namespace detail {
/// What a backend implements behind a delivery.
struct delivery_sink {
    virtual ~delivery_sink() = default;
    virtual void settle(std::uint64_t tag, settlement s) noexcept = 0;
};
}  // namespace detail

class delivery {
public:
    delivery() = default;
    delivery(std::shared_ptr<detail::delivery_sink> sink, std::uint64_t tag,
             std::shared_ptr<const courier::message> msg, courier::context ctx, unsigned attempt)
        : sink_(std::move(sink)), tag_(tag), msg_(std::move(msg)), ctx_(std::move(ctx)), attempt_(attempt) {}
    delivery(delivery&& o) noexcept
        : sink_(std::move(o.sink_)), tag_(o.tag_), msg_(std::move(o.msg_)), ctx_(std::move(o.ctx_)),
          attempt_(o.attempt_) {}
    delivery& operator=(delivery&& o) noexcept {
        if (this != &o) {
            settle(settlement::nack);
            sink_ = std::move(o.sink_);
            tag_ = o.tag_;
            msg_ = std::move(o.msg_);
            ctx_ = std::move(o.ctx_);
            attempt_ = o.attempt_;
        }
        return *this;
    }
    ~delivery() { settle(settlement::nack); }

    const courier::message& message() const noexcept { return *msg_; }
    courier::context& context() noexcept { return ctx_; }
    /// 1 on first delivery; more when the message is redelivered.
    unsigned attempt() const noexcept { return attempt_; }
    bool redelivered() const noexcept { return attempt_ > 1; }
    /// Whether ack/nack/reject is still due.
    bool pending() const noexcept { return sink_ != nullptr; }

    void ack() noexcept { settle(settlement::ack); }
    void nack() noexcept { settle(settlement::nack); }
    void reject() noexcept { settle(settlement::reject); }
    /// Settles once; later calls do nothing.
    void settle(settlement s) noexcept {
        if (auto sink = std::exchange(sink_, nullptr)) sink->settle(tag_, s);
    }

private:
    std::shared_ptr<detail::delivery_sink> sink_;
    std::uint64_t tag_ = 0;
    std::shared_ptr<const courier::message> msg_;
    courier::context ctx_;
    unsigned attempt_ = 0;
};

}  // namespace courier

#endif
