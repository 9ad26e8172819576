// amqps://: courier's client over TLS, through a TLS-terminating relay in
// front of the test broker (the broker itself listens in plain TCP), with a
// certificate made for the test: trusted, it works end to end; untrusted,
// or for another host name, the connection fails with OpenSSL's verdict.
#include "amqp_test_support.hpp"
#include "support/self_signed_certificate.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <array>

using namespace amqp_test;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

// Accepts TLS on 127.0.0.1 and relays the plain bytes to the test broker.
class tls_relay {
public:
    tls_relay(asio::io_context& ioc, const courier_test::self_signed& cert)
        : ioc_(ioc), tls_(ssl::context::tls_server), acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}) {
        cert.use_in(tls_, true);
        accept();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

private:
    struct session : std::enable_shared_from_this<session> {
        session(tcp::socket s, ssl::context& tls, asio::io_context& ioc) : client(std::move(s), tls), broker(ioc) {}
        ssl::stream<tcp::socket> client;
        tcp::socket broker;
        std::array<char, 16384> up{}, down{};

        void start() {
            auto self = shared_from_this();
            client.async_handshake(ssl::stream_base::server, [self](error_code ec) {
                if (ec) return;
                self->broker.async_connect({asio::ip::make_address("127.0.0.1"), rabbitmq::port()},
                                           [self](error_code ec) {
                                               if (ec) return;
                                               self->pump_up();
                                               self->pump_down();
                                           });
            });
        }
        void pump_up() { pump(client, broker, up); }
        void pump_down() { pump(broker, client, down); }
        // Relays `from` to `to` until either side fails or ends.
        template <class From, class To>
        void pump(From& from, To& to, std::array<char, 16384>& buf) {
            auto self = shared_from_this();
            from.async_read_some(asio::buffer(buf), [self, &from, &to, &buf](error_code ec, std::size_t n) {
                if (ec) return self->stop();
                asio::async_write(to, asio::buffer(buf, n), [self, &from, &to, &buf](error_code ec, std::size_t) {
                    if (ec) return self->stop();
                    self->pump(from, to, buf);
                });
            });
        }
        void stop() {
            error_code ignored;
            broker.close(ignored);
            client.next_layer().close(ignored);
        }
    };

    void accept() {
        acceptor_.async_accept([this](error_code ec, tcp::socket s) {
            if (ec) return;
            std::make_shared<session>(std::move(s), tls_, ioc_)->start();
            accept();
        });
    }

    asio::io_context& ioc_;
    ssl::context tls_;
    tcp::acceptor acceptor_;
};

std::shared_ptr<ssl::context> trusting(const courier_test::self_signed& cert) {
    auto tls = std::make_shared<ssl::context>(ssl::context::tls_client);
    tls->set_verify_mode(ssl::verify_peer);
    cert.use_in(*tls, false);
    return tls;
}

bool tls_error(const error_code& ec) {
    return ec.category() == asio::error::get_ssl_category() || ec.category() == ssl::error::get_stream_category();
}

}  // namespace

TEST_CASE("amqps: a client trusting the broker's certificate publishes and consumes over TLS", "[amqp][tls]") {
    asio::io_context ioc;
    const courier_test::self_signed cert;
    tls_relay relay(ioc, cert);
    auto o = options(amqp::addressing::queue);
    o.connection.uri = "amqps://guest:guest@127.0.0.1:" + std::to_string(relay.port()) + "/";
    o.connection.tls = trusting(cert);
    amqp::broker b(ioc.get_executor(), o);

    const auto topic = rabbitmq::unique_name("tls");
    std::vector<std::string> got;
    auto sub = subscribe_and_wait(ioc, b, topic, topic,
                                  [&](const courier::message& m, courier::context&) { got.push_back(m.payload); });
    const std::string big(300'000, 'b');  // several TLS records and AMQP frames
    auto small = start_publish(b, topic, make_message("over tls"));
    auto large = start_publish(b, topic, make_message(big));
    REQUIRE(run_until(ioc, [&] { return small->done && large->done && got.size() == 2; }));
    CHECK_FALSE(small->ec);
    CHECK_FALSE(large->ec);
    CHECK(got[0] == "over tls");
    CHECK(got[1] == big);
}

TEST_CASE("amqps: an untrusted certificate fails the connection with OpenSSL's verdict", "[amqp][tls]") {
    asio::io_context ioc;
    const courier_test::self_signed cert;
    tls_relay relay(ioc, cert);
    auto o = options();
    // The system's CAs (the default) do not include the test's certificate.
    o.connection.uri = "amqps://guest:guest@127.0.0.1:" + std::to_string(relay.port()) + "/";
    amqp::broker b(ioc.get_executor(), o);
    bool done = false;
    error_code got;
    b.async_connect([&](error_code ec) {
        done = true;
        got = ec;
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    INFO(got.message());
    CHECK(tls_error(got));
}

TEST_CASE("amqps: a certificate for another host fails the connection", "[amqp][tls]") {
    asio::io_context ioc;
    const courier_test::self_signed cert;  // made for 127.0.0.1
    tls_relay relay(ioc, cert);
    auto o = options();
    o.connection.uri = "amqps://guest:guest@localhost:" + std::to_string(relay.port()) + "/";
    o.connection.tls = trusting(cert);
    amqp::broker b(ioc.get_executor(), o);
    bool done = false;
    error_code got;
    b.async_connect([&](error_code ec) {
        done = true;
        got = ec;
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    INFO(got.message());
    CHECK(tls_error(got));
}
