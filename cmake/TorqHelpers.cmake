# Helpers so that adding a library, test, fuzz target or benchmark is one line.

# torq_library(NAME <name> ALIAS <ns::name> SOURCES ... [PUBLIC_LIBS ...])
function(torq_library)
  cmake_parse_arguments(A "" "NAME;ALIAS" "SOURCES;PUBLIC_LIBS" ${ARGN})
  add_library(${A_NAME} STATIC ${A_SOURCES})
  add_library(${A_ALIAS} ALIAS ${A_NAME})
  target_include_directories(${A_NAME} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(${A_NAME} PUBLIC ${A_PUBLIC_LIBS})
endfunction()

# torq_test(<name> SOURCES ... LIBS ...): a GoogleTest executable registered with ctest.
function(torq_test name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} GTest::gtest GTest::gtest_main Threads::Threads)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${A_LABELS}" TIMEOUT 600
    ENVIRONMENT "TORQ_SOURCE_DIR=${PROJECT_SOURCE_DIR};TORQ_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# torq_fuzz(<name> SOURCES ... LIBS ... CORPUS <dir>): libFuzzer target with clang and
# TORQ_BUILD_FUZZ; otherwise a replayer of the checked-in corpus (regression test either way).
function(torq_fuzz name)
  cmake_parse_arguments(A "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(TORQ_BUILD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    add_executable(${name} ${A_SOURCES})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${name} ${A_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
  endif()
  target_link_libraries(${name} PRIVATE ${A_LIBS})
  # Regression: every input in the corpus (including past crashes) must run cleanly.
  add_test(NAME ${name}_corpus COMMAND ${name} -runs=0 ${A_CORPUS})
  set_tests_properties(${name}_corpus PROPERTIES LABELS "fuzz" TIMEOUT 300)
endfunction()

# torq_bench(<name> SOURCES ... LIBS ...): Google Benchmark executable (JSON via --benchmark_format=json).
function(torq_bench name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/bench/common)
  target_link_libraries(${name} PRIVATE ${A_LIBS} benchmark::benchmark Threads::Threads)
endfunction()

# torq_check_headers(): one translation unit per public header (…/include/torq/**/*.hpp) that
# includes only that header, compiled into an object library: proves every header is
# self-contained (includes what it uses). Target: torq_checkheaders (part of ALL).
function(torq_check_headers)
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/hw/include/torq/*.hpp
       ${PROJECT_SOURCE_DIR}/dataplane/*/include/torq/*.hpp
       ${PROJECT_SOURCE_DIR}/strategy/include/torq/*.hpp
       ${PROJECT_SOURCE_DIR}/strategy/*/include/torq/*.hpp
       ${PROJECT_SOURCE_DIR}/control/include/torq/*.hpp
       ${PROJECT_SOURCE_DIR}/control/*/include/torq/*.hpp
       ${PROJECT_SOURCE_DIR}/tuning/include/torq/*.hpp)
  set(srcs)
  foreach(h ${headers})
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${h})
    string(REGEX REPLACE "[/.]" "_" stem ${rel})
    set(src ${PROJECT_BINARY_DIR}/checkheaders/${stem}.cpp)
    string(REGEX REPLACE "^.*/include/" "" inc ${rel})
    file(CONFIGURE OUTPUT ${src} CONTENT "#include \"${inc}\"\n#include \"${inc}\"  // and include guards work\n")
    list(APPEND srcs ${src})
  endforeach()
  add_library(torq_checkheaders OBJECT ${srcs})
  target_link_libraries(torq_checkheaders PRIVATE ${ARGN})
endfunction()
