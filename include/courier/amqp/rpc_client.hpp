// The calling side of request-reply over RabbitMQ: a courier service Req ->
// Rep that publishes each request to the queue an amqp::rpc_server (or any
// AMQP RPC server) consumes, and waits for the reply on RabbitMQ's direct
// reply-to. courier::client and every policy layer work over it.
#ifndef COURIER_AMQP_RPC_CLIENT_HPP
#define COURIER_AMQP_RPC_CLIENT_HPP

#include <courier/amqp/broker.hpp>
#include <courier/amqp/detail/rpc_call_op.hpp>
#include <courier/amqp/detail/rpc_client_core.hpp>
#include <courier/codec.hpp>
#include <courier/codec/json.hpp>
#include <courier/context.hpp>
#include <courier/detail/operation.hpp>
#include <courier/detail/start_call.hpp>
#include <courier/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace courier::amqp {

struct rpc_client_options {
    /// The deadline of a call whose context has none: a call always ends,
    /// even when no server ever takes its request.
    std::chrono::milliseconds default_timeout{std::chrono::seconds(30)};
};

/// A service calling the RPC server that consumes `queue` on `broker`.
///
/// Each call publishes its request, through the default exchange, to
/// `queue` on a channel that consumes `amq.rabbitmq.reply-to` (RabbitMQ's
/// direct reply-to), with correlation-id = a number unique to the call,
/// reply-to = amq.rabbitmq.reply-to, content-type = the codec's, the context
/// as headers (traceparent, metadata, courier-timeout-ms, and
/// courier-correlation-id for context::correlation_id), expiration = the
/// time left before the deadline, and mandatory set. The reply with that
/// correlation id completes the call; replies nobody waits for are dropped.
///
/// Cheap to copy: copies share one reply channel and the calls in flight.
/// The channel opens when the first client is made (the broker connects
/// then if it has not yet) and is opened again after every reconnection;
/// it closes when the last copy is destroyed, failing the calls still in
/// flight with operation_aborted. Thread-safe: calls may start from any
/// thread. The broker must outlive the client's calls (destroying it fails
/// them with broker_closed).
template <class Req, class Rep, class Codec = json_codec>
    requires codec_for<Codec, Req> && codec_for<Codec, Rep>
class rpc_client {
public:
    using request_type = Req;
    using response_type = Rep;
    using executor_type = boost::asio::any_io_executor;

    rpc_client(broker& b, std::string_view queue, rpc_client_options opts = {}, Codec codec = {})
        : state_(std::make_shared<const state>(
              std::make_shared<detail::rpc_client_core>(b.impl(), std::string(queue)), opts, std::move(codec))) {
        state_->core->attach();
    }

    /// The broker's executor: where handlers without an executor of their
    /// own complete.
    executor_type get_executor() const { return state_->core->executor(); }
    /// The queue the requests go to.
    const std::string& queue() const noexcept { return state_->core->queue(); }

    /// Sends `req` and waits for the reply.
    /// Completion: `void(error_code, Rep)`, on the handler's associated
    /// executor (default: the broker's), never inline; the reply is decoded
    /// there. Deadline: `ctx.deadline`, or now + default_timeout; at the
    /// deadline the call fails with courier::error::timeout, whatever it was doing.
    /// Errors: courier::error::timeout; courier::error::unknown_endpoint (no queue of that
    /// name: the broker returned the request); the error the server's
    /// handler reported (courier::error::not_found, ...; courier::error::internal when it
    /// threw something else); courier::error::decode_failed / encode_failed from
    /// either side's codec; the connection's error when it broke after the
    /// request was sent (retryable; the request may have been handled);
    /// courier::error::broker_closed; operation_aborted when cancelled or when the
    /// last client copy was destroyed. While the broker is disconnected a
    /// call waits for it to reconnect, up to its deadline.
    /// Cancellation: terminal, partial and total, each ending the call at
    /// once with operation_aborted (a request already sent stays sent; its
    /// reply is dropped). Emit it where the handler's executor runs.
    /// Lifetime: `req` and `ctx` are taken by value; the broker must
    /// outlive the call.
    /// Thread safety: concurrent calls from any thread are fine.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_call(Req req, context ctx, CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, Rep)>(
            [st = state_](auto handler, Req&& req, context&& ctx) {
                launch(st, std::move(handler), std::move(req), std::move(ctx));
            },
            token, std::move(req), std::move(ctx));
    }

private:
    // Shared by every copy; the last one out stops the core.
    struct state {
        state(std::shared_ptr<detail::rpc_client_core> c, rpc_client_options o, Codec cd)
            : core(std::move(c)), opts(o), codec(std::move(cd)) {}
        state(const state&) = delete;
        state& operator=(const state&) = delete;
        ~state() { core->stop(); }

        std::shared_ptr<detail::rpc_client_core> core;
        rpc_client_options opts;
        [[no_unique_address]] Codec codec;
    };

    friend courier::detail::service_access;
    template <class Handler>
    void start_call(Handler&& handler, Req&& req, context&& ctx) {
        launch(state_, std::forward<Handler>(handler), std::move(req), std::move(ctx));
    }

    // On the caller's thread: encode, then hand the call to the strand.
    template <class Handler>
    static void launch(const std::shared_ptr<const state>& st, Handler&& handler, Req&& req, context&& ctx) {
        const auto& core = st->core;
        message msg;
        error_code ec;
        msg.payload = st->codec.encode(req, ec, nullptr);
        if (ec) return courier::detail::post_completion(std::forward<Handler>(handler), core->executor(), ec, Rep{});
        msg.content_type = std::string(st->codec.content_type());
        const auto now = context::clock::now();
        if (!ctx.deadline)
            ctx.deadline = now + std::chrono::duration_cast<context::clock::duration>(st->opts.default_timeout);
        if (ctx.expired(now))
            return courier::detail::post_completion(std::forward<Handler>(handler), core->executor(),
                                                    error_code(courier::error::timeout), Rep{});
        using op = detail::rpc_call_op<Rep, Codec, std::decay_t<Handler>>;
        auto* p = courier::detail::allocate_op<op>(courier::detail::operation_allocator<Handler, op>(handler),
                                                   std::move(handler), core, st->codec, std::move(msg),
                                                   std::move(ctx));
        // The start's reference first: once in the deadline queue, the call
        // may expire, and complete, before start() is reached.
        p->add_ref();
        p->arm_cancellation();
        p->at = *p->ctx.deadline;
        core->add_deadline(p);
        core->start(p);
    }

    std::shared_ptr<const state> state_;
};

}  // namespace courier::amqp

#endif
