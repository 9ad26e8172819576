// A TCP relay on 127.0.0.1 between a client under test and a real server,
// which a test can freeze: while frozen it reads nothing from either side,
// so each peer sees the other go silent (a hung broker, a dead network path)
// without the server itself being disturbed, as other tests share it. Thawed,
// the bytes held back by the kernels flow again. It can also cut every link
// at once (both sockets closed), like a broken network.
//
// Runs on the io_context it is given; use it from that context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace courier_test {

class tcp_proxy {
public:
    using tcp = boost::asio::ip::tcp;

    /// Listens on 127.0.0.1:`listen_port` (0: any free port) and relays
    /// every connection to `target`.
    tcp_proxy(boost::asio::io_context& ioc, tcp::endpoint target, unsigned short listen_port = 0)
        : ioc_(ioc), target_(target), acceptor_(ioc, {boost::asio::ip::make_address("127.0.0.1"), listen_port}) {
        accept();
    }
    tcp_proxy(const tcp_proxy&) = delete;
    tcp_proxy& operator=(const tcp_proxy&) = delete;
    ~tcp_proxy() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        cut();
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    /// Connections accepted so far.
    int connections() const noexcept { return connections_; }
    /// Connections still open on the client's side (a peer's close is seen
    /// once the proxy reads again: not while frozen).
    int open_connections() const {
        int n = 0;
        for (const auto& weak : links_)
            if (auto l = weak.lock(); l && l->client.is_open()) ++n;
        return n;
    }

    /// Stops relaying: no link reads from either side until thaw(). New
    /// connections are accepted (the kernel would accept them anyway) but
    /// get no answer either.
    void freeze() noexcept { state_->frozen = true; }
    void thaw() {
        state_->frozen = false;
        auto paused = std::move(state_->paused);
        state_->paused.clear();
        for (auto& resume : paused) resume();
    }
    /// Closes every link (both of its sockets).
    void cut() {
        for (auto& weak : links_)
            if (auto l = weak.lock()) l->close();
        links_.clear();
    }

private:
    // What the links' handlers share with the proxy; they may outlive it.
    struct shared_state {
        bool frozen = false;
        std::vector<std::function<void()>> paused;
    };

    struct link : std::enable_shared_from_this<link> {
        explicit link(boost::asio::io_context& ioc) : client(ioc), server(ioc) {}
        tcp::socket client, server;
        void close() {
            boost::system::error_code ignored;
            client.close(ignored);
            server.close(ignored);
        }
    };

    // One direction of a link: read some, write it all, again; pauses
    // before each read while the proxy is frozen.
    struct pump : std::enable_shared_from_this<pump> {
        pump(std::shared_ptr<shared_state> s, std::shared_ptr<link> l, tcp::socket& from, tcp::socket& to)
            : state(std::move(s)), owner(std::move(l)), from(from), to(to) {}
        std::shared_ptr<shared_state> state;
        std::shared_ptr<link> owner;
        tcp::socket& from;
        tcp::socket& to;
        std::array<char, 16 * 1024> buffer{};

        void read() {
            if (state->frozen) {
                state->paused.push_back([self = shared_from_this()] { self->read(); });
                return;
            }
            from.async_read_some(boost::asio::buffer(buffer),
                                 [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                     if (ec) return self->owner->close();
                                     boost::asio::async_write(self->to, boost::asio::buffer(self->buffer.data(), n),
                                                              [self](boost::system::error_code ec, std::size_t) {
                                                                  if (ec) return self->owner->close();
                                                                  self->read();
                                                              });
                                 });
        }
    };

    void accept() {
        acceptor_.async_accept([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec, tcp::socket s) {
            if (ec || alive.expired()) return;  // closed
            ++connections_;
            auto l = std::make_shared<link>(ioc_);
            l->client = std::move(s);
            links_.push_back(l);
            l->server.async_connect(target_, [s = state_, l](boost::system::error_code ec) {
                if (ec) return l->close();
                std::make_shared<pump>(s, l, l->client, l->server)->read();
                std::make_shared<pump>(s, l, l->server, l->client)->read();
            });
            accept();
        });
    }

    boost::asio::io_context& ioc_;
    tcp::endpoint target_;
    tcp::acceptor acceptor_;
    std::shared_ptr<shared_state> state_ = std::make_shared<shared_state>();
    int connections_ = 0;
    std::shared_ptr<int> alive_ = std::make_shared<int>();  // expires with the proxy
    std::vector<std::weak_ptr<link>> links_;
};

}  // namespace courier_test
