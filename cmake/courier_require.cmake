# What happens when something optional is missing: a backend's packages, a
# test's server or peer (rabbitmq-server, node and the npm peers, curl), a
# benchmark's baseline. Outside CI, the piece is skipped, visibly: a status
# line at configure time and, for tests, a placeholder test that ctest
# reports as skipped with the reason, so a green run never passes for a test
# that did not run. In CI (COURIER_REQUIRE_ALL, on when the environment sets
# COURIER_REQUIRE_ALL or CI=true and courier is the top-level project), a
# missing piece fails the configuration, naming it.
include_guard(GLOBAL)

set(courier_require_default OFF)
if(PROJECT_IS_TOP_LEVEL AND ("$ENV{COURIER_REQUIRE_ALL}" MATCHES "^(1|ON|on|true|TRUE)$" OR "$ENV{CI}" STREQUAL "true"))
  set(courier_require_default ON)
endif()
option(COURIER_REQUIRE_ALL
  "Fail the configuration when any optional dependency of a backend, test or benchmark is missing (CI)"
  ${courier_require_default})
# Set in the environment, it wins over a value cached by an earlier configure.
if(PROJECT_IS_TOP_LEVEL AND DEFINED ENV{COURIER_REQUIRE_ALL})
  set(COURIER_REQUIRE_ALL "$ENV{COURIER_REQUIRE_ALL}" CACHE BOOL
    "Fail the configuration when any optional dependency of a backend, test or benchmark is missing (CI)" FORCE)
endif()

# courier_missing(<what>): <what> is not available (e.g. "rabbitmq-server,
# for the tests against RabbitMQ"); skipped, or fatal under COURIER_REQUIRE_ALL.
function(courier_missing what)
  if(COURIER_REQUIRE_ALL)
    message(FATAL_ERROR "courier: missing ${what} (COURIER_REQUIRE_ALL is on, as in CI: install it, see scripts/setup.sh)")
  endif()
  message(STATUS "courier: skipping: missing ${what}")
endfunction()

# courier_skipped_test(<name> <what>): courier_missing(<what>), and a test
# named <name> that ctest reports as skipped, so the summary shows it.
function(courier_skipped_test name what)
  courier_missing("${what}")
  add_test(NAME "${name}" COMMAND "${CMAKE_COMMAND}" -E echo "courier-skip: missing ${what}")
  set_tests_properties("${name}" PROPERTIES SKIP_REGULAR_EXPRESSION "courier-skip:" LABELS skipped)
  courier_registered_test("${name}")
endfunction()

# courier_registered_test(<name>): records that a test named <name> exists
# (run or skipped), for courier_expect_tests().
function(courier_registered_test name)
  set_property(GLOBAL APPEND PROPERTY COURIER_REGISTERED_TESTS "${name}")
endfunction()

# courier_expect_tests(<name>...): fails the configuration when one of these
# tests was neither added nor skipped visibly. A test lost to a scoping
# mistake (a variable unset in the directory that adds it) once went unrun
# with nothing said.
function(courier_expect_tests)
  get_property(registered GLOBAL PROPERTY COURIER_REGISTERED_TESTS)
  foreach(name IN LISTS ARGN)
    if(NOT name IN_LIST registered)
      message(FATAL_ERROR "courier: the test '${name}' was neither added nor reported skipped")
    endif()
  endforeach()
endfunction()

# courier_find_node_peers(<var>): sets <var> to node when both node and the
# seed's npm packages (tests/peers/node_modules, from npm ci --prefix
# tests/peers) are there, else to "". The text a caller gives
# courier_skipped_test() when it is empty: COURIER_NODE_PEERS_WHAT.
function(courier_find_node_peers var)
  find_program(COURIER_NODE node)
  if(COURIER_NODE AND EXISTS "${PROJECT_SOURCE_DIR}/tests/peers/node_modules")
    set(${var} "${COURIER_NODE}" PARENT_SCOPE)
  else()
    set(${var} "" PARENT_SCOPE)
  endif()
endfunction()
set(COURIER_NODE_PEERS_WHAT "node and the seed's npm packages (npm ci --prefix tests/peers)")
