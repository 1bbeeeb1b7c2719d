# The two commands of the README's quick start, and their parts.
BUILD_DIR ?= build
SYSTEM_BUILD_DIR ?= build-system
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: demo test test-system deps build clean

demo: build
	./scripts/demo.sh $(BUILD_DIR)/gatehouse

# The whole suite on the default (static, fast) BoringSSL, then the fallback build on Debian's
# shared BoringSSL with the tests that tell the two apart.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	$(MAKE) test-system

test-system: deps
	cmake -S . -B $(SYSTEM_BUILD_DIR) $(CMAKE_FLAGS) -DGATEHOUSE_BORINGSSL=system
	cmake --build $(SYSTEM_BUILD_DIR) -j $(JOBS) --target gatehouse unit_tests handshake_test
	ctest --test-dir $(SYSTEM_BUILD_DIR) --output-on-failure -j $(JOBS) -R '^(BoringSsl|Handshake|HandshakeMatrix|All/HandshakeMatrix)\.'

build: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

deps:
	./scripts/install-deps.sh

clean:
	rm -rf $(BUILD_DIR) $(SYSTEM_BUILD_DIR)
