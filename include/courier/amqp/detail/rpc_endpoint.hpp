// The server side of one RPC: a request as amqp::rpc_server received it,
// and the type-erased binding of a handler to a queue that answers it. The
// endpoint runs on the server's executor (a strand of it for a handler that
// can be cancelled, see courier/detail/serial_executor.hpp): it decodes the
// request, runs the handler (cancelled at the request's deadline), and
// encodes the reply, or
// the error headers, before handing the request back to the broker's strand
// to be answered and acked.
#ifndef COURIER_AMQP_DETAIL_RPC_ENDPOINT_HPP
#define COURIER_AMQP_DETAIL_RPC_ENDPOINT_HPP

#include <courier/amqp/detail/message_properties.hpp>
#include <courier/amqp/properties.hpp>
#include <courier/amqp/rpc_protocol.hpp>
#include <courier/codec.hpp>
#include <courier/context.hpp>
#include <courier/detail/deadline_queue.hpp>
#include <courier/detail/invoke_handler.hpp>
#include <courier/detail/serial_executor.hpp>
#include <courier/error.hpp>
#include <courier/message.hpp>
#include <courier/propagation.hpp>
#include <courier/timing.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace courier::amqp::detail {

class rpc_server_core;
class rpc_endpoint;
struct rpc_binding;

struct rpc_request : courier::detail::deadline_entry<context::clock::time_point> {
    /// What to do with the request once the endpoint is done with it.
    enum class outcome : std::uint8_t {
        reply,    ///< publish `reply_*` to reply_to (when there is one), then ack
        drop,     ///< ack, no reply: its deadline passed before the handler ran
        requeue,  ///< reject with requeue: the server's executor went away
    };

    std::shared_ptr<rpc_server_core> server;
    std::shared_ptr<rpc_binding> binding;  // owns *endpoint
    rpc_endpoint* endpoint = nullptr;
    std::uint64_t generation = 0;  // the binding's channel it came on
    std::uint64_t tag = 0;
    std::optional<std::string> reply_to, correlation_id;
    message request;
    context ctx;
    outcome result = outcome::reply;
    basic_properties reply_properties;
    std::string reply_body;
    /// Back to the strand; set by the server core.
    void (*respond)(std::shared_ptr<rpc_request>&&) = nullptr;

    // Cancels a coroutine or service handler at the request's deadline.
    boost::asio::cancellation_signal cancel;
    // Where such a handler runs and `cancel` is emitted, when the server's
    // executor may run several handlers at once; set before it is posted.
    std::optional<boost::asio::strand<boost::asio::any_io_executor>> serial;
    std::atomic<bool> finished{false};
    std::shared_ptr<rpc_request> keep_alive;  // the deadline queue's hold on this
};

/// Rebuilds the caller's context from a request (courier::extract), the
/// business correlation id taken from its header rather than from the
/// correlation-id property, which is the RPC's.
inline context request_context(const message& request) {
    context ctx = courier::extract(request);
    if (const auto* id = ctx.metadata.find(rpc_protocol::correlation_header)) {
        ctx.correlation_id = *id;
        ctx.metadata.erase(rpc_protocol::correlation_header);
    } else {
        ctx.correlation_id.clear();
    }
    return ctx;
}

/// Fills the reply of `r` with the error headers.
inline void set_error_reply(rpc_request& r, const error_code& ec, std::string text) {
    r.reply_body.clear();
    auto& headers = r.reply_properties.headers.emplace();
    headers.push_back(std::string(rpc_protocol::error_header),
                      std::string(rpc_protocol::error_name(rpc_protocol::wire_error(ec))));
    if (text.empty()) text = ec.message();
    headers.push_back(std::string(rpc_protocol::error_message_header), std::move(text));
}

class rpc_endpoint {
public:
    /// `observes_cancellation`: the handler is a coroutine or a service.
    rpc_endpoint(boost::asio::any_io_executor ex, bool observes_cancellation)
        : ex_(std::move(ex)),
          deadlines_(&boost::asio::use_service<courier::detail::deadline_queue<steady_timing>>(
              boost::asio::query(ex_, boost::asio::execution::context))),
          needs_strand_(observes_cancellation && !courier::detail::runs_serially(ex_)) {}
    virtual ~rpc_endpoint() = default;
    rpc_endpoint(const rpc_endpoint&) = delete;
    rpc_endpoint& operator=(const rpc_endpoint&) = delete;

    const boost::asio::any_io_executor& executor() const noexcept { return ex_; }

    /// Posts `r` to the server's executor, to be run there (on a strand of
    /// it of its own when its handler can be cancelled while other threads
    /// run that executor); if that executor is destroyed first, the request
    /// goes back to its queue.
    void post(std::shared_ptr<rpc_request> r) {
        if (!needs_strand_) return boost::asio::post(ex_, job(std::move(r)));
        auto& serial = r->serial.emplace(boost::asio::make_strand(ex_));
        boost::asio::post(serial, job(std::move(r)));
    }

protected:
    /// On the server's executor: decode, run the handler, encode; then
    /// done(r) exactly once.
    virtual void run(std::shared_ptr<rpc_request> r) = 0;

