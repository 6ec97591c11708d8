#!/usr/bin/env bash
# catchup.sh - how closely an output follows a backlog that wharf reads live.
#
#   bash tests/bench/catchup.sh
#
# Starts `wharf run` (not --oneshot) on a Docker data set it has not read
# (gen.py, as run.sh; a file output on tmpfs, the API on a free loopback
# port), polls GET /metrics every 250 ms until the output has every event,
# and prints per round:
#   input_done_s    when wharf_input_events_total reached the data set's events
#   output_done_s   when wharf_output_events_total did (events made durable)
#   max_lag         the largest input - output difference seen
# and the medians over ROUNDS. An output that waits for the end of the
# backlog shows a max_lag close to the whole data set and an output_done_s
# well after input_done_s.
#
# Environment: LINES=500000 ROUNDS=3 WHARF_BIN=path (do not build)
#   OUT_DIR=/dev/shm/wharf-bench-out; BENCH_DATA, BENCH_RUN: see lib.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LINES=${LINES:-500000}
ROUNDS=${ROUNDS:-3}
OUT_DIR=${OUT_DIR:-/dev/shm/wharf-bench-out}
bench_args "$0" 18 "${1:-}"
mkdir -p "$BENCH_RUN" "$OUT_DIR"
WHARF_BIN=${WHARF_BIN:-$(bench_build build-bench)}
[ -x "$WHARF_BIN" ] || bench_die "WHARF_BIN=$WHARF_BIN is not executable"

ds=$(bench_dataset docker "$LINES")
expected=$(bench_manifest "$ds" events)
bench_warm "$ds"
work=$BENCH_RUN/catchup
echo "catchup: $expected events across $CONTAINERS containers, $ROUNDS rounds, $WHARF_BIN"

after=() lags=()
for round in $(seq 1 "$ROUNDS"); do
    rm -rf "$work" "$OUT_DIR/catchup.ndjson"
    mkdir -p "$work"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    bench_config "$work" docker "$ds" "api: {listen: \"127.0.0.1:$port\"}" "$OUT_DIR/catchup.ndjson"
    "$WHARF_BIN" run -c "$work/wharf.yaml" --log-level warn 2>"$work/stderr.txt" &
    pid=$!
    line=$(python3 - "$port" "$expected" <<'EOF'
import re, sys, time, urllib.request

port, expected = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic()
input_done = None
max_lag = 0
while time.monotonic() - t0 < 300:
    time.sleep(0.25)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    except OSError:
        continue
    text = body.decode()

    def total(name):
        return sum(float(v) for v in re.findall(r"^%s\{[^}]*\} (\S+)$" % name, text, re.M))

    got_in, got_out = total("wharf_input_events_total"), total("wharf_output_events_total")
    max_lag = max(max_lag, got_in - got_out)
    if input_done is None and got_in >= expected:
        input_done = time.monotonic() - t0
    if got_out >= expected:
        print("input_done_s=%.2f output_done_s=%.2f max_lag=%d"
              % (input_done, time.monotonic() - t0, max_lag))
        sys.exit(0)
sys.exit("the output did not get every event within 300 s")
EOF
    ) || { kill "$pid" 2>/dev/null; bench_die "round $round: $(tail -3 "$work/stderr.txt")"; }
    kill -TERM "$pid"
    wait "$pid" || bench_die "round $round: wharf exited with status $?"
    echo "round $round: $line"
    in_s=$(sed 's/.*input_done_s=\([0-9.]*\).*/\1/' <<<"$line")
    out_s=$(sed 's/.*output_done_s=\([0-9.]*\).*/\1/' <<<"$line")
    after+=("$(awk -v a="$in_s" -v b="$out_s" 'BEGIN { printf "%.2f", b - a }')")
    lags+=("${line##*max_lag=}")
done
echo "median of $ROUNDS rounds: output done $(bench_median "${after[@]}") s after the input, max_lag $(bench_median "${lags[@]}") events"
