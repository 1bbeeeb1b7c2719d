# Sanitizer and fuzzing builds (CMakePresets.json names them: asan, tsan).
#
# GATEHOUSE_SANITIZE: "address,undefined" or "thread" (empty: none), for every target of ours.
# BoringSSL stays as it was built (uninstrumented): its own test suite covers it; ours covers
# how we call it.
# GATEHOUSE_FUZZ: the libFuzzer targets of tests/fuzz (clang only). Our code is then built with
# coverage instrumentation (-fsanitize=fuzzer-no-link) so the fuzzers can steer by it.

set(GATEHOUSE_SANITIZE "" CACHE STRING "Sanitizers for every target: address,undefined or thread (empty: none)")
option(GATEHOUSE_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)

if(GATEHOUSE_SANITIZE)
  if(NOT GATEHOUSE_SANITIZE MATCHES "^(address,undefined|undefined,address|address|undefined|thread)$")
    message(FATAL_ERROR "GATEHOUSE_SANITIZE=${GATEHOUSE_SANITIZE}: use address,undefined or thread")
  endif()
  # A finding stops the test that caused it instead of scrolling past.
  add_compile_options(-fsanitize=${GATEHOUSE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GATEHOUSE_SANITIZE})
  if(GATEHOUSE_SANITIZE MATCHES "undefined" AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14 cannot emit -fsanitize=function's checks in coroutine frames ("Cannot represent
    # a difference across sections"); the rest of UBSan stays on.
    add_compile_options(-fno-sanitize=function)
  endif()
  message(STATUS "Sanitizers: ${GATEHOUSE_SANITIZE}")
endif()

if(GATEHOUSE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "GATEHOUSE_FUZZ needs clang (libFuzzer): cmake --preset asan, or CXX=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
