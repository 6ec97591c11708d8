#!/bin/sh
# run.sh - builds wharf's libFuzzer targets and runs each for a while; ctest
# runs it as fuzz/smoke, CI with the default 30 seconds per target.
#
# Builds with clang in FUZZ_BUILD_DIR (default build-fuzz, -DWHARF_FUZZ=ON),
# then runs every tests/fuzz/fuzz_*.c target for FUZZ_SECONDS (default 30) on
# a scratch copy of its seed corpus tests/fuzz/corpus/<name without fuzz_>/
# (the repository's corpus is never written to; a target without one starts
# from nothing). Prints executions per second and coverage per target.
# Exits 1 when a target crashes, leaks, times out or runs out of memory,
# after printing the sanitizer's report and each offending input as hex; the
# inputs are kept in the scratch directory it names. Exits 2 when the build
# fails.
#
# Environment: FUZZ_SECONDS, FUZZ_BUILD_DIR, FUZZ_JOBS (build parallelism),
# FUZZ_TARGETS (space-separated names, default all), FUZZ_KEEP=1 (keep the
# scratch directory, with the grown corpora, after a clean run too).
set -u
cd "$(dirname "$0")/../.." || exit 2
seconds="${FUZZ_SECONDS:-30}"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${FUZZ_JOBS:-$(nproc)}"

targets="${FUZZ_TARGETS:-}"
if [ -z "$targets" ]; then
    for src in tests/fuzz/fuzz_*.c; do
        targets="$targets $(basename "$src" .c)"
    done
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/wharf-fuzz.XXXXXX")
# shellcheck disable=SC2086 # $targets: one word per target
if ! { CC=clang cmake -S . -B "$build" -DWHARF_FUZZ=ON &&
    cmake --build "$build" -j"$jobs" --target $targets; } >"$scratch/build.log" 2>&1; then
    tail -n 60 "$scratch/build.log"
    echo "fuzz: build failed (log: $scratch/build.log)"
    exit 2
fi

# One line of hex for an input (the first 4 KiB of a larger one).
hex() {
    head -c 4096 "$1" | od -An -v -tx1 | tr -d ' \n'
    [ "$(wc -c <"$1")" -gt 4096 ] && printf '...'
    echo
}

status=0
for name in $targets; do
    bin="$build/tests/fuzz/$name"
    work="$scratch/$name"
    seeds="tests/fuzz/corpus/${name#fuzz_}"
    mkdir -p "$work/corpus"
    if [ -d "$seeds" ]; then
        cp -R "$seeds"/. "$work/corpus/"
    else
        echo "fuzz: $name: no seed corpus in $seeds, starting from nothing"
    fi
    "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/log" | tail -n 1)
    found=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
        -name 'timeout-*' -o -name 'oom-*' \) | sort)
    if [ $rc -eq 0 ] && [ -z "$found" ]; then
        echo "fuzz: $name ok: ${execs:-?} runs, ${rate:-?} exec/s, ${cov:-no coverage line}," \
            "corpus $(find "$work/corpus" -type f | wc -l) inputs"
        continue
    fi
    status=1
    echo "fuzz: $name FAILED (exit $rc) after ${execs:-?} runs"
    # The sanitizer's or the target's report, without libFuzzer's progress lines.
    grep -v -e '^#[0-9]' -e '^INFO:' -e '^	NEW_FUNC' "$work/log" | tail -n 60
    for f in $found; do
        echo "fuzz: $name input $f ($(wc -c <"$f") bytes), hex:"
        hex "$f"
        echo "fuzz: reproduce with: $bin $f"
    done
done
if [ $status -eq 0 ] && [ "${FUZZ_KEEP:-0}" != 1 ]; then
    rm -rf "$scratch"
else
    echo "fuzz: logs, corpora and inputs kept in $scratch"
fi
exit $status
