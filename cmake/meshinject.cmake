# Shared build settings: warnings, sanitizers, and the helpers every folder uses.

add_library(meshinject_options INTERFACE)
# -Wshadow: a name that hides another is how a request's state gets read from the
# wrong scope; the code keeps names distinct instead.
target_compile_options(meshinject_options INTERFACE -Wall -Wextra -Wshadow -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports std::string concatenation as overlapping memcpy at -O2
  # (GCC bug 105329, a false positive); it would fail -Werror builds.
  target_compile_options(meshinject_options INTERFACE -Wno-restrict)
endif()
target_include_directories(meshinject_options INTERFACE ${PROJECT_SOURCE_DIR})
if(MESHINJECT_WERROR)
  target_compile_options(meshinject_options INTERFACE -Werror)
endif()
if(MESHINJECT_SANITIZE)
  string(REPLACE ";" "," _sanitizers "${MESHINJECT_SANITIZE}")
  target_compile_options(meshinject_options INTERFACE -fsanitize=${_sanitizers} -fno-omit-frame-pointer
                                                      -fno-sanitize-recover=all)
  target_link_options(meshinject_options INTERFACE -fsanitize=${_sanitizers})
  target_compile_definitions(meshinject_options INTERFACE MESHINJECT_SANITIZED=1)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # ASan instrumentation makes GCC 12 report maybe-uninitialized inside
    # libstdc++ (<regex>, std::function); the release build keeps the warning.
    target_compile_options(meshinject_options INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()

# Coverage feedback for libFuzzer in every library the fuzzers link. Linked
# PRIVATE by each library, so test programs (which only need the sanitizers)
# are not instrumented: that instrumentation was a third of their compile time.
add_library(meshinject_fuzz_coverage INTERFACE)
if(MESHINJECT_FUZZ)
  target_compile_options(meshinject_fuzz_coverage INTERFACE -fsanitize=fuzzer-no-link)
endif()

# Test programs are compiled at their own optimisation level (the libraries
# they test keep the build type's): the test code is not what is measured, and
# at the build type's -O3 it was most of the build's time (CI builds every
# test twice, Release and sanitizers). Empty: the build type's flags.
set(MESHINJECT_TEST_OPTIMIZE "-O1" CACHE STRING "Optimisation flag for test programs (empty: the build type's)")

# meshinject_library(name SOURCES ... [HOT_SOURCES ...] DEPS ...): one static
# library per source folder. HOT_SOURCES are the files the request path runs
# through; they are compiled as an object library of their own so that the
# hot_path_symbols test can check that their objects reference no YAML parser,
# no iostreams and no `throw` (tests/hot_path/). A file that mixes request-path
# code with load-time code is split rather than listed.
function(meshinject_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;HOT_SOURCES;DEPS" ${ARGN})
  if(ARG_HOT_SOURCES)
    foreach(hot ${ARG_HOT_SOURCES})
      list(REMOVE_ITEM ARG_SOURCES ${hot})
    endforeach()
    add_library(${name}_hot OBJECT ${ARG_HOT_SOURCES})
    target_link_libraries(${name}_hot PUBLIC meshinject_options ${ARG_DEPS})
    target_link_libraries(${name}_hot PRIVATE meshinject_fuzz_coverage)
    set_property(GLOBAL APPEND PROPERTY MESHINJECT_HOT_OBJECTS "$<TARGET_OBJECTS:${name}_hot>")
  endif()
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC meshinject_options ${ARG_DEPS})
  target_link_libraries(${name} PRIVATE meshinject_fuzz_coverage)
  if(ARG_HOT_SOURCES)
    # An object library linked directly is archived into this library.
    target_link_libraries(${name} PRIVATE ${name}_hot)
  endif()
endfunction()

# meshinject_test(name LABELS unit|integration|conformance SOURCES ... DEPS ...)
# Tests find the conformance data through MESHINJECT_CONFORMANCE_DIR and the built
# binary through MESHINJECT_BINARY; both are passed in the environment.
function(meshinject_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "LABELS;SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE meshinject_options ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(MESHINJECT_TEST_OPTIMIZE)
    target_compile_options(${name} PRIVATE ${MESHINJECT_TEST_OPTIMIZE})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "MESHINJECT_CONFORMANCE_DIR=${MESHINJECT_CONFORMANCE_DIR};MESHINJECT_SOURCE_DIR=${PROJECT_SOURCE_DIR};MESHINJECT_BINARY=$<TARGET_FILE:meshinject>")
endfunction()
