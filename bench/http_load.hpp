// The measuring half of the HTTP client benchmarks: chains of sequential
// calls (one per connection, so `connections` calls are in flight) count
// their completed calls here; after a warm-up, the calls finished within a
// fixed window give requests per second, printed as one JSON line.
#ifndef COURIER_BENCH_HTTP_LOAD_HPP
#define COURIER_BENCH_HTTP_LOAD_HPP

#include "http_users.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>

namespace courier_bench {

/// What a client benchmark is told: `PORT [CONNECTIONS [SECONDS]]`.
struct load_options {
    unsigned short port = 0;
    std::size_t connections = 1;
    std::chrono::milliseconds measure{std::chrono::seconds(3)};
    std::chrono::milliseconds warmup{500};

    static load_options parse(int argc, char** argv) {
        if (argc < 2) {
            std::cerr << "usage: " << argv[0] << " PORT [CONNECTIONS [SECONDS]]\n";
            std::exit(2);
        }
        load_options o;
        o.port = static_cast<unsigned short>(number_arg(argc, argv, 1, 0));
        o.connections = static_cast<std::size_t>(number_arg(argc, argv, 2, 1));
        o.measure = std::chrono::seconds(number_arg(argc, argv, 3, 3));
        return o;
    }
};

class load_meter {
public:
    using clock = std::chrono::steady_clock;

    load_meter(boost::asio::io_context& ioc, const load_options& options)
        : ioc_(ioc), options_(options), timer_(ioc, options.warmup) {
        timer_.async_wait([this](boost::system::error_code) { begin(); });
    }

    /// Counts a finished call; whether the chain should start another.
    bool count(bool ok) {
        if (over_) return false;
        ++calls_;
        if (!ok) ++errors_;
        return true;
    }

    /// One JSON line: calls and failed calls in the window, its length, and
    /// calls per second.
    void print() const {
        const double seconds = std::chrono::duration<double>(end_ - start_).count();
        const auto calls = calls_at_end_ - calls_at_start_;
        std::cout << R"({"connections": )" << options_.connections << R"(, "requests": )" << calls
                  << R"(, "errors": )" << errors_ << R"(, "seconds": )" << seconds
                  << R"(, "requests_per_second": )" << static_cast<double>(calls) / seconds << "}" << std::endl;
    }

private:
    void begin() {
        start_ = clock::now();
        calls_at_start_ = calls_;
        timer_.expires_after(options_.measure);
        timer_.async_wait([this](boost::system::error_code) {
            end_ = clock::now();
            calls_at_end_ = calls_;
            over_ = true;
            ioc_.stop();  // calls in flight are abandoned with the process
        });
    }

    boost::asio::io_context& ioc_;
    const load_options& options_;
    boost::asio::steady_timer timer_;
    clock::time_point start_, end_;
    std::uint64_t calls_ = 0, errors_ = 0, calls_at_start_ = 0, calls_at_end_ = 0;
    bool over_ = false;
};

}  // namespace courier_bench

#endif
