// The headers nearly every test file includes, precompiled once and reused by every test binary
// (tests/CMakeLists.txt): parsing them was half of each test file's compile time, and CI's
// clean-clone `make test` compiles the tests twice (plain and sanitized).
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/test_upstream.hpp"
#include "tls/pem_io.hpp"
