#!/usr/bin/env bash
# outputs.sh - wharf output throughput benchmark (not a timed test): the same
# Docker json-file load, parsed to ECS, delivered to three kinds of output.
#
#   bash tests/bench/outputs.sh            (LINES=500000 ROUNDS=3 by default)
#   LINES=200000 ROUNDS=1 bash tests/bench/outputs.sh
#
# Builds wharf and the wharf-kafka-mock test helper (Release, build-bench/)
# unless WHARF_BIN / WHARF_KAFKA_MOCK are set, generates the data set once
# (lib.sh, gen.py), then in each of ROUNDS interleaved rounds runs
#     wharf run -c CFG --oneshot --log-level warn
# under /usr/bin/time -v, with a fresh data_dir each run, for:
#
#   file    a file output on /dev/shm (OUT_DIR), off the buffer's disk: the
#           baseline rate. Checked: one output line per expected event.
#   kafka   a kafka output (topic bench, 6 partitions, key ${container.id},
#           compression zstd) to librdkafka's mock cluster (wharf-kafka-mock 1,
#           one broker, run as a coprocess). The mock keeps only the last ~5 MiB
#           per partition, so delivery is checked with `wharf buffer stat --json`:
#           output `out` must be at event == expected with lag_events == 0.
#   syslog  a syslog output (tcp://127.0.0.1, framing: newline, payload: json)
#           to a python3 receiver on a free loopback port that only counts
#           newlines. Checked: count == expected events.
#
# Each run prints one line:
#   kafka  events=500000  wall=1.23s  events/s=406000  cpu_s_per_M=2.10
#          peak_rss_MiB=30.1  user=0.90s  sys=0.15s  peer_cpu_s=0.80
#
#   wall          elapsed time of the wharf process
#   cpu_s_per_M   wharf's (user + sys CPU seconds) / (events / 1e6)
#   peak_rss_MiB  wharf's maximum resident set size
#   peer_cpu_s    CPU seconds (user + sys) the mock broker / the receiver used
#                 while wharf ran: on a 2-core machine they compete with wharf
# and for kafka and syslog their events/s relative to the file run of the same
# round (kafka: target >= 0.70); at the end the medians over the rounds.
#
# Environment:
#   LINES=500000 CONTAINERS=20 SEED=1   data set parameters
#   ROUNDS=3                            rounds of (file, kafka, syslog); medians
#   WHARF_BIN=path                      use this wharf, do not build
#   WHARF_KAFKA_MOCK=path               use this mock broker, do not build
#   OUT_DIR=/dev/shm/wharf-bench-out    where the file scenario writes
#   BENCH_DATA, BENCH_RUN               see lib.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LINES=${LINES:-500000}
ROUNDS=${ROUNDS:-3}
OUT_DIR=${OUT_DIR:-/dev/shm/wharf-bench-out}
bench_args "$0" 43 "${1:-}"
mkdir -p "$BENCH_RUN" "$OUT_DIR"

[ -x /usr/bin/time ] || bench_die "/usr/bin/time missing (Debian package 'time'; run.sh installs it)"

if [ -z "${WHARF_BIN:-}" ]; then
    WHARF_BIN=$(bench_build build-bench)
fi
[ -x "$WHARF_BIN" ] || bench_die "WHARF_BIN=$WHARF_BIN is not executable"
if [ -z "${WHARF_KAFKA_MOCK:-}" ]; then
    # bench_build configured build-bench; only add the helper's target
    cmake --build "$BENCH_REPO/build-bench" -j2 --target wharf-kafka-mock >>"$BENCH_RUN/cmake.log" 2>&1 ||
        { tail -30 "$BENCH_RUN/cmake.log" >&2; bench_die "building wharf-kafka-mock failed"; }
    WHARF_KAFKA_MOCK=$BENCH_REPO/build-bench/tests/wharf-kafka-mock
fi
[ -x "$WHARF_KAFKA_MOCK" ] || bench_die "WHARF_KAFKA_MOCK=$WHARF_KAFKA_MOCK is not executable"

