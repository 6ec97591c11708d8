#!/bin/sh
# ASan + UBSan run, registered in ctest as sanitize/asan: builds wharf and
# the unit tests with -fsanitize=address,undefined in BUILD_DIR/asan, runs
# every unit test, then the integration tests that exercise the most code
# paths against the sanitized binary. Any sanitizer report fails the run.
set -eu
src="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:?usage: tests/sanitize.sh BUILD_DIR}/asan"
cmake -S "$src" -B "$build" -DWHARF_SANITIZE=ON -DWHARF_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in "$build"/tests/test_*; do
    "$t" >/dev/null 2>"$build/unit.log" || { cat "$build/unit.log"; echo "sanitize: $t failed"; exit 1; }
done
export WHARF_BIN="$build/wharf" WHARF_SOURCE_DIR="$src" WHARF_KAFKA_MOCK="$build/tests/wharf-kafka-mock"
for t in test_demo test_docker_edge test_cri_edge test_corpus_docker test_corpus_cri test_restart \
    test_outputs test_buffer_first_save test_buffer_hold_deleted test_buffer_recovery \
    test_kafka_output test_syslog_output test_journald_input test_parsers_corpus test_api \
    test_audit test_lifecycle test_archive test_multiline; do
    python3 "$src/tests/integration/$t.py" >"$build/$t.log" 2>&1 ||
        { tail -30 "$build/$t.log"; echo "sanitize: $t failed"; exit 1; }
done
echo "sanitize: unit and integration tests clean under ASan and UBSan"
