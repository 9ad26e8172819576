// The baseline of the HTTP client benchmarks: GET /users/{id} called by a bare
// Boost.Beast asynchronous client, as a competent user writes one by hand:
// one io_context on one thread, one keep-alive connection per chain of
// sequential calls (TCP_NODELAY, a reused flat_buffer, a 30 s timeout per
// call), the body decoded into a struct with nlohmann as courier's client
// does. Prints requests per second (bench/http_load.hpp).
//   http_bench_beast_client PORT [CONNECTIONS [SECONDS]]
#include "http_load.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <memory>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

class chain {
public:
    chain(asio::io_context& ioc, courier_bench::load_meter& meter, unsigned long first)
        : stream_(ioc), meter_(meter), next_(first) {
        req_.set(bhttp::field::host, "127.0.0.1");
        req_.set(bhttp::field::user_agent, "bench");
    }

    void start(const tcp::endpoint& server) {
        stream_.expires_after(call_timeout);
        stream_.async_connect(server, [this](beast::error_code ec) {
            if (ec) return fail();
            stream_.socket().set_option(tcp::no_delay(true), ec);
            call();
        });
    }

private:
    static constexpr auto call_timeout = std::chrono::seconds(30);

    void call() {
        id_ = courier_bench::nth_id(next_++);
        req_.target("/users/" + id_);
        stream_.expires_after(call_timeout);
        bhttp::async_write(stream_, req_, [this](beast::error_code ec, std::size_t) {
            if (ec) return fail();
            res_ = {};
            bhttp::async_read(stream_, buffer_, res_, [this](beast::error_code ec, std::size_t) {
                if (ec) return fail();
                bool ok = res_.result() == bhttp::status::ok;
                if (ok) {
                    const auto u = nlohmann::json::parse(res_.body()).get<courier_bench::user>();
                    ok = u.id == id_;
                }
                if (meter_.count(ok)) call();
            });
        });
    }

    void fail() { meter_.count(false); }  // the chain ends: its connection is gone

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    bhttp::request<bhttp::empty_body> req_{bhttp::verb::get, "/", 11};
    bhttp::response<bhttp::string_body> res_;
    courier_bench::load_meter& meter_;
    unsigned long next_;
    std::string id_;
};

}  // namespace

int main(int argc, char** argv) {
    const auto options = courier_bench::load_options::parse(argc, argv);
    asio::io_context ioc(1);
    courier_bench::load_meter meter(ioc, options);
    const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), options.port);
    std::vector<std::unique_ptr<chain>> chains;
    for (std::size_t i = 0; i < options.connections; ++i) {
        chains.push_back(std::make_unique<chain>(ioc, meter, i * 1000 / options.connections));
        chains.back()->start(server);
    }
    ioc.run();
    meter.print();
}