CLK_TCK=$(getconf CLK_TCK)
MOCK_PID=
RECV_PID=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; fi
    if [ -n "$RECV_PID" ]; then kill "$RECV_PID" 2>/dev/null || true; fi
    rm -f "$OUT_DIR"/outputs-*.ndjson
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# proc_cpu PID: user + sys CPU seconds of a running process (fields 14 and 15
# of /proc/PID/stat, counted after the ")" that ends the command name).
proc_cpu() {
    awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / t }' "/proc/$1/stat"
}

# The syslog receiver: python3 receiver.py PORT_FILE COUNT_FILE. Binds a free
# port on 127.0.0.1 and writes it to PORT_FILE, counts b"\n" on every
# connection; on SIGTERM stops accepting, drains the open connections to EOF
# (wharf has exited by then) and writes the count to COUNT_FILE.
RECEIVER_PY=$(cat <<'EOF'
import os, selectors, signal, socket, sys
port_file, count_file = sys.argv[1], sys.argv[2]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
ls.setblocking(False)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
sel = selectors.DefaultSelector()
sel.register(ls, selectors.EVENT_READ)
buf = bytearray(1 << 20)
count = conns = 0
listening = True
while True:
    if stop and listening:
        sel.unregister(ls)
        ls.close()
        listening = False
    if stop and not sel.get_map():
        break
    for key, _ in sel.select(0.2):
        s = key.fileobj
        if s is ls:
            try:
                c, _ = ls.accept()
            except BlockingIOError:
                continue
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
            conns += 1
            continue
        try:
            n = s.recv_into(buf)
        except BlockingIOError:
            continue
        except OSError:
            n = 0
        if n == 0:
            sel.unregister(s)
            s.close()
            continue
        count += buf.count(b"\n", 0, n)
with open(count_file, "w") as f:
    f.write("%d %d\n" % (count, conns))
EOF
)

FAILED=0
RESULT_RATE=
# run_wharf NAME WORK EXPECTED PEER_CPU_CMD: runs wharf on WORK/wharf.yaml; on
# success sets RUN_USER RUN_SYS RUN_RSS_KB RUN_NS; on failure prints the
# stderr tail and returns 1.
run_wharf() {
    local name=$1 work=$2 t0 t1
    t0=$(date +%s%N)
    if ! /usr/bin/time -v -o "$work/time.txt" \
        "$WHARF_BIN" run -c "$work/wharf.yaml" --oneshot --log-level warn 2>"$work/stderr.txt"; then
        echo "$name: FAIL: wharf failed ($(tail -1 "$work/time.txt")); stderr tail:" >&2
        tail -20 "$work/stderr.txt" >&2
        FAILED=1
        return 1
    fi
    t1=$(date +%s%N)
    RUN_NS=$((t1 - t0))
    if [ -s "$work/stderr.txt" ]; then
        echo "  ($name: wharf logged $(wc -l <"$work/stderr.txt") warning line(s), first: $(head -c 300 "$work/stderr.txt" | head -1))"
    fi
    RUN_USER=$(sed -n 's/^\s*User time (seconds): //p' "$work/time.txt")
    RUN_SYS=$(sed -n 's/^\s*System time (seconds): //p' "$work/time.txt")
    RUN_RSS_KB=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$work/time.txt")
    return 0
}

# report NAME EVENTS [PEER_CPU]: prints the run's line, sets RESULT_RATE.
report() {
    local name=$1 events=$2 peer=${3:-} line
    read -r RESULT_RATE line < <(awk -v n="$name" -v ev="$events" -v ns="$RUN_NS" \
        -v u="$RUN_USER" -v s="$RUN_SYS" -v rss="$RUN_RSS_KB" -v peer="$peer" 'BEGIN {
            wall = ns / 1e9; cpu = u + s; if (cpu <= 0) cpu = 0.001
            line = sprintf("%-8s events=%d  wall=%.2fs  events/s=%.0f  cpu_s_per_M=%.2f  peak_rss_MiB=%.1f  user=%.2fs  sys=%.2fs",
                n, ev, wall, ev / wall, cpu / (ev / 1e6), rss / 1024, u, s)
            if (peer != "") line = line sprintf("  peer_cpu_s=%.2f", peer)
            printf "%.0f %s\n", ev / wall, line
        }')
    echo "$line"
}

