// The in-process publish-subscribe broker: groups, competing consumers,
// ack/nack, redelivery with backoff, dead-lettering, bounded queues with
// backpressure, and a shutdown that drains in-flight handlers. It is the
// embedded default and the test double for the RabbitMQ and Kafka backends.
#ifndef COURIER_INPROC_BROKER_HPP
#define COURIER_INPROC_BROKER_HPP

#include <courier/broker.hpp>
#include <courier/context.hpp>
#include <courier/delivery.hpp>
#include <courier/detail/blocking.hpp>
#include <courier/detail/erased_consumer.hpp>
#include <courier/detail/invoke_consumer.hpp>
#include <courier/detail/message_id.hpp>
#include <courier/detail/operation.hpp>
#include <courier/error.hpp>
#include <courier/inproc/detail/completion_batch.hpp>
#include <courier/inproc/detail/message_pool.hpp>
#include <courier/inproc/detail/ring.hpp>
#include <courier/message.hpp>
#include <courier/propagation.hpp>
#include <courier/subscription.hpp>
#include <courier/system_error.hpp>
#include <courier/detail/work_guard.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace courier::inproc {

struct broker_options {
    /// Messages a group may hold (waiting, in flight and awaiting
    /// redelivery). A publish that would exceed it waits for room.
    std::size_t queue_capacity = 10'000;
    /// Deliveries of one message before it is dead-lettered (1 = no retry).
    unsigned max_deliveries = 5;
    /// Delay before the first redelivery; doubles each time up to the cap.
    std::chrono::milliseconds redelivery_delay{100};
    std::chrono::milliseconds max_redelivery_delay{10'000};
    /// Dead letters of topic T, group G go to topic T + suffix, group G
    /// (created on demand), so nothing is lost even if nobody listens yet.
    std::string dead_letter_suffix = ".dlq";
    /// Messages a consumer drains per scheduling turn before yielding its
    /// executor to other work.
    std::size_t batch = 64;
};

struct subscribe_options {
    /// Messages handed to this consumer before it settled them; 1 keeps
    /// strict order. Coroutine handlers run up to `prefetch` at once.
    std::size_t prefetch = 1;
};

namespace detail {

// Stands in for "no associated executor" in a compile-time test.
struct no_executor {};

struct entry {
    std::shared_ptr<const message> msg;
    unsigned deliveries = 0;
};

/// The time a broker stamps on a message: the kernel's coarse clock, which
/// costs no hardware clock read. It lags by at most a few milliseconds;
/// timestamps on the wire (AMQP's) are whole seconds anyway.
inline std::chrono::system_clock::time_point coarse_now() noexcept {
#ifdef CLOCK_REALTIME_COARSE
    timespec ts;
    if (::clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0)
        return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
#endif
    return std::chrono::system_clock::now();
}

struct group_state;

struct consumer_state : std::enable_shared_from_this<consumer_state> {
    group_state* group = nullptr;
    boost::asio::any_io_executor ex;
    std::unique_ptr<courier::detail::erased_consumer> handler;
    bool async = false;  // handler->is_async(), asked once
    std::size_t prefetch = 1;
    std::size_t in_flight = 0;    // assigned and not yet settled
    ring<entry> assigned;         // assigned, handler not started yet
    bool scheduled = false;       // a drain job is queued on `ex`
    bool active = true;
};

struct receive_waiter {
    virtual ~receive_waiter() = default;
    virtual void deliver(error_code ec, entry e) = 0;  // under the broker lock
};

struct publish_waiter {
    const void* id;  // the waiter's own state: unique while it waits
    std::shared_ptr<const message> msg;
    std::function<void(error_code, publish_ack)> complete;  // called under no lock
};

struct topic_state;

struct group_state {
    std::string topic, name;
    topic_state* owner = nullptr;  // stable: unordered_map never moves its elements
    ring<entry> ready;
    std::size_t in_flight = 0;
    std::multimap<std::chrono::steady_clock::time_point, entry> delayed;
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::vector<std::shared_ptr<consumer_state>> consumers;
    std::size_t next_consumer = 0;
    std::deque<std::shared_ptr<receive_waiter>> receivers;

    std::size_t held() const noexcept { return ready.size() + in_flight + delayed.size(); }
};

struct topic_state {
    std::vector<std::unique_ptr<group_state>> groups;
    std::deque<publish_waiter> waiters;  // FIFO keeps publish order under backpressure
};

}  // namespace detail

/// An in-memory broker. Thread-safe: publish, subscribe and settle from any
/// thread of any io_context. Handlers run on the executor given at
/// subscribe (default: the broker's). Messages live in memory only.
class broker {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit broker(executor_type ex, broker_options opts = {})
        : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}
    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;
    ~broker() { impl_->close(); }

