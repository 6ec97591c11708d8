#!/usr/bin/env bash
# archive.sh - the archive output's throughput and compression (not a timed
# test).
#
#   bash tests/bench/archive.sh            (LINES=500000 ROUNDS=3 LEVELS="1 3 9")
#
# Builds wharf and wharf-archive-bench (Release, build-bench/) unless
# WHARF_BIN / WHARF_ARCHIVE_BENCH are set, generates the Docker json-file
# benchmark load once (lib.sh, gen.py), runs it through wharf once to a file
# output (so the archive gets exactly the NDJSON the pipeline makes: ECS
# events with container metadata), then for each round and level feeds that
# NDJSON to the archive output alone (wharf-archive-bench: 1 MiB blocks, as
# the disk buffer hands them over) into a fresh archive under OUT_DIR, checks
# it with `wharf archive verify` and that `wharf archive cat` gives back the
# same bytes, and prints the bench line:
#
#   archive level=1 events=500000 input_MiB=... stored_MiB=... segments=...
#           ratio=... bytes_per_event=... cpu_s=... events_per_cpu_s=... wall_s=...
#
# then the medians per level. Targets: events_per_cpu_s >= 300000 at the
# default level (1), ratio >= 8.
#
# Environment: LINES, ROUNDS, LEVELS, WHARF_BIN, WHARF_ARCHIVE_BENCH,
# OUT_DIR=/dev/shm/wharf-bench-out, and lib.sh's BENCH_DATA, BENCH_RUN.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LINES=${LINES:-500000}
ROUNDS=${ROUNDS:-3}
LEVELS=${LEVELS:-1 3 9}
OUT_DIR=${OUT_DIR:-/dev/shm/wharf-bench-out}
bench_args "$0" 24 "${1:-}"
mkdir -p "$BENCH_RUN" "$OUT_DIR"

if [ -z "${WHARF_BIN:-}" ]; then
    WHARF_BIN=$(bench_build build-bench)
fi
if [ -z "${WHARF_ARCHIVE_BENCH:-}" ]; then
    cmake --build "$BENCH_REPO/build-bench" -j2 --target wharf-archive-bench \
        >>"$BENCH_RUN/cmake.log" 2>&1 ||
        { tail -30 "$BENCH_RUN/cmake.log" >&2; bench_die "building wharf-archive-bench failed"; }
    WHARF_ARCHIVE_BENCH=$BENCH_REPO/build-bench/tests/wharf-archive-bench
fi

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm -rf "$OUT_DIR/archive-bench" "$OUT_DIR/archive-bench.ndjson" "$OUT_DIR/archive-cat.ndjson"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ds=$(bench_dataset docker "$LINES")
expected=$(bench_manifest "$ds" events)
work=$BENCH_RUN/archive
rm -rf "$work"
mkdir -p "$work"
ndjson=$OUT_DIR/archive-bench.ndjson
rm -f "$ndjson"
bench_config "$work" docker "$ds" "" "$ndjson"
"$WHARF_BIN" run -c "$work/wharf.yaml" --oneshot --log-level warn ||
    bench_die "wharf could not make the NDJSON load"
got=$(wc -l <"$ndjson")
[ "$got" -eq "$expected" ] || bench_die "the load has $got events, expected $expected"
echo "load: $got events, $(($(stat -c %s "$ndjson") / 1048576)) MiB of NDJSON ($ds)"

declare -A rates ratios
for round in $(seq 1 "$ROUNDS"); do
    for level in $LEVELS; do
        dir=$OUT_DIR/archive-bench
        rm -rf "$dir"
        line=$("$WHARF_ARCHIVE_BENCH" "$ndjson" "$dir" "$level") || bench_die "archive bench failed"
        echo "round $round: $line"
        "$WHARF_BIN" archive verify "$dir" >/dev/null || bench_die "the archive does not verify"
        "$WHARF_BIN" archive cat "$dir" >"$OUT_DIR/archive-cat.ndjson"
        cmp -s "$OUT_DIR/archive-cat.ndjson" "$ndjson" || bench_die "archive cat differs from the input"
        rates[$level]+="$(sed -n 's/.*events_per_cpu_s=\([0-9]*\).*/\1/p' <<<"$line") "
        ratios[$level]+="$(sed -n 's/.*ratio=\([0-9.]*\).*/\1/p' <<<"$line") "
    done
done
for level in $LEVELS; do
    # shellcheck disable=SC2086 # word splitting of the collected values is wanted
    echo "median level=$level events_per_cpu_s=$(bench_median ${rates[$level]}) ratio=$(bench_median ${ratios[$level]})"
done
