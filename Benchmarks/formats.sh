#!/usr/bin/env bash
# Reader throughput per trace format: the same simulated trips (12 x 15 min at 100 Hz, seed 21)
# written as canonical CSV and as each phone format, timed with `detect` (best of $BENCH_RUNS),
# as MB/s of the bytes read and as a ratio to canonical CSV. Writes Benchmarks/FORMATS.md.
# Usage: Benchmarks/formats.sh [BINARY]   (default .build/release/streetbump)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/streetbump}
DATA=bench-data/formats
RUNS=${BENCH_RUNS:-3}
COLUMNS="--columns t=timestamp_ms,ax=acc_x_g,ay=acc_y_g,az=acc_z_g,lat=gps_lat,lon=gps_lng,speed=gps_speed,accuracy=gps_hacc --accel-unit g --time-unit ms --missing -1,-100"
FORMATS=(csv sensorlogger physicstoolbox phyphox gpx columns)
for f in "${FORMATS[@]}"; do
  if [ ! -d "$DATA/$f" ]; then
    "$BIN" simulate --out "$DATA/$f" --trips 12 --duration 900 --rate 100 --seed 21 --format "$f" >/dev/null 2>&1
    rm -f "$DATA/$f"/{truth,crossings,trips}.csv
  fi
done
# Bytes the readers read (Sensor Logger's gyroscope file is not read).
bytes() { find "$1" -type f ! -name Gyroscope.csv -printf "%s\n" | awk '{s+=$1} END {print s}'; }
best() {
  local b=""
  for _ in $(seq "$RUNS"); do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    b=$(awk -v a="$s" -v z="$e" -v b="$b" 'BEGIN{t=z-a; if (b=="" || t<b) print t; else print b}')
  done
  echo "$b"
}
table="| format | MB read | seconds | MB/s | vs canonical CSV |\n| --- | --- | --- | --- | --- |\n"
base=""
for f in "${FORMATS[@]}"; do
  extra=(); [ "$f" = columns ] && read -r -a extra <<< "$COLUMNS"
  t=$(best "$BIN" detect "$DATA/$f" "${extra[@]}")
  b=$(bytes "$DATA/$f")
  mbs=$(awk -v b="$b" -v t="$t" 'BEGIN{printf "%.0f", b/1e6/t}')
  [ -z "$base" ] && base=$mbs
  ratio=$(awk -v m="$mbs" -v c="$base" 'BEGIN{printf "%.0f%%", 100*m/c}')
  echo "$f: $(awk -v b="$b" 'BEGIN{printf "%.0f", b/1e6}') MB in $t s, $mbs MB/s, $ratio of canonical CSV" >&2
  table+="| $f | $(awk -v b="$b" 'BEGIN{printf "%.0f", b/1e6}') | $(awk -v t="$t" 'BEGIN{printf "%.3f", t}') | $mbs | $ratio |\n"
done
{
  echo "# Reader throughput per format"
  echo
  echo "\`Benchmarks/formats.sh\` on $(nproc) cores ($(uname -m)), $(date -u +%Y-%m-%d): \`detect\` over 12 simulated trips"
  echo "(15 min at 100 Hz, about 1.09 M rows) written in each format; best of $RUNS runs, whole process."
  echo
  printf "%b" "$table"
} > Benchmarks/FORMATS.md
