#!/usr/bin/env bash
# profile.sh - where wharf spends its instructions (callgrind).
#
#   bash tests/bench/profile.sh [docker|cri|parse]
#
# Builds wharf Release with debug info (build-bench-prof/: same -O3 code as
# the benchmark, plus -g for file and line names) unless WHARF_BIN is set,
# runs `wharf run --oneshot` under valgrind --tool=callgrind over a smaller
# data set made by gen.py (same mix as run.sh; `parse`: gen_parse.py's corpus
# mix read by a docker input with the shipped parser pack loaded), and prints:
#   - instructions per event (user space only: the kernel's share of write(),
#     read() etc. is not counted; run.sh's sys time shows it)
#   - the top $TOP functions by their own (exclusive) instruction count, with
#     their share of all instructions
#   - the top $TOP functions by inclusive count (what each stage costs)
#   - for `parse`: the same run without parsers, stage by stage beside the
#     run with the pack, and wharf_parsers_apply's instructions per line
#     over 5,000 lines of each source (`wharf parse`, one container's lines)
# Instruction counts are stable from run to run, unlike timings on a shared
# machine, so compare them before and after an optimization.
#
# Environment: PROFILE_LINES=200000 TOP=25 WHARF_BIN CONTAINERS SEED BENCH_DATA BENCH_RUN
# The full callgrind file stays in $BENCH_RUN/profile-<format>/callgrind.out for
# callgrind_annotate --auto=yes (per-line costs) or kcachegrind.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

FORMAT=${1:-docker}
case $FORMAT in docker|cri|parse) ;; *) bench_die "usage: profile.sh [docker|cri|parse]" ;; esac
PROFILE_LINES=${PROFILE_LINES:-200000}
TOP=${TOP:-25}
mkdir -p "$BENCH_RUN"
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
    bench_die "valgrind not found (Debian: apt-get install -y valgrind)"
fi

if [ -z "${WHARF_BIN:-}" ]; then
    WHARF_BIN=$(bench_build build-bench-prof -DCMAKE_C_FLAGS=-g)
fi
ds=$(bench_dataset "$FORMAT" "$PROFILE_LINES")
expected=$(bench_manifest "$ds" events)

work="$BENCH_RUN/profile-$FORMAT"
rm -rf "$work"
mkdir -p "$work"
if [ "$FORMAT" = parse ]; then
    bench_config "$work" docker "$ds" "pipeline: {parsers: [$BENCH_REPO/parsers]}"
else
    bench_config "$work" "$FORMAT" "$ds"
fi
echo "machine: nproc=$(nproc)  cpu=$(bench_cpu_model)"
echo "profiling $FORMAT->ecs->file over $expected events ($(bench_manifest "$ds" input_bytes) bytes) under callgrind ..."
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    "$WHARF_BIN" run -c "$work/wharf.yaml" --oneshot --log-level warn 2>"$work/valgrind.txt" ||
    { tail -20 "$work/valgrind.txt" >&2; bench_die "wharf failed under valgrind"; }
events=$(wc -l <"$work/out.ndjson")
[ "$events" -eq "$expected" ] || bench_die "$events output lines, expected $expected"
out_bytes=$(stat -c %s "$work/out.ndjson")
rm -f "$work/out.ndjson"

# All instructions in callgrind file $1: "summary: 2345678" (older versions: "totals:").
callgrind_total() {
    local t
    t=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$1" | head -1)
    [ -n "$t" ] || t=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$1" | head -1)
    echo "$t"
}
total=$(callgrind_total "$work/callgrind.out")
awk -v t="$total" -v e="$events" -v o="$out_bytes" 'BEGIN {
    printf "instructions: %.0f total, %.0f per event (%d events, %.0f output bytes per event)\n", t, t / e, e, o / e }'

