// One RPC call in flight, as amqp::rpc_client's core sees it: the request
// to send, its context, where it stands, and its outcome. The typed client
// allocates it (detail/rpc_call_op.hpp adds the caller's handler and the
// codec); the broker's strand drives it; a reference count keeps it alive
// while the deadline queue, a cancellation or a start is still on its way
// to the strand.
#ifndef COURIER_AMQP_DETAIL_RPC_CALL_HPP
#define COURIER_AMQP_DETAIL_RPC_CALL_HPP

#include <courier/context.hpp>
#include <courier/detail/deadline_queue.hpp>
#include <courier/error.hpp>
#include <courier/message.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

namespace courier::amqp::detail {

class rpc_client_core;

class rpc_call : public courier::detail::deadline_entry<context::clock::time_point> {
public:
    enum class phase : std::uint8_t {
        created,  ///< started, not yet seen by the strand
        waiting,  ///< seen, waiting for the reply channel
        sent,     ///< published; waiting for its reply
        done,     ///< decided; the completion is posted
    };

    rpc_call(std::shared_ptr<rpc_client_core> c, message&& req, context&& cx) noexcept
        : core(std::move(c)), request(std::move(req)), ctx(std::move(cx)) {}
    rpc_call(const rpc_call&) = delete;
    rpc_call& operator=(const rpc_call&) = delete;

    std::shared_ptr<rpc_client_core> core;
    message request;  // payload and content type; the rest is written when sent
    context ctx;      // its deadline is always set
    // -- the strand's
    std::uint64_t id = 0;  // 0 until the strand numbers it
    phase state = phase::created;
    bool queued = false;  // in the deadline queue (set before the strand sees the call)
    error_code ec;        // the outcome, read by complete() after the post
    message reply;

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
    }

    /// Posts the caller's handler with `ec` and `reply`; takes over the
    /// reference the call was created with.
    virtual void complete() = 0;

protected:
    ~rpc_call() = default;
    virtual void destroy() noexcept = 0;

private:
    std::atomic<int> refs_{1};  // the caller's, released once the handler ran
};

}  // namespace courier::amqp::detail

#endif
