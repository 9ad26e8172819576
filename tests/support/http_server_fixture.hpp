// An http::server on background threads and a test thread that is its
// client, with blocking sockets bounded by a receive timeout so that a bug
// fails a test instead of hanging it.
#pragma once

#include "support/run_until.hpp"

#include <courier/http/server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <memory>
#include <string>

namespace courier_test {

// A blocking client socket whose reads give up after a bound.
inline boost::asio::ip::tcp::socket connect(boost::asio::io_context& ioc, unsigned short port) {
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    timeval tv{10, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
}

inline boost::beast::http::response<boost::beast::http::string_body> read_response(boost::asio::ip::tcp::socket& s, boost::beast::flat_buffer& buf) {
    boost::beast::http::response<boost::beast::http::string_body> res;
    boost::beast::http::read(s, buf, res);
    return res;
}

inline boost::beast::http::response<boost::beast::http::string_body> exchange(boost::asio::ip::tcp::socket& s, boost::beast::http::request<boost::beast::http::string_body> req) {
    req.prepare_payload();
    boost::beast::http::write(s, req);
    boost::beast::flat_buffer buf;
    return read_response(s, buf);
}

inline boost::beast::http::request<boost::beast::http::string_body> make(boost::beast::http::verb v, std::string target, std::string body = {}) {
    boost::beast::http::request<boost::beast::http::string_body> req{v, target, 11};
    req.set(boost::beast::http::field::host, "127.0.0.1");
    if (!body.empty()) {
        req.set(boost::beast::http::field::content_type, "application/json");
        req.body() = std::move(body);
    }
    return req;
}

// Whether the server closed the connection: a read ends with EOF (or a
// reset), not with the receive timeout.
inline bool closed_by_peer(boost::asio::ip::tcp::socket& s) {
    char c;
    boost::system::error_code ec;
    for (;;) {
        s.read_some(boost::asio::buffer(&c, 1), ec);
        if (ec) return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
    }
}

// One server on background threads, one client io_context.
struct server_fixture {
    explicit server_fixture(courier::http::server_options o = {}, unsigned threads = 1) : srv(server_ioc, std::move(o)), n(threads) {}
    unsigned short start() {
        port = srv.listen("127.0.0.1", 0);
        runner = std::make_unique<io_threads>(server_ioc, n);
        return port;
    }
    ~server_fixture() {
        srv.close();
        runner.reset();
    }
    boost::asio::ip::tcp::socket client() { return connect(client_ioc, port); }
    boost::beast::http::response<boost::beast::http::string_body> call(boost::beast::http::request<boost::beast::http::string_body> req) {
        auto s = client();
        return exchange(s, std::move(req));
    }

    boost::asio::io_context server_ioc;
    boost::asio::io_context client_ioc;
    courier::http::server srv;
    unsigned n;
    unsigned short port = 0;
    std::unique_ptr<io_threads> runner;
};

}  // namespace courier_test
