# courier's CMake components: one INTERFACE target per component, exported as
# courier::<name>, plus the bookkeeping courierConfig.cmake needs to find the
# same dependencies again on the consumer's machine.
#
#   courier_add_component(<name>
#       [DEPENDS <component>...]  # other courier components it builds on; core is implied
#       [PACKAGES <spec>...]      # each spec is find_package() arguments as ONE string,
#                                 # e.g. "OpenSSL 1.1" or "gRPC CONFIG"; found QUIET here
#                                 # and again by courierConfig.cmake
#       [SCRIPT <file>]           # for dependencies that need logic (pkg-config fallback...):
#                                 # included here and, installed, by courierConfig.cmake;
#                                 # it must create the imported targets listed in TARGETS
#       [TARGETS <target>...])    # imported targets the component links (INTERFACE)
#
# A component whose dependencies are missing is skipped with one status line;
# its headers are not installed and its header self-containment tests are not
# built. Call courier_finalize_components() once, after the last component: it
# creates courier::courier (every component that was found), the export set,
# courierConfig.cmake and the version file.
#
# Examples of later backends (one line each):
#   courier_add_component(http  PACKAGES OpenSSL TARGETS OpenSSL::SSL OpenSSL::Crypto)
#   courier_add_component(amqp  PACKAGES OpenSSL TARGETS OpenSSL::SSL OpenSSL::Crypto)
#   courier_add_component(kafka SCRIPT cmake/courier_find_rdkafka.cmake TARGETS PkgConfig::rdkafka++)
#   courier_add_component(grpc  PACKAGES "gRPC CONFIG" Protobuf TARGETS gRPC::grpc++ protobuf::libprotobuf)

