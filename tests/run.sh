#!/bin/sh
# Every test: unit tests (Check) and integration tests against a real
# engine, first in a normal build, then again with ASan+UBSan; then the
# libFuzzer targets for a short fixed time. Run as root on Debian 12;
# installs what it needs from Debian's packages.
set -eu
cd "$(dirname "$0")/.."

./deploy/deps.sh
./templates/offline/build.sh

status=0
for variant in build:OFF build-asan:ON; do
	dir=${variant%%:*}
	san=${variant#*:}
	echo "== $dir (sanitizers $san)"
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DWSLAB_SANITIZE="$san" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
	# ASan: fail on any leak or error in wsd and the tests.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$dir" --output-on-failure || status=1
done
# libFuzzer targets (clang): each for a short fixed time over its seeds.
echo "== build-fuzz (libFuzzer, ASan+UBSan)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DWSLAB_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)"
ctest --test-dir build-fuzz -L fuzz --output-on-failure || status=1
exit $status
