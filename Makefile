# The two commands of the README's quick start, and their parts.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: demo test deps build clean

demo: build
	./scripts/demo.sh $(BUILD_DIR)/gatehouse

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

build: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

deps:
	./scripts/install-deps.sh

clean:
	rm -rf $(BUILD_DIR)
