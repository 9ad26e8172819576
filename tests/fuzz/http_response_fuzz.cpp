// libFuzzer target for the HTTP client's response path. The input is what an
// upstream on 127.0.0.1 answers to one courier::http::client call (small
// limits, so the fuzzer reaches every one of them): the exchange reads it
// through Beast's parser and courier's checks (bounded buffer, chunk
// extensions, trailers, conflicting framing), follows redirects back to the
// same upstream, maps statuses and decodes the body. Beyond not crashing
// (ASan, UBSan) or throwing out of the io_context, every call must complete
// exactly once, before its deadline.
#include <courier/http/client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "support/user_calls.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace http = courier::http;
using asio::ip::tcp;

namespace {

using courier_test::get_user;
using courier_test::user;

void require(bool ok) {
    if (!ok) std::abort();
}

// The upstream: answers every connection with the current input, after
// reading the request's head, then closes.
struct upstream {
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
    std::string answer;

    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (ec) return;
            serve(std::make_shared<tcp::socket>(std::move(s)));
            accept();
        });
    }
    void serve(std::shared_ptr<tcp::socket> s) {
        auto in = std::make_shared<std::string>();
        asio::async_read_until(*s, asio::dynamic_buffer(*in), "\r\n\r\n",
                               [this, s, in](boost::system::error_code ec, std::size_t) {
                                   if (ec) return;
                                   asio::async_write(*s, asio::buffer(answer),
                                                     [s](boost::system::error_code, std::size_t) {
                                                         boost::system::error_code ignored;
                                                         s->shutdown(tcp::socket::shutdown_send, ignored);
                                                     });
                               });
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto* up = [] {
        auto* u = new upstream;
        u->accept();
        return u;
    }();
    up->answer.assign(reinterpret_cast<const char*>(data), size);
    const auto base = "http://127.0.0.1:" + std::to_string(up->acceptor.local_endpoint().port());

    int completions = 0;
    {
        http::client_options o;
        o.body_limit = 4096;
        o.max_header_size = 1024;
        o.max_chunk_extension_size = 64;
        o.max_trailer_size = 256;
        o.max_trailer_count = 4;
        o.max_redirects = 2;
        // A fresh pool per input: nothing carries over between inputs.
        http::client<get_user, user> client(up->ioc.get_executor(), base,
                                            courier_test::get_user_endpoint, o);
        courier::context ctx;
        ctx.deadline = courier::context::clock::now() + std::chrono::seconds(5);
        client.async_call(get_user{"1"}, std::move(ctx), [&](courier::error_code, user) { ++completions; });
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(8);
        while (completions == 0 && std::chrono::steady_clock::now() < limit) up->ioc.run_one_until(limit);
    }
    require(completions == 1);
    // What the client's destruction left behind (closing connections) runs now.
    up->ioc.poll();
    require(completions == 1);
    return 0;
}
