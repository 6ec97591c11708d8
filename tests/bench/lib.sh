# shellcheck shell=bash
# lib.sh - shared by run.sh and profile.sh (sourced, not run).
#
# Environment (all optional):
#   BENCH_DATA   cache of generated data sets (default /tmp/wharf-bench-data)
#   BENCH_RUN    scratch dir for configs, data_dir and output (default /tmp/wharf-bench-run)
#   CONTAINERS   containers per data set (default 20)
#   SEED         generator seed (default 1)

BENCH_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_HERE/../.." && pwd)
BENCH_DATA=${BENCH_DATA:-/tmp/wharf-bench-data}
BENCH_RUN=${BENCH_RUN:-/tmp/wharf-bench-run}
CONTAINERS=${CONTAINERS:-20}
SEED=${SEED:-1}

bench_die() { echo "bench: $*" >&2; exit 1; }

# bench_build DIR [extra cmake args...]: Release build of the wharf binary in
# $BENCH_REPO/DIR; prints the binary's path. Only the wharf target is built, so
# a test file someone is editing cannot break the benchmark.
bench_build() {
    local dir=$1; shift
    (cd "$BENCH_REPO" &&
        cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$BENCH_RUN/cmake.log" 2>&1 &&
        cmake --build "$dir" -j2 --target wharf >>"$BENCH_RUN/cmake.log" 2>&1) ||
        { tail -30 "$BENCH_RUN/cmake.log" >&2; bench_die "build failed (log: $BENCH_RUN/cmake.log)"; }
    echo "$BENCH_REPO/$dir/wharf"
}

# bench_args SCRIPT LAST_HELP_LINE [ARG]: a benchmark takes its parameters from
# the environment; --help prints SCRIPT's opening comment (lines 2 to
# LAST_HELP_LINE), any other argument is an error.
bench_args() {
    case ${3:-} in
        -h|--help) sed -n "2,${2}p" "$1" | sed 's/^# \{0,1\}//'; exit 0 ;;
        '') ;;
        *) bench_die "unknown argument '$3' (see --help; parameters are environment variables)" ;;
    esac
}

# bench_dataset FORMAT LINES: FORMAT is docker, cri or journald. Generates the data set
# once into the cache (keyed by parameters and by gen.py's own hash, so a
# changed generator regenerates) and prints its directory:
#   docker: DIR/containers/<id>/<id>-json.log ...   cri: DIR/pods/..., DIR/containers/...
#   journald: DIR/journal/*.journal (LINES entries, gen_journal.py)
#   parse: DIR/containers/... as docker, corpus lines for the parser pack (gen_parse.py)
#   DIR/manifest.json (expected events, input bytes ...), written last.
bench_dataset() {
    local fmt=$1 lines=$2 key dir
    key=$(cat "$BENCH_HERE/gen.py" "$BENCH_HERE/gen_journal.py" "$BENCH_HERE/gen_parse.py" |
        sha1sum | cut -c1-10)
    dir="$BENCH_DATA/$fmt-${lines}x${CONTAINERS}-s$SEED-$key"
    if [ ! -f "$dir/manifest.json" ]; then
        mkdir -p "$BENCH_DATA"
        # drop data sets made by an older generator: they are never used again
        find "$BENCH_DATA" -mindepth 1 -maxdepth 1 -type d -name "*-s*-*" ! -name "*-$key" \
            -exec rm -rf {} + 2>/dev/null || true
        rm -rf "$dir"
        if [ "$fmt" = parse ]; then
            python3 "$BENCH_HERE/gen_parse.py" "$dir" --lines "$lines" --seed "$SEED" >&2 ||
                bench_die "gen_parse.py failed"
        elif [ "$fmt" = journald ]; then
            python3 "$BENCH_HERE/gen_journal.py" "$dir" --entries "$lines" --seed "$SEED" >&2 ||
                bench_die "gen_journal.py failed"
        elif [ "$fmt" = cri ]; then
            python3 "$BENCH_HERE/gen.py" "$dir" --cri --lines "$lines" --containers "$CONTAINERS" \
                --seed "$SEED" >&2 || bench_die "gen.py failed"
        else
            python3 "$BENCH_HERE/gen.py" "$dir/containers" --lines "$lines" --containers "$CONTAINERS" \
                --seed "$SEED" --manifest "$dir/manifest.json" >&2 || bench_die "gen.py failed"
        fi
    fi
    echo "$dir"
}

# bench_manifest DIR KEY: one value from the data set's manifest.
bench_manifest() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/manifest.json" "$2"
}

# bench_config WORK FORMAT DATASET [EXTRA_YAML] [OUT]: writes WORK/wharf.yaml with
# one input over DATASET (read_from: beginning) and a file output OUT (default
# WORK/out.ndjson). EXTRA_YAML is appended at top level (e.g. a buffer: section).
bench_config() {
    local work=$1 fmt=$2 ds=$3 extra=${4:-} out=${5:-$1/out.ndjson} input
    if [ "$fmt" = journald ]; then
        input="  - {type: journald, id: journal, directory: $ds/journal, read_from: beginning, docker_root: \"\"}"
    elif [ "$fmt" = cri ]; then
        input="  - {type: cri, id: pods, paths: [\"$ds/pods/*/*/*.log\"], containers_dir: $ds/containers, read_from: beginning}"
    else
        input="  - {type: docker, id: docker, root: $ds/containers, read_from: beginning}"
    fi
    cat >"$work/wharf.yaml" <<EOF
data_dir: $work/data
host: {name: bench}
inputs:
$input
outputs:
  - {type: file, id: out, path: $out}
$extra
EOF
}

# bench_warm DATASET: read the input once so every run starts from the page cache.
bench_warm() {
    find "$1" -type f \( -name '*.log*' -o -name '*.journal' \) -exec cat {} + >/dev/null
}

bench_cpu_model() {
    local m
    m=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
    [ -n "$m" ] || m=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
    echo "${m:-unknown}"
}

# bench_median N...: the median of the numbers (the lower middle one of an even count).
bench_median() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
