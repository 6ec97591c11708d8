#!/bin/sh
# Static checks, run by ctest as lint/static: formatting (clang-format with the
# repository's .clang-format), cppcheck, and clang-tidy's analyzer and bugprone
# checks over src/ using BUILD_DIR/compile_commands.json, one job per core.
# Exit 1 on a finding.
set -u
cd "$(dirname "$0")/.."
build="${1:?usage: tests/lint.sh BUILD_DIR}"
status=0

files=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 'tests/unit/*.c' 'tests/fuzz/*.c' 2>/dev/null ||
    find src include tests/unit tests/fuzz -name '*.[ch]')
if ! clang-format --dry-run --Werror $files; then
    echo "lint: clang-format: run 'clang-format -i' on the files above" >&2
    status=1
fi

if ! cppcheck -j "$(nproc 2>/dev/null || echo 1)" --quiet --enable=warning,performance,portability --std=c11 --inline-suppr \
    --error-exitcode=1 -I include -D_GNU_SOURCE src; then
    echo "lint: cppcheck found problems" >&2
    status=1
fi

checks='-*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions,-bugprone-reserved-identifier,-bugprone-assignment-in-if-condition,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'
jobs=$(nproc 2>/dev/null || echo 1)
out=$( (git ls-files 'src/*.c' 2>/dev/null || find src -name '*.c') |
    xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet --checks="$checks" 2>/dev/null |
    grep -E '^/.*(warning|error):')
if [ -n "$out" ]; then
    echo "$out"
    echo "lint: clang-tidy found problems" >&2
    status=1
fi
[ $status -eq 0 ] && echo "lint: clean"
exit $status
