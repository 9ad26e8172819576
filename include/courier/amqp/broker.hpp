// courier's publish-subscribe broker over RabbitMQ (AMQP 0-9-1): at-least-once
// publishing with publisher confirms, consumers with prefetch and acks,
// redelivery with a delay through retry queues, dead-lettering, and recovery
// from a lost connection. Satisfies courier::broker, so publisher<Msg>,
// subscribe<Msg> and every policy layer work over it.
//
// Addressing (docs/amqp.md):
// - exchange mode (the default): topic = a durable fanout exchange; group =
//   a durable queue bound to it. Every group gets every message; the
//   members of a group compete.
// - queue mode, the seed's amqplib code: topic = a durable queue (published
//   to through the default exchange, as sendToQueue does); the group is
//   ignored and every subscriber of the topic competes for its messages.
//
// Failed messages: a handler that fails (returns an error, throws) has its
// message sent to `<queue><retry_suffix>.<delay ms>`, a queue whose TTL
// dead-letters it back to `<queue>` after the delay (RabbitMQ counts these
// trips in the x-death header: the attempt number). After max_deliveries,
// or at once for a permanent error, it goes to `<queue><dead_letter_suffix>`.
// Each move is confirmed by the broker before the original is acked, so a
// crash in between duplicates the message at worst; it never loses it.
#ifndef COURIER_AMQP_BROKER_HPP
#define COURIER_AMQP_BROKER_HPP

#include <courier/amqp/connection.hpp>
#include <courier/amqp/detail/completion.hpp>
#include <courier/amqp/detail/message_properties.hpp>
#include <courier/broker.hpp>
#include <courier/context.hpp>
#include <courier/delivery.hpp>
#include <courier/detail/erased_consumer.hpp>
#include <courier/detail/message_id.hpp>
#include <courier/error.hpp>
#include <courier/message.hpp>
#include <courier/propagation.hpp>
#include <courier/subscription.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace courier::amqp {

/// How topics and groups map onto exchanges and queues (see the top of
/// this file and docs/amqp.md).
enum class addressing {
    exchange,  ///< topic = fanout exchange, group = queue bound to it
    queue,     ///< topic = queue (the seed's sendToQueue); groups ignored
};

