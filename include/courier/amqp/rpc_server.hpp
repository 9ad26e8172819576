// The answering side of request-reply over RabbitMQ: binds request handlers
// to queues; each request a queue delivers is decoded, handled on the
// server's executor, and answered to its reply-to with its correlation id
// (amqp::rpc_client's protocol, and the usual AMQP RPC convention).
#ifndef COURIER_AMQP_RPC_SERVER_HPP
#define COURIER_AMQP_RPC_SERVER_HPP

#include <courier/amqp/broker.hpp>
#include <courier/amqp/detail/rpc_endpoint.hpp>
#include <courier/amqp/detail/rpc_server_core.hpp>
#include <courier/codec.hpp>
#include <courier/codec/json.hpp>
#include <courier/error.hpp>
#include <courier/server.hpp>
#include <courier/service.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace courier::amqp {

struct rpc_server_options {
    /// Requests a queue delivers before they are answered (basic.qos): at
    /// most this many of one queue's handlers run at once.
    std::uint16_t prefetch = 32;
    /// Called on the server's executor, with the queue's name, each time a
    /// bound queue is declared and consumed (again after a reconnection):
    /// from then on, calls to it reach this server. Tests and scripts wait
    /// for it.
    std::function<void(const std::string& queue)> on_consuming{};
};

/// Serves request handlers on queues of `broker`.
///
/// Per request: the context is rebuilt from its headers (deadline from
/// courier-timeout-ms, trace, metadata, correlation id); a request whose
/// deadline has passed before its handler starts is acked and dropped; the
/// handler runs on the server's executor, and a coroutine or service handler
/// is cancelled (terminal) at the deadline; the reply goes to the request's
/// reply-to through the default exchange with its correlation id, and the
/// request is acked after it. A failure is answered with the courier-error
/// and courier-error-message headers (docs/amqp.md): a request that does not
/// decode with decode_failed; a handler's courier::system_error with its
/// code; any other exception with courier::error::internal. A request without a
/// reply-to is handled and acked, not answered.
///
/// Requests are at-least-once: one whose handler was running when the
/// connection broke is redelivered (possibly to another server on the same
/// queue) and handled again; its first answer was lost with the channel.
///
/// Consumers are established on the broker's connection, and again on
/// every new one after a reconnection. Closing (or destroying) the server
/// cancels them; a queue's channel closes once its running handlers were
/// answered. Thread-safe.
class rpc_server {
public:
    using executor_type = boost::asio::any_io_executor;

    /// Handlers run on `ex` (default: the broker's executor). When several
    /// threads run it, use a strand if handlers share state; a coroutine or
    /// service handler runs on a strand of `ex` of its own, where its
    /// deadline's cancellation is emitted.
    explicit rpc_server(broker& b, rpc_server_options opts = {}, executor_type ex = {})
        : core_(std::make_shared<detail::rpc_server_core>(
              b.impl(), detail::rpc_server_settings{opts.prefetch, std::move(opts.on_consuming)},
              ex ? ex : b.get_executor())) {}
    rpc_server(const rpc_server&) = delete;
    rpc_server& operator=(const rpc_server&) = delete;
    ~rpc_server() { close(); }

    const executor_type& get_executor() const noexcept { return core_->executor(); }

    /// Binds `handler` (see courier::request_handler: `Rep(Req, context&)`,
    /// `awaitable<Rep>(Req, context&)`, results, or a service Req -> Rep)
    /// to `queue`, which is declared (durable as the broker's options say)
    /// and consumed with the server's prefetch. Several servers (processes)
    /// may bind one queue: they compete for its requests. Throws
    /// courier::system_error(courier::error::already_exists) when this server has
    /// bound the queue already.
    template <class Req, class Rep, class Codec = json_codec, class Handler>
        requires request_handler<Handler, Req, Rep> && codec_for<Codec, Req> && codec_for<Codec, Rep>
    void bind(std::string_view queue, Handler handler, Codec codec = {}) {
        {
            std::lock_guard lock(mutex_);
            if (!queues_.emplace(queue).second)
                throw system_error(courier::error::already_exists,
                                   "amqp rpc_server: queue '" + std::string(queue) + "' is bound already");
        }
        auto b = std::make_shared<detail::rpc_binding>();
        b->queue = std::string(queue);
        b->endpoint = std::make_unique<detail::rpc_endpoint_impl<Req, Rep, Handler, Codec>>(
            std::move(handler), std::move(codec), core_->executor());
        core_->add(std::move(b));
    }

    /// Serves `svc` (any courier service: a client of another service, a
    /// policy stack...) on `queue`: bind with its request and response types.
    template <service S, class Codec = json_codec>
        requires codec_for<Codec, typename S::request_type> && codec_for<Codec, typename S::response_type>
    void serve(std::string_view queue, S svc, Codec codec = {}) {
        bind<typename S::request_type, typename S::response_type>(queue, std::move(svc), std::move(codec));
    }

    /// Stops consuming every queue (basic.cancel); requests being handled
    /// are still answered. Idempotent; the server binds nothing afterwards.
    void close() noexcept { core_->stop(); }

private:
    std::shared_ptr<detail::rpc_server_core> core_;
    std::mutex mutex_;
    std::set<std::string, std::less<>> queues_;
};

}  // namespace courier::amqp

#endif
