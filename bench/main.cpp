// main() of every benchmark binary: Google Benchmark's, plus the facts
// bench/report.py prints (compiler, flags, Boost) in the output's context.
#include <benchmark/benchmark.h>

#include <boost/version.hpp>

#include <string>

#include "bench_config.hpp"

namespace {

std::string compiler() {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

std::string boost_version() {
    return std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) + "." +
           std::to_string(BOOST_VERSION % 100);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("compiler", compiler());
    benchmark::AddCustomContext("cxx_flags", COURIER_BENCH_CXX_FLAGS);
    benchmark::AddCustomContext("build_type", COURIER_BENCH_BUILD_TYPE);
    benchmark::AddCustomContext("boost", boost_version());
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
