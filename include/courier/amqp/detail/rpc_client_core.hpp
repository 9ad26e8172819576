// The untyped heart of amqp::rpc_client, living on the broker's connection
// (an attachment): one channel consuming RabbitMQ's direct reply-to pseudo-
// queue, on which the requests are published too (direct reply-to requires
// it), and the calls in flight, keyed by the correlation id each request
// carries and each reply copies. Everything here runs on the broker's
// strand, except the three entry points marked "any thread".
#ifndef COURIER_AMQP_DETAIL_RPC_CLIENT_CORE_HPP
#define COURIER_AMQP_DETAIL_RPC_CLIENT_CORE_HPP

#include <courier/amqp/broker.hpp>
#include <courier/amqp/connection.hpp>
#include <courier/amqp/detail/message_properties.hpp>
#include <courier/amqp/detail/rpc_call.hpp>
#include <courier/amqp/rpc_protocol.hpp>
#include <courier/context.hpp>
#include <courier/detail/deadline_queue.hpp>
#include <courier/error.hpp>
#include <courier/message.hpp>
#include <courier/propagation.hpp>
#include <courier/timing.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace courier::amqp::detail {

class rpc_client_core final : public attachment, public std::enable_shared_from_this<rpc_client_core> {
public:
    using deadline_queue = courier::detail::deadline_queue<steady_timing>;

    rpc_client_core(std::shared_ptr<broker_impl> b, std::string queue)
        : broker_(std::move(b)),
          queue_(std::move(queue)),
          deadlines_(&boost::asio::use_service<deadline_queue>(
              boost::asio::query(broker_->executor(), boost::asio::execution::context))),
          retry_timer_(broker_->strand()) {}

    const boost::asio::any_io_executor& executor() const noexcept { return broker_->executor(); }
    const std::string& queue() const noexcept { return queue_; }

    /// Any thread: registers with the broker (which connects if it has not).
    void attach() {
        boost::asio::dispatch(broker_->strand(), [self = shared_from_this()] { self->broker_->attach(self); });
    }

    /// Any thread: hands `c` to the strand. `c` holds a reference for this
    /// (add_ref before), and is in the deadline queue with another when
    /// `c->queued`; its cancellation slot is connected already.
    void start(rpc_call* c) {
        boost::asio::post(broker_->strand(), [c] {
            c->core->submit(c);
            c->release();
        });
    }

    /// Any thread (the caller's, from its cancellation slot): the caller
    /// gives up.
    void cancel(rpc_call* c) {
        c->add_ref();
        boost::asio::post(broker_->strand(), [c] {
            c->core->finish(c, boost::asio::error::operation_aborted);
            c->release();
        });
    }

    /// Queues `c` (c->at set) for its deadline; the queue holds a reference.
    void add_deadline(rpc_call* c) {
        c->fire = &on_deadline;
        c->queued = true;
        c->add_ref();
        deadlines_->add(c, broker_->executor());
    }

    /// Any thread: the last rpc_client sharing this core went away. Calls
    /// still waiting fail with operation_aborted; the channel closes.
    void stop() {
        boost::asio::dispatch(broker_->strand(), [self = shared_from_this()] { self->shut(); });
    }

    // -- attachment, on the strand

    void connected(const std::shared_ptr<connection>& c) override {
        conn_ = c;
        ensure_channel();
    }

    void disconnected(error_code ec) override {
        conn_ = nullptr;
        retry_timer_.cancel();
        if (ec == courier::error::broker_closed) {
            closed_ = true;
            fail_all(ec, true);
        }
        // Otherwise the calls sent have failed already (the channel's
        // on_close came first); those waiting wait for the next connection.
    }

private:
    // The deadline queue's timer thread: the queue's reference goes with
    // the post to the strand.
    static void on_deadline(courier::detail::deadline_entry<context::clock::time_point>* e) {
        auto* c = static_cast<rpc_call*>(e);
        boost::asio::post(c->core->broker_->strand(), [c] {
            c->queued = false;
            c->core->finish(c, courier::error::timeout);
            c->release();
        });
    }

