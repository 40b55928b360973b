#!/usr/bin/env bash
# Eddy in one minute: create a partitioned topic, produce keyed sensor readings, read them
# back. Uses a fresh data directory under target/ so it never touches your ./.eddy.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet --bin eddy
eddy() { ./target/release/eddy --data-dir target/quickstart-data "$@"; }
rm -rf target/quickstart-data

step() { printf '\n\033[1m$ eddy %s\033[0m\n' "$*"; }

step topic create sensor-readings --partitions 3 --retention-time 7d
eddy topic create sensor-readings --partitions 3 --retention-time 7d

step produce sensor-readings --key-separator '|' -v "< examples/sensor-readings.txt"
eddy produce sensor-readings --key-separator '|' -v < examples/sensor-readings.txt

step topic list
eddy topic list

step topic describe sensor-readings
eddy topic describe sensor-readings

step consume sensor-readings -B -d -k --partition 0
eddy consume sensor-readings -B -d -k --partition 0

step consume sensor-readings -T 2 -d --format json
eddy consume sensor-readings -T 2 -d --format json
