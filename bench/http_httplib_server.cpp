// The peer of the HTTP server benchmarks: GET /users/{id} served by cpp-httplib
// (Debian's libcpp-httplib-dev), a blocking thread-per-connection server.
// Tuned so that it is not measured at its defaults' worst: TCP_NODELAY (without
// it every response waits ~40 ms for a delayed ACK), a pool of 64 threads
// (every one of wrk's 50 keep-alive connections holds a thread), and no cap on
// the requests per keep-alive connection (the default, 5, makes wrk reconnect).
//   http_bench_httplib_server [port]    (default 0: an ephemeral port)
// It runs until killed (SIGTERM's default action is all it needs).
#include <httplib.h>

#include "http_users.hpp"

int main(int argc, char** argv) {
    const auto port = static_cast<int>(courier_bench::number_arg(argc, argv, 1, 0));
    httplib::Server server;
    // Set at run time, not with the CPPHTTPLIB_* macros: Debian builds the
    // library's code into libcpp-httplib.so, where those were fixed already.
    server.set_tcp_nodelay(true);
    server.set_keep_alive_max_count(1000000000);
    server.new_task_queue = [] { return new httplib::ThreadPool(64); };
    server.Get(R"(/users/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
        if (auto found = courier_bench::find_user(req.matches[1].str())) {
            res.set_content(nlohmann::json(*found).dump(), "application/json");
        } else {
            res.status = 404;
            res.set_content(std::string(courier_bench::not_found_body), "application/json");
        }
    });
    const int bound = port == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", port) ? port : -1);
    if (bound < 0) {
        std::cerr << argv[0] << ": cannot listen on 127.0.0.1:" << port << "\n";
        return 1;
    }
    courier_bench::announce(static_cast<unsigned short>(bound));
    server.listen_after_bind();
}