    void submit(rpc_call* c) {
        if (c->state != rpc_call::phase::created) return;  // cancelled or expired before it got here
        if (closed_) return finish(c, courier::error::broker_closed);
        if (stopped_) return finish(c, boost::asio::error::operation_aborted);
        c->id = next_id_++;
        calls_.emplace(c->id, c);
        if (ch_) return send(c);
        // Not connected, or the reply channel is being opened: wait, up to
        // the call's deadline, for the broker to (re)connect.
        c->state = rpc_call::phase::waiting;
        waiting_.push_back(c->id);
    }

    void send(rpc_call* c) {
        const auto now = context::clock::now();
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*c->ctx.remaining(now)).count();
        if (left <= 0) return finish(c, courier::error::timeout);
        message msg = std::move(c->request);
        courier::inject(c->ctx, msg, {}, now);  // headers, and the deadline as courier-timeout-ms
        if (!msg.correlation_id.empty())
            msg.headers.set(rpc_protocol::correlation_header, std::exchange(msg.correlation_id, {}));
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, c->id).ptr;
        msg.correlation_id.assign(digits, end);
        basic_properties props;
        to_properties(msg, props);
        props.reply_to = std::string(rpc_protocol::direct_reply_to);
        // A request still queued at its deadline expires there: nobody
        // waits for its answer any more. RabbitMQ refuses (closing the
        // channel) a per-message TTL beyond 2^32 - 1 ms, about 49 days.
        props.expiration = std::to_string(std::min<long long>(left, max_expiration_ms));
        basic_publish p;
        p.routing_key = queue_;  // through the default exchange: the queue of that name
        p.mandatory = true;      // no such queue: basic.return, error::unknown_endpoint
        if (auto ec = ch_->publish(p, props, msg.payload)) return finish(c, ec);
        c->state = rpc_call::phase::sent;
    }

    /// Decides `c` (once; later calls do nothing) and posts its completion.
    void finish(rpc_call* c, error_code ec, message reply = {}) {
        if (c->state == rpc_call::phase::done) return;
        c->state = rpc_call::phase::done;
        if (c->id) calls_.erase(c->id);
        // Taken back from the deadline queue before it fired: its
        // reference is ours to drop. Otherwise the firing drops it.
        if (c->queued && deadlines_->remove(c)) {
            c->queued = false;
            c->release();
        }
        c->ec = ec;
        c->reply = std::move(reply);
        c->complete();
    }

    /// Fails the calls sent (and with `waiting`, those waiting too).
    void fail_all(error_code ec, bool waiting) {
        std::vector<rpc_call*> failed;
        for (auto& [id, c] : calls_)
            if (waiting || c->state == rpc_call::phase::sent) failed.push_back(c);
        for (auto* c : failed) finish(c, ec);
        if (waiting) waiting_.clear();
    }

    /// Opens the reply channel on the current connection unless it is
    /// open or being opened.
    void ensure_channel() {
        if (stopped_ || opening_ || ch_ || !conn_ || !conn_->is_open()) return;
        opening_ = true;
        boost::asio::co_spawn(broker_->strand(), open(shared_from_this(), conn_), boost::asio::detached);
    }

    static boost::asio::awaitable<void> open(std::shared_ptr<rpc_client_core> self, std::shared_ptr<connection> conn) {
        std::shared_ptr<channel> ch;
        try {
            ch = co_await conn->open_channel();
            std::weak_ptr<rpc_client_core> weak = self;
            ch->on_content = [weak](content_assembler& a) {
                if (auto s = weak.lock()) s->on_content(a);
            };
            ch->on_close = [weak, raw = ch.get()](error_code ec) {
                if (auto s = weak.lock()) s->channel_lost(raw, ec);
            };
            // Direct reply-to: consume the pseudo-queue without acks before
            // publishing on this channel with reply_to naming it.
            basic_consume consume;
            consume.queue = std::string(rpc_protocol::direct_reply_to);
            consume.no_ack = true;
            (void)co_await ch->call<basic_consume_ok>(consume);
        } catch (const boost::system::system_error&) {
            self->opening_ = false;
            if (ch) ch->on_close = nullptr;
            // A channel error on a live connection: try again shortly. A
            // lost connection: its successor, if there is one already.
            if (conn == self->conn_) self->reopen_later();
            else self->ensure_channel();
            co_return;
        }
        self->opening_ = false;
        if (self->stopped_ || conn != self->conn_) {
            self->close_channel(std::move(ch));
            self->ensure_channel();
            co_return;
        }
        self->ch_ = std::move(ch);
        self->send_waiting();
    }

    void send_waiting() {
        while (ch_ && !waiting_.empty()) {
            const auto id = waiting_.front();
            waiting_.pop_front();
            auto it = calls_.find(id);
            if (it != calls_.end() && it->second->state == rpc_call::phase::waiting) send(it->second);
        }
    }

    void reopen_later() {
        retry_timer_.expires_after(broker_->options().reconnect_delay);
        retry_timer_.async_wait([weak = weak_from_this()](error_code ec) {
            if (auto self = weak.lock(); self && !ec) self->ensure_channel();
        });
    }

    void channel_lost(const channel* ch, error_code ec) {
        if (ch != ch_.get()) return;
        ch_ = nullptr;
        // Sent on the lost channel: their replies can never arrive (the
        // reply-to address named that channel). The error is the
        // connection's, retryable; the request may have been handled.
        fail_all(ec, false);
        if (conn_ && conn_->is_open()) reopen_later();
    }

    void on_content(content_assembler& a) {
        const auto& props = a.properties();
        rpc_call* c = find(props.correlation_id);
        if (!c) return;  // a late reply (the caller gave up), or not ours
        if (auto* r = std::get_if<basic_return>(&a.current_method())) {
            const auto ec = r->reply_code == static_cast<std::uint16_t>(reply_code::no_route)
                                ? error_code(courier::error::unknown_endpoint)
                                : make_reply_error(r->reply_code);
            return finish(c, ec ? ec : error_code(courier::error::unknown_endpoint));
        }
        if (!std::holds_alternative<basic_deliver>(a.current_method())) return;
        // Over max_body_size: its body frames are skipped as they come.
        if (a.too_large()) return finish(c, error::body_too_large);
        message reply;
        from_properties(props, reply);
        reply.payload = a.take_body();
        error_code ec;
        if (const auto* name = reply.headers.find(rpc_protocol::error_header)) {
            const auto e = rpc_protocol::parse_error_name(*name);
            ec = e ? *e : courier::error::internal;
        }
        finish(c, ec, std::move(reply));
    }

    rpc_call* find(const std::optional<std::string>& correlation_id) const {
        if (!correlation_id) return nullptr;
        std::uint64_t id = 0;
        const auto* first = correlation_id->data();
        const auto* last = first + correlation_id->size();
        const auto [end, err] = std::from_chars(first, last, id);
        if (err != std::errc{} || end != last) return nullptr;
        auto it = calls_.find(id);
        if (it == calls_.end() || it->second->state != rpc_call::phase::sent) return nullptr;
        return it->second;
    }

    void shut() {
        if (stopped_) return;
        stopped_ = true;
        broker_->detach(this);
        retry_timer_.cancel();
        fail_all(boost::asio::error::operation_aborted, true);
        if (ch_) close_channel(std::exchange(ch_, nullptr));
    }

    void close_channel(std::shared_ptr<channel> ch) {
        ch->on_close = nullptr;
        ch->on_content = nullptr;
        boost::asio::co_spawn(broker_->strand(), [ch]() -> boost::asio::awaitable<void> { co_await ch->close(); },
                              boost::asio::detached);
    }

    static constexpr long long max_expiration_ms = 4'294'967'295;

    std::shared_ptr<broker_impl> broker_;
    std::string queue_;
    deadline_queue* deadlines_;
    boost::asio::steady_timer retry_timer_;
    std::shared_ptr<connection> conn_;
    std::shared_ptr<channel> ch_;  // consuming direct reply-to, when ready
    bool opening_ = false, stopped_ = false, closed_ = false;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, rpc_call*> calls_;  // waiting and sent
    std::deque<std::uint64_t> waiting_;                   // in arrival order; stale ids skipped
};

}  // namespace courier::amqp::detail

#endif