struct broker_options {
    connection_options connection{};
    addressing mode = addressing::exchange;
    /// Exchanges and queues survive a broker restart.
    bool durable = true;
    /// Messages are written to disk by the broker (delivery mode 2).
    bool persistent = true;
    /// A message no queue takes fails with error::unroutable instead of
    /// being dropped silently.
    bool mandatory = true;
    /// Publishes sent and not yet confirmed; async_publish waits beyond it.
    std::size_t max_in_flight = 1024;
    /// Reconnection backoff: doubles from the first to the cap, jittered.
    std::chrono::milliseconds reconnect_delay{100};
    std::chrono::milliseconds max_reconnect_delay{10'000};
    /// Deliveries of a message to failing handlers before it is
    /// dead-lettered (1: no redelivery).
    unsigned max_deliveries = 5;
    /// Delay before the first redelivery; doubles each time up to the cap.
    std::chrono::milliseconds redelivery_delay{1'000};
    std::chrono::milliseconds max_redelivery_delay{60'000};
    std::string retry_suffix = ".retry";
    std::string dead_letter_suffix = ".dlq";
};

struct subscribe_options {
    /// Deliveries the broker sends before they are settled (basic.qos).
    std::uint16_t prefetch = 32;
    /// Called (on the handler's executor) each time the consumer is
    /// established: its queue declared and bound, basic.consume confirmed.
    /// From then on, nothing published to the topic misses this group.
    std::function<void()> on_consuming{};
    /// Called (on the handler's executor) with what keeps messages from the
    /// handler: the consumer could not be established (the broker's reply
    /// code, precondition_failed for a queue that exists with other
    /// arguments; tried again with a growing delay, up to
    /// max_reconnect_delay), or a delivery had a body over
    /// connection.max_body_size (error::body_too_large; the message went to
    /// the dead-letter queue without reaching the handler).
    std::function<void(error_code)> on_error{};
};

/// Header set on a message the broker moved to a dead-letter queue without
/// giving it to the handler, naming why ("body_too_large").
inline constexpr std::string_view dead_letter_reason_header = "courier-dead-letter-reason";

namespace detail {

class broker_impl;

struct delivery_state;

// Runs the consumer's handler on `d`; settled() gets its outcome, once.
void run_handler(std::shared_ptr<delivery_state> d);

struct consumer;

// One delivery on its way through a handler.
struct delivery_state {
    std::shared_ptr<consumer> owner;
    std::uint64_t generation = 0;  // the consumer's channel it came on
    std::uint64_t tag = 0;
    unsigned attempt = 1;
    message msg;
    context ctx;
    basic_properties properties;  // as received: a redelivery re-sends them
    std::shared_ptr<delivery_state> self;  // held while the handler runs
};

struct consumer final : courier::detail::subscription_state, std::enable_shared_from_this<consumer> {
    std::weak_ptr<broker_impl> owner;
    std::string topic, group, queue;
    std::string retry_prefix;  // queue + retry_suffix: its retry queues' names start so
    subscribe_options opts;
    std::unique_ptr<courier::detail::erased_consumer> handler;
    boost::asio::any_io_executor ex;  // where the handler runs
    std::shared_ptr<channel> ch;
    std::uint64_t generation = 0;
    unsigned failures = 0;    // attempts to establish it that failed in a row
    std::size_t running = 0;  // deliveries in handlers, not settled yet
    bool cancelled = false;
    bool starting = false;

    void cancel() noexcept override;
};

// A publish not sent yet: waiting for the connection, the window, an
// unblock, or its exchange or queue to be declared.
struct publish_job {
    /// What must exist before the publish: nothing, the exchange, the queue
    /// named by the routing key, or that queue as a retry queue of
    /// `retry_target` with a TTL of `retry_ms`.
    enum class needs : unsigned char { nothing, exchange, queue, retry_queue };
    std::string exchange, routing_key;
    needs declare = needs::nothing;
    std::string retry_target;
    long long retry_ms = 0;
    std::uint64_t ticket = 0;  // names it for a cancellation; 0: not cancellable
    std::optional<std::chrono::steady_clock::time_point> deadline;
    basic_properties properties;
    std::string body;
    completion<error_code, publish_ack> done;
};

struct pending_confirm {
    std::uint64_t tag = 0;
    std::uint64_t ticket = 0;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    bool settled = false;
    error_code returned;      // basic.return's reply, when it came back
    completion<error_code, publish_ack> done;
};

/// The extension point for what lives on the broker's connection besides
/// its own channels (amqp::rpc_client, amqp::rpc_server). An attachment is
/// told, on the broker's strand, of every connection the broker
/// establishes (its own channels and consumers started) and of every loss,
/// so it can open channels of its own and re-establish them after a
/// reconnection as the broker does its consumers. The broker holds it
/// weakly: an attachment detaches itself, or simply goes away.
struct attachment {
    virtual ~attachment() = default;
    /// A (re)established connection, open; called once per connection.
    virtual void connected(const std::shared_ptr<connection>& c) = 0;
    /// The connection was lost (its error; its channels have already
    /// seen on_close), or the broker was closed (error::broker_closed,
    /// after which nothing more is called). May come without `connected`
    /// (a connection that failed while the broker set it up).
    virtual void disconnected(error_code ec) = 0;
};

class broker_impl : public std::enable_shared_from_this<broker_impl> {
public:
    broker_impl(boost::asio::any_io_executor ex, broker_options opts)
        : ex_(std::move(ex)), strand_(boost::asio::make_strand(ex_)), opts_(std::move(opts)), backoff_timer_(strand_),
          lost_timer_(strand_) {}

    const boost::asio::any_io_executor& executor() const noexcept { return ex_; }
    const auto& strand() const noexcept { return strand_; }
    const broker_options& options() const noexcept { return opts_; }

    // -- all below run on the strand

    void start() {
        if (running_ || closed_) return;
        running_ = true;
        boost::asio::co_spawn(strand_, run(shared_from_this()), boost::asio::detached);
    }

    void wait_connected(completion<error_code> done) {
        if (closed_) return done(courier::error::broker_closed);
        if (ready_) return done(error_code{});
        start();
        connect_waiters_.push_back(std::move(done));
    }

    void publish(std::string topic, message msg, context ctx, completion<error_code, publish_ack> done,
                 std::uint64_t ticket = 0) {
        publish_job job;
        job.ticket = ticket;
        if (ctx.deadline) {
            if (*ctx.deadline <= std::chrono::steady_clock::now()) return done(courier::error::timeout, publish_ack{});
            job.deadline = ctx.deadline;
            watch_deadline(*ctx.deadline);
        }
        if (opts_.mode == addressing::queue) {
            job.routing_key = std::move(topic);
            job.declare = publish_job::needs::queue;
        } else {
            job.exchange = std::move(topic);
            job.declare = publish_job::needs::exchange;
        }
        if (msg.id.empty()) ids_.assign(msg.id);
        // An event outlives its publisher's deadline: it is not sent.
        courier::inject(ctx, msg, {.deadline = false});
        to_properties(msg, job.properties);
        if (opts_.persistent) job.properties.delivery_mode = delivery_mode_persistent;
        job.body = std::move(msg.payload);
        job.done = std::move(done);
        // Connects on first use: a broker that only publishes never called
        // subscribe() or async_connect(), which would have started it.
        start();
        submit(std::move(job));
    }

    void subscribe(std::shared_ptr<consumer> c) {
        c->queue = opts_.mode == addressing::queue ? c->topic : c->group;
        c->retry_prefix = c->queue + opts_.retry_suffix;
        consumers_.push_back(c);
        start();
        if (ready_) boost::asio::co_spawn(strand_, start_consumer(shared_from_this(), c), boost::asio::detached);
    }

    void unsubscribe(const std::shared_ptr<consumer>& c) {
        if (c->cancelled) return;
        c->cancelled = true;
        std::erase(consumers_, c);
        if (c->ch && c->ch->is_open()) {
            // Stop new deliveries now; the channel closes once the handlers
            // running settled theirs (closing it would requeue them).
            c->ch->send(basic_cancel{std::to_string(c->generation), false});
            if (c->running == 0) close_channel(c->ch);
        }
    }

    void close(completion<error_code> done) {
        if (closed_) return done(error_code{});
        closed_ = true;
        for (auto& j : std::exchange(waiting_, {})) j.done(courier::error::broker_closed, publish_ack{});
        for (auto* map : {&exchanges_, &queues_})
            for (auto& [name, t] : *map)
                for (auto& j : std::exchange(t.waiting, {})) j.done(courier::error::broker_closed, publish_ack{});
        for (auto& w : std::exchange(connect_waiters_, {})) w(courier::error::broker_closed);
        for (auto& c : std::vector(consumers_)) unsubscribe(c);
        close_attachments();
        backoff_timer_.cancel();
        boost::asio::co_spawn(strand_, shutdown(shared_from_this(), std::move(done)), boost::asio::detached);
    }

    /// Abrupt: the broker object is being destroyed.
    void abort() {
        closed_ = true;
        backoff_timer_.cancel();
        lost_timer_.cancel();
        for (auto& j : std::exchange(waiting_, {})) j.done(courier::error::broker_closed, publish_ack{});
        for (auto& w : std::exchange(connect_waiters_, {})) w(courier::error::broker_closed);
        close_attachments();
        if (conn_) conn_->abort(courier::error::broker_closed);
    }

    bool ready() const noexcept { return ready_; }

    /// Each cancellable publish gets a ticket; any thread.
    std::uint64_t new_ticket() noexcept { return tickets_.fetch_add(1, std::memory_order_relaxed) + 1; }

    /// A publish's cancellation was emitted. Not sent yet: it is dropped and
    /// completes with operation_aborted. Sent: only a terminal cancellation
    /// completes it (the broker may still take the message).
    void cancel_publish(std::uint64_t ticket, boost::asio::cancellation_type type) {
        if (take_waiting(ticket, boost::asio::error::operation_aborted)) return;
        if ((type & boost::asio::cancellation_type::terminal) == boost::asio::cancellation_type::none) return;
        for (auto& p : pending_)
            if (p.ticket == ticket && !p.settled) {
                p.settled = true;
                p.done(boost::asio::error::operation_aborted, publish_ack{});
                break;
            }
        pop_settled();
        drain();
    }

    /// A handler settled delivery `d` (any thread).
    void settled(std::shared_ptr<delivery_state> d, settlement s) {
        boost::asio::dispatch(strand_, [self = shared_from_this(), d = std::move(d), s] { self->settle(d, s); });
    }

    /// Registers `a` (see attachment) and connects if not yet started; `a`
    /// hears `connected` at once when a connection is ready, and
    /// `disconnected(broker_closed)` at once when the broker is closed.
    void attach(const std::shared_ptr<attachment>& a) {
        if (closed_) return a->disconnected(courier::error::broker_closed);
        attachments_.push_back(a);
        start();
        if (ready_) a->connected(conn_);
    }
    void detach(const attachment* a) {
        std::erase_if(attachments_, [a](const auto& w) {
            auto p = w.lock();
            return !p || p.get() == a;
        });
    }

private:
    struct topology_entry {
        bool ready = false;
        bool declaring = false;
        std::vector<publish_job> waiting;
    };

    static boost::asio::awaitable<void> run(std::shared_ptr<broker_impl> self) { co_await self->run_loop(); }

    boost::asio::awaitable<void> run_loop() {
        auto delay = opts_.reconnect_delay;
        while (!closed_) {
            conn_ = std::make_shared<connection>(strand_, opts_.connection);
            error_code ec;
            try {
                co_await conn_->open();
                co_await on_open();
            } catch (const boost::system::system_error& e) {
                ec = e.code();
            }
            if (ec || !conn_->is_open()) {
                if (!ec) ec = conn_->error();
                conn_->abort(ec);
                for (auto& w : std::exchange(connect_waiters_, {})) w(ec);
                if (closed_) break;
                backoff_timer_.expires_after(jitter(delay));
                delay = std::min(delay * 2, opts_.max_reconnect_delay);
                error_code ignored;
                co_await backoff_timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
                continue;
            }
            delay = opts_.reconnect_delay;
            // Wait for the connection to fail: on_lost cancels this wait.
            lost_timer_.expires_at(std::chrono::steady_clock::time_point::max());
            error_code ignored;
            co_await lost_timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
        }
        running_ = false;
    }

    boost::asio::awaitable<void> on_open() {
        auto c = conn_;
        c->on_blocked = [this](bool) {
            release_large_waiting();
            drain();
        };
        // The hooks a connection and its channels keep hold the broker and
        // the connection weakly: held strongly, they would make cycles
        // (connection -> hook -> connection, broker -> connection -> channel
        // -> hook -> broker) that nothing breaks when the io_context is
        // stopped and destroyed with the broker not closed.
        c->on_lost = [weak_self = weak_from_this(), weak_c = std::weak_ptr(c)](error_code ec) {
            auto self = weak_self.lock();
            auto conn = weak_c.lock();
            if (self && conn) self->lost(conn, ec);
        };
        pub_ch_ = co_await c->open_channel();
        const confirm_select select{};
        (void)co_await pub_ch_->call<confirm_select_ok>(select);
        next_tag_ = 1;
        pub_ch_->on_method = [this](method& m) { on_confirm(m); };
        pub_ch_->on_content = [this](content_assembler& a) { on_return(a); };
        pub_ch_->on_close = [weak_c = std::weak_ptr(c)](error_code) {
            // The publish channel only closes on a broker error in a publish
            // (an exchange deleted since we declared it): the connection is
            // started over, which declares the topology again. Every publish
            // unconfirmed on the channel fails with a retryable error, not
            // the reply code: the broker refused one publish, and dropped the
            // ones after it only because the channel was gone; sent again
            // (the one it refused included) they go through.
            if (auto c = weak_c.lock(); c && c->is_open()) c->abort(error::channel_closed);
        };
        topo_ch_ = co_await c->open_channel();
        exchanges_.clear();
        queues_.clear();
        ready_ = true;
        for (auto& w : std::exchange(connect_waiters_, {})) w(error_code{});
        for (auto& cons : consumers_)
            boost::asio::co_spawn(strand_, start_consumer(shared_from_this(), cons), boost::asio::detached);
        drain();
        each_attachment([&c](attachment& a) { a.connected(c); });
    }

    template <class F>
    void each_attachment(F f) {
        // A copy: an attachment may attach or detach from inside its hook.
        std::vector<std::shared_ptr<attachment>> live;
        for (auto& w : attachments_)
            if (auto a = w.lock()) live.push_back(std::move(a));
        for (auto& a : live) f(*a);
    }
    void close_attachments() {
        each_attachment([](attachment& a) { a.disconnected(courier::error::broker_closed); });
        attachments_.clear();
    }

    void lost(const std::shared_ptr<connection>& c, error_code ec) {
        if (c != conn_) return;
        ready_ = false;
        // Sent and unconfirmed: the broker may or may not have them. They
        // fail with the connection's error when it is retryable (a broken
        // socket, a silent broker, a forced close), so a publisher with a
        // retry policy sends them again; when the connection died of
        // something that says nothing about them (a protocol error, a
        // channel the broker closed), with the retryable
        // channel_closed: a new connection may well take them. Closing the
        // broker fails them with broker_closed, which is not retried.
        const auto unconfirmed =
            closed_ || ec == courier::condition::retryable ? ec : error_code(error::channel_closed);
        for (auto& p : std::exchange(pending_, {}))
            if (!p.settled) p.done(unconfirmed, publish_ack{});
        drain_timer_.cancel();  // async_close waits for confirms no more
        // Their channels are gone: the broker delivers them again.
        forward_.reset();
        large_waiting_.clear();
        // Waiting for a declaration: back in the queue, declared again.
        for (auto* map : {&exchanges_, &queues_})
            for (auto& [name, t] : *map)
                requeue_front(t.waiting);
        exchanges_.clear();
        queues_.clear();
        for (auto& cons : consumers_) {
            cons->ch = nullptr;
            cons->starting = false;
        }
        pub_ch_ = topo_ch_ = nullptr;
        if (!closed_) each_attachment([ec](attachment& a) { a.disconnected(ec); });
        lost_timer_.cancel();
    }

    // -- publishing

    // Completes the unsent publish `ticket` with `ec`; false when none waits.
    bool take_waiting(std::uint64_t ticket, error_code ec) {
        auto take = [&](auto& jobs) {
            auto it = std::find_if(jobs.begin(), jobs.end(), [&](const publish_job& j) { return j.ticket == ticket; });
            if (it == jobs.end()) return false;
            auto job = std::move(*it);
            jobs.erase(it);
            job.done(ec, publish_ack{});
            return true;
        };
        if (take(waiting_)) return true;
        for (auto* map : {&exchanges_, &queues_})
            for (auto& [name, t] : *map)
                if (take(t.waiting)) return true;
        return false;
    }

    // One timer for every publish deadline: armed for the earliest, and
    // re-armed only when an earlier one comes or it fires.
    void watch_deadline(std::chrono::steady_clock::time_point tp) {
        if (deadline_armed_ && *deadline_armed_ <= tp) return;
        deadline_armed_ = tp;
        deadline_timer_.expires_at(tp);
        deadline_timer_.async_wait([self = shared_from_this(), tp](error_code ec) {
            if (ec || self->deadline_armed_ != tp) return;
            self->deadline_armed_.reset();
            self->on_deadline();
        });
    }

    void on_deadline() {
        const auto now = std::chrono::steady_clock::now();
        std::optional<std::chrono::steady_clock::time_point> next;
        auto later = [&](const std::optional<std::chrono::steady_clock::time_point>& d) {
            if (d && (!next || *d < *next)) next = d;
        };
        auto expire = [&](auto& jobs) {
            for (auto it = jobs.begin(); it != jobs.end();) {
                if (it->deadline && *it->deadline <= now) {
                    auto job = std::move(*it);
                    it = jobs.erase(it);
                    job.done(courier::error::timeout, publish_ack{});
                } else {
                    later(it->deadline);
                    ++it;
                }
            }
        };
        expire(waiting_);
        for (auto* map : {&exchanges_, &queues_})
            for (auto& [name, t] : *map) expire(t.waiting);
        for (auto& p : pending_) {
            if (p.settled) continue;
            if (p.deadline && *p.deadline <= now) {
                p.settled = true;
                p.done(courier::error::timeout, publish_ack{});
            } else {
                later(p.deadline);
            }
        }
        pop_settled();
        if (next) watch_deadline(*next);
        drain();
    }

    void submit(publish_job&& job) {
        if (closed_) return job.done(courier::error::broker_closed, publish_ack{});
        if (!can_send() || !waiting_.empty()) {
            waiting_.push_back(std::move(job));
            return;
        }
        send_declared(std::move(job));
    }

    void send_declared(publish_job&& job) {
        using needs = publish_job::needs;
        if (job.declare != needs::nothing) {
            const bool exchange = job.declare == needs::exchange;
            auto& map = exchange ? exchanges_ : queues_;
            const auto& name = exchange ? job.exchange : job.routing_key;
            auto it = map.find(name);
            if (it == map.end()) it = map.emplace(name, topology_entry{}).first;
            auto& t = it->second;
            if (!t.ready) {
                if (!t.declaring) {
                    t.declaring = true;
                    boost::asio::co_spawn(strand_,
                                          declare(shared_from_this(), conn_, job.declare, name, job.retry_target,
                                                  job.retry_ms),
                                          boost::asio::detached);
                }
                t.waiting.push_back(std::move(job));
                return;
            }
        }
        send(std::move(job));
    }

    void send(publish_job&& job) {
        basic_publish p;
        p.exchange = std::move(job.exchange);
        p.routing_key = std::move(job.routing_key);
        p.mandatory = opts_.mandatory;
        tag_for_return(job.properties);
        if (auto ec = pub_ch_->publish(p, job.properties, job.body)) return job.done(ec, publish_ack{});
        expect_confirm(std::move(job.done), job.ticket, job.deadline);
    }

    // A mandatory publish carries the tag its confirm will have, which its
    // basic.return (if any) brings back: see publish_seq_header.
    void tag_for_return(basic_properties& props) const {
        if (!opts_.mandatory) return;
        (props.headers ? *props.headers : props.headers.emplace())
            .set(publish_seq_header, field_value{static_cast<std::int64_t>(next_tag_)});
    }

    // A publish went out on the publish channel: its confirm is the next tag.
    void expect_confirm(completion<error_code, publish_ack> done, std::uint64_t ticket = 0,
                        std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt) {
        pending_confirm pc;
        pc.tag = next_tag_++;
        pc.ticket = ticket;
        pc.deadline = deadline;
        pc.done = std::move(done);
        pending_.push_back(std::move(pc));
    }

    // Whether a publish may go out now: connected, not blocked by the
    // broker, the publish channel not carrying a forwarded delivery, and
    // room in the window.
    bool can_send() const noexcept {
        return ready_ && !conn_->blocked() && !forward_ && pending_.size() < opts_.max_in_flight;
    }

    // Jobs that were ahead of everything in waiting_ go back to its front,
    // in their order.
    void requeue_front(std::vector<publish_job>& jobs) {
        waiting_.insert(waiting_.begin(), std::make_move_iterator(jobs.begin()), std::make_move_iterator(jobs.end()));
        jobs.clear();
    }

    void pop_settled() {
        while (!pending_.empty() && pending_.front().settled) pending_.pop_front();
        // async_close waits for the last confirm.
        if (closed_ && pending_.empty()) drain_timer_.cancel();
    }

    void drain() {
        while (can_send() && !waiting_.empty()) {
            auto job = std::move(waiting_.front());
            waiting_.pop_front();
            send_declared(std::move(job));
        }
    }

    void on_confirm(method& m) {
        std::uint64_t tag = 0;
        bool multiple = false;
        error_code ec;
        if (auto* a = std::get_if<basic_ack>(&m)) {
            tag = a->delivery_tag;
            multiple = a->multiple;
        } else if (auto* n = std::get_if<basic_nack>(&m)) {
            tag = n->delivery_tag;
            multiple = n->multiple;
            ec = error::nacked;
        } else {
            return;
        }
        for (auto& p : pending_) {
            if (p.tag > tag) break;
            if (p.settled || (!multiple && p.tag != tag)) continue;
            p.settled = true;
            const auto result = ec ? ec : p.returned;
            p.done(result, publish_ack{result ? 0u : 1u, p.tag});
        }
        pop_settled();
        drain();
    }

    void on_return(content_assembler& a) {
        auto* r = std::get_if<basic_return>(&a.current_method());
        if (!r) return;
        if (r->reply_code == static_cast<std::uint16_t>(reply_code::no_route) && r->exchange.empty()) {
            // Sent to a queue we declared, which routed nowhere: the queue
            // was deleted since. The next publish to it declares it again.
            auto it = queues_.find(r->routing_key);
            if (it != queues_.end() && it->second.ready) queues_.erase(it);
        }
        const auto& headers = a.properties().headers;
        const auto* seq = headers ? headers->find(publish_seq_header) : nullptr;
        const auto* tag = seq ? seq->get_if<std::int64_t>() : nullptr;
        if (!tag) return;
        // RabbitMQ returns a message before it confirms it.
        for (auto& p : pending_)
            if (p.tag == static_cast<std::uint64_t>(*tag)) {
                if (!p.settled && !p.returned)
                    p.returned = r->reply_code == static_cast<std::uint16_t>(reply_code::no_route)
                                     ? error_code(courier::error::unroutable)
                                     : make_reply_error(r->reply_code);
                break;
            }
    }

    // Declares an exchange or queue once per connection, then sends the
    // publishes that waited for it (or fails them with the broker's reply).
    static boost::asio::awaitable<void> declare(std::shared_ptr<broker_impl> self, std::shared_ptr<connection> c,
                                                publish_job::needs kind, std::string name, std::string retry_target,
                                                long long retry_ms) {
        error_code ec;
        try {
            co_await self->declare_one(kind, name, retry_target, retry_ms);
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
        if (c != self->conn_) co_return;  // the connection went away meanwhile; lost() requeued the jobs
        auto& map = kind == publish_job::needs::exchange ? self->exchanges_ : self->queues_;
        auto it = map.find(name);
        if (it == map.end()) co_return;
        auto jobs = std::move(it->second.waiting);
        it->second.declaring = false;
        if (ec) {
            map.erase(it);
            for (auto& j : jobs) j.done(ec, publish_ack{});
        } else {
            it->second.ready = true;
            // Ahead of what waits for the window, the broker or a forwarded
            // delivery: sent first, as drain() allows.
            self->requeue_front(jobs);
        }
        self->release_large_waiting();
        self->drain();
    }

    boost::asio::awaitable<void> declare_one(publish_job::needs kind, const std::string& name,
                                             const std::string& retry_target, long long retry_ms) {
        if (!topo_ch_ || !topo_ch_->is_open()) topo_ch_ = co_await conn_->open_channel();
        auto ch = topo_ch_;
        if (kind == publish_job::needs::exchange) {
            exchange_declare d;
            d.exchange = name;
            d.type = "fanout";
            d.durable = opts_.durable;
            (void)co_await ch->call<exchange_declare_ok>(d);
        } else {
            auto d = queue_declaration(name);
            if (kind == publish_job::needs::retry_queue) {
                d.arguments.set("x-message-ttl", static_cast<std::int64_t>(retry_ms));
                d.arguments.set("x-dead-letter-exchange", std::string());
                d.arguments.set("x-dead-letter-routing-key", retry_target);
            }
            (void)co_await ch->call<queue_declare_ok>(d);
        }
    }

    queue_declare queue_declaration(std::string name) const {
        queue_declare d;
        d.queue = std::move(name);
        d.durable = opts_.durable;
        return d;
    }

    std::string dead_letter_queue(const consumer& c) const { return c.queue + opts_.dead_letter_suffix; }

    std::string retry_queue(const std::string& queue, long long ms) const {
        return queue + opts_.retry_suffix + "." + std::to_string(ms);
    }

    // -- consuming

    static boost::asio::awaitable<void> start_consumer(std::shared_ptr<broker_impl> self, std::shared_ptr<consumer> c) {
        if (c->starting || c->cancelled || !self->ready_) co_return;
        c->starting = true;
        auto conn = self->conn_;
        std::shared_ptr<channel> ch;
        bool hooked = false;  // ch is the consumer's, with its on_close
        try {
            ch = co_await conn->open_channel();
            if (c->cancelled) {
                self->close_channel(ch);
                co_return;
            }
            const auto& o = self->opts_;
            if (o.mode == addressing::exchange) {
                exchange_declare x;
                x.exchange = c->topic;
                x.type = "fanout";
                x.durable = o.durable;
                (void)co_await ch->call<exchange_declare_ok>(x);
            }
            // Named: GCC 12 destroys temporaries of a co_await expression twice.
            const auto queue = self->queue_declaration(c->queue);
            (void)co_await ch->call<queue_declare_ok>(queue);
            const auto dead_letters = self->queue_declaration(self->dead_letter_queue(*c));
            (void)co_await ch->call<queue_declare_ok>(dead_letters);
            if (o.mode == addressing::exchange) {
                queue_bind b;
                b.queue = c->queue;
                b.exchange = c->topic;
                (void)co_await ch->call<queue_bind_ok>(b);
            }
            const basic_qos qos{0, c->opts.prefetch, false};
            (void)co_await ch->call<basic_qos_ok>(qos);
            ++c->generation;
            basic_consume consume;
            consume.queue = c->queue;
            consume.consumer_tag = std::to_string(c->generation);
            // Weakly held, as the connection's hooks (see on_open).
            std::weak_ptr<consumer> weak = c;
            std::weak_ptr<broker_impl> weak_self = self;
            std::weak_ptr<connection> weak_conn = conn;
            const auto generation = c->generation;
            ch->on_content = [weak_self, weak, generation](content_assembler& a) {
                auto me = weak_self.lock();
                if (auto cons = weak.lock(); me && cons) me->on_delivery(cons, generation, a);
            };
            ch->on_large_part = [weak_self, from = ch.get()](content_assembler& a) {
                if (auto me = weak_self.lock()) me->on_large_part(from, a);
            };
            ch->on_method = [weak_self, weak](method& m) {
                // The broker cancelled the consumer (its queue was deleted):
                // start over, which declares the queue again.
                if (!std::holds_alternative<basic_cancel>(m)) return;
                auto me = weak_self.lock();
                if (auto cons = weak.lock(); me && cons) me->restart_consumer(cons);
            };
            ch->on_close = [weak_self, weak, weak_conn](error_code ec) {
                auto me = weak_self.lock();
                auto cons = weak.lock();
                auto conn = weak_conn.lock();
                if (!me || !cons || !conn || cons->cancelled || conn != me->conn_ || !conn->is_open()) return;
                // The broker closed the channel (an error in what we sent).
                me->report(*cons, ec);
                me->restart_consumer(cons);
            };
            c->ch = ch;
            hooked = true;
            (void)co_await ch->call<basic_consume_ok>(consume);
            c->failures = 0;
            if (c->opts.on_consuming) boost::asio::post(c->ex, c->opts.on_consuming);
        } catch (const boost::system::system_error& e) {
            c->starting = false;
            // A channel error (a queue declared with other arguments...):
            // said, and tried again after a delay that grows, for it may
            // last until someone changes the topology; unless the channel's
            // on_close did both already (basic.consume refused). A lost
            // connection: the next connection starts the consumer.
            const bool handled = hooked && c->ch != ch;
            if (!handled && conn == self->conn_ && conn->is_open() && !c->cancelled) {
                ++c->failures;
                self->report(*c, e.code());
                self->restart_consumer(c);
            }
            co_return;
        }
        c->starting = false;
    }

    void report(const consumer& c, error_code ec) {
        if (c.opts.on_error) boost::asio::post(c.ex, [hook = c.opts.on_error, ec] { hook(ec); });
    }

    // `base` doubled n times, at most `cap`.
    static std::chrono::milliseconds doubled(std::chrono::milliseconds base, unsigned n, std::chrono::milliseconds cap) {
        for (unsigned i = 0; i < n && base < cap; ++i) base *= 2;
        return std::min(base, cap);
    }

    void restart_consumer(const std::shared_ptr<consumer>& c) {
        if (c->cancelled) return;
        if (c->ch) close_channel(std::exchange(c->ch, nullptr));
        c->starting = false;
        const auto delay = doubled(opts_.reconnect_delay, c->failures, opts_.max_reconnect_delay);
        auto t = std::make_shared<boost::asio::steady_timer>(strand_, jitter(delay));
        t->async_wait([self = shared_from_this(), c, t](error_code ec) {
            if (!ec && self->ready_)
                boost::asio::co_spawn(self->strand_, start_consumer(self, c), boost::asio::detached);
        });
    }

    void close_channel(std::shared_ptr<channel> ch) {
        if (!ch) return;
        // Not on_large_part: a delivery it carries may be half forwarded,
        // and the rest of its body still has to follow on the publish
        // channel (the hook holds nothing strongly).
        ch->on_close = nullptr;
        ch->on_content = nullptr;
        ch->on_method = nullptr;
        boost::asio::co_spawn(strand_, [ch]() -> boost::asio::awaitable<void> { co_await ch->close(); },
                              boost::asio::detached);
    }

    void on_delivery(const std::shared_ptr<consumer>& c, std::uint64_t generation, content_assembler& a) {
        auto* d = std::get_if<basic_deliver>(&a.current_method());
        if (!d || c->cancelled) return;
        auto state = std::make_shared<delivery_state>();
        state->owner = c;
        state->generation = generation;
        state->tag = d->delivery_tag;
        state->properties = std::move(a.properties());
        if (a.too_large()) return forward_large(std::move(state), a.body_size());
        state->msg.payload = a.take_body();
        from_properties(state->properties, state->msg);
        state->ctx = courier::extract(state->msg);
        state->attempt = 1 + retries_of(state->properties, c->retry_prefix);
        // A redelivery by the broker (the connection broke before the ack)
        // is an attempt too.
        if (d->redelivered) ++state->attempt;
        state->ctx.attempt = state->attempt;
        ++c->running;
        boost::asio::post(c->ex, [state = std::move(state)]() mutable { run_handler(std::move(state)); });
    }

    // Whether the channel that carried `d` is still open: only there can it
    // be acked or requeued (otherwise the broker delivers it again anyway).
    static bool live(const delivery_state& d) noexcept {
        const auto& c = *d.owner;
        return c.ch && c.ch->is_open() && c.generation == d.generation;
    }
    static void requeue(const delivery_state& d) {
        if (live(d)) d.owner->ch->send(basic_nack{d.tag, false, true});
    }
    // An unsubscribed consumer's channel closes once nothing it carried is
    // left unsettled (closing it earlier would requeue those).
    void close_if_done(consumer& c) {
        if (c.cancelled && c.running == 0) close_channel(std::exchange(c.ch, nullptr));
    }

    void settle(const std::shared_ptr<delivery_state>& d, settlement s) {
        auto& c = *d->owner;
        --c.running;
        if (!live(*d)) return;  // the channel that carried it is gone: the broker redelivers it
        if (s == settlement::ack) {
            c.ch->send(basic_ack{d->tag, false});
        } else {
            // Move the message to the retry or dead-letter queue; ack the
            // original only once the broker confirmed the copy.
            publish_job job;
            const bool retry = s == settlement::nack && d->attempt < opts_.max_deliveries;
            if (retry) {
                const auto ms = doubled(opts_.redelivery_delay, d->attempt - 1, opts_.max_redelivery_delay).count();
                job.routing_key = retry_queue(c.queue, ms);
                job.declare = publish_job::needs::retry_queue;
                job.retry_target = c.queue;
                job.retry_ms = ms;
            } else {
                job.routing_key = dead_letter_queue(c);
                job.declare = publish_job::needs::queue;
            }
            job.properties = d->properties;
            job.body = std::move(d->msg.payload);
            job.done = completion<error_code, publish_ack>(
                [self = shared_from_this(), d](error_code ec, publish_ack) { self->after_move(d, ec); }, strand_);
            submit(std::move(job));
            return;  // the channel closes (if cancelled) after the move
        }
        close_if_done(c);
    }

    // A delivery over max_body_size: never buffered, it goes to the
    // dead-letter queue as it arrives, each body frame copied onto the
    // publish channel, and is acked once the broker confirmed the copy. The
    // publish channel carries nothing else meanwhile (a content's frames
    // are contiguous on a channel), so a second large delivery arriving
    // then waits unsettled and is requeued once the first is through.
    void forward_large(std::shared_ptr<delivery_state> d, std::uint64_t size) {
        auto& c = *d->owner;
        // Its channel or the connection is going: the broker delivers it again.
        if (!live(*d) || !ready_ || !pub_ch_ || !pub_ch_->is_open()) return;
        const auto dlq = dead_letter_queue(c);
        auto it = queues_.find(dlq);
        if (forward_ || conn_->blocked() || it == queues_.end() || !it->second.ready) {
            // Waits unsettled, to be requeued: for the forward under way, the
            // broker's unblock, or the dead-letter queue's declaration (once
            // per connection, and again when it was deleted).
            if (it == queues_.end()) declare_queue(dlq);
            return large_waiting_.push_back(std::move(d));
        }
        report(c, error::body_too_large);
        basic_publish p;
        p.routing_key = dlq;
        p.mandatory = opts_.mandatory;
        auto props = d->properties;
        (props.headers ? *props.headers : props.headers.emplace())
            .set(dead_letter_reason_header, std::string("body_too_large"));
        tag_for_return(props);
        // Without the reason when it makes the header frame too large: the
        // properties as they came fit one (a return then finds no publish,
        // and the confirm alone settles the move).
        if (pub_ch_->begin_publish(p, props, size) && pub_ch_->begin_publish(p, d->properties, size)) return;
        forward_ = forwarding{c.ch.get(), std::move(d)};
    }

    void on_large_part(const channel* from, content_assembler& a) {
        if (!forward_ || forward_->from != from) return;  // not forwarded: skipped
        (void)pub_ch_->publish_part(a.body());
        if (a.in_content()) return;
        auto d = std::move(forward_->d);
        forward_.reset();
        expect_confirm(completion<error_code, publish_ack>(
                                          [self = shared_from_this(), d](error_code ec, publish_ack) { self->after_move(d, ec); },
                                          strand_));
        release_large_waiting();
        drain();
    }

    // The large deliveries that waited go back to their queue, to come again
    // and be forwarded, once nothing stops that: no forward under way, the
    // broker not blocking, their dead-letter queue no longer being declared
    // (a redelivery of a large body is expensive: not one too many).
    void release_large_waiting() {
        if (forward_ || !ready_ || conn_->blocked()) return;
        std::erase_if(large_waiting_, [this](const std::shared_ptr<delivery_state>& w) {
            auto it = queues_.find(dead_letter_queue(*w->owner));
            if (it != queues_.end() && it->second.declaring) return false;
            requeue(*w);
            return true;
        });
    }

    // Declares a queue ahead of any publish to it (see declare()).
    void declare_queue(const std::string& name) {
        auto& t = queues_[name];
        if (t.ready || t.declaring) return;
        t.declaring = true;
        boost::asio::co_spawn(strand_, declare(shared_from_this(), conn_, publish_job::needs::queue, name, {}, 0),
                              boost::asio::detached);
    }

    // A move that failed requeues the original after the redelivery delay:
    // at once, a destination that keeps refusing would make a hot loop.
    void requeue_later(std::shared_ptr<delivery_state> d) {
        auto t = std::make_shared<boost::asio::steady_timer>(strand_, opts_.redelivery_delay);
        t->async_wait([self = shared_from_this(), d = std::move(d), t](error_code) {
            requeue(*d);
            self->close_if_done(*d->owner);
        });
    }

    void after_move(const std::shared_ptr<delivery_state>& d, error_code ec) {
        if (live(*d)) {
            // Not moved: requeued, so it is not lost.
            if (ec) return requeue_later(d);
            d->owner->ch->send(basic_ack{d->tag, false});
        }
        close_if_done(*d->owner);
    }

    static boost::asio::awaitable<void> shutdown(std::shared_ptr<broker_impl> self, completion<error_code> done) {
        // Unconfirmed publishes get up to 5 s to be confirmed, then we say
        // goodbye. The wait ends early when the last confirm comes or the
        // connection goes: pop_settled() and lost() cancel the timer.
        if (!self->pending_.empty() && self->conn_ && self->conn_->is_open()) {
            self->drain_timer_.expires_after(std::chrono::seconds(5));
            error_code ignored;
            co_await self->drain_timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
        }
        if (self->conn_) {
            co_await self->conn_->close();
            // A connection still being opened (close() only closes an open
            // one) is ended too: otherwise its handshake would complete
            // after the broker was closed and the connection would stay.
            self->conn_->abort(courier::error::broker_closed);
        }
        self->lost_timer_.cancel();
        done(error_code{});
    }

    std::chrono::milliseconds jitter(std::chrono::milliseconds d) {
        // Full jitter on the upper half: between d/2 and d.
        const auto half = d.count() / 2;
        return std::chrono::milliseconds(half + static_cast<long long>(courier::detail::random_u64() % static_cast<std::uint64_t>(half + 1)));
    }

    boost::asio::any_io_executor ex_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    broker_options opts_;
    boost::asio::steady_timer backoff_timer_, lost_timer_;
    std::shared_ptr<connection> conn_;
    std::shared_ptr<channel> pub_ch_, topo_ch_;
    bool running_ = false, ready_ = false, closed_ = false;
    std::uint64_t next_tag_ = 1;
    std::deque<pending_confirm> pending_;
    std::deque<publish_job> waiting_;
    std::unordered_map<std::string, topology_entry> exchanges_, queues_;  // declared on this connection
    std::atomic<std::uint64_t> tickets_{0};
    boost::asio::steady_timer deadline_timer_{strand_};
    boost::asio::steady_timer drain_timer_{strand_};  // async_close waiting for confirms
    std::optional<std::chrono::steady_clock::time_point> deadline_armed_;
    std::vector<completion<error_code>> connect_waiters_;
    std::vector<std::shared_ptr<consumer>> consumers_;
    std::vector<std::weak_ptr<attachment>> attachments_;
    courier::detail::id_source ids_;
    // The large delivery being forwarded (forward_large), and those that
    // came meanwhile.
    struct forwarding {
        const channel* from = nullptr;
        std::shared_ptr<delivery_state> d;
    };
    std::optional<forwarding> forward_;
    std::vector<std::shared_ptr<delivery_state>> large_waiting_;
};

inline void run_handler(std::shared_ptr<delivery_state> d) {
    auto& s = *d;
    s.self = std::move(d);
    auto done = [](void* arg, settlement outcome) {
        auto d = std::move(static_cast<delivery_state*>(arg)->self);
        if (auto b = d->owner->owner.lock()) b->settled(std::move(d), outcome);
    };
    // Never settled (its execution context went away first): freed; the
    // broker delivers it again.
    auto drop = [](void* arg) noexcept { static_cast<delivery_state*>(arg)->self.reset(); };
    s.owner->handler->run(s.msg, s.ctx, s.owner->ex, done, &s, drop);
}

inline void consumer::cancel() noexcept {
    if (auto b = owner.lock()) {
        auto self = shared_from_this();
        boost::asio::dispatch(b->strand(), [b, self] { b->unsubscribe(self); });
    }
}

}  // namespace detail

/// A RabbitMQ broker (see the top of this file). Thread-safe: every
/// operation may be called from any thread. Connects on first use (or
/// async_connect) and reconnects by itself until async_close.
class broker {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit broker(executor_type ex, broker_options opts = {})
        : impl_(std::make_shared<detail::broker_impl>(std::move(ex), std::move(opts))) {}
    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;
    /// Stops at once: publishes not yet confirmed fail with broker_closed
    /// (prefer async_close, which waits for their confirms).
    ~broker() {
        boost::asio::dispatch(impl_->strand(), [impl = impl_] { impl->abort(); });
    }

    executor_type get_executor() const noexcept { return impl_->executor(); }
    const broker_options& options() const noexcept { return impl_->options(); }

    /// Completes once connected (at once when already), or with the error
    /// of the first attempt that failed; reconnection goes on regardless.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_connect(CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code)>(
            [impl = impl_](auto handler) {
                detail::completion<error_code> done(std::move(handler), impl->executor());
                boost::asio::post(impl->strand(), [impl, done = std::move(done)]() mutable {
                    impl->wait_connected(std::move(done));
                });
            },
            token);
    }

    /// Publishes `msg` to `topic`; completes when the broker confirmed it
    /// (publisher confirms): `publish_ack{1, delivery tag}`. Errors:
    /// courier::error::unroutable (mandatory, and no queue took it),
    /// amqp::error::nacked (the broker refused it), the connection's error
    /// when it broke before the confirm (retryable: the message may or may
    /// not have arrived), a reply code when the exchange or queue could not
    /// be declared, courier::error::broker_closed. Waits, without failing, while the
    /// broker is unreachable, blocked, or max_in_flight publishes are
    /// unconfirmed. `ctx.deadline` bounds the whole wait, confirm included
    /// (error::timeout; the deadline is not sent: an event outlives it).
    /// Cancellation: any type drops a publish not sent yet
    /// (operation_aborted); once sent, only terminal cancellation completes
    /// it, and the broker may still take the message. Emit it where the
    /// handler's executor runs.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_publish(std::string_view topic, message msg, context ctx, CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, publish_ack)>(
            [impl = impl_](auto handler, std::string topic, message msg, context ctx) {
                std::uint64_t ticket = 0;
                auto slot = boost::asio::get_associated_cancellation_slot(handler);
                if (slot.is_connected()) {
                    ticket = impl->new_ticket();
                    slot.assign([weak = std::weak_ptr<detail::broker_impl>(impl), ticket](boost::asio::cancellation_type t) {
                        if (auto i = weak.lock())
                            boost::asio::post(i->strand(), [i, ticket, t] { i->cancel_publish(ticket, t); });
                    });
                }
                detail::completion<error_code, publish_ack> done(std::move(handler), impl->executor());
                boost::asio::post(impl->strand(), [impl, topic = std::move(topic), msg = std::move(msg),
                                                   ctx = std::move(ctx), done = std::move(done), ticket]() mutable {
                    impl->publish(std::move(topic), std::move(msg), std::move(ctx), std::move(done), ticket);
                });
            },
            token, std::string(topic), std::move(msg), std::move(ctx));
    }
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_publish(std::string_view topic, message msg, CompletionToken&& token = {}) {
        return async_publish(topic, std::move(msg), context{}, std::forward<CompletionToken>(token));
    }

