// One listening socket of an http::server: accepts connections, each on a
// strand of its own, and starts a plain or TLS session for it, or closes it
// at once when the server is full or stopping.
#ifndef COURIER_HTTP_DETAIL_LISTENER_HPP
#define COURIER_HTTP_DETAIL_LISTENER_HPP

#include <courier/http/detail/route_handler.hpp>
#include <courier/http/detail/server_state.hpp>
#include <courier/http/detail/session.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_mode.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace courier::http::detail {

template <class Options>
class listener final : public stoppable, public std::enable_shared_from_this<listener<Options>> {
public:
    using tcp = boost::asio::ip::tcp;

    /// Opens, binds and listens on `endpoint` at once, so bind errors reach
    /// the caller of listen() and port() is known before run().
    listener(std::shared_ptr<server_state<Options>> state, const tcp::endpoint& endpoint, error_code& ec)
        : state_(std::move(state)), acceptor_(boost::asio::make_strand(state_->executor)) {
        if (acceptor_.open(endpoint.protocol(), ec)) return;
        if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec)) return;
        if (acceptor_.bind(endpoint, ec)) return;
        if (acceptor_.listen(state_->options.backlog, ec)) return;
        local_ = acceptor_.local_endpoint(ec);
    }

    const tcp::endpoint& local_endpoint() const noexcept { return local_; }

    void start() {
        boost::asio::co_spawn(acceptor_.get_executor(), accept_loop(),
                              [self = this->shared_from_this()](std::exception_ptr) {});
    }

    void stop(bool) override {
        boost::asio::post(acceptor_.get_executor(), [self = this->shared_from_this()] {
            error_code ignored;
            self->acceptor_.close(ignored);
            if (self->backoff_) self->backoff_->cancel();
        });
    }

private:
    boost::asio::awaitable<void> accept_loop() {
        for (;;) {
            // The socket's I/O executor is the server's own; the connection
            // runs on its strand (connection_executor). Over an io_context's
            // executor Asio then tracks no work per read and write, where a
            // strand as I/O executor cost two strand copies (two atomic
            // reference counts) per operation.
            tcp::socket socket(state_->executor);
            auto [ec] = co_await acceptor_.async_accept(socket, tuple_awaitable);
            if (!acceptor_.is_open()) co_return;
            if (ec) {
                if (!out_of_resources(ec)) continue;  // the peer gave up before accept: next one
                // Out of descriptors or memory: accepting again at once
                // would fail at once, in a loop that starves the server.
                backoff_.emplace(acceptor_.get_executor(), std::chrono::milliseconds(50));
                co_await backoff_->async_wait(tuple_awaitable);  // cancelled by stop()
                continue;
            }
            admit(std::move(socket));
        }
    }

    // A connection's strand (none when one thread runs the server). Over an
    // io_context's own executor when that is what the server was given: a
    // strand of the type-erased executor would go through two layers of type
    // erasure on every completion.
    boost::asio::any_io_executor connection_executor() const {
        if (state_->options.single_threaded) return state_->executor;
        if (auto* io = state_->executor.template target<boost::asio::io_context::executor_type>())
            return boost::asio::make_strand(*io);
        return boost::asio::make_strand(state_->executor);
    }

    static bool out_of_resources(const error_code& ec) {
        return ec == boost::asio::error::no_descriptors || ec == boost::asio::error::no_buffer_space ||
               ec == boost::asio::error::no_memory || ec == boost::system::errc::too_many_files_open_in_system;
    }

    void admit(tcp::socket socket) {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);  // responses are written whole; don't wait for ACKs
        if (const auto& tls = state_->options.tls) {
            using tls_stream = boost::beast::ssl_stream<tcp::socket>;
            tls_stream secured(std::move(socket), *tls);
            if (state_->options.require_client_certificate)
                secured.set_verify_mode(boost::asio::ssl::verify_peer | boost::asio::ssl::verify_fail_if_no_peer_cert,
                                        ignored);
            launch(std::make_shared<session<tls_stream, Options>>(state_, std::move(secured), connection_executor()));
        } else {
            launch(std::make_shared<session<tcp::socket, Options>>(state_, std::move(socket), connection_executor()));
        }
    }

    template <class Session>
    void launch(const std::shared_ptr<Session>& s) {
        // Over the limit (or stopping): closed at once, so the client learns
        // now rather than after a timeout, and the backlog keeps moving.
        if (state_->admit(s)) s->start();
    }

    std::shared_ptr<server_state<Options>> state_;
    tcp::acceptor acceptor_;
    tcp::endpoint local_;
    std::optional<boost::asio::steady_timer> backoff_;
};

}  // namespace courier::http::detail

#endif
