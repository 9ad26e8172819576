// The HTTP client's keep-alive connections, per origin (scheme, host, port),
// shared by every client given the same pool: reuse of idle connections, a
// maximum per origin with a queue of waiting calls, an idle timeout, a DNS
// cache with a TTL, and the TLS context (certificate verification on).
#ifndef COURIER_HTTP_CONNECTION_POOL_HPP
#define COURIER_HTTP_CONNECTION_POOL_HPP

#include <courier/detail/serial_executor.hpp>
#include <courier/http/detail/connection.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace courier::http {

struct pool_options {
    /// Connections open at once per origin (in use or idle); more calls wait.
    std::size_t max_connections_per_origin = 32;
    /// An idle connection older than this is closed instead of reused
    /// (servers close idle keep-alive connections too: Node after 5 s).
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(4)};
    /// How long resolved addresses are reused.
    std::chrono::milliseconds dns_ttl{std::chrono::seconds(30)};
    /// For https: verify the server's certificate and host name (default on).
    bool verify_peer = true;
    /// Extra CA file (PEM) trusted besides the system's, e.g. a test CA.
    std::string ca_file{};
    /// A client certificate and key (PEM) for mutual TLS; empty: none.
    std::string certificate_file{};
    std::string private_key_file{};
};

/// Shared by the clients it is given to; thread-safe. Always owned by a
/// std::shared_ptr (the clients take one): waits hold it alive.
class connection_pool : public std::enable_shared_from_this<connection_pool> {
public:
    using clock = std::chrono::steady_clock;
    using endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

    explicit connection_pool(boost::asio::any_io_executor ex, pool_options opts = {})
        : ex_(std::move(ex)), serial_(courier::detail::runs_serially(ex_)), opts_(std::move(opts)) {}

    const boost::asio::any_io_executor& get_executor() const noexcept { return ex_; }
    /// Whether the executor runs one handler at a time (asked once: the
    /// answer costs a lock), so a call's steps need no strand of their own.
    bool runs_serially() const noexcept { return serial_; }
    const pool_options& options() const noexcept { return opts_; }

    /// The TLS context for https connections, made on first use: system CAs,
    /// the configured CA file and client certificate, verification as set.
    boost::asio::ssl::context& tls_context() {
        std::lock_guard lock(mutex_);
        if (!tls_) {
            auto ctx = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
            ctx->set_default_verify_paths();
            if (!opts_.ca_file.empty()) ctx->load_verify_file(opts_.ca_file);
            if (!opts_.certificate_file.empty()) ctx->use_certificate_chain_file(opts_.certificate_file);
            if (!opts_.private_key_file.empty())
                ctx->use_private_key_file(opts_.private_key_file, boost::asio::ssl::context::pem);
            ctx->set_verify_mode(opts_.verify_peer ? boost::asio::ssl::verify_peer : boost::asio::ssl::verify_none);
            tls_ = std::move(ctx);
        }
        return *tls_;
    }

    /// What try_acquire() gives: a connection to reuse, or the right to open
    /// one (conn null), or neither (granted false: wait with enqueue()).
    struct lease {
        detail::connection_ptr conn;
        bool granted = false;
    };

    /// A waiting call, run through its executor with the connection to use
    /// (null: open one), or with error::timeout-like `ec` once forgotten.
    using waiter = boost::asio::any_completion_handler<void(boost::system::error_code, detail::connection_ptr)>;

    /// Takes an idle connection to `origin`, or the right to open a new one.
    lease try_acquire(const std::string& origin) {
        std::lock_guard lock(mutex_);
        return take(origins_[origin]);
    }

    /// A number that identifies one wait (never reused, unlike an address).
    std::uint64_t new_ticket() noexcept { return next_ticket_.fetch_add(1, std::memory_order_relaxed); }

    /// Queues `w` until a connection to `origin` is free (at once, posted,
    /// if one is by now). `ticket` (from new_ticket()) identifies the wait
    /// for cancel_waiter().
    void enqueue(const std::string& origin, std::uint64_t ticket, waiter w) {
        std::unique_lock lock(mutex_);
        auto& o = origins_[origin];
        if (auto l = take(o); l.granted) {
            lock.unlock();
            post_waiter(std::move(w), {}, std::move(l.conn));
            return;
        }
        o.waiters.push_back({ticket, std::make_unique<waiter>(std::move(w))});
    }

