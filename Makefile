# Short commands over CMake. Every build lives in build/<flavour>.
#   make demo   build, then run the tour (examples/tour.c)
#   make check  build and run every test: normal, ASan+UBSan, TSan, release checks, model, install
#   make docs   generate the reference manual (build/docs/html/index.html)
#   make bench  run the benchmarks against the peers, write docs/benchmarks.md
#   make service  run the example service (examples/service/run.sh): HTTPS API over Redis
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: check-fuzz all deps demo service check check-debug check-asan check-tsan check-release check-model check-install bench clean docs check-docs

all: build/release/.built

deps:
	@bash scripts/deps.sh

build/%/.configured:
	@bash scripts/deps.sh --quiet
	cmake -S . -B build/$* $(CMAKE_FLAGS) $(BUILD_$*)
	@touch $@

BUILD_release = -DCMAKE_BUILD_TYPE=Release
BUILD_debug = -DCMAKE_BUILD_TYPE=Debug -DWEFT_BUILD_BENCH=OFF
BUILD_asan = -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=address,undefined -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_EXAMPLES=OFF
BUILD_tsan = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE=thread -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_EXAMPLES=OFF

build/%/.built: build/%/.configured FORCE
	cmake --build build/$* -j $(JOBS)
	@touch $@
FORCE:

# Keep the stamp files: make would delete them as intermediates and re-run cmake.
.PRECIOUS: build/%/.configured

demo: build/release/.built
	./build/release/examples/tour

# The example service: makes a certificate, starts a redis-server, builds
# what it needs and serves https://localhost:8443 until Ctrl-C.
service:
	bash examples/service/run.sh

check: check-docs check-debug check-asan check-tsan check-release check-model check-install check-fuzz
	@echo "make check: all suites passed"

check-debug: build/debug/.built
	bash scripts/run-tests.sh build/debug all

check-asan: build/asan/.built
	bash scripts/check-symbols.sh build/asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  bash scripts/run-tests.sh build/asan all

# Under ThreadSanitizer: the threaded tests on current_thread, and every
# test on multi_thread (where every test is threaded).
check-tsan: build/tsan/.built
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 WEFT_TEST_RUNTIME=current_thread \
	  ctest --test-dir build/tsan --output-on-failure -j 2 -L threaded
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 WEFT_TEST_RUNTIME=multi_thread \
	  ctest --test-dir build/tsan --output-on-failure -j 2

# The tests labelled `release` (misuse checks that must hold in every build)
# against the release library, on both runtimes.
check-release: build/release/.built
	bash scripts/run-tests.sh build/release release

check-model:
	bash scripts/check-model.sh

# libweft-http's fuzz targets under libFuzzer, each for HTTP_FUZZ_SECS (30).
check-fuzz:
	@bash scripts/deps.sh --quiet
	bash scripts/http-fuzz.sh

# The reference manual; fails on an undocumented public symbol.
docs check-docs:
	@bash scripts/deps.sh --quiet
	bash scripts/build-docs.sh build/docs

check-install: build/release/.built
	bash scripts/check-symbols.sh build/release
	bash scripts/check-install.sh build/release

bench: build/release/.built
	bash bench/run.sh
	bash bench/adapters/run.sh
	bash bench/resolve/run.sh

clean:
	rm -rf build