    executor_type get_executor() const { return impl_->ex; }
    const broker_options& options() const noexcept { return impl_->opts; }

    /// Creates group `group` of `topic` if needed, so messages published
    /// before anyone subscribes are kept for it. Idempotent.
    void declare(std::string_view topic, std::string_view group) {
        std::lock_guard lock(impl_->mutex);
        impl_->group_for(topic, group);
    }

    /// Publishes `msg` to every group of `topic`.
    /// Completion: `void(error_code, publish_ack)`, once the message is
    /// queued in every group (ack.routed says how many; 0 when the topic
    /// has none). Waits while a group is full (backpressure), bounded by
    /// `ctx.deadline` (then error::timeout). Errors: error::broker_closed.
    /// The context's trace and correlation id travel in the message.
    /// Cancellation: terminal/partial/total while waiting for room.
    /// Thread safety: any thread; publishes to one topic keep their order.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_publish(std::string_view topic, message msg, context ctx, CompletionToken&& token = {}) {
        return initiate_publish(topic, std::move(msg), std::forward<CompletionToken>(token), std::move(ctx));
    }
    template <class CompletionToken = boost::asio::deferred_t>
        requires(!std::same_as<std::remove_cvref_t<CompletionToken>, context>)
    auto async_publish(std::string_view topic, message msg, CompletionToken&& token = {}) {
        return initiate_publish(topic, std::move(msg), std::forward<CompletionToken>(token));
    }
    /// Blocking forms (fail with error::would_deadlock on the broker's thread).
    publish_ack publish(std::string_view topic, message msg, context ctx, error_code& ec) {
        return courier::detail::run_blocking<publish_ack>(impl_->ex, ec, [&](auto h) {
            async_publish(topic, std::move(msg), std::move(ctx), std::move(h));
        });
    }
    publish_ack publish(std::string_view topic, message msg, error_code& ec) {
        return publish(topic, std::move(msg), context{}, ec);
    }
    publish_ack publish(std::string_view topic, message msg, context ctx = {}) {
        error_code ec;
        auto ack = publish(topic, std::move(msg), std::move(ctx), ec);
        if (ec) throw system_error(ec, "publish to '" + std::string(topic) + "'");
        return ack;
    }

    /// Subscribes `handler` to `topic` as a member of `group` (see
    /// detail::consumer_handler for the accepted forms). Returning normally
    /// acks; an error or exception nacks (redelivery after the backoff,
    /// dead-letter after max_deliveries); a condition::permanent error
    /// dead-letters at once. Handlers of one subscription run one at a time
    /// (prefetch 1) on `ex`, in publish order.
    template <class Handler>
        requires courier::detail::consumer_handler<Handler, message>
    subscription subscribe(std::string_view topic, std::string_view group, Handler handler,
                           subscribe_options opts = {}, executor_type ex = {}) {
        auto c = std::make_shared<detail::consumer_state>();
        c->ex = ex ? std::move(ex) : impl_->ex;
        c->handler = courier::detail::erase_consumer(std::move(handler));
        c->async = c->handler->is_async();
        c->prefetch = std::max<std::size_t>(1, opts.prefetch);
        std::lock_guard lock(impl_->mutex);
        if (impl_->closed) throw system_error(error::broker_closed, "subscribe");
        auto* g = impl_->group_for(topic, group);
        c->group = g;
        g->consumers.push_back(c);
        impl_->pump(*g);
        return subscription(std::make_shared<sub_state>(impl_, std::move(c)));
    }

    /// Takes the next message of `group` on `topic` (pull style).
    /// Completion: `void(error_code, delivery)`; the delivery must be
    /// acked or nacked (its destructor nacks). Errors: error::broker_closed.
    /// Cancellation: terminal/partial/total while waiting.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_receive(std::string_view topic, std::string_view group, CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, delivery)>(
            [this, topic = std::string(topic), group = std::string(group)](auto handler) {
                start_receive(topic, group, std::move(handler));
            },
            token);
    }

    /// Stops the broker: publishes and receives fail with
    /// error::broker_closed, no new delivery starts, and the operation
    /// completes once every handler already running has settled its message.
    /// Completion: `void(error_code)`. Queued messages stay in memory.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_shutdown(CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code)>(
            [impl = impl_](auto handler) {
                auto ex = boost::asio::get_associated_executor(handler, impl->ex);
                // Shared so the callback is copyable (std::function); it runs once.
                auto h = std::make_shared<decltype(handler)>(std::move(handler));
                // The wait for running handlers keeps the caller's context running.
                impl->shutdown([h, ex, work = courier::detail::work_guard(ex)] {
                    boost::asio::post(ex, [h, work] { std::move(*h)(error_code{}); });
                });
            },
            token);
    }
    void shutdown(error_code& ec) {
        courier::detail::run_blocking<int>(impl_->ex, ec, [&](auto h) {
            async_shutdown([h = std::move(h)](error_code e) mutable { h(e, 0); });
        });
    }
    void shutdown() {
        error_code ec;
        shutdown(ec);
        throw_if(ec);
    }

    /// Messages held by a group (ready, in flight, awaiting redelivery).
    std::size_t depth(std::string_view topic, std::string_view group) const {
        std::lock_guard lock(impl_->mutex);
        auto* g = impl_->find_group(topic, group);
        return g ? g->held() : 0;
    }

