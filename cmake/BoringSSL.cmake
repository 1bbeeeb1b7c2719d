# The one place that decides which BoringSSL Gatehouse links.
#
# GATEHOUSE_BORINGSSL=static (the default): BoringSSL built from Debian's source package by
# scripts/build-boringssl.sh (run by `make deps`; configuring only locates its cache and never
# fetches, builds or installs anything): static libraries, hidden symbols, assembly on. Nothing else in the process can bind to these symbols, so a library
# that pulls the system OpenSSL (libcurl, civetweb) cannot mix the two.
# GATEHOUSE_BORINGSSL=system: Debian's android-libboringssl(-dev) shared libraries, built with
# OPENSSL_SMALL (portable P-256, small tables: about a third of the signing speed). Headers in
# /usr/include/android, libraries in /usr/lib/<triplet>/android (no .so symlink, so we name the
# files), found at run time through an rpath.
#
# Either way the result is two imported targets, BoringSSL::ssl and BoringSSL::crypto, and a
# configure-time proof that the headers are BoringSSL's (OPENSSL_IS_BORINGSSL), so the system
# OpenSSL can never slip in.

set(GATEHOUSE_BORINGSSL "static" CACHE STRING "Which BoringSSL to link: static or system")
set_property(CACHE GATEHOUSE_BORINGSSL PROPERTY STRINGS static system)

if(GATEHOUSE_BORINGSSL STREQUAL "static")
  execute_process(COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/build-boringssl.sh --locate
                  OUTPUT_VARIABLE BORINGSSL_PREFIX OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE built)
  if(NOT built EQUAL 0 OR NOT EXISTS ${BORINGSSL_PREFIX}/lib/libssl.a)
    message(FATAL_ERROR "the static BoringSSL is not built (scripts/build-boringssl.sh said why above): "
                        "run `make deps` first, or configure with -DGATEHOUSE_BORINGSSL=system for "
                        "Debian's shared one")
  endif()
  set(BORINGSSL_INCLUDE_DIR ${BORINGSSL_PREFIX}/include)
  file(READ ${BORINGSSL_PREFIX}/share/BORINGSSL_REVISION revision)
  file(READ ${BORINGSSL_PREFIX}/share/DEBIAN_VERSION debian_version)
  string(STRIP "${revision}" revision)
  string(STRIP "${debian_version}" debian_version)
  add_library(BoringSSL::crypto STATIC IMPORTED)
  set_target_properties(BoringSSL::crypto PROPERTIES
    IMPORTED_LOCATION ${BORINGSSL_PREFIX}/lib/libcrypto.a
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR}
    INTERFACE_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR})
  add_library(BoringSSL::ssl STATIC IMPORTED)
  set_target_properties(BoringSSL::ssl PROPERTIES
    IMPORTED_LOCATION ${BORINGSSL_PREFIX}/lib/libssl.a
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR}
    INTERFACE_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES BoringSSL::crypto)
  set(GATEHOUSE_BORINGSSL_LICENSE ${BORINGSSL_PREFIX}/share/LICENSE)
  set(GATEHOUSE_BORINGSSL_DESCRIPTION
      "BoringSSL ${revision} (static, assembly on, from Debian source ${debian_version})")
elseif(GATEHOUSE_BORINGSSL STREQUAL "system")
  set(BORINGSSL_INCLUDE_DIR /usr/include/android)
  set(BORINGSSL_LIB_DIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/android)
  find_file(BORINGSSL_SSL_LIBRARY libssl.so.0 PATHS ${BORINGSSL_LIB_DIR} NO_DEFAULT_PATH)
  find_file(BORINGSSL_CRYPTO_LIBRARY libcrypto.so.0 PATHS ${BORINGSSL_LIB_DIR} NO_DEFAULT_PATH)
  if(NOT EXISTS ${BORINGSSL_INCLUDE_DIR}/openssl/base.h OR NOT BORINGSSL_SSL_LIBRARY
     OR NOT BORINGSSL_CRYPTO_LIBRARY)
    message(FATAL_ERROR "Debian's BoringSSL is missing: apt-get install android-libboringssl-dev "
                        "(or run scripts/install-deps.sh)")
  endif()

  add_library(BoringSSL::crypto SHARED IMPORTED)
  set_target_properties(BoringSSL::crypto PROPERTIES
    IMPORTED_LOCATION ${BORINGSSL_CRYPTO_LIBRARY}
    IMPORTED_NO_SONAME OFF
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR}
    INTERFACE_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR})
  add_library(BoringSSL::ssl SHARED IMPORTED)
  set_target_properties(BoringSSL::ssl PROPERTIES
    IMPORTED_LOCATION ${BORINGSSL_SSL_LIBRARY}
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR}
    INTERFACE_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES BoringSSL::crypto)
  # The libraries live outside the loader's path: every binary carries an rpath.
  list(APPEND CMAKE_BUILD_RPATH ${BORINGSSL_LIB_DIR})
  list(APPEND CMAKE_INSTALL_RPATH ${BORINGSSL_LIB_DIR})
  set(GATEHOUSE_BORINGSSL_LICENSE /usr/share/doc/android-libboringssl/copyright)
  set(GATEHOUSE_BORINGSSL_DESCRIPTION
      "Debian android-libboringssl (shared, OPENSSL_SMALL: portable P-256, ${BORINGSSL_LIB_DIR})")
else()
  message(FATAL_ERROR "GATEHOUSE_BORINGSSL=${GATEHOUSE_BORINGSSL} is not known; use static or system")
endif()
message(STATUS "BoringSSL: ${GATEHOUSE_BORINGSSL_DESCRIPTION}")

include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_INCLUDES ${BORINGSSL_INCLUDE_DIR})
set(CMAKE_REQUIRED_QUIET ON)
check_cxx_source_compiles([[
#include <openssl/base.h>
#ifndef OPENSSL_IS_BORINGSSL
#error "these headers are not BoringSSL"
#endif
int main() { return 0; }
]] GATEHOUSE_HEADERS_ARE_BORINGSSL_${GATEHOUSE_BORINGSSL})
unset(CMAKE_REQUIRED_INCLUDES)
if(NOT GATEHOUSE_HEADERS_ARE_BORINGSSL_${GATEHOUSE_BORINGSSL})
  message(FATAL_ERROR "${BORINGSSL_INCLUDE_DIR}/openssl is not BoringSSL")
endif()
# BoringSSL's licence travels with the binary.
if(EXISTS ${GATEHOUSE_BORINGSSL_LICENSE})
  configure_file(${GATEHOUSE_BORINGSSL_LICENSE} ${CMAKE_BINARY_DIR}/BORINGSSL-LICENSE COPYONLY)
endif()
