# llhttp, the HTTP/1.1 parser Node.js uses, from the generated C that Debian's node-llhttp package
# ships (/usr/share/llhttp, header in /usr/share/include/llhttp; version 8.1). Built here as a
# static library in strict mode (LLHTTP_STRICT_MODE=1: CRLF line ends only, no obsolete line
# folding, no lenient framing), the way BoringSSL is built from Debian's source: the parser's
# code is not ours to write, but how strict it is must be.

enable_language(C)
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATHS /usr/share/include/llhttp NO_DEFAULT_PATH)
find_path(LLHTTP_SOURCE_DIR llhttp.c PATHS /usr/share/llhttp NO_DEFAULT_PATH)
if(NOT LLHTTP_INCLUDE_DIR OR NOT LLHTTP_SOURCE_DIR)
  message(FATAL_ERROR "llhttp's sources are missing: apt-get install node-llhttp (or make deps)")
endif()

add_library(llhttp_strict STATIC
  ${LLHTTP_SOURCE_DIR}/llhttp.c ${LLHTTP_SOURCE_DIR}/api.c ${LLHTTP_SOURCE_DIR}/http.c)
target_compile_definitions(llhttp_strict PUBLIC LLHTTP_STRICT_MODE=1)
target_include_directories(llhttp_strict SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
target_compile_options(llhttp_strict PRIVATE -w)  # generated code; its warnings are not ours to fix
