// The baseline of the HTTP server benchmarks: GET /users/{id} served by a bare
// Boost.Beast asynchronous server, as a competent user writes one by hand: one
// io_context on one thread, an async_accept loop, per connection a keep-alive
// read/write loop with a reused flat_buffer, string bodies, TCP_NODELAY, a 30 s
// timeout per step, the JSON made with nlohmann.
//   http_bench_beast_server [port]      (default 0: an ephemeral port)
#include "http_users.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto step_timeout = std::chrono::seconds(30);

bhttp::response<bhttp::string_body> answer(const bhttp::request<bhttp::string_body>& req) {
    constexpr std::string_view prefix = "/users/";
    const std::string_view target = req.target();
    std::optional<courier_bench::user> found;
    if (req.method() == bhttp::verb::get && target.starts_with(prefix))
        found = courier_bench::find_user(target.substr(prefix.size()));
    bhttp::response<bhttp::string_body> res{found ? bhttp::status::ok : bhttp::status::not_found, req.version()};
    res.set(bhttp::field::content_type, "application/json");
    res.keep_alive(req.keep_alive());
    res.body() = found ? nlohmann::json(*found).dump() : std::string(courier_bench::not_found_body);
    res.prepare_payload();
    return res;
}

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket socket) : stream_(std::move(socket)) {}

    void read() {
        req_ = {};
        stream_.expires_after(step_timeout);
        bhttp::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->res_ = answer(self->req_);
            self->write();
        });
    }

private:
    void write() {
        stream_.expires_after(step_timeout);
        bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || !self->res_.keep_alive()) return self->close();
            self->read();
        });
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    bhttp::request<bhttp::string_body> req_;
    bhttp::response<bhttp::string_body> res_;
};

void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
        if (!acceptor.is_open()) return;
        if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            std::make_shared<session>(std::move(socket))->read();
        }
        accept(acceptor);
    });
}

}  // namespace

int main(int argc, char** argv) {
    const auto port = static_cast<unsigned short>(courier_bench::number_arg(argc, argv, 1, 0));
    asio::io_context ioc(1);
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    accept(acceptor);
    courier_bench::announce(acceptor.local_endpoint().port());

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
    ioc.run();
}