# setup WORK DATASET OUTPUT_YAML: a fresh WORK with bench_config's wharf.yaml,
# its file output replaced by OUTPUT_YAML when given.
setup() {
    local work=$1 ds=$2 output=${3:-}
    rm -rf "$work"
    mkdir -p "$work"
    bench_config "$work" docker "$ds" "" "$OUT_DIR/outputs-file.ndjson"
    if [ -n "$output" ]; then
        awk -v o="  - $output" '/^  - \{type: file, id: out,/ { print o; next } { print }' \
            "$work/wharf.yaml" >"$work/wharf.yaml.new"
        mv "$work/wharf.yaml.new" "$work/wharf.yaml"
    fi
    bench_warm "$ds"
}

run_file() {
    local ds=$1 expected=$2 work=$BENCH_RUN/outputs-file out=$OUT_DIR/outputs-file.ndjson events
    RESULT_RATE=
    rm -f "$out"
    setup "$work" "$ds"
    run_wharf file "$work" || return 0
    events=$(wc -l <"$out")
    rm -f "$out"
    if [ "$events" -ne "$expected" ]; then
        echo "file: FAIL: $events output lines, expected $expected events" >&2
        FAILED=1
    fi
    report file "$events"
}

run_kafka() {
    local ds=$1 expected=$2 work=$BENCH_RUN/outputs-kafka line bootstrap cpu0 cpu1 stat
    RESULT_RATE=
    rm -rf "$work" && mkdir -p "$work"
    coproc KMOCK { exec "$WHARF_KAFKA_MOCK" 1 2>"$work/mock-stderr.txt"; }
    # shellcheck disable=SC2153 # KMOCK_PID is set by coproc
    MOCK_PID=$KMOCK_PID
    if ! read -r -t 20 line <&"${KMOCK[0]}" || [ "${line#bootstrap=}" = "$line" ]; then
        echo "kafka: FAIL: wharf-kafka-mock did not print bootstrap= (got '${line:-}'); stderr:" >&2
        tail -20 "$work/mock-stderr.txt" >&2
        FAILED=1
        kill "$MOCK_PID" 2>/dev/null || true
        MOCK_PID=
        return 0
    fi
    bootstrap=${line#bootstrap=}
    echo "topic bench 6 1" >&"${KMOCK[1]}"
    read -r -t 20 line <&"${KMOCK[0]}" || line="(no answer)"
    [ "$line" = ok ] || bench_die "kafka: mock answered '$line' to 'topic bench 6 1'"

    setup "$work" "$ds" "{type: kafka, id: out, brokers: \"$bootstrap\", topic: bench, key: \"\${container.id}\", compression: zstd}"
    cpu0=$(proc_cpu "$MOCK_PID")
    local ok=1
    run_wharf kafka "$work" || ok=0
    cpu1=$(proc_cpu "$MOCK_PID")
    echo quit >&"${KMOCK[1]}"
    read -r -t 20 line <&"${KMOCK[0]}" || true
    wait "$MOCK_PID" 2>/dev/null || true
    MOCK_PID=
    [ "$ok" = 1 ] || return 0

    if ! stat=$("$WHARF_BIN" buffer stat -c "$work/wharf.yaml" --json 2>"$work/stat-stderr.txt"); then
        echo "kafka: FAIL: wharf buffer stat failed: $(cat "$work/stat-stderr.txt")" >&2
        FAILED=1
        return 0
    fi
    if ! python3 -c '
import json, sys
exp = int(sys.argv[1])
outs = [o for o in json.loads(sys.stdin.read())["outputs"] if o["id"] == "out"]
if not outs:
    sys.exit("no output out in buffer stat")
o = outs[0]
if o.get("event") != exp or o.get("lag_events") != 0:
    sys.exit("output out: event=%s lag_events=%s, expected event=%d lag_events=0" % (o.get("event"), o.get("lag_events"), exp))
' "$expected" <<<"$stat"; then
        echo "kafka: FAIL: delivery not confirmed by buffer stat" >&2
        FAILED=1
    fi
    report kafka "$expected" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')"
}

run_syslog() {
    local ds=$1 expected=$2 work=$BENCH_RUN/outputs-syslog port cpu0 cpu1 count conns
    RESULT_RATE=
    rm -rf "$work" && mkdir -p "$work"
    python3 -c "$RECEIVER_PY" "$work/port" "$work/count" 2>"$work/receiver-stderr.txt" &
    RECV_PID=$!
    for _ in $(seq 100); do
        [ -s "$work/port" ] && break
        sleep 0.05
    done
    [ -s "$work/port" ] || { cat "$work/receiver-stderr.txt" >&2; bench_die "syslog receiver did not start"; }
    port=$(cat "$work/port")

    setup "$work" "$ds" "{type: syslog, id: out, address: \"tcp://127.0.0.1:$port\", framing: newline, payload: json}"
    cpu0=$(proc_cpu "$RECV_PID")
    local ok=1
    run_wharf syslog "$work" || ok=0
    cpu1=$(proc_cpu "$RECV_PID")
    kill -TERM "$RECV_PID"
    wait "$RECV_PID" || echo "syslog: receiver exited with status $?: $(tail -5 "$work/receiver-stderr.txt")" >&2
    RECV_PID=
    [ "$ok" = 1 ] || return 0
    read -r count conns <"$work/count" || { count=0; conns=0; }
    if [ "$count" -ne "$expected" ]; then
        echo "syslog: FAIL: the receiver counted $count lines over $conns connection(s), expected $expected events" >&2
        FAILED=1
    fi
    report syslog "$count" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')"
}

echo "machine: nproc=$(nproc)  cpu=$(bench_cpu_model)  wharf=$("$WHARF_BIN" version 2>/dev/null | head -1)"
echo "data: $LINES events across $CONTAINERS containers (seed $SEED), cached under $BENCH_DATA"
ds=$(bench_dataset docker "$LINES")
expected=$(bench_manifest "$ds" events)

rates_file=() rates_kafka=() rates_syslog=()
# ratio NAME RATE BASE [TARGET]
ratio() {
    awk -v n="$1" -v r="$2" -v b="$3" -v t="${4:-}" 'BEGIN {
        if (r == "" || b == "" || b == 0) { printf "    %s: rate vs file: n/a (a run failed)\n", n; exit }
        printf "    %s: rate vs file=%.2f%s\n", n, r / b,
            (t == "" ? "" : sprintf(" (target >= %.2f: %s)", t, (r / b >= t ? "met" : "NOT met"))) }'
}
for round in $(seq "$ROUNDS"); do
    echo "round $round of $ROUNDS"
    run_file "$ds" "$expected"
    base=$RESULT_RATE
    [ -z "$RESULT_RATE" ] || rates_file+=("$RESULT_RATE")
    run_kafka "$ds" "$expected"
    [ -z "$RESULT_RATE" ] || rates_kafka+=("$RESULT_RATE")
    ratio kafka "$RESULT_RATE" "$base" 0.70
    run_syslog "$ds" "$expected"
    [ -z "$RESULT_RATE" ] || rates_syslog+=("$RESULT_RATE")
    ratio syslog "$RESULT_RATE" "$base"
done

med() { if [ $# -gt 0 ]; then bench_median "$@"; fi; }
mf=$(med "${rates_file[@]+"${rates_file[@]}"}")
mk=$(med "${rates_kafka[@]+"${rates_kafka[@]}"}")
ms=$(med "${rates_syslog[@]+"${rates_syslog[@]}"}")
awk -v f="$mf" -v k="$mk" -v s="$ms" -v n="$ROUNDS" 'BEGIN {
    printf "median of %d rounds: file %s events/s", n, (f == "" ? "n/a" : f)
    if (f != "" && k != "") printf ", kafka %d (%.2f, target >= 0.70: %s)", k, k / f, (k / f >= 0.70 ? "met" : "NOT met")
    else printf ", kafka n/a"
    if (f != "" && s != "") printf ", syslog %d (%.2f)", s, s / f
    else printf ", syslog n/a"
    printf "\n" }'
exit "$FAILED"
