// courier's program in the AMQP benchmarks (bench/amqp.sh, which documents
// the command line and the output line it shares with the baselines):
//   amqp_bench_courier URL [MESSAGES [SIZE [WINDOW [PREFETCH]]]]
// Publish: amqp::broker in queue mode (the default exchange, as the
// baselines), transient messages, publisher confirms always on, at most
// WINDOW unconfirmed (each confirm starts the next publish, as a user keeping
// a window would write it). Consume: subscribe with prefetch PREFETCH, a
// handler that returns (which acks); timed until async_close completed, which
// comes after the broker's close-ok, so after it took every ack.
#include <courier/amqp.hpp>

#include <boost/asio/io_context.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace amqp = courier::amqp;

namespace {

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const std::string& what) {
    std::cerr << "amqp_bench_courier: " << what << std::endl;
    std::exit(1);
}

unsigned long number(int argc, char** argv, int i, unsigned long fallback) {
    if (argc <= i) return fallback;
    char* end = nullptr;
    const unsigned long v = std::strtoul(argv[i], &end, 10);
    if (*end != '\0' || v == 0) die("MESSAGES, SIZE, WINDOW and PREFETCH are positive numbers");
    return v;
}

struct phase {
    double seconds = 0, cpu = 0;
};

amqp::broker_options options(const std::string& url, unsigned long window) {
    amqp::broker_options o;
    o.connection.uri = url;
    o.mode = amqp::addressing::queue;
    o.durable = false;     // as the baselines' queue
    o.persistent = false;  // transient messages
    o.mandatory = false;   // the baselines publish without it
    o.max_in_flight = window;
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " URL [MESSAGES [SIZE [WINDOW [PREFETCH]]]]\n";
        return 2;
    }
    const std::string url = argv[1];
    const auto messages = number(argc, argv, 2, 100'000);
    const auto size = number(argc, argv, 3, 256);
    const auto window = number(argc, argv, 4, 1000);
    const auto prefetch = number(argc, argv, 5, 1000);
    const std::string queue = "bench.courier." + std::to_string(::getpid());
    const std::string body(size, 'x');

    asio::io_context ioc(1);
    phase publish, consume;

    // Publish: WINDOW publishes in flight, each confirm starts the next.
    {
        amqp::broker broker(ioc.get_executor(), options(url, window));
        unsigned long started = 0, confirmed = 0;
        double t0 = 0, c0 = 0;
        std::function<void()> next = [&] {
            courier::message m;
            m.payload = body;
            ++started;
            broker.async_publish(queue, std::move(m), courier::context{}, [&](courier::error_code ec, courier::publish_ack) {
                if (ec) die("publish: " + ec.message());
                if (++confirmed == messages) {
                    publish.seconds = now_seconds() - t0;
                    publish.cpu = cpu_seconds() - c0;
                    broker.async_close([](courier::error_code) {});
                } else if (started < messages) {
                    next();
                }
            });
        };
        broker.async_connect([&](courier::error_code ec) {
            if (ec) die("connect: " + ec.message());
            t0 = now_seconds();
            c0 = cpu_seconds();
            for (unsigned long i = 0; i < window && started < messages; ++i) next();
        });
        ioc.run();
        ioc.restart();
        if (confirmed != messages) die("not every publish was confirmed");
    }

    // Consume: a handler that returns acks its message.
    {
        amqp::broker broker(ioc.get_executor(), options(url, window));
        unsigned long received = 0, redelivered = 0;
        double t0 = 0, c0 = 0;
        courier::subscription sub;
        broker.async_connect([&](courier::error_code ec) {
            if (ec) die("connect: " + ec.message());
            t0 = now_seconds();
            c0 = cpu_seconds();
            amqp::subscribe_options so;
            so.prefetch = static_cast<std::uint16_t>(std::min<unsigned long>(prefetch, 65535));
            sub = broker.subscribe(queue, queue, [&](const courier::message& m, courier::context& ctx) {
                if (m.payload.size() != size) die("a message of the wrong size");
                if (ctx.attempt > 1) ++redelivered;
                if (++received == messages) {
                    sub.unsubscribe();
                    broker.async_close([&](courier::error_code) {
                        consume.seconds = now_seconds() - t0;
                        consume.cpu = cpu_seconds() - c0;
                    });
                }
            }, so);
        });
        ioc.run();
        if (received != messages) die("received " + std::to_string(received) + " messages");
        std::printf("{\"impl\": \"courier\", \"messages\": %lu, \"size\": %lu, \"window\": %lu, \"prefetch\": %lu, "
                    "\"publish\": {\"seconds\": %.6f, \"messages_per_second\": %.1f, \"cpu_us_per_message\": %.3f}, "
                    "\"consume\": {\"seconds\": %.6f, \"messages_per_second\": %.1f, \"cpu_us_per_message\": %.3f, "
                    "\"redelivered\": %lu}}\n",
                    messages, size, window, prefetch, publish.seconds, static_cast<double>(messages) / publish.seconds,
                    publish.cpu * 1e6 / static_cast<double>(messages), consume.seconds,
                    static_cast<double>(messages) / consume.seconds, consume.cpu * 1e6 / static_cast<double>(messages),
                    redelivered);
    }
    return 0;
}
