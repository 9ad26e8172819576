// The test broker from a C++ test: its URL, rabbitmqctl against it and a
// restart, as the ctest fixture of tests/integration/rabbitmq.cmake hands them
// over (COURIER_AMQP_URL, COURIER_RABBITMQ_CTL). Tests run in parallel against
// one broker, so each names its queues and exchanges with unique_name().
#pragma once

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace courier_test::rabbitmq {

namespace detail {

inline std::string env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(std::string(name) +
                                 " is not set: run this test through ctest, which starts the test broker "
                                 "(FIXTURES_REQUIRED rabbitmq, see tests/integration/rabbitmq.cmake)");
    }
    return value;
}

inline std::string shell_quote(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

}  // namespace detail

/// amqp://guest:guest@127.0.0.1:PORT/ of the test broker.
inline std::string url() { return detail::env("COURIER_AMQP_URL"); }

/// The broker's AMQP port, from url().
inline unsigned short port() {
    const auto u = url();
    const auto colon = u.rfind(':');
    return static_cast<unsigned short>(std::stoul(u.substr(colon + 1)));
}

/// Runs `rabbitmqctl ARGS...` against the test broker and returns what it
/// printed on stdout (its stderr goes to the test's); throws
/// std::runtime_error when it fails. Pass "--quiet" to leave out its
/// "Listing queues..." banner, e.g.
/// ctl({"list_queues", "--quiet", "name", "messages"}).
inline std::string ctl(const std::vector<std::string>& args) {
    std::string command = detail::shell_quote(detail::env("COURIER_RABBITMQ_CTL"));
    for (const auto& a : args) command += " " + detail::shell_quote(a);
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
    std::string output;
    std::array<char, 4096> buffer{};
    while (auto n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error(command + " failed:\n" + output);
    }
    return output;
}

/// Stops the broker and starts it again on the same port with the same data
/// (durable queues and persistent messages survive); with `kill`, the node
/// gets SIGKILL instead of an orderly shutdown, so clients see their sockets
/// end without a connection.close. Returns when the broker accepts
/// connections again (about 5 s). Every test running at the time sees the
/// restart: a test that calls it is tagged [serial], which runs it alone.
inline void restart(bool kill = false) {
    ctl(kill ? std::vector<std::string>{"restart", "--kill"} : std::vector<std::string>{"restart"});
}

/// `stem` made unique to this process and call, for queue and exchange names:
/// "stem.<pid>.<n>".
inline std::string unique_name(std::string_view stem) {
    static std::atomic<int> counter{0};
    return std::string(stem) + "." + std::to_string(::getpid()) + "." + std::to_string(++counter);
}

}  // namespace courier_test::rabbitmq
