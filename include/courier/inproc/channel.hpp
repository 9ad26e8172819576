// The caller's side of in-process request-reply: a courier service that
// reaches the handler bound to an endpoint name.
#ifndef COURIER_INPROC_CHANNEL_HPP
#define COURIER_INPROC_CHANNEL_HPP

#include <courier/client.hpp>
#include <courier/codec/json.hpp>
#include <courier/context.hpp>
#include <courier/detail/operation.hpp>
#include <courier/detail/start_call.hpp>
#include <courier/inproc/detail/call_op.hpp>
#include <courier/inproc/network.hpp>
#include <courier/propagation.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>

namespace courier::inproc {

struct channel_options {
    /// Send every call through the codec, as over a wire (context in
    /// headers, values encoded and decoded). Tests use it to catch codec
    /// mistakes before a real backend does. Calls whose types differ from
    /// the server's take this path anyway.
    bool wire = false;
};

/// A service `Req -> Rep` reaching the handler bound to `name` in `net`.
/// Cheap to copy; copies share the resolved endpoint slot.
template <class Req, class Rep, class Codec = json_codec>
class channel {
public:
    using request_type = Req;
    using response_type = Rep;
    using executor_type = boost::asio::any_io_executor;

    channel(executor_type ex, const network& net, std::string_view name, channel_options opts = {},
            Codec codec = {})
        : ex_(std::move(ex)), slot_(net.slot(name)), opts_(opts), codec_(std::move(codec)) {}

    executor_type get_executor() const { return ex_; }

    /// Calls the handler bound to this channel's endpoint.
    /// Completion: `void(error_code, Rep)` on the handler's associated
    /// executor (default: this channel's), never inline. Errors:
    /// error::unknown_endpoint (nothing bound), error::timeout (deadline
    /// passed before the handler started), error::endpoint_closed (the server's
    /// executor went away), codec errors, and whatever the handler reported.
    /// Cancellation: terminal/partial/total; the call completes at once with
    /// operation_aborted, a queued handler never starts, and a running
    /// coroutine or service handler receives terminal cancellation (its
    /// result has nowhere to go, whatever type the caller asked for).
    /// Thread safety: concurrent calls from any thread are fine.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_call(Req req, context ctx, CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, Rep)>(
            [this](auto handler, Req&& req, context&& ctx) {
                this->start_call(std::move(handler), std::move(req), std::move(ctx));
            },
            token, std::move(req), std::move(ctx));
    }

private:
    friend courier::detail::service_access;

    template <class Handler>
    void start_call(Handler&& handler, Req&& req, context&& ctx) {
        auto ep = slot_->get();
        if (!ep) return courier::detail::post_completion(std::move(handler), ex_, error::unknown_endpoint, Rep{});
        auto ex = boost::asio::get_associated_executor(handler, ex_);
        // Posting through any_io_executor costs a type-erased call and a
        // function allocation; an io_context's own executor does neither.
        if constexpr (std::is_same_v<decltype(ex), boost::asio::any_io_executor>)
            if (auto* concrete = ex.template target<boost::asio::io_context::executor_type>())
                return launch(std::move(ep), std::move(handler), *concrete, std::move(req), std::move(ctx));
        launch(std::move(ep), std::move(handler), ex, std::move(req), std::move(ctx));
    }

    template <class Handler, class Executor>
    void launch(std::shared_ptr<detail::endpoint_base> ep, Handler&& handler, const Executor& ex, Req&& req,
                context&& ctx) {
        using handler_t = std::decay_t<Handler>;
        // While the server's io_context runs the call, that work keeps it
        // alive; only a caller on another context needs its own guard.
        bool track_work = true;
        if constexpr (std::is_same_v<Executor, boost::asio::io_context::executor_type>)
            track_work = !ep->io_executor || &ep->io_executor->context() != &ex.context();
        if (!opts_.wire && ep->request_type == typeid(Req) && ep->response_type == typeid(Rep)) {
            using op = detail::call_op<Req, Rep, handler_t, Executor>;
            auto* p = courier::detail::allocate_op<op>(courier::detail::operation_allocator<Handler, op>(handler),
                                                       std::move(handler), ex, track_work, std::move(req),
                                                       std::move(ctx));
            p->arm_cancellation(ep);
            auto& typed = static_cast<detail::typed_endpoint<Req, Rep>&>(*ep);
            typed.start(std::move(ep), p);
            return;
        }
        error_code ec;
        message msg;
        msg.payload = codec_.encode(req, ec, nullptr);
        if (ec) return courier::detail::post_completion(std::move(handler), ex_, ec, Rep{});
        msg.content_type = codec_.content_type();
        inject(ctx, msg);
        using op = detail::call_op<message, message, handler_t, Executor, Rep, Codec>;
        auto* p = courier::detail::allocate_op<op>(courier::detail::operation_allocator<Handler, op>(handler),
                                                   std::move(handler), ex, track_work, std::move(msg), context{},
                                                   codec_);
        p->arm_cancellation(ep);
        auto& endpoint = *ep;
        endpoint.start_wire(std::move(ep), p);
    }

    executor_type ex_;
    std::shared_ptr<detail::endpoint_slot> slot_;
    channel_options opts_;
    [[no_unique_address]] Codec codec_;
};

/// A typed in-process client: `courier::client` over a channel.
template <class Req, class Rep, class Codec = json_codec>
using client = courier::client<channel<Req, Rep, Codec>>;

}  // namespace courier::inproc

#endif