# callgrind_annotate rows look like "1,234,567 (52.63%)  src/core/json.c:fn [/path/wharf]"
# (older versions omit the percentage: shares are computed here from the total).
# A function's code inlined from a header is a separate row (include/wharf/buf.h:fn):
# exclusive costs are summed over its rows, inclusive ones take the largest; the
# files are listed after the name. Inclusive rows may repeat under an absolute path.
table() {
    local mode=$1
    callgrind_annotate --auto=no --threshold=100 --inclusive="$mode" "$work/callgrind.out" 2>/dev/null |
        awk -v repo="$BENCH_REPO/" -v mode="$mode" '
            /PROGRAM TOTALS/ { started = 1; next }
            started && /^ *[0-9][0-9,]* / {
                ir = $1; gsub(",", "", ir); ir += 0
                loc = $0; sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, "", loc)
                sub(/ \[[^]]*\]$/, "", loc)
                if (index(loc, repo) == 1) loc = substr(loc, length(repo) + 1)
                fn = loc; file = ""
                if (match(loc, /^[^ :]*:/)) { file = substr(loc, 1, RLENGTH - 1); fn = substr(loc, RLENGTH + 1) }
                sub(/^.*\/sysdeps\//, "glibc:", file)
                if (fn ~ /^0x|^\(below main\)|^__libc_start/) next
                if (ir > pair[fn, file]) pair[fn, file] = ir
            }
            END {
                for (k in pair) {
                    split(k, kf, SUBSEP); fn = kf[1]; file = kf[2]
                    if (mode == "yes") { if (pair[k] > sum[fn]) sum[fn] = pair[k] } else sum[fn] += pair[k]
                    files[fn] = files[fn] (files[fn] == "" ? "" : ", ") file
                }
                for (fn in sum) printf "%.0f\t%s\t%s\n", sum[fn], fn, files[fn]
            }' |
        sort -t"$(printf '\t')" -k1,1nr |
        awk -F'\t' -v t="$total" -v e="$events" -v top="$TOP" \
            'NR <= top { printf "  %6.2f%%  %7.0f/ev  %-34s %s\n", 100 * $1 / t, $1 / e, $2, $3 }'
}
echo
echo "top $TOP functions by own instructions (share of all, instructions per event, function, files):"
table no
echo
echo "top $TOP functions by inclusive instructions (the function and all it calls):"
table yes
echo
echo "callgrind data: $work/callgrind.out (callgrind_annotate --auto=yes $work/callgrind.out for per-line costs)"
[ "$FORMAT" = parse ] || exit 0

# The instructions function $2 and all it calls took, per event ($3 events), in
# the inclusive profile $1 (callgrind_annotate's rows, read once per run): its
# largest inclusive row (as table() reads them).
stage() {
    awk -v re=":$2( \\[|$)" -v e="$3" '$0 ~ re { v = $1; gsub(",", "", v); if (v + 0 > m) m = v + 0 }
        END { if (m > 0) printf "%.0f", m / e; else printf "-" }' "$1"
}

# What the pack costs: the same data without parsers, stage by stage.
mkdir -p "$work/np"
bench_config "$work/np" docker "$ds"
valgrind --tool=callgrind --callgrind-out-file="$work/np/callgrind.out" \
    "$WHARF_BIN" run -c "$work/np/wharf.yaml" --oneshot --log-level warn 2>"$work/np/valgrind.txt" ||
    { tail -20 "$work/np/valgrind.txt" >&2; bench_die "wharf without parsers failed under valgrind"; }
np_total=$(callgrind_total "$work/np/callgrind.out")
rm -f "$work/np/out.ndjson"
echo
echo "instructions per event, without parsers and with the pack:"
awk -v a="$np_total" -v b="$total" -v e="$events" 'BEGIN {
    printf "  %-44s %7.0f %7.0f  (the pack adds %.0f, %.0f%%)\n", "all (user space, both threads)", a / e, b / e, (b - a) / e, 100 * (b - a) / a }'
for run in "$work/np" "$work"; do
    callgrind_annotate --auto=no --threshold=100 --inclusive=yes "$run/callgrind.out" \
        >"$run/inclusive.txt" 2>/dev/null
done
for s in "parsers:wharf_parsers_apply" "loading the pack:wharf_parsers_load" "JSON writer:wharf_json_write_event" \
    "zstd of the disk buffer (its own thread):compressor_main" "Docker json-file scanner:docker_line_decode"; do
    printf "  %-44s %7s %7s\n" "${s%%:*}" "$(stage "$work/np/inclusive.txt" "${s#*:}" "$events")" \
        "$(stage "$work/inclusive.txt" "${s#*:}" "$events")"
done

# Per source: wharf_parsers_apply alone over the first 5,000 lines of each container.
echo
echo "instructions per line in wharf_parsers_apply, 5,000 lines of each source (wharf parse):"
for dir in "$ds"/containers/*/; do
    id=$(basename "$dir")
    parser=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["Config"]["Labels"]["wharf.parser"])' \
        "$dir/config.v2.json")
    python3 -c 'import itertools, json, sys
for line in itertools.islice(open(sys.argv[1]), 5000):
    sys.stdout.write(json.loads(line)["log"])' "$dir/$id-json.log" >"$work/$parser.lines"
    valgrind --tool=callgrind --callgrind-out-file="$work/$parser.callgrind.out" --toggle-collect=wharf_parsers_apply \
        "$WHARF_BIN" parse -p "$BENCH_REPO/parsers" --field "container.labels.wharf.parser=$parser" \
        <"$work/$parser.lines" >/dev/null 2>"$work/$parser.valgrind.txt" ||
        { tail -20 "$work/$parser.valgrind.txt" >&2; bench_die "wharf parse ($parser) failed under valgrind"; }
    lines=$(wc -l <"$work/$parser.lines")
    ir=$(callgrind_total "$work/$parser.callgrind.out")
    awk -v p="$parser" -v ir="$ir" -v n="$lines" 'BEGIN { printf "  %-8s %7.0f\n", p, ir / n }'
done
