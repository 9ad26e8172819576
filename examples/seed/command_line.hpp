// The few command-line options the example services take, and the line
// they print once they listen (scripts and tests wait for it).
#pragma once

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <string_view>

namespace seed {

/// `--name value` pairs; exits with a usage message on anything else.
inline std::map<std::string, std::string> parse_options(int argc, char** argv, std::string_view usage) {
    std::map<std::string, std::string> out;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (!arg.starts_with("--") || i + 1 >= argc) {
            std::cerr << "usage: " << argv[0] << " " << usage << "\n";
            std::exit(2);
        }
        out[std::string(arg.substr(2))] = argv[++i];
    }
    return out;
}

/// Splits "host:port"; exits on a malformed value.
inline std::pair<std::string, unsigned short> host_port(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        std::cerr << "expected host:port, got '" << text << "'\n";
        std::exit(2);
    }
    const long port = std::strtol(text.c_str() + colon + 1, nullptr, 10);
    if (port < 0 || port > 65535) {
        std::cerr << "bad port in '" << text << "'\n";
        std::exit(2);
    }
    return {text.substr(0, colon), static_cast<unsigned short>(port)};
}

inline void announce(const std::string& host, unsigned short port) {
    std::cout << "listening on " << host << ":" << port << std::endl;  // flushed: scripts wait for it
}

}  // namespace seed
