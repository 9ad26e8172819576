// courier's side of the HTTP client benchmarks: GET /users/{id} called through
// courier::http::client<get_user, user> (JSON decoded into the struct), one
// chain of sequential calls per connection, every chain sharing the client's
// pool (max_connections_per_origin >= the chains, so each keeps one
// keep-alive connection). Prints requests per second (bench/http_load.hpp).
//   http_bench_courier_client PORT [CONNECTIONS [SECONDS]]
#include "http_load.hpp"

#include <courier/http.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace http = courier::http;
using courier_bench::get_user;
using courier_bench::user;

namespace {

using user_client = http::client<get_user, user>;

class chain {
public:
    chain(user_client& client, courier_bench::load_meter& meter, unsigned long first)
        : client_(client), meter_(meter), next_(first) {}

    void call() {
        auto id = courier_bench::nth_id(next_++);
        auto check = id;
        client_.async_call(get_user{std::move(id)}, courier::context{},
                           [this, check = std::move(check)](courier::error_code ec, user u) {
                               if (meter_.count(!ec && u.id == check)) call();
                           });
    }

private:
    user_client& client_;
    courier_bench::load_meter& meter_;
    unsigned long next_;
};

}  // namespace

int main(int argc, char** argv) {
    const auto options = courier_bench::load_options::parse(argc, argv);
    boost::asio::io_context ioc(1);
    courier_bench::load_meter meter(ioc, options);
    http::client_options client_options;
    client_options.pool.max_connections_per_origin = std::max<std::size_t>(16, options.connections);
    user_client client(ioc.get_executor(), "http://127.0.0.1:" + std::to_string(options.port),
                       {http::verb::get, "/users/{userId}"}, client_options);
    std::vector<std::unique_ptr<chain>> chains;
    for (std::size_t i = 0; i < options.connections; ++i) {
        chains.push_back(std::make_unique<chain>(client, meter, i * 1000 / options.connections));
        chains.back()->call();
    }
    ioc.run();
    meter.print();
}
