#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# FUZZ_SECONDS (default 30) on a scratch copy of its seed corpus. Exit 1 when
# a target crashes; the crashing input is printed as hex and left in the
# scratch directory.
set -eu
cd "$(dirname "$0")/../.."
seconds="${FUZZ_SECONDS:-30}"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
CC=clang cmake -S . -B "$build" -DWHARF_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
scratch=$(mktemp -d)
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    name=$(basename "$bin")
    seeds="tests/fuzz/corpus/${name#fuzz_}"
    mkdir -p "$scratch/$name"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$scratch/$name/"
    if "$bin" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 \
        -artifact_prefix="$scratch/$name-" "$scratch/$name" >"$scratch/$name.log" 2>&1; then
        echo "fuzz: $name ok: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$scratch/$name.log" ||
            tail -1 "$scratch/$name.log")"
    else
        status=1
        echo "fuzz: $name FAILED"
        tail -30 "$scratch/$name.log"
        for crash in "$scratch/$name"-*; do
            [ -f "$crash" ] && { echo "input $crash:"; od -A x -t x1z "$crash" | head -20; }
        done
    fi
done
exit $status