    /// Ends the wait of `ticket` with `ec` (deadline, cancellation); nothing
    /// when it was served already.
    void cancel_waiter(const std::string& origin, std::uint64_t ticket, boost::system::error_code ec) {
        std::unique_ptr<waiter> w;
        {
            std::lock_guard lock(mutex_);
            auto& q = origins_[origin].waiters;
            for (auto it = q.begin(); it != q.end(); ++it)
                if (it->ticket == ticket) {
                    w = std::move(it->handler);
                    q.erase(it);
                    break;
                }
        }
        if (w) post_waiter(std::move(*w), ec, nullptr);
    }

    /// Gives back a connection (null when it was closed or never opened):
    /// to the first waiting call, else to the idle list when `reusable`.
    void release(const std::string& origin, detail::connection_ptr conn, bool reusable) {
        std::unique_ptr<waiter> next;
        {
            std::lock_guard lock(mutex_);
            auto& o = origins_[origin];
            if (!reusable && conn) {
                conn->close();
                conn.reset();
            }
            if (o.waiters.empty()) {
                --o.active;
                if (conn) {
                    conn->idle_since = clock::now();
                    o.idle.push_back(std::move(conn));
                }
                return;
            }
            next = std::move(o.waiters.front().handler);
            o.waiters.pop_front();
        }
        post_waiter(std::move(*next), {}, std::move(conn));  // the lease passes on: active stays
    }

    /// Cached addresses of host:port, if still fresh.
    bool cached(const std::string& host_port, endpoints& out) {
        std::lock_guard lock(mutex_);
        auto it = dns_.find(host_port);
        if (it == dns_.end() || clock::now() >= it->second.expires) return false;
        out = it->second.addresses;
        return true;
    }
    void remember(const std::string& host_port, endpoints addresses) {
        std::lock_guard lock(mutex_);
        dns_[host_port] = {std::move(addresses), clock::now() + opts_.dns_ttl};
    }
    /// Drops cached addresses, e.g. after every one of them refused.
    void forget_addresses(const std::string& host_port) {
        std::lock_guard lock(mutex_);
        dns_.erase(host_port);
    }

    /// Idle connections to `origin` now (for tests and metrics).
    std::size_t idle(const std::string& origin) {
        std::lock_guard lock(mutex_);
        return origins_[origin].idle.size();
    }

    /// Closes every idle connection.
    void clear() {
        std::lock_guard lock(mutex_);
        for (auto& [_, o] : origins_) {
            for (auto& c : o.idle) c->close();
            o.idle.clear();
        }
    }

private:
    struct queued {
        std::uint64_t ticket;
        std::unique_ptr<waiter> handler;
    };
    struct per_origin {
        std::vector<detail::connection_ptr> idle;  // most recently used last
        std::size_t active = 0;                    // leased, or being opened
        std::deque<queued> waiters;
    };

    lease take(per_origin& o) {
        const auto now = clock::now();
        while (!o.idle.empty()) {
            auto conn = std::move(o.idle.back());
            o.idle.pop_back();
            if (now - conn->idle_since < opts_.idle_timeout) {
                ++o.active;
                return {std::move(conn), true};
            }
            conn->close();  // the server has likely closed it already
        }
        if (o.active < opts_.max_connections_per_origin) {
            ++o.active;
            return {nullptr, true};
        }
        return {};
    }

    // Never inline: the waiting call continues on the pool's executor, the
    // one its clients' operations run on, and through the waiter's own
    // executor (its exchange's strand) when it has one.
    void post_waiter(waiter w, boost::system::error_code ec, detail::connection_ptr conn) {
        boost::asio::post(ex_, boost::asio::append(std::move(w), ec, std::move(conn)));
    }
    struct dns_entry {
        endpoints addresses;
        clock::time_point expires;
    };

    boost::asio::any_io_executor ex_;
    bool serial_;
    pool_options opts_;
    std::mutex mutex_;
    std::map<std::string, per_origin, std::less<>> origins_;
    std::map<std::string, dns_entry, std::less<>> dns_;
    std::unique_ptr<boost::asio::ssl::context> tls_;
    std::atomic<std::uint64_t> next_ticket_{1};
};

}  // namespace courier::http

#endif
