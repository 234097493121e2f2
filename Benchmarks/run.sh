#!/usr/bin/env bash
# Whole-process benchmarks: detect, ingest and stream over a fixed simulated set, each shown
# beside the line-scan ceiling (`wc -l` over the same bytes). Writes Benchmarks/RESULTS.md.
# Usage: Benchmarks/run.sh [BINARY]   (default .build/release/streetbump; `make bench` builds it)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/streetbump}
DATA=bench-data
RUNS=${BENCH_RUNS:-3}
OUT=Benchmarks/RESULTS.md

# The fixed set: 140 trips x 15 min at 100 Hz (about 12.7 M rows, 535 MB of CSV), as CSV files and as one
# time-ordered NDJSON stream. Made once; deterministic (seed 21).
if [ ! -f "$DATA/ndjson/trips.ndjson" ] || [ "$(ls "$DATA"/csv/trip-*.csv 2>/dev/null | wc -l)" != 140 ]; then
  rm -rf "$DATA" && mkdir -p "$DATA"
  "$BIN" simulate --out "$DATA/csv" --trips 140 --duration 900 --rate 100 --seed 21 >/dev/null
  "$BIN" simulate --out "$DATA/ndjson" --trips 140 --duration 900 --rate 100 --seed 21 --format ndjson >/dev/null
fi
CSV_FILES=("$DATA"/csv/trip-*.csv)
NDJSON="$DATA/ndjson/trips.ndjson"
csv_bytes=$(cat "${CSV_FILES[@]}" | wc -c)
nd_bytes=$(wc -c < "$NDJSON")
rows=$(($(cat "${CSV_FILES[@]}" | wc -l) - ${#CSV_FILES[@]}))

# Best wall time and its peak RSS over $RUNS runs of a command (stdin from $STDIN if set).
best() {
  local best_t="" best_m=""
  for _ in $(seq "$RUNS"); do
    rm -f "$DATA"/b.sqlite*
    if [ -n "${STDIN:-}" ]; then
      /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$@" < "$STDIN" > /dev/null 2>&1
    else
      /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$@" > /dev/null 2>&1
    fi
    local r
    r=$(tail -1 "$DATA/time.txt")
    local t=${r% *} m=${r#* }
    if [ -z "$best_t" ] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; best_m=$m; fi
  done
  echo "$best_t $best_m"
}

read -r wc_csv _ < <(best wc -l "${CSV_FILES[@]}")
read -r wc_nd _ < <(STDIN="$NDJSON" best wc -l)

rows_table=""
add() {  # name, bytes, ceiling seconds, "seconds rss"
  local name=$1 bytes=$2 ceiling=$3 t=${4% *} m=${4#* }
  local mbs rps ratio
  mbs=$(awk "BEGIN{printf \"%.0f\", $bytes / 1e6 / $t}")
  rps=$(awk "BEGIN{printf \"%.1f\", $rows / 1e6 / $t}")
  ratio=$(awk "BEGIN{printf \"%.1f\", $t / $ceiling}")
  local rss=$((m / 1024)); [ "$m" = 0 ] && rss="-"
  rows_table+="| $name | $(awk "BEGIN{printf \"%.0f\", $bytes/1e6}") | $t | $mbs | $rps | $rss | ${ratio}x |"$'\n'
  echo "$name: $t s, $mbs MB/s, $rps M rows/s, peak RSS $((m / 1024)) MB, ${ratio}x wc -l" >&2
}

add "wc -l, CSV files (the ceiling)" "$csv_bytes" "$wc_csv" "$wc_csv 0"
add "wc -l, NDJSON (the ceiling)" "$nd_bytes" "$wc_nd" "$wc_nd 0"
add "detect, CSV files, --jobs 1 (one core)" "$csv_bytes" "$wc_csv" "$(best "$BIN" detect --jobs 1 "${CSV_FILES[@]}")"
add "detect, CSV files, --jobs 2" "$csv_bytes" "$wc_csv" "$(best "$BIN" detect --jobs 2 "${CSV_FILES[@]}")"
add "detect, NDJSON" "$nd_bytes" "$wc_nd" "$(best "$BIN" detect "$NDJSON")"
# --jobs 1 already overlaps reading and store writes with detection (about 1.4 cores busy), so
# the scaling of --jobs 2 is also shown against --jobs 1 held to one core.
add "ingest, CSV files, --jobs 1, one core (taskset -c 0)" "$csv_bytes" "$wc_csv" "$(best taskset -c 0 "$BIN" ingest --db "$DATA/b.sqlite" --jobs 1 "${CSV_FILES[@]}")"
add "ingest, CSV files, --jobs 1" "$csv_bytes" "$wc_csv" "$(best "$BIN" ingest --db "$DATA/b.sqlite" --jobs 1 "${CSV_FILES[@]}")"
add "ingest, CSV files, --jobs 2" "$csv_bytes" "$wc_csv" "$(best "$BIN" ingest --db "$DATA/b.sqlite" --jobs 2 "${CSV_FILES[@]}")"
add "ingest, NDJSON" "$nd_bytes" "$wc_nd" "$(best "$BIN" ingest --db "$DATA/b.sqlite" "$NDJSON")"
add "stream, NDJSON on stdin" "$nd_bytes" "$wc_nd" "$(STDIN="$NDJSON" best "$BIN" stream --db "$DATA/b.sqlite")"
rm -f "$DATA"/b.sqlite* "$DATA/time.txt"

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "# Benchmark results"
  echo
  echo "Written by \`make bench\` ($(date -u +%Y-%m-%dT%H:%MZ)). Best of $RUNS runs; release build;"
  echo "every figure is a whole process (start-up, reading, detection, store, clustering)."
  echo
  echo "Machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $($BIN --version 2>/dev/null || swift --version 2>/dev/null | head -1)."
  echo
  echo "Set: 140 simulated trips x 15 min at 100 Hz, $rows rows ($(awk "BEGIN{printf \"%.0f\", $csv_bytes/1e6}") MB as 140 CSV files, $(awk "BEGIN{printf \"%.0f\", $nd_bytes/1e6}") MB as one NDJSON stream)."
  echo
  echo "| run | MB | s | MB/s | M rows/s | peak RSS (MB) | time / wc -l |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf "%s" "$rows_table"
} > "$OUT"
echo "wrote $OUT" >&2
