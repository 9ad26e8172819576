// What every HTTP benchmark program serves or asks for: examples/user_service's
// GET /users/{id} (ids 1..1000 exist), and the few command-line and output
// conventions bench/http.sh relies on.
#ifndef COURIER_BENCH_HTTP_USERS_HPP
#define COURIER_BENCH_HTTP_USERS_HPP

#include "../examples/seed/messages.hpp"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace courier_bench {

// examples/user_service's own request and reply types.
using seed::get_user;
using seed::user;

/// The user of `id` when it is one of 1..1000, as examples/user_service has.
inline std::optional<user> find_user(std::string_view id) {
    int n = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
    if (ec != std::errc{} || end != id.data() + id.size() || n < 1 || n > 1000) return std::nullopt;
    const std::string text(id);
    return user{text, "User " + text, "user" + text + "@example.com"};
}

/// The body of a 404, as examples/user_service sends it.
inline constexpr std::string_view not_found_body = R"({"error":"User not found"})";

/// The i-th id a client asks for: 1..1000 in turn.
inline std::string nth_id(unsigned long i) { return std::to_string(i % 1000 + 1); }

/// argv[i] as a number, or `fallback` when absent; exits on garbage.
inline long number_arg(int argc, char** argv, int i, long fallback) {
    if (i >= argc) return fallback;
    char* end = nullptr;
    const long v = std::strtol(argv[i], &end, 10);
    if (*end != '\0' || v < 0) {
        std::cerr << argv[0] << ": expected a number, got '" << argv[i] << "'\n";
        std::exit(2);
    }
    return v;
}

/// The line servers print once they listen; bench/http.sh waits for it.
inline void announce(unsigned short port) {
    std::cout << "listening on 127.0.0.1:" << port << std::endl;
}

}  // namespace courier_bench

#endif
