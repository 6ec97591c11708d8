#!/bin/sh
# Quick start: installs what wharf needs, builds it, and runs it once over the
# sample logs in demo/ with conf/demo.yaml. Events go to stdout and to
# demo/out/events.ndjson. Safe to run again: it starts from a clean state.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then sh packaging/install-deps.sh; else sudo sh packaging/install-deps.sh; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
rm -rf demo/data demo/out
./build/wharf run -c conf/demo.yaml --oneshot
echo "wrote $(wc -l < demo/out/events.ndjson) events to demo/out/events.ndjson" >&2
