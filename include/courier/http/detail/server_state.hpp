// What an http::server's listeners and connections share: routes,
// middleware, options, and the registry of live connections that graceful
// shutdown and max_connections work from. Connections hold it by shared_ptr,
// so destroying the server never frees what a closing connection still uses.
#ifndef COURIER_HTTP_DETAIL_SERVER_STATE_HPP
#define COURIER_HTTP_DETAIL_SERVER_STATE_HPP

#include <courier/http/detail/route_handler.hpp>
#include <courier/http/middleware.hpp>
#include <courier/http/router.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace courier::http::detail {

/// A listener or a connection, as the server stops it. Both calls may come
/// from any thread; implementations post to their own strand.
class stoppable {
public:
    virtual ~stoppable() = default;
    /// Graceful: stop taking new requests; finish the one in flight.
    /// Forced: cancel everything and close now.
    virtual void stop(bool force) = 0;
};

/// `Options` is http::server_options (a parameter only so this header does
/// not depend on the public one that includes it).
template <class Options>
class server_state {
public:
    server_state(boost::asio::any_io_executor ex, Options opts)
        : executor(std::move(ex)), options(std::move(opts)), drained_(executor) {
        drained_.expires_at(boost::asio::steady_timer::time_point::max());
    }

    const boost::asio::any_io_executor executor;
    const Options options;
    // Written before the first listen() only, read by connections after:
    // no lock needed (the server enforces the order).
    router<std::unique_ptr<route_handler>> routes;
    std::vector<middleware> chain;

    /// Registers a new connection; false (the caller closes it) when the
    /// server is stopping or has max_connections already.
    bool admit(const std::shared_ptr<stoppable>& c) {
        std::lock_guard lock(mutex_);
        if (stopping_ || connections_.size() >= options.max_connections) return false;
        connections_.emplace(c.get(), c);
        return true;
    }

    /// A connection ended (from its strand).
    void leave(stoppable* c) {
        std::lock_guard lock(mutex_);
        connections_.erase(c);
        if (stopping_ && connections_.empty()) drained_.cancel();
    }

    void add_listener(std::shared_ptr<stoppable> l) {
        std::lock_guard lock(mutex_);
        listeners_.push_back(std::move(l));
    }

    /// Stops accepting and asks every connection to stop. Idempotent; a
    /// forced stop after a graceful one cuts what the graceful one let run.
    void stop_all(bool force) {
        std::vector<std::shared_ptr<stoppable>> targets;
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            if (force) forced_ = true;
            for (auto& l : listeners_) targets.push_back(l);
            listeners_.clear();
            for (auto& [p, w] : connections_)
                if (auto c = w.lock()) targets.push_back(std::move(c));
            if (connections_.empty()) drained_.cancel();
        }
        for (auto& t : targets) t->stop(force);
    }

    std::size_t connection_count() const {
        std::lock_guard lock(mutex_);
        return connections_.size();
    }

    /// Whether some connection had to be cut (grace ran out, or close()).
    bool forced() const {
        std::lock_guard lock(mutex_);
        return forced_;
    }

    /// Calls `handler(error_code)` once the server is stopping and has no
    /// connection left; cancellable through the handler's slot.
    template <class Handler>
    void async_wait_drained(Handler&& handler) {
        std::lock_guard lock(mutex_);
        if (stopping_ && connections_.empty()) {
            boost::asio::post(boost::asio::append(std::forward<Handler>(handler), error_code{}));
            return;
        }
        // Timer calls are serialised by mutex_; the wait completes (aborted)
        // when leave() or stop_all() cancels it.
        drained_.async_wait(std::forward<Handler>(handler));
    }

private:
    mutable std::mutex mutex_;
    bool stopping_ = false;
    bool forced_ = false;
    std::unordered_map<stoppable*, std::weak_ptr<stoppable>> connections_;
    std::vector<std::shared_ptr<stoppable>> listeners_;
    boost::asio::steady_timer drained_;
};

}  // namespace courier::http::detail

#endif