include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Where the package files go. share/ rather than lib/: courier is header-only
# and its version file is ARCH_INDEPENDENT.
set(COURIER_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/courier")

# The state lives in global properties (not the cache) so a component removed
# from CMakeLists.txt does not linger from an earlier configure.
define_property(GLOBAL PROPERTY COURIER_COMPONENTS
  BRIEF_DOCS "courier components that were found, in declaration order")
define_property(GLOBAL PROPERTY COURIER_SKIPPED_COMPONENTS
  BRIEF_DOCS "courier components skipped because a dependency is missing")

function(courier_add_component name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SCRIPT" "DEPENDS;PACKAGES;TARGETS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "courier_add_component(${name}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  get_property(found GLOBAL PROPERTY COURIER_COMPONENTS)
  get_property(skipped GLOBAL PROPERTY COURIER_SKIPPED_COMPONENTS)
  if(name IN_LIST found OR name IN_LIST skipped)
    message(FATAL_ERROR "courier_add_component(${name}): component declared twice")
  endif()

  set(depends ${arg_DEPENDS})
  if(NOT name STREQUAL "core")
    list(PREPEND depends core)
  endif()
  list(REMOVE_DUPLICATES depends)

  # Collect every reason to skip, then report them on one line.
  set(missing "")
  foreach(dep IN LISTS depends)
    if(NOT dep IN_LIST found)
      if(NOT dep IN_LIST skipped)
        message(FATAL_ERROR "courier_add_component(${name}): unknown component '${dep}' in DEPENDS (declare it first)")
      endif()
      list(APPEND missing "component ${dep}")
    endif()
  endforeach()
  foreach(spec IN LISTS arg_PACKAGES)
    separate_arguments(find_args UNIX_COMMAND "${spec}")
    find_package(${find_args} QUIET)
    list(GET find_args 0 package)
    if(NOT ${package}_FOUND)
      list(APPEND missing "${spec}")
    endif()
  endforeach()
  if(arg_SCRIPT)
    cmake_path(ABSOLUTE_PATH arg_SCRIPT BASE_DIRECTORY "${PROJECT_SOURCE_DIR}")
    include("${arg_SCRIPT}")
  endif()
  foreach(target IN LISTS arg_TARGETS)
    if(NOT TARGET ${target})
      list(APPEND missing "${target}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES missing)

  if(missing)
    list(JOIN missing ", " missing)
    courier_missing("${missing}, for the component '${name}'")
    set_property(GLOBAL APPEND PROPERTY COURIER_SKIPPED_COMPONENTS ${name})
    return()
  endif()

  add_library(courier_${name} INTERFACE)
  add_library(courier::${name} ALIAS courier_${name})
  set_target_properties(courier_${name} PROPERTIES EXPORT_NAME ${name})
  foreach(dep IN LISTS depends)
    target_link_libraries(courier_${name} INTERFACE courier_${dep})
  endforeach()
  target_link_libraries(courier_${name} INTERFACE ${arg_TARGETS})
  install(TARGETS courier_${name} EXPORT courierTargets)

  set_property(GLOBAL APPEND PROPERTY COURIER_COMPONENTS ${name})
  set_property(GLOBAL PROPERTY COURIER_COMPONENT_${name}_DEPENDS "${depends}")
  set_property(GLOBAL PROPERTY COURIER_COMPONENT_${name}_PACKAGES "${arg_PACKAGES}")
  set_property(GLOBAL PROPERTY COURIER_COMPONENT_${name}_TARGETS "${arg_TARGETS}")
  if(arg_SCRIPT)
    cmake_path(GET arg_SCRIPT FILENAME script_name)
    set_property(GLOBAL PROPERTY COURIER_COMPONENT_${name}_SCRIPT "${script_name}")
    install(FILES "${arg_SCRIPT}" DESTINATION "${COURIER_INSTALL_CMAKEDIR}")
  endif()
endfunction()

function(courier_finalize_components)
  get_property(found GLOBAL PROPERTY COURIER_COMPONENTS)
  get_property(skipped GLOBAL PROPERTY COURIER_SKIPPED_COMPONENTS)

  # The umbrella: everything this build found.
  add_library(courier_courier INTERFACE)
  add_library(courier::courier ALIAS courier_courier)
  set_target_properties(courier_courier PROPERTIES EXPORT_NAME courier)
  foreach(name IN LISTS found)
    target_link_libraries(courier_courier INTERFACE courier_${name})
  endforeach()
  install(TARGETS courier_courier EXPORT courierTargets)

  list(JOIN found " " found_text)
  message(STATUS "courier: components: ${found_text}")

  # Headers, minus those of skipped backends (they could not be used anyway).
  set(exclude "")
  foreach(name IN LISTS skipped)
    list(APPEND exclude REGEX "/courier/${name}(/.*)?$" EXCLUDE REGEX "/courier/${name}\\.hpp$" EXCLUDE)
  endforeach()
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/"
          DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
          ${exclude})

  install(EXPORT courierTargets
          NAMESPACE courier::
          DESTINATION "${COURIER_INSTALL_CMAKEDIR}")

  # What courierConfig.cmake needs to re-check each component on the
  # consumer's machine.
  set(content "# Generated by courier_finalize_components(); do not edit.\n")
  string(APPEND content "set(courier_COMPONENTS [==[${found}]==])\n")
  foreach(name IN LISTS found)
    foreach(field DEPENDS PACKAGES TARGETS SCRIPT)
      get_property(value GLOBAL PROPERTY COURIER_COMPONENT_${name}_${field})
      string(APPEND content "set(courier_${name}_${field} [==[${value}]==])\n")
    endforeach()
  endforeach()
  file(CONFIGURE OUTPUT "${PROJECT_BINARY_DIR}/courierComponents.cmake"
       CONTENT "${content}" @ONLY)

  configure_package_config_file(
    "${PROJECT_SOURCE_DIR}/cmake/courierConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/courierConfig.cmake"
    INSTALL_DESTINATION "${COURIER_INSTALL_CMAKEDIR}")
  write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/courierConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}"
    COMPATIBILITY SameMajorVersion
    ARCH_INDEPENDENT)
  install(FILES
            "${PROJECT_BINARY_DIR}/courierConfig.cmake"
            "${PROJECT_BINARY_DIR}/courierConfigVersion.cmake"
            "${PROJECT_BINARY_DIR}/courierComponents.cmake"
          DESTINATION "${COURIER_INSTALL_CMAKEDIR}")
endfunction()
