// The build's allocator really serves the process: our code, libstdc++'s operator new and
// BoringSSL's OPENSSL_malloc all get mimalloc's memory when the build links it
// (cmake/Allocator.cmake), so no part keeps glibc's malloc by an accident of link order.
#include <gtest/gtest.h>
#include <openssl/mem.h>

#include <memory>

#include "common/allocator.hpp"

#ifdef GATEHOUSE_MIMALLOC
#include <mimalloc.h>

TEST(Allocator, MallocOperatorNewAndBoringSslAllUseMimalloc) {
  EXPECT_TRUE(gatehouse::malloc_is_mimalloc());
  auto chars = std::make_unique<char[]>(100);
  EXPECT_TRUE(mi_is_in_heap_region(chars.get()));
  void* ssl_memory = OPENSSL_malloc(64);
  ASSERT_NE(ssl_memory, nullptr);
  EXPECT_TRUE(mi_is_in_heap_region(ssl_memory));
  OPENSSL_free(ssl_memory);
  EXPECT_NE(gatehouse::allocator_description().find("mimalloc 2."), std::string::npos);
}
#else
TEST(Allocator, SystemAllocatorIsNamedAsSuch) {
  EXPECT_FALSE(gatehouse::malloc_is_mimalloc());
  EXPECT_EQ(gatehouse::allocator_description(), "system (glibc)");
}
#endif
