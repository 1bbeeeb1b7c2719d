# The two commands of the README's quick start, and their parts.
BUILD_DIR ?= build
SYSTEM_BUILD_DIR ?= build-system
FUZZ_SECONDS ?= 60
CI_FUZZ_SECONDS ?= 3
JOBS ?= 2
# Line tables only (-g1), not full debug info: backtraces, perf and sanitizer reports keep file
# and line, and a clean-clone `make test` compiles a third faster (CI's 40-minute budget).
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
# ccache, when the machine has it, makes rebuilds after a branch switch cheap (never required).
CCACHE := $(shell command -v ccache 2>/dev/null)
ifneq ($(CCACHE),)
CMAKE_FLAGS += -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache
endif

.PHONY: screenshots demo check test test-system test-asan test-tsan fuzz fuzz-build tidy deps build clean

demo: build
	./scripts/demo.sh $(BUILD_DIR)/gatehouse

# The developer loop: an incremental build of the binary and the unit tests, and the tests
# labelled "unit" (no installs, no other processes; seconds after a one-file change).
check:
	@test -f $(BUILD_DIR)/CMakeCache.txt || cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target gatehouse unit_tests boringssl_test
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L unit

# The whole suite on the default (static, fast) BoringSSL, then the fallback build on Debian's
# shared BoringSSL with the tests that tell the two apart, then the suite under AddressSanitizer
# and UndefinedBehaviorSanitizer with a short run of every fuzzer.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	$(MAKE) test-system
	$(MAKE) test-asan

# The whole suite but the x509-limbo conformance run, the Chromium pages, the 2 GiB upload, the
# load-testing guide (gatehouse-bench's, whose own tests are not built here either) and the
# two random-sequence properties (the plain build runs them; under ASan they cost a minute or half a
# minute each and reach no code the other tests do not), and the build checks (they compile, they
# do not run our code), then each fuzz target for CI_FUZZ_SECONDS from its seeds.
ASAN_SKIP := '^(Conformance|Browser|Build|Layering|DesyncProperty)\.|TwoGib|^VerdictHistory\.Random|LoadTestingGuide'
test-asan: fuzz-build
	ctest --test-dir build-asan --output-on-failure -j $(JOBS) -E $(ASAN_SKIP)
	./scripts/fuzz.sh $(CI_FUZZ_SECONDS)

test-tsan: deps
	cmake --preset tsan
	cmake --build build-tsan -j $(JOBS)
	ctest --test-dir build-tsan --output-on-failure -j $(JOBS)

fuzz-build: deps
	cmake --preset asan
	cmake --build build-asan -j $(JOBS)

# Each fuzz target for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=600 for a long run).
fuzz: fuzz-build
	./scripts/fuzz.sh $(FUZZ_SECONDS)

# clang-tidy with the checked-in .clang-tidy over our sources (not tests' generated code).
tidy: deps
	./scripts/tidy.sh

# Without debug info or optimisation: this build only proves the fallback links and handshakes
# (-O0 compiles a third faster than the -O1 it had; CI's budget).
test-system: deps
	cmake -S . -B $(SYSTEM_BUILD_DIR) $(CMAKE_FLAGS) -DGATEHOUSE_BORINGSSL=system \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O0 -DNDEBUG"
	cmake --build $(SYSTEM_BUILD_DIR) -j $(JOBS) --target gatehouse boringssl_test handshake_test
	ctest --test-dir $(SYSTEM_BUILD_DIR) --output-on-failure -j $(JOBS) -R '^(BoringSsl|Handshake|HandshakeMatrix|All/HandshakeMatrix)\.'

# The refusal pages as a tester sees them in Chromium, saved for the docs (docs/images/).
screenshots: build
	/usr/bin/python3 tests/browser/chromium_test.py $(BUILD_DIR)/gatehouse --screenshots docs/images

build: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

deps:
	./scripts/install-deps.sh

clean:
	rm -rf $(BUILD_DIR) $(SYSTEM_BUILD_DIR) build-asan build-tsan
