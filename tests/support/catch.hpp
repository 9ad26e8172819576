// Include this, not Catch2 directly: it picks Catch2 v3's headers when they
// exist and v2's single header otherwise (Debian 12 ships 2.13), so tests
// build against either. Stick to what both versions offer.
#pragma once

#if __has_include(<catch2/catch_test_macros.hpp>)
// Catch2 v3
#  include <catch2/catch_approx.hpp>
#  include <catch2/catch_template_test_macros.hpp>
#  include <catch2/catch_test_macros.hpp>
#  include <catch2/generators/catch_generators_all.hpp>
#  include <catch2/matchers/catch_matchers_all.hpp>
// v2 put Approx in the global namespace; keep that spelling working.
using Catch::Approx;
#else
// Catch2 v2
#  include <catch2/catch.hpp>
#endif
