#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine: installs the build
# and test dependencies, configures with warnings as errors, builds, and runs
# ctest (unit, integration, lint and fuzz smoke tests). Ends with ctest's
# summary line. BUILD_DIR and CTEST_ARGS may be set to override.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then sh packaging/install-deps.sh; else sudo sh packaging/install-deps.sh; fi
build="${BUILD_DIR:-build-test}"
cmake -S . -B "$build" -DWHARF_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
cd "$build"
exec ctest --output-on-failure ${CTEST_ARGS:-}
