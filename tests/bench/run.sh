#!/bin/sh
# Builds wharf (Release) and runs the benchmark; arguments go to bench.py
# (e.g. --lines 2000000 --containers 50).
set -eu
cd "$(dirname "$0")/../.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target wharf >/dev/null
exec python3 tests/bench/bench.py --wharf build-bench/wharf "$@"
