// The test broker fixture seen from C++ (tests/support/rabbitmq.hpp), with
// no courier code: the broker speaks AMQP 0-9-1 on COURIER_AMQP_URL's port,
// rabbitmqctl reaches it, and a restart brings it back on the same port.
#include "support/catch.hpp"
#include "support/rabbitmq.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstdint>

namespace asio = boost::asio;
using asio::ip::tcp;
namespace rabbitmq = courier_test::rabbitmq;

namespace {

// Connects, sends the AMQP 0-9-1 protocol header and reads the broker's
// first frame, which must be connection.start (class 10, method 10).
tcp::socket greet(asio::io_context& ioc) {
    tcp::socket socket(ioc);
    socket.connect({asio::ip::make_address("127.0.0.1"), rabbitmq::port()});
    const std::array<std::uint8_t, 8> header{'A', 'M', 'Q', 'P', 0, 0, 9, 1};
    asio::write(socket, asio::buffer(header));
    std::array<std::uint8_t, 11> start{};  // frame header (7) + class id + method id
    asio::read(socket, asio::buffer(start));
    CHECK(start[0] == 1);                   // a method frame
    CHECK((start[1] << 8 | start[2]) == 0);  // on channel 0
    CHECK((start[7] << 8 | start[8]) == 10);   // connection
    CHECK((start[9] << 8 | start[10]) == 10);  // .start
    return socket;
}

}  // namespace

TEST_CASE("the test broker answers the AMQP protocol header with connection.start", "[rabbitmq]") {
    asio::io_context ioc;
    greet(ioc);
}

TEST_CASE("rabbitmqctl reaches the test broker", "[rabbitmq]") {
    const auto name = rabbitmq::unique_name("fixture.vhost");
    rabbitmq::ctl({"add_vhost", name});
    CHECK(rabbitmq::ctl({"list_vhosts", "--quiet"}).find(name) != std::string::npos);
    rabbitmq::ctl({"delete_vhost", name});
    CHECK(rabbitmq::ctl({"list_vhosts", "--quiet"}).find(name) == std::string::npos);
}

TEST_CASE("the test broker comes back on the same port after a restart", "[rabbitmq][serial]") {
    asio::io_context ioc;
    auto before = greet(ioc);
    rabbitmq::restart();
    // The old connection ended with the old broker...
    std::array<std::uint8_t, 4096> rest{};
    boost::system::error_code ec;
    while (!ec) before.read_some(asio::buffer(rest), ec);
    CHECK((ec == asio::error::eof || ec == asio::error::connection_reset));
    // ...and the new broker listens where the old one did.
    greet(ioc);
}
