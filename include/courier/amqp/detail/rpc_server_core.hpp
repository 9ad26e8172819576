// The untyped heart of amqp::rpc_server, living on the broker's connection
// (an attachment): per bound queue, a channel that declares the queue, sets
// its prefetch and consumes it; each request goes to its endpoint on the
// server's executor and comes back here to be answered (published to its
// reply-to through the default exchange, on the same channel) and acked.
// Re-established on every new connection, as the broker's consumers are.
// Everything here runs on the broker's strand but post() and stop().
#ifndef COURIER_AMQP_DETAIL_RPC_SERVER_CORE_HPP
#define COURIER_AMQP_DETAIL_RPC_SERVER_CORE_HPP

#include <courier/amqp/broker.hpp>
#include <courier/amqp/connection.hpp>
#include <courier/amqp/detail/message_properties.hpp>
#include <courier/amqp/detail/rpc_endpoint.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace courier::amqp::detail {

/// One queue served by one endpoint.
struct rpc_binding {
    std::string queue;
    std::unique_ptr<rpc_endpoint> endpoint;
    // -- the strand's
    std::shared_ptr<channel> ch;  // consuming `queue`, when established
    std::uint64_t generation = 0;
    std::size_t running = 0;  // requests delivered and not yet answered
    bool starting = false, closed = false;
};

/// What rpc_server_core needs of rpc_server_options.
struct rpc_server_settings {
    std::uint16_t prefetch = 32;
    std::function<void(const std::string&)> on_consuming;
};

class rpc_server_core final : public attachment, public std::enable_shared_from_this<rpc_server_core> {
public:
    rpc_server_core(std::shared_ptr<broker_impl> b, rpc_server_settings settings, boost::asio::any_io_executor ex)
        : broker_(std::move(b)), settings_(std::move(settings)), ex_(std::move(ex)) {}

    const boost::asio::any_io_executor& executor() const noexcept { return ex_; }

    /// Any thread: serves `b` from now on (and registers with the broker,
    /// which connects if it has not).
    void add(std::shared_ptr<rpc_binding> b) {
        boost::asio::dispatch(broker_->strand(), [self = shared_from_this(), b = std::move(b)] {
            if (self->stopped_) return;
            if (!self->attached_) {
                self->attached_ = true;
                self->broker_->attach(self);  // may call connected() at once
            }
            self->bindings_.push_back(b);
            self->start_binding(b);
        });
    }

    /// Any thread: cancels every consumer; each channel closes once its
    /// running handlers were answered (closing it earlier would requeue
    /// their requests).
    void stop() {
        boost::asio::dispatch(broker_->strand(), [self = shared_from_this()] { self->shut(); });
    }

    // -- attachment, on the strand

    void connected(const std::shared_ptr<connection>& c) override {
        conn_ = c;
        for (auto& b : bindings_) start_binding(b);
    }

    void disconnected(error_code ec) override {
        conn_ = nullptr;
        // Their requests come back from the broker, redelivered.
        for (auto& b : bindings_) {
            b->ch = nullptr;
            b->starting = false;
        }
        if (ec == courier::error::broker_closed) shut();
    }

private:
    void start_binding(const std::shared_ptr<rpc_binding>& b) {
        if (b->starting || b->ch || b->closed || !conn_ || !conn_->is_open()) return;
        b->starting = true;
        boost::asio::co_spawn(broker_->strand(), establish(shared_from_this(), b, conn_), boost::asio::detached);
    }

    static boost::asio::awaitable<void> establish(std::shared_ptr<rpc_server_core> self,
                                                  std::shared_ptr<rpc_binding> b,
                                                  std::shared_ptr<connection> conn) {
        std::shared_ptr<channel> ch;
        try {
            ch = co_await conn->open_channel();
            if (b->closed || conn != self->conn_) {
                b->starting = false;
                self->close_channel(std::move(ch));
                co_return;
            }
            // Named: GCC 12 destroys temporaries of a co_await expression twice.
            queue_declare declare;
            declare.queue = b->queue;
            declare.durable = self->broker_->options().durable;
            (void)co_await ch->call<queue_declare_ok>(declare);
            const basic_qos qos{0, self->settings_.prefetch, false};
            (void)co_await ch->call<basic_qos_ok>(qos);
            const auto generation = ++b->generation;
            std::weak_ptr<rpc_server_core> weak = self;
            std::weak_ptr<rpc_binding> weak_binding = b;
            ch->on_content = [weak, weak_binding, generation](content_assembler& a) {
                auto s = weak.lock();
                auto bb = weak_binding.lock();
                if (s && bb) s->on_request(bb, generation, a);
            };
            ch->on_method = [weak, weak_binding](method& m) {
                // The broker cancelled the consumer (the queue was deleted):
                // start over, which declares it again.
                if (!std::holds_alternative<basic_cancel>(m)) return;
                auto s = weak.lock();
                auto bb = weak_binding.lock();
                if (s && bb) s->restart_binding(bb);
            };
            // The connection weakly: it owns the channel that keeps this hook.
            ch->on_close = [weak, weak_binding, weak_conn = std::weak_ptr<connection>(conn)](error_code) {
                auto s = weak.lock();
                auto bb = weak_binding.lock();
                auto conn = weak_conn.lock();
                if (!s || !bb || !conn || bb->closed || conn != s->conn_ || !conn->is_open()) return;
                s->restart_binding(bb);
            };
            if (b->closed) {
                b->starting = false;
                self->close_channel(std::move(ch));
                co_return;
            }
            b->ch = ch;
            basic_consume consume;
            consume.queue = b->queue;
            consume.consumer_tag = consumer_tag;
            (void)co_await ch->call<basic_consume_ok>(consume);
            if (b->closed && b->ch == ch && b->running == 0) {
                // Closed while basic.consume was on its way: nothing was
                // delivered to a handler; what arrived goes back to the queue.
                b->starting = false;
                self->close_channel(std::exchange(b->ch, nullptr));
                co_return;
            }
        } catch (const boost::system::system_error&) {
            b->starting = false;
            // A channel error (the queue exists with other arguments...):
            // try again after the reconnection delay. A lost connection:
            // its successor starts the binding again.
            if (conn == self->conn_ && conn->is_open() && !b->closed) self->restart_binding(b);
            co_return;
        }
        b->starting = false;
        if (self->settings_.on_consuming)
            boost::asio::post(self->ex_, [self, queue = b->queue] { self->settings_.on_consuming(queue); });
    }

