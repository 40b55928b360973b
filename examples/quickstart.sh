#!/usr/bin/env bash
# Eddy in one minute: keyed sensor readings go into a partitioned topic; a dataflow with two
# services (a filter+map to an alerts topic, and per-sensor statistics in keyed state) runs
# over them until its input is drained; then we read the alerts and the committed state.
# A third service counts readings per sensor in 2-minute event-time windows.
# Uses a fresh data directory under target/ so it never touches your ./.eddy.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet --bin eddy
eddy() { ./target/release/eddy --data-dir target/quickstart-data "$@"; }
rm -rf target/quickstart-data

step() { printf '\n\033[1m$ eddy %s\033[0m\n' "$*"; }

step topic create sensor-readings --partitions 3
eddy topic create sensor-readings --partitions 3

step produce sensor-readings --key-separator '|' -v "< examples/sensors/readings.txt"
eddy produce sensor-readings --key-separator '|' -v < examples/sensors/readings.txt

step run examples/sensors/dataflow.yaml --until-idle
eddy run examples/sensors/dataflow.yaml --until-idle

step consume sensor-alerts -B -d
eddy consume sensor-alerts -B -d

step state list sensor-stats stats-per-sensor
eddy state list sensor-stats stats-per-sensor

step state get sensor-stats stats-per-sensor roof
eddy state get sensor-stats stats-per-sensor roof

step consume sensor-windows -B -d
eddy consume sensor-windows -B -d

step state list sensor-windows per-window
eddy state list sensor-windows per-window

step topic list
eddy topic list

step consume sensors.dead-letter -B -d
eddy consume sensors.dead-letter -B -d