private:
    struct impl;

    // Whether async_initiate starts the operation before it returns: the
    // token is a plain completion handler. Any other token (deferred,
    // use_awaitable...) may start it later, when `topic` may be gone.
    template <class CompletionToken>
    static constexpr bool starts_at_once() {
        using T = std::decay_t<CompletionToken>;
        using result = boost::asio::async_result<T, void(error_code, publish_ack)>;
        if constexpr (!std::is_invocable_v<T&&, error_code, publish_ack>) return false;
        else if constexpr (requires { typename result::return_type; })
            return std::is_void_v<typename result::return_type>;
        else return false;
    }

    // Both forms of async_publish, with and without a context (then none is
    // made); by reference, so the message is moved once, into the broker.
    // The topic is copied only when the operation may start later.
    template <class CompletionToken, class... Context>
    auto initiate_publish(std::string_view topic, message&& msg, CompletionToken&& token, Context&&... ctx) {
        auto initiation = [impl = impl_.get()](auto topic_name) {
            return [impl, topic = std::move(topic_name)](auto&& handler, message&& msg, auto&&... ctx) {
                const context* c = nullptr;
                ((c = &ctx), ...);
                impl->publish(topic, std::move(msg), c, std::forward<decltype(handler)>(handler));
            };
        };
        if constexpr (starts_at_once<CompletionToken>())
            return boost::asio::async_initiate<CompletionToken, void(error_code, publish_ack)>(
                initiation(topic), token, std::move(msg), std::move(ctx)...);
        else
            return boost::asio::async_initiate<CompletionToken, void(error_code, publish_ack)>(
                initiation(std::string(topic)), token, std::move(msg), std::move(ctx)...);
    }

    // One delivery being handled by a push consumer.
    struct job {
        job(std::shared_ptr<impl> o, std::shared_ptr<detail::consumer_state> c, detail::entry en)
            : owner(std::move(o)), consumer(std::move(c)), e(std::move(en)) {}
        std::shared_ptr<impl> owner;
        std::shared_ptr<detail::consumer_state> consumer;
        detail::entry e;
        context ctx;
    };

    // A plain mutex: measured against courier's spinlock it was as fast on
    // one thread and under contention, and faster with several groups
    // (docs/benchmarks.md, section 2, "Under contention"). bench/pubsub_contended.cpp swaps the
    // type to measure it (COURIER_DETAIL_INPROC_BROKER_LOCK); nothing else should.
#ifdef COURIER_DETAIL_INPROC_BROKER_LOCK
    using lock_type = COURIER_DETAIL_INPROC_BROKER_LOCK;
#else
    using lock_type = std::mutex;
