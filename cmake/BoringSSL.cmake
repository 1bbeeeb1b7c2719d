# The one place that decides which BoringSSL Gatehouse links.
#
# GATEHOUSE_BORINGSSL=system uses Debian's android-libboringssl(-dev): headers in
# /usr/include/android, shared libraries in /usr/lib/<triplet>/android (no .so
# symlink, so we name the files), found at run time through an rpath.
# The performance issue adds a static build from Debian's source package here.
#
# Either way the result is two imported targets, BoringSSL::ssl and
# BoringSSL::crypto, and a configure-time proof that the headers are BoringSSL's
# (OPENSSL_IS_BORINGSSL), so the system OpenSSL can never slip in.

set(GATEHOUSE_BORINGSSL "system" CACHE STRING "Which BoringSSL to link: system")
set_property(CACHE GATEHOUSE_BORINGSSL PROPERTY STRINGS system)

if(NOT GATEHOUSE_BORINGSSL STREQUAL "system")
  message(FATAL_ERROR "GATEHOUSE_BORINGSSL=${GATEHOUSE_BORINGSSL} is not known; use 'system'")
endif()

set(BORINGSSL_INCLUDE_DIR /usr/include/android)
set(BORINGSSL_LIB_DIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/android)
find_file(BORINGSSL_SSL_LIBRARY libssl.so.0 PATHS ${BORINGSSL_LIB_DIR} NO_DEFAULT_PATH)
find_file(BORINGSSL_CRYPTO_LIBRARY libcrypto.so.0 PATHS ${BORINGSSL_LIB_DIR} NO_DEFAULT_PATH)
if(NOT EXISTS ${BORINGSSL_INCLUDE_DIR}/openssl/base.h OR NOT BORINGSSL_SSL_LIBRARY
   OR NOT BORINGSSL_CRYPTO_LIBRARY)
  message(FATAL_ERROR "Debian's BoringSSL is missing: apt-get install android-libboringssl-dev "
                      "(or run scripts/install-deps.sh)")
endif()

include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_INCLUDES ${BORINGSSL_INCLUDE_DIR})
set(CMAKE_REQUIRED_QUIET ON)
check_cxx_source_compiles([[
#include <openssl/base.h>
#ifndef OPENSSL_IS_BORINGSSL
#error "these headers are not BoringSSL"
#endif
int main() { return 0; }
]] GATEHOUSE_HEADERS_ARE_BORINGSSL)
unset(CMAKE_REQUIRED_INCLUDES)
if(NOT GATEHOUSE_HEADERS_ARE_BORINGSSL)
  message(FATAL_ERROR "${BORINGSSL_INCLUDE_DIR}/openssl is not BoringSSL")
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
set(GATEHOUSE_BORINGSSL_DESCRIPTION "Debian android-libboringssl (shared, ${BORINGSSL_LIB_DIR})")
message(STATUS "BoringSSL: ${GATEHOUSE_BORINGSSL_DESCRIPTION}")