    /// Where the handler of `r` runs.
    static boost::asio::any_io_executor handler_executor(const rpc_request& r) {
        if (r.serial) return *r.serial;
        return r.endpoint->ex_;
    }

    /// Arms the cancellation of the handler at the request's deadline.
    void watch_deadline(const std::shared_ptr<rpc_request>& r) {
        if (!r->ctx.deadline) return;
        r->at = *r->ctx.deadline;
        r->fire = &on_deadline;
        r->keep_alive = r;
        deadlines_->add(r.get(), ex_);
    }

    /// The handler is done: disarm the deadline and answer.
    void done(std::shared_ptr<rpc_request> r) {
        r->finished.store(true, std::memory_order_release);
        disarm(*r);
        auto respond = r->respond;
        respond(std::move(r));
    }

    /// Holds the request while its handler runs. Destroyed without having
    /// been taken, the handler was abandoned (its execution context shut
    /// down with the handler suspended): the deadline's hold would keep the
    /// request alive for good, so it is released here.
    class running_request {
    public:
        running_request(std::shared_ptr<rpc_request> r, rpc_endpoint* e) noexcept : r_(std::move(r)), e_(e) {}
        running_request(running_request&&) noexcept = default;
        running_request& operator=(running_request&&) = delete;
        ~running_request() {
            if (r_) e_->disarm(*r_);
        }
        std::shared_ptr<rpc_request> take() noexcept { return std::move(r_); }

    private:
        std::shared_ptr<rpc_request> r_;
        rpc_endpoint* e_;
    };

private:
    struct job {
        std::shared_ptr<rpc_request> r;
        explicit job(std::shared_ptr<rpc_request> p) noexcept : r(std::move(p)) {}
        job(job&&) noexcept = default;
        job& operator=(job&&) = delete;
        ~job() {
            if (!r) return;
            r->result = rpc_request::outcome::requeue;
            auto respond = r->respond;
            respond(std::move(r));
        }
        void operator()() {
            auto p = std::move(r);
            auto* endpoint = p->endpoint;
            endpoint->start(std::move(p));
        }
    };

    void start(std::shared_ptr<rpc_request> r) {
        if (r->ctx.expired()) {
            // Nobody waits for the answer any more: acked, not run.
            r->result = rpc_request::outcome::drop;
            auto respond = r->respond;
            return respond(std::move(r));
        }
        run(std::move(r));
    }

    void disarm(rpc_request& r) {
        // Taken back before it fired: its hold is ours to drop; otherwise
        // the firing has taken it.
        if (r.fire && deadlines_->remove(&r)) r.keep_alive.reset();
    }

    // The deadline queue's timer thread.
    static void on_deadline(courier::detail::deadline_entry<context::clock::time_point>* e) {
        auto* raw = static_cast<rpc_request*>(e);
        auto r = std::move(raw->keep_alive);
        auto ex = handler_executor(*r);
        boost::asio::post(ex, [r = std::move(r)] {
            if (!r->finished.load(std::memory_order_acquire)) r->cancel.emit(boost::asio::cancellation_type::terminal);
        });
    }

    boost::asio::any_io_executor ex_;
    courier::detail::deadline_queue<steady_timing>* deadlines_;
    bool needs_strand_;
};

template <class Req, class Rep, class Handler, class Codec>
class rpc_endpoint_impl final : public rpc_endpoint {
public:
    rpc_endpoint_impl(Handler h, Codec codec, boost::asio::any_io_executor ex)
        : rpc_endpoint(std::move(ex), courier::detail::handler_kind_of<Handler, Req, Rep> !=
                                          courier::detail::handler_kind::function),
          handler_(std::move(h)),
          codec_(std::move(codec)) {}

private:
    void run(std::shared_ptr<rpc_request> r) override {
        error_code ec;
        std::string diagnostic;
        Req req = codec_.template decode<Req>(r->request.payload, ec, &diagnostic);
        if (ec) {
            set_error_reply(*r, ec, std::move(diagnostic));
            return done(std::move(r));
        }
        watch_deadline(r);
        auto& ctx = r->ctx;
        auto slot = r->cancel.slot();
        const auto ex = handler_executor(*r);
        courier::detail::invoke_handler<Req, Rep>(
            handler_, std::move(req), ctx, ex, slot,
            [this, running = running_request(std::move(r), this)](error_code ec, Rep rep) mutable {
                auto r = running.take();
                std::string diagnostic;
                if (!ec) {
                    r->reply_body = codec_.encode(rep, ec, &diagnostic);
                    if (!ec) r->reply_properties.content_type = std::string(codec_.content_type());
                }
                if (ec) set_error_reply(*r, ec, std::move(diagnostic));
                done(std::move(r));
            });
    }

    Handler handler_;
    [[no_unique_address]] Codec codec_;
};

}  // namespace courier::amqp::detail

#endif
