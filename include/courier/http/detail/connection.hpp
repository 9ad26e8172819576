// One keep-alive connection of the client's pool: a TCP stream, or TLS over
// one, its read buffer and when it went idle.
#ifndef COURIER_HTTP_DETAIL_CONNECTION_HPP
#define COURIER_HTTP_DETAIL_CONNECTION_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace courier::http::detail {

struct connection {
    using clock = std::chrono::steady_clock;

    connection(const boost::asio::any_io_executor& ex, boost::asio::ssl::context* tls_context) {
        if (tls_context) tls.emplace(ex, *tls_context);
        else plain.emplace(ex);
    }

    boost::beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }

    /// Calls `f(stream)` with whichever stream this connection has.
    template <class F>
    decltype(auto) visit(F&& f) {
        return tls ? f(*tls) : f(*plain);
    }

    /// Closes the socket: pending operations complete with operation_aborted.
    void close() noexcept {
        boost::system::error_code ignored;
        tcp().socket().close(ignored);
    }

    std::optional<boost::beast::tcp_stream> plain;
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
    boost::beast::flat_buffer buffer;
    clock::time_point idle_since{};
};

using connection_ptr = std::unique_ptr<connection>;

}  // namespace courier::http::detail

#endif