#endif

    struct impl : std::enable_shared_from_this<impl> {
        impl(executor_type e, broker_options o)
            : ex(std::move(e)), opts(std::move(o)), pool(new detail::message_pool(opts.queue_capacity)) {}
        ~impl() { pool->close(); }

        executor_type ex;
        broker_options opts;
        // No handler runs under it.
        mutable lock_type mutex;
        std::unordered_map<std::string, detail::topic_state> topics;
        // The topic published to last: a publisher mostly sends to one
        // topic, and a string compare costs less than hashing it.
        const std::string* last_topic_name = nullptr;
        detail::topic_state* last_topic = nullptr;
        bool closed = false;
        std::size_t running = 0;  // handlers started and not settled, all groups
        std::vector<std::function<void()>> on_drained;
        detail::message_pool* pool;  // closed, not deleted, with the broker
        courier::detail::id_source ids;
        detail::completion_batch completions;

        detail::topic_state& topic_for(std::string_view name) {
            if (last_topic && std::string_view(*last_topic_name) == name) return *last_topic;
            return lookup_topic(name);
        }
        [[gnu::noinline]] detail::topic_state& lookup_topic(std::string_view name) {
            auto it = topics.try_emplace(std::string(name)).first;
            last_topic_name = &it->first;
            return *(last_topic = &it->second);
        }

        detail::group_state* find_group(std::string_view topic, std::string_view group) const {
            auto it = topics.find(std::string(topic));
            if (it == topics.end()) return nullptr;
            for (auto& g : it->second.groups)
                if (g->name == group) return g.get();
            return nullptr;
        }

        detail::group_state* group_for(std::string_view topic, std::string_view group) {
            if (auto* g = find_group(topic, group)) return g;
            auto& t = topics[std::string(topic)];
            auto g = std::make_unique<detail::group_state>();
            g->topic = topic;
            g->name = group;
            g->owner = &t;
            t.groups.push_back(std::move(g));
            return t.groups.back().get();
        }

        // --- publishing ---------------------------------------------------

        bool has_room(const detail::topic_state& t) const noexcept {
            for (auto& g : t.groups)
                if (g->held() >= opts.queue_capacity) return false;
            return true;
        }

        std::size_t enqueue(detail::topic_state& t, std::shared_ptr<const message> msg) {
            const std::size_t n = t.groups.size();
            for (std::size_t i = 0; i < n; ++i) {
                auto& g = *t.groups[i];
                // The last group takes the publisher's reference.
                // A group whose queue was not empty has no taker for more:
                // whatever frees a consumer or brings a receiver pumps it.
                const bool idle = g.ready.empty();
                g.ready.push_back({i + 1 == n ? std::move(msg) : msg, 0});
                if (idle) pump(g);
            }
            return n;
        }

        // Called with the lock held. Field by field rather than by message's
        // move constructor: the fields a publisher leaves empty (most of
        // them) cost nothing, and a fresh id is written in place.
        std::shared_ptr<const message> share(message&& msg) {
            static_assert(sizeof(message) == 4 * sizeof(std::string) + sizeof(courier::headers) +
                                                 sizeof(std::chrono::system_clock::time_point),
                          "a new field of message must be moved here too");
            auto holder = std::allocate_shared<fresh_message>(detail::message_allocator<fresh_message>(pool));
            message* m = &holder->value;
            auto take = [](auto& to, auto& from) {
                if (!from.empty()) to = std::move(from);
            };
            take(m->payload, msg.payload);
            take(m->headers, msg.headers);
            if (msg.id.empty()) ids.assign(m->id);
            else m->id = std::move(msg.id);
            take(m->correlation_id, msg.correlation_id);
            take(m->content_type, msg.content_type);
            m->timestamp = msg.timestamp;
            return std::shared_ptr<const message>(std::move(holder), m);
        }

        // allocate_shared value-initializes: a message, an aggregate, would
        // first be zeroed whole (a `rep stos` of 160 bytes, where perf put
        // about half of share()'s samples), then have its members constructed. A constructor
        // of our own default-initializes it instead: the members only.
        struct fresh_message {
            message value;
            fresh_message() {}  // NOLINT: user-provided on purpose
        };

        template <class Handler>
        void publish(std::string_view topic, message&& msg, const context* ctx, Handler&& handler) {
            if (ctx && (ctx->trace.valid() || !ctx->correlation_id.empty() || !ctx->metadata.empty()))
                inject(*ctx, msg, {.deadline = false});
            if (msg.timestamp == std::chrono::system_clock::time_point{}) msg.timestamp = detail::coarse_now();
            std::unique_lock lock(mutex);
            if (closed) {
                lock.unlock();
                return courier::detail::post_completion(std::forward<Handler>(handler), ex,
                                                        error_code(error::broker_closed), publish_ack{});
            }
            auto& t = topic_for(topic);
            if (t.waiters.empty() && has_room(t)) {
                const std::size_t routed = t.groups.empty() ? 0 : enqueue(t, share(std::move(msg)));
                return complete(lock, std::forward<Handler>(handler), publish_ack{routed, 0});
            }
            wait_for_room(t, share(std::move(msg)), ctx ? ctx->deadline : std::nullopt,
                          std::forward<Handler>(handler));
        }

        // Completes a publish that succeeded at once: in the next flush job
        // when the handler runs on the broker's executor, else posted alone.
        template <class Handler>
        void complete(std::unique_lock<lock_type>& lock, Handler&& handler, publish_ack ack) {
            using H = std::decay_t<Handler>;
            // A handler without an executor of its own runs on the broker's:
            // no need to copy and compare executors to know.
            constexpr bool own_executor =
                !std::is_same_v<boost::asio::associated_executor_t<H, detail::no_executor>, detail::no_executor>;
            if constexpr (std::is_same_v<boost::asio::associated_executor_t<H, executor_type>, executor_type>) {
                if (!own_executor || boost::asio::get_associated_executor(handler, ex) == ex) {
                    const bool post = completions.push(std::forward<Handler>(handler), ack.routed);
                    lock.unlock();
                    if (post) post_flush();
                    return;
                }
            }
            lock.unlock();
            courier::detail::post_completion(std::forward<Handler>(handler), ex, error_code{}, ack);
        }

        void post_flush() {
            courier::detail::fast_post(ex, [self = this->shared_from_this()] { self->flush(); });
        }

        void flush() {
            bool more = true;
            try {
                more = completions.run(mutex, std::max<std::size_t>(1, opts.batch));
            } catch (...) {
                post_flush();  // the rest of the batch still completes
                throw;
            }
            if (more) post_flush();
        }

        // The slow path: park the publish until every group has room. The
        // waiter completes once, by room, deadline, cancellation or close.
        template <class Handler>
        void wait_for_room(detail::topic_state& t, std::shared_ptr<const message> msg, std::optional<context::clock::time_point> deadline,
                           Handler handler) {
            struct state {
                std::mutex m;
                std::optional<Handler> handler;
                std::unique_ptr<boost::asio::steady_timer> timer;
                executor_type ex;
                // A parked publish keeps its handler's context running.
                std::optional<courier::detail::work_guard<executor_type>> work;
            };
            auto st = std::make_shared<state>();
            st->ex = boost::asio::get_associated_executor(handler, ex);
            st->work.emplace(st->ex);
            auto slot = boost::asio::get_associated_cancellation_slot(handler);
            st->handler.emplace(std::move(handler));
            auto finish = [st](error_code ec, publish_ack ack) {
                std::optional<Handler> h;
                std::optional<courier::detail::work_guard<executor_type>> work;
                {
                    std::lock_guard l(st->m);
                    if (st->handler) {
                        h.emplace(std::move(*st->handler));
                        st->handler.reset();
                        work.emplace(std::move(*st->work));
                        st->work.reset();
                    }
                }
                if (!h) return;  // completed already
                if (st->timer) st->timer->cancel();
                boost::asio::post(st->ex, [h = std::move(*h), ec, ack, w = std::move(*work)]() mutable {
                    auto s = boost::asio::get_associated_cancellation_slot(h);
                    if (s.is_connected()) s.clear();
                    std::move(h)(ec, ack);
                });
            };
            const void* id = st.get();
            t.waiters.push_back({id, std::move(msg), finish});
            // Holds `st` through `finish`, so `id` cannot be reused by
            // another waiter while this one can still be dropped.
            // Topics are never removed, so `t` lives as long as the broker.
            auto drop = [self = this->shared_from_this(), tp = &t, id, finish](error_code ec) {
                {
                    std::lock_guard lock(self->mutex);
                    auto& w = tp->waiters;
                    auto it = std::find_if(w.begin(), w.end(),
                                           [&](const detail::publish_waiter& x) { return x.id == id; });
                    if (it == w.end()) return;  // already published or failed
                    w.erase(it);
                }
                finish(ec, {});
            };
            if (deadline) {
                st->timer = std::make_unique<boost::asio::steady_timer>(ex, *deadline);
                st->timer->async_wait([drop](error_code ec) {
                    if (!ec) drop(error::timeout);
                });
            }
            if (slot.is_connected())
                slot.assign([drop](boost::asio::cancellation_type) { drop(boost::asio::error::operation_aborted); });
        }

        // Admits parked publishes, oldest first, while there is room.
        void admit_waiters(detail::topic_state& t, std::vector<std::function<void()>>& later) {
            while (!t.waiters.empty() && has_room(t)) {
                auto w = std::move(t.waiters.front());
                t.waiters.pop_front();
                auto routed = enqueue(t, w.msg);
                later.push_back([c = std::move(w.complete), routed] { c(error_code{}, {routed, 0}); });
            }
        }

        // --- delivering ---------------------------------------------------

        // Hands ready messages to waiting receivers and to consumers with
        // spare prefetch, round robin. Called with the lock held.
        void pump(detail::group_state& g) {
            if (closed) return;
            while (!g.ready.empty()) {
                if (!g.receivers.empty()) {
                    hand_to_receiver(g);
                    continue;
                }
                auto* c = pick_consumer(g);
                if (!c) return;
                ++g.in_flight;
                ++c->in_flight;
                c->assigned.push_back(std::move(g.ready.front()));
                g.ready.pop_front();
                schedule(c);
                // A sole member just filled up: nobody else can take more.
                if (g.consumers.size() == 1 && c->in_flight >= c->prefetch && g.receivers.empty()) return;
            }
        }

        // Out of line: pull receivers are rare, and pump runs for every message.
        [[gnu::noinline]] void hand_to_receiver(detail::group_state& g) {
            auto r = std::move(g.receivers.front());
            g.receivers.pop_front();
            auto e = std::move(g.ready.front());
            g.ready.pop_front();
            ++e.deliveries;
            ++g.in_flight;
            r->deliver({}, std::move(e));
        }

        detail::consumer_state* pick_consumer(detail::group_state& g) {
            const auto n = g.consumers.size();
            std::size_t i = g.next_consumer;
            for (std::size_t tried = 0; tried < n; ++tried) {
                if (i >= n) i = 0;
                auto* c = g.consumers[i++].get();
                if (c->active && c->in_flight < c->prefetch) {
                    g.next_consumer = i;
                    return c;
                }
            }
            return nullptr;
        }

        void schedule(detail::consumer_state* c) {
            if (c->scheduled) return;
            c->scheduled = true;
            courier::detail::fast_post(c->ex, [self = this->shared_from_this(), c = c->shared_from_this()] {
                self->drain(c);
            });
        }

        // Runs on the consumer's executor: handles its assigned messages, up
        // to `batch`, then yields by re-posting itself. A function handler
        // is settled right here under the same lock that takes the next
        // message; a coroutine gets a job that settles when it ends.
        void drain(const std::shared_ptr<detail::consumer_state>& c) {
            std::vector<std::function<void()>> later;
            std::unique_lock lock(mutex);
            for (std::size_t n = 0; n < opts.batch; ++n) {
                if (c->assigned.empty()) {
                    c->scheduled = false;
                    return;
                }
                if (closed || !c->active) {  // give unstarted work back to the group
                    return_assigned(*c);
                    c->scheduled = false;
                    pump(*c->group);  // the other members take it
                    return;
                }
                auto e = std::move(c->assigned.front());
                c->assigned.pop_front();
                ++e.deliveries;
                ++running;
                if (c->async) {
                    auto* j = courier::detail::allocate_op<job>(job_allocator(), this->shared_from_this(), c,
                                                                std::move(e));
                    lock.unlock();
                    set_context(j->ctx, j->e);
                    c->handler->run(*j->e.msg, j->ctx, c->ex, &on_settled, j, nullptr);
                    lock.lock();
                    continue;
                }
                lock.unlock();
                context ctx;
                set_context(ctx, e);
                settlement outcome = settlement::ack;
                c->handler->run(*e.msg, ctx, c->ex, &store_settlement, &outcome, nullptr);
                lock.lock();
                --c->in_flight;
                --running;
                settle_locked(*c->group, std::move(e), outcome, later);
                check_drained(later);
                if (!later.empty()) {
                    lock.unlock();
                    for (auto& f : later) f();
                    later.clear();
                    lock.lock();
                }
            }
            lock.unlock();
            courier::detail::fast_post(c->ex, [self = this->shared_from_this(), c] { self->drain(c); });
        }

        // The context the publisher injected; extracting costs nothing when
        // it injected none. Redeliveries count up, as retries do.
        static void set_context(context& ctx, const detail::entry& e) {
            const message& m = *e.msg;
            if (!m.headers.empty() || !m.correlation_id.empty()) extract_into(ctx, m);
            ctx.attempt = e.deliveries;
        }
        [[gnu::noinline]] static void extract_into(context& ctx, const message& m) { ctx = extract(m); }

        static void store_settlement(void* out, settlement s) { *static_cast<settlement*>(out) = s; }

        static courier::detail::pool_allocator<job> job_allocator() noexcept { return {}; }

        static void on_settled(void* arg, settlement s) {
            auto* j = static_cast<job*>(arg);
            auto owner = std::move(j->owner);
            owner->settle_push(*j, s);
            courier::detail::destroy_with(job_allocator(), j);
        }

        void settle_push(job& j, settlement s) {
            std::vector<std::function<void()>> later;
            {
                std::lock_guard lock(mutex);
                --j.consumer->in_flight;
                --running;
                settle_locked(*j.consumer->group, std::move(j.e), s, later);
                check_drained(later);
            }
            for (auto& f : later) f();
        }

        void return_assigned(detail::consumer_state& c) {
            auto& g = *c.group;
            while (!c.assigned.empty()) {
                g.ready.push_front(std::move(c.assigned.back()));
                c.assigned.pop_back();
                --g.in_flight;
                --c.in_flight;
            }
        }

        // Applies a settlement; the lock is held. Completions to run after
        // unlocking go to `later`.
        // An acked entry stays with the caller (and is freed with it).
        void settle_locked(detail::group_state& g, detail::entry&& e, settlement s,
                           std::vector<std::function<void()>>& later) {
            --g.in_flight;
            if (s != settlement::ack) requeue(g, std::move(e), s);
            pump(g);
            if (!g.owner->waiters.empty()) admit_waiters(*g.owner, later);
        }

        // A nack or reject: redelivery after the backoff, or the dead letters.
        [[gnu::noinline]] void requeue(detail::group_state& g, detail::entry&& e, settlement s) {
            if (s == settlement::nack && e.deliveries < opts.max_deliveries) {
                auto delay = opts.redelivery_delay;
                for (unsigned i = 1; i < e.deliveries && delay < opts.max_redelivery_delay; ++i) delay *= 2;
                delay = std::min(delay, opts.max_redelivery_delay);
                if (delay.count() == 0) g.ready.push_back(std::move(e));
                else schedule_redelivery(g, std::chrono::steady_clock::now() + delay, std::move(e));
            } else {
                dead_letter(g, std::move(e));
            }
        }

        void dead_letter(detail::group_state& g, detail::entry e) {
            auto* dlq = group_for(g.topic + opts.dead_letter_suffix, g.name);
            // Deliberately not bounded: refusing a dead letter would lose it.
            auto m = std::make_shared<message>(*e.msg);
            m->headers.set("x-death-count", std::to_string(e.deliveries));
            m->headers.set("x-death-topic", g.topic);
            dlq->ready.push_back({std::move(m), 0});
            pump(*dlq);
        }

        void schedule_redelivery(detail::group_state& g, std::chrono::steady_clock::time_point at,
                                 detail::entry e) {
            const bool earliest = g.delayed.empty() || at < g.delayed.begin()->first;
            g.delayed.emplace(at, std::move(e));
            if (!earliest) return;
            if (!g.timer) g.timer = std::make_unique<boost::asio::steady_timer>(ex);
            g.timer->expires_at(at);
            g.timer->async_wait([w = this->weak_from_this(), gp = &g](error_code ec) {
                if (ec) return;
                if (auto self = w.lock()) self->on_redelivery_timer(*gp);
            });
        }

        void on_redelivery_timer(detail::group_state& g) {
            std::vector<std::function<void()>> later;
            {
                std::lock_guard lock(mutex);
                if (closed) return;
                const auto now = std::chrono::steady_clock::now();
                while (!g.delayed.empty() && g.delayed.begin()->first <= now) {
                    g.ready.push_back(std::move(g.delayed.begin()->second));
                    g.delayed.erase(g.delayed.begin());
                }
                if (!g.delayed.empty()) {
                    g.timer->expires_at(g.delayed.begin()->first);
                    g.timer->async_wait([w = this->weak_from_this(), gp = &g](error_code ec) {
                        if (ec) return;
                        if (auto self = w.lock()) self->on_redelivery_timer(*gp);
                    });
                }
                pump(g);
            }
        }

        // --- shutdown -----------------------------------------------------

        void check_drained(std::vector<std::function<void()>>& later) {
            if (!closed || running != 0) return;
            for (auto& f : on_drained) later.push_back(std::move(f));
            on_drained.clear();
        }

        void shutdown(std::function<void()> done) {
            std::vector<std::function<void()>> later;
            {
                std::lock_guard lock(mutex);
                stop_locked(later);
                on_drained.push_back(std::move(done));
                check_drained(later);
            }
            for (auto& f : later) f();
        }

        void stop_locked(std::vector<std::function<void()>>& later) {
            closed = true;
            for (auto& [name, t] : topics) {
                for (auto& w : t.waiters)
                    later.push_back([c = std::move(w.complete)] { c(error::broker_closed, {}); });
                t.waiters.clear();
                for (auto& g : t.groups) {
                    for (auto& r : g->receivers) r->deliver(error::broker_closed, {});
                    g->receivers.clear();
                    if (g->timer) g->timer->cancel();
                    for (auto& [at, e] : g->delayed) g->ready.push_back(std::move(e));
                    g->delayed.clear();
                }
            }
        }

        void close() {
            std::vector<std::function<void()>> later;
            {
                std::lock_guard lock(mutex);
                stop_locked(later);
                for (auto& [name, t] : topics)
                    for (auto& g : t.groups) {
                        for (auto& c : g->consumers) c->active = false;
                        g->timer.reset();
                    }
            }
            for (auto& f : later) f();
        }
    };

    // A pull delivery: settling goes back to the broker through this sink.
    struct pull_sink final : courier::detail::delivery_sink {
        pull_sink(std::shared_ptr<impl> o, detail::group_state* g, detail::entry e)
            : owner(std::move(o)), group(g), e(std::move(e)) {}
        void settle(std::uint64_t, settlement s) noexcept override {
            std::vector<std::function<void()>> later;
            {
                std::lock_guard lock(owner->mutex);
                owner->settle_locked(*group, std::move(e), s, later);
            }
            for (auto& f : later) f();
        }
        std::shared_ptr<impl> owner;
        detail::group_state* group;
        detail::entry e;
    };

    template <class Handler>
    struct receive_op final : detail::receive_waiter,
                              std::enable_shared_from_this<receive_op<Handler>> {
        receive_op(Handler h, std::shared_ptr<impl> o, detail::group_state* g)
            : handler(std::move(h)), owner(std::move(o)), group(g),
              ex(boost::asio::get_associated_executor(handler, owner->ex)), work(courier::detail::work_guard(ex)) {}
        void deliver(error_code ec, detail::entry e) override {
            if (done) return;
            done = true;
            delivery d;
            if (!ec) {
                context ctx;
                impl::set_context(ctx, e);
                auto msg = e.msg;
                unsigned attempt = e.deliveries;
                d = delivery(std::make_shared<pull_sink>(owner, group, std::move(e)), 0, std::move(msg),
                             std::move(ctx), attempt);
            }
            boost::asio::post(ex, [h = std::move(handler), ec, d = std::move(d), w = std::move(work)]() mutable {
                auto s = boost::asio::get_associated_cancellation_slot(h);
                if (s.is_connected()) s.clear();
                std::move(h)(ec, std::move(d));
            });
        }
        Handler handler;
        std::shared_ptr<impl> owner;
        detail::group_state* group;
        executor_type ex;
        // A pending receive keeps its io_context running, as any Asio
        // operation does.
        courier::detail::work_guard<executor_type> work;
        bool done = false;  // guarded by the broker lock
    };

    template <class Handler>
    void start_receive(std::string_view topic, std::string_view group, Handler handler) {
        std::lock_guard lock(impl_->mutex);
        if (impl_->closed)
            return courier::detail::post_completion(std::move(handler), impl_->ex,
                                                    error_code(error::broker_closed), delivery{});
        auto* g = impl_->group_for(topic, group);
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        auto op = std::make_shared<receive_op<Handler>>(std::move(handler), impl_, g);
        g->receivers.push_back(op);
        if (slot.is_connected()) {
            slot.assign([w = std::weak_ptr<receive_op<Handler>>(op), impl = impl_, g](boost::asio::cancellation_type) {
                std::lock_guard lock(impl->mutex);
                auto op = w.lock();
                if (!op) return;
                auto& r = g->receivers;
                r.erase(std::remove(r.begin(), r.end(), op), r.end());
                op->deliver(boost::asio::error::operation_aborted, {});
            });
        }
        impl_->pump(*g);
    }

    struct sub_state final : courier::detail::subscription_state {
        sub_state(std::shared_ptr<impl> o, std::shared_ptr<detail::consumer_state> c)
            : owner(std::move(o)), consumer(std::move(c)) {}
        void cancel() noexcept override {
            std::lock_guard lock(owner->mutex);
            if (!consumer->active) return;
            consumer->active = false;
            auto& g = *consumer->group;
            if (!consumer->scheduled) owner->return_assigned(*consumer);
            std::erase(g.consumers, consumer);
            g.next_consumer = 0;
            owner->pump(g);
        }
        std::shared_ptr<impl> owner;
        std::shared_ptr<detail::consumer_state> consumer;
    };

    std::shared_ptr<impl> impl_;
};

}  // namespace courier::inproc

#endif
