#include <gtest/gtest.h>

#include "tls/client_hello.hpp"

namespace gatehouse::tls {

TEST(NameMatches, ExactAndOneLabelWildcards) {
  EXPECT_TRUE(name_matches("localhost", "localhost"));
  EXPECT_FALSE(name_matches("localhost", "localhost2"));
  EXPECT_TRUE(name_matches("*.staging.example.com", "app.staging.example.com"));
  EXPECT_FALSE(name_matches("*.staging.example.com", "staging.example.com"));
  EXPECT_FALSE(name_matches("*.staging.example.com", "a.b.staging.example.com"));
  EXPECT_FALSE(name_matches("*.staging.example.com", ".staging.example.com"));
  EXPECT_FALSE(name_matches("*.example.com", ""));
}

}  // namespace gatehouse::tls