    /// Subscribes `handler` to `topic` as a member of `group` (exchange
    /// mode; queue mode ignores the group). Handler forms as for every
    /// courier broker: `R(const message&, context&)` or a coroutine; normal
    /// return acks, an error or exception redelivers (after the delay) or
    /// dead-letters. `context::attempt` counts the deliveries (> 1: a
    /// redelivery). Handlers run on `ex` (default: the broker's executor),
    /// at most `prefetch` at a time.
    template <class Handler>
        requires courier::detail::consumer_handler<Handler, message>
    subscription subscribe(std::string_view topic, std::string_view group, Handler handler,
                           subscribe_options opts = {}, executor_type ex = {}) {
        auto c = std::make_shared<detail::consumer>();
        c->owner = impl_;
        c->topic = std::string(topic);
        c->group = std::string(group);
        c->opts = opts;
        c->handler = courier::detail::erase_consumer(std::move(handler));
        c->ex = ex ? ex : impl_->executor();
        boost::asio::dispatch(impl_->strand(), [impl = impl_, c] { impl->subscribe(c); });
        return subscription(c);
    }

    /// Stops: new publishes fail with broker_closed, consumers are
    /// cancelled, unconfirmed publishes get up to 5 s to be confirmed, then
    /// the connection closes (connection.close).
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_close(CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code)>(
            [impl = impl_](auto handler) {
                detail::completion<error_code> done(std::move(handler), impl->executor());
                boost::asio::post(impl->strand(), [impl, done = std::move(done)]() mutable { impl->close(std::move(done)); });
            },
            token);
    }

    /// The shared state, for what attaches to the broker's connection
    /// (detail::attachment: amqp::rpc_client, amqp::rpc_server).
    const std::shared_ptr<detail::broker_impl>& impl() const noexcept { return impl_; }

private:
    std::shared_ptr<detail::broker_impl> impl_;
};

}  // namespace courier::amqp

#endif
