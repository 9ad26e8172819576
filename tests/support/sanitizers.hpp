// Which sanitizer instruments this build, and how much slower it makes the
// code: upper time bounds in tests ("ended by its timer, not a hang") scale
// by `sanitizer_slowdown`, so a loaded CI machine running an instrumented
// build does not fail a test whose behaviour was right.
#pragma once

#if defined(__has_feature)
#  define COURIER_TEST_HAS_FEATURE(x) __has_feature(x)
#else
#  define COURIER_TEST_HAS_FEATURE(x) 0
#endif

namespace courier_test {

/// ThreadSanitizer (GCC defines the first macro, Clang has the feature):
/// code runs 5-15 times slower.
constexpr bool under_tsan() {
#if defined(__SANITIZE_THREAD__) || COURIER_TEST_HAS_FEATURE(thread_sanitizer)
    return true;
#else
    return false;
#endif
}

/// AddressSanitizer (with UBSan, the asan preset, at -O0): 2-4 times slower.
constexpr bool under_asan() {
#if defined(__SANITIZE_ADDRESS__) || COURIER_TEST_HAS_FEATURE(address_sanitizer)
    return true;
#else
    return false;
#endif
}

inline constexpr int sanitizer_slowdown = under_tsan() ? 10 : under_asan() ? 4 : 1;

}  // namespace courier_test
