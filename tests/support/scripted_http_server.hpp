// A real HTTP/1.1 server on 127.0.0.1 whose answers each test scripts, for
// testing the client against exactly the behaviour it must survive: slow or
// missing answers, closed keep-alive connections, redirects, huge bodies.
// It counts connections and records every request it read.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace courier_test {

class scripted_http_server {
public:
    using request = boost::beast::http::request<boost::beast::http::string_body>;
    using response = boost::beast::http::response<boost::beast::http::string_body>;

    /// What to do with one request.
    struct reply {
        response res{};
        bool silent = false;       ///< never answer (the connection stays open)
        bool close_after = false;  ///< close the connection right after answering
        bool drop = false;         ///< close the connection without answering
    };

    scripted_http_server(boost::asio::io_context& ioc, std::function<reply(const request&)> script)
        : acceptor_(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}), script_(std::move(script)) {
        boost::asio::co_spawn(ioc, accept_loop(), boost::asio::detached);
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }

    int connections = 0;
    std::vector<request> requests;

    /// A JSON answer.
    static reply json(unsigned status, std::string body) {
        reply r;
        r.res.result(status);
        r.res.version(11);
        r.res.set(boost::beast::http::field::content_type, "application/json");
        r.res.body() = std::move(body);
        r.res.prepare_payload();
        return r;
    }

    void stop() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        for (auto& s : sockets_)
            if (auto p = s.lock()) p->close(ignored);
    }

private:
    boost::asio::awaitable<void> accept_loop() {
        for (;;) {
            auto socket = std::make_shared<boost::asio::ip::tcp::socket>(acceptor_.get_executor());
            boost::system::error_code ec;
            co_await acceptor_.async_accept(*socket, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
            if (ec) co_return;
            ++connections;
            sockets_.push_back(socket);
            boost::asio::co_spawn(acceptor_.get_executor(), serve(socket), boost::asio::detached);
        }
    }

    boost::asio::awaitable<void> serve(std::shared_ptr<boost::asio::ip::tcp::socket> socket) {
        boost::beast::flat_buffer buffer;
        for (;;) {
            request req;
            boost::system::error_code ec;
            co_await boost::beast::http::async_read(*socket, buffer, req,
                                                    boost::asio::redirect_error(boost::asio::use_awaitable, ec));
            if (ec) co_return;
            requests.push_back(req);
            reply r = script_(req);
            if (r.silent) continue;  // keep reading: the client gives up first
            if (r.drop) {
                socket->close(ec);
                co_return;
            }
            r.res.keep_alive(!r.close_after && req.keep_alive());
            co_await boost::beast::http::async_write(*socket, r.res,
                                                     boost::asio::redirect_error(boost::asio::use_awaitable, ec));
            if (ec || r.close_after) {
                socket->close(ec);
                co_return;
            }
        }
    }

    boost::asio::ip::tcp::acceptor acceptor_;
    std::function<reply(const request&)> script_;
    std::vector<std::weak_ptr<boost::asio::ip::tcp::socket>> sockets_;
};

}  // namespace courier_test
