// The Catch2 v2 main, compiled once into courier_catch_main so test files
// only compile their own tests (v3 links Catch2::Catch2WithMain instead).
#define CATCH_CONFIG_MAIN
#include "support/catch.hpp"
