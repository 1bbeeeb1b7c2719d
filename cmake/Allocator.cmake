# The allocator of our programs (GATEHOUSE_ALLOCATOR): "mimalloc", the default (Debian's
# libmimalloc-dev), or "system" (glibc's). Linked into every program of ours, mimalloc replaces
# malloc and free for the whole process, BoringSSL's, nghttp2's and libstdc++'s allocations
# included. Why: an HTTP/2 request makes about 45 allocations, and glibc's malloc and free were a
# fifth of its instructions; mimalloc took 9% off the server's CPU per request (bench/RESULTS.md,
# thirteenth session). Sanitizer builds keep the system allocator: AddressSanitizer and
# ThreadSanitizer bring their own.
set(GATEHOUSE_ALLOCATOR "mimalloc" CACHE STRING "malloc for our programs: mimalloc or system")
set(gatehouse_allocator ${GATEHOUSE_ALLOCATOR})
if(GATEHOUSE_SANITIZE)
  set(gatehouse_allocator "system")
endif()

add_library(gatehouse_allocator INTERFACE)
if(gatehouse_allocator STREQUAL "mimalloc")
  find_package(mimalloc CONFIG QUIET)
  if(NOT mimalloc_FOUND)
    message(FATAL_ERROR "mimalloc not found: `make deps` installs Debian's libmimalloc-dev "
                        "(or configure with -DGATEHOUSE_ALLOCATOR=system for glibc's malloc)")
  endif()
  target_link_libraries(gatehouse_allocator INTERFACE mimalloc)
  target_compile_definitions(gatehouse_allocator INTERFACE GATEHOUSE_MIMALLOC=1)
elseif(NOT gatehouse_allocator STREQUAL "system")
  message(FATAL_ERROR "GATEHOUSE_ALLOCATOR=${GATEHOUSE_ALLOCATOR}: use mimalloc or system")
endif()
message(STATUS "Allocator: ${gatehouse_allocator}")