    void restart_binding(const std::shared_ptr<rpc_binding>& b) {
        if (b->closed) return;
        if (b->ch) close_channel(std::exchange(b->ch, nullptr));
        // start_binding does nothing while an attempt is under way (a new
        // connection may have started one meanwhile).
        auto t = std::make_shared<boost::asio::steady_timer>(broker_->strand(), broker_->options().reconnect_delay);
        t->async_wait([self = shared_from_this(), b, t](error_code ec) {
            if (!ec) self->start_binding(b);
        });
    }

    void on_request(const std::shared_ptr<rpc_binding>& b, std::uint64_t generation, content_assembler& a) {
        auto* d = std::get_if<basic_deliver>(&a.current_method());
        if (!d || b->closed) return;  // after basic.cancel: requeued when the channel closes
        auto r = std::make_shared<rpc_request>();
        r->server = shared_from_this();
        r->binding = b;
        r->endpoint = b->endpoint.get();
        r->generation = generation;
        r->tag = d->delivery_tag;
        auto& props = a.properties();
        r->reply_to = std::move(props.reply_to);
        r->correlation_id = std::move(props.correlation_id);
        if (a.too_large()) {
            // Not buffered (its body frames are skipped as they come): the
            // caller is told at once, and the request is settled.
            ++b->running;
            set_error_reply(*r, courier::error::invalid_argument,
                            "amqp rpc: a request body of " + std::to_string(a.body_size()) +
                                " bytes is over the server's max_body_size");
            return answer(*r);
        }
        from_properties(props, r->request);
        r->request.payload = a.take_body();
        // Now, not when the handler starts: the deadline counts from arrival.
        r->ctx = request_context(r->request);
        r->respond = &respond;
        ++b->running;
        b->endpoint->post(std::move(r));
    }

    // Any thread: the endpoint is done with `r`.
    static void respond(std::shared_ptr<rpc_request>&& r) {
        auto strand = r->server->broker_->strand();
        boost::asio::dispatch(strand, [r = std::move(r)] { r->server->answer(*r); });
    }

    void answer(rpc_request& r) {
        auto& b = *r.binding;
        --b.running;
        const bool live = b.ch && b.ch->is_open() && b.generation == r.generation;
        // Not live: the channel that carried it is gone, and the broker
        // redelivers the request.
        if (live) {
            switch (r.result) {
            case rpc_request::outcome::reply:
                if (r.reply_to) {
                    basic_publish p;
                    p.routing_key = std::move(*r.reply_to);  // through the default exchange
                    r.reply_properties.correlation_id = std::move(r.correlation_id);
                    (void)b.ch->publish(p, r.reply_properties, r.reply_body);
                }
                b.ch->send(basic_ack{r.tag, false});
                break;
            case rpc_request::outcome::drop: b.ch->send(basic_ack{r.tag, false}); break;
            case rpc_request::outcome::requeue: b.ch->send(basic_reject{r.tag, true}); break;
            }
        }
        if (b.closed && b.running == 0 && b.ch) close_channel(std::exchange(b.ch, nullptr));
    }

    void shut() {
        if (stopped_) return;
        stopped_ = true;
        broker_->detach(this);
        for (auto& b : bindings_) {
            b->closed = true;
            if (!b->ch || !b->ch->is_open()) continue;
            // no-wait: a cancel-ok would arrive while channel.close waits for close-ok.
            b->ch->send(basic_cancel{std::string(consumer_tag), true});
            if (b->running == 0) close_channel(std::exchange(b->ch, nullptr));
        }
        bindings_.clear();  // requests still running hold theirs
    }

    void close_channel(std::shared_ptr<channel> ch) {
        ch->on_close = nullptr;
        ch->on_content = nullptr;
        ch->on_method = nullptr;
        boost::asio::co_spawn(broker_->strand(), [ch]() -> boost::asio::awaitable<void> { co_await ch->close(); },
                              boost::asio::detached);
    }

    static constexpr const char* consumer_tag = "courier-rpc";

    std::shared_ptr<broker_impl> broker_;
    rpc_server_settings settings_;
    boost::asio::any_io_executor ex_;
    std::shared_ptr<connection> conn_;
    std::vector<std::shared_ptr<rpc_binding>> bindings_;
    bool attached_ = false, stopped_ = false;
};

}  // namespace courier::amqp::detail

#endif
