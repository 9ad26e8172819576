// bulkhead: at most `max_concurrent` calls in flight; beyond that a call
// waits in a bounded queue or is rejected with error::bulkhead_full. Keeps
// one slow dependency from tying up every caller.
#ifndef COURIER_POLICY_BULKHEAD_HPP
#define COURIER_POLICY_BULKHEAD_HPP

#include <courier/context.hpp>
#include <courier/detail/forwarding_handler.hpp>
#include <courier/detail/operation.hpp>
#include <courier/error.hpp>
#include <courier/policy/observer.hpp>
#include <courier/detail/layered_service.hpp>
#include <courier/service.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace courier::policy {

struct bulkhead_options {
    std::size_t max_concurrent = 25;
    /// Calls that may wait for a slot; 0 rejects at once when full.
    std::size_t max_queued = 0;
    observer on_event{};
};

namespace detail {
/// Shared by every copy of a bulkhead layer. Thread-safe.
class bulkhead_core {
public:
    explicit bulkhead_core(bulkhead_options o) : opts(std::move(o)) {}

    enum class admit { run, queued, rejected };

    // `start` runs the call; it is kept when the call has to wait.
    admit try_enter(std::function<void()>& start, std::shared_ptr<bool>& ticket) {
        std::lock_guard lock(mutex);
        if (in_flight < opts.max_concurrent) {
            ++in_flight;
            return admit::run;
        }
        if (queue.size() >= opts.max_queued) return admit::rejected;
        ticket = std::make_shared<bool>(false);
        queue.push_back({std::move(start), ticket});
        return admit::queued;
    }

    void leave() {
        std::function<void()> next;
        {
            std::lock_guard lock(mutex);
            while (!queue.empty()) {
                auto w = std::move(queue.front());
                queue.pop_front();
                if (*w.ticket) continue;  // cancelled while waiting
                *w.ticket = true;
                next = std::move(w.start);
                break;
            }
            if (!next) --in_flight;  // the slot passes to `next` otherwise
        }
        if (next) next();
    }

    // A queued call gave up; true when it was still waiting.
    bool withdraw(const std::shared_ptr<bool>& ticket) {
        std::lock_guard lock(mutex);
        if (*ticket) return false;
        *ticket = true;
        return true;
    }

    std::size_t active() const {
        std::lock_guard lock(mutex);
        return in_flight;
    }

    const bulkhead_options opts;

private:
    struct waiter {
        std::function<void()> start;
        std::shared_ptr<bool> ticket;  // true once started or withdrawn
    };
    mutable std::mutex mutex;
    std::size_t in_flight = 0;
    std::deque<waiter> queue;
};
}  // namespace detail

template <service S>
class bulkhead_service;

class bulkhead {
public:
    explicit bulkhead(bulkhead_options opts = {}) : core_(std::make_shared<detail::bulkhead_core>(std::move(opts))) {}

    template <service S>
    bulkhead_service<S> wrap(S svc) const {
        return {std::move(svc), core_};
    }
    /// Calls in flight now.
    std::size_t active() const { return core_->active(); }

private:
    std::shared_ptr<detail::bulkhead_core> core_;
};

template <service S>
class bulkhead_service : public courier::detail::layered_service<bulkhead_service<S>, S> {
    using base = courier::detail::layered_service<bulkhead_service<S>, S>;
    friend base;

public:
    using typename base::executor_type;
    using typename base::request_type;
    using typename base::response_type;

    bulkhead_service(S svc, std::shared_ptr<detail::bulkhead_core> core) : base(std::move(svc)), core_(std::move(core)) {}


    /// Completion: as the inner service; error::bulkhead_full (posted) when
    /// no slot and no queue place is free. Cancellation: a queued call
    /// leaves the queue with operation_aborted; a running one is forwarded.

private:
    template <class Handler>
    void run(Handler&& handler, request_type&& req, context&& ctx) {
        this->call_next(courier::detail::forward_to(std::move(handler),
                                                    [core = core_.get()](auto&& h, error_code ec, auto&& rep) {
                                                        core->leave();
                                                        std::move(h)(ec, std::forward<decltype(rep)>(rep));
                                                    }),
                        std::move(req), std::move(ctx));
    }

    template <class Handler>
    void start(Handler&& handler, request_type&& req, context&& ctx) {
        std::function<void()> later;
        std::shared_ptr<Handler> parked;
        if (core_->opts.max_queued > 0) {
            // Only the queued path pays for a copyable, shared parking spot.
            parked = std::make_shared<Handler>(std::move(handler));
            auto state = std::make_shared<std::pair<request_type, context>>(std::move(req), std::move(ctx));
            later = [this, parked, state] {
                auto ex = boost::asio::get_associated_executor(*parked, this->get_executor());
                boost::asio::post(ex, [this, parked, state] {
                    run(std::move(*parked), std::move(state->first), std::move(state->second));
                });
            };
            std::shared_ptr<bool> ticket;
            switch (core_->try_enter(later, ticket)) {
            case detail::bulkhead_core::admit::run: return run(std::move(*parked), std::move(state->first), std::move(state->second));
            case detail::bulkhead_core::admit::rejected: return reject(std::move(*parked));
            case detail::bulkhead_core::admit::queued: break;
            }
            auto slot = boost::asio::get_associated_cancellation_slot(*parked);
            if (slot.is_connected())
                slot.assign([this, parked, ticket](boost::asio::cancellation_type) {
                    if (!core_->withdraw(ticket)) return;
                    courier::detail::post_completion(std::move(*parked), this->get_executor(),
                                                     error_code(boost::asio::error::operation_aborted), response_type{});
                });
            return;
        }
        std::shared_ptr<bool> unused;
        if (core_->try_enter(later, unused) == detail::bulkhead_core::admit::run)
            return run(std::move(handler), std::move(req), std::move(ctx));
        reject(std::move(handler));
    }

    template <class Handler>
    void reject(Handler&& handler) {
        detail::notify(core_->opts.on_event, {.kind = event_kind::rejected, .policy = "bulkhead", .error = error::bulkhead_full});
        courier::detail::post_completion(std::move(handler), this->get_executor(), error_code(error::bulkhead_full),
                                         response_type{});
    }

    std::shared_ptr<detail::bulkhead_core> core_;
};

}  // namespace courier::policy

#endif
