#!/usr/bin/env bash
# Restart after a crash with large keyed state.
#
# Builds KEYS rows of state (7 M: about 1.1 GB on disk), then feeds a live `eddy run` more new
# keys and kills it with SIGKILL at random moments, KILLS times. Each crash is copied, one
# record is produced into the copy, and the copy is restarted: the script prints how much
# journal the crash left, how long opening the state store took (the journal replay), and
# when the restarted run had processed its first records.
#
#   cargo build --release -p eddy-cli
#   benches/restart/run.sh            # KEYS=7000000 KILLS=10 EDDY=target/release/eddy
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
eddy=$(realpath "${EDDY:-$here/../../target/release/eddy}")
keys=${KEYS:-7000000}
kills=${KILLS:-10}
flow=$here/dataflow.yaml
work=$(mktemp -d "${TMPDIR:-/tmp}/eddy-restart.XXXXXX")
trap 'pkill -9 -f "data-dir $work/" 2>/dev/null || true; rm -rf "$work"' EXIT

# Records for users first..last, each a new key.
records() {
  seq "$1" "$2" | awk '{ printf "{\"user\":\"user-%09d\",\"amount\":%d.5,\"note\":\"%080d\"}\n", $1, $1 % 1000, $1 }'
}

echo "building $keys keys of state in $work"
"$eddy" --data-dir "$work/live" topic create events --partitions 2 > /dev/null
records 0 $((keys - 1)) | "$eddy" --data-dir "$work/live" produce events
"$eddy" --data-dir "$work/live" run "$flow" --until-idle
echo "state: $(du -sh "$work/live/state" | cut -f1)"
records "$keys" $((keys * 2 - 1)) | "$eddy" --data-dir "$work/live" produce events

for i in $(seq 1 "$kills"); do
  pause=$(printf '%d.%02d' $((RANDOM % 3)) $((RANDOM % 100)))
  "$eddy" --data-dir "$work/live" run "$flow" > "$work/live.log" 2>&1 &
  sleep "$pause"
  kill -9 $! && wait $! 2> /dev/null || true
  journal=$(find "$work/live/state" -name '*.jnl' -exec du -k {} + | awk '{ s += $1 } END { printf "%.0f", s / 1024 }')
  rm -rf "$work/crash" && cp -r "$work/live" "$work/crash"
  records 0 0 | "$eddy" --data-dir "$work/crash" produce events
  sync
  RUST_LOG=info timeout 5 "$eddy" --data-dir "$work/crash" run "$flow" > "$work/crash.log" 2>&1 || true
  opened=$(grep -o 'state=[^ ]*' "$work/crash.log" | cut -d= -f2)
  first=$(grep 'first records read in this run are processed' "$work/crash.log" | grep -o 'after=[^ ]*' | head -1 | cut -d= -f2)
  echo "kill after ${pause}s: ${journal} MB of journal; state store opened in $opened; first records processed $first after the engine started"
done
