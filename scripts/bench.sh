#!/usr/bin/env bash
# make bench: runs every benchmark (one package at a time, so none competes with another
# for the two cores) against a throwaway PostgreSQL with fsync on, then writes
# docs/benchmarks.md, its plots, and the raw output in docs/benchmarks.txt.
# "scripts/bench.sh smoke" (make test) runs the same benchmarks at -short sizes, once
# each, and writes the report to a temporary directory: it proves they all still run and
# that the report can be made, in about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-full}
export NPS_BIN_DIR="$PWD/${BIN:-bin}"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGVER=$("$PGBIN/postgres" --version | awk '{print $3}')

case "$MODE" in
  smoke)
    if [ -n "${BENCH_OUT:-}" ]; then # keep the smoke report to look at
      OUT=$BENCH_OUT && mkdir -p "$OUT"
    else
      OUT=$(mktemp -d) && trap 'rm -rf "$OUT"' EXIT
    fi
    ARGS=(-short -benchtime 1x -timeout 15m)
    FLAGS=(-smoke)
    export PG_FSYNC=off
    ;;
  full)
    OUT=docs
    ARGS=(-timeout 60m)
    FLAGS=()
    export PG_FSYNC=on
    echo "bench: the full run takes an hour or more (reports generate 10M rows and their sums for each database; the fleet runs 5 minutes)"
    ;;
  *) echo "usage: $0 [full|smoke]" >&2; exit 2 ;;
esac

# The capture benchmark runs first, after a sync: the others (the reports write 10M rows)
# leave writeback behind that would land in its fsyncs. Its p99 needs thousands of taps,
# whatever -benchtime the rest runs with; the rest skip it.
CAPTURE_ARGS=("${ARGS[@]}")
if [ "$MODE" = full ]; then CAPTURE_ARGS+=(-benchtime 5000x); fi
# Ingest and catch-up take seconds an iteration, so at the default -benchtime they run
# once: one noisy sample of each side. The full run gives them four iterations each (every
# one interleaves its two sides), run apart (with a PostgreSQL of their own) so that
# -benchtime applies to them alone.
REPEATED='^(BenchmarkIngest|BenchmarkCatchUp)$'
REPEATED_ARGS=("${ARGS[@]}")
if [ "$MODE" = full ]; then REPEATED_ARGS+=(-benchtime 4x); fi
sync
# -p 1: packages one after another; -v: each benchmark's name as it starts, for progress.
# A benchmark that fails its own checks (exactly once, sums equal to a scan) fails the
# run, but the rest still run, and their figures are kept and reported: an hour's run is
# not thrown away for one failure, and the failure is not hidden either.
status=0
{
  rc=0
  go test -tags migrated_fynedo,sqlite_fts5 -run '^$' -bench '^BenchmarkRecord$' -benchmem -count 1 -v "${CAPTURE_ARGS[@]}" ./store/ || rc=1
  scripts/with-postgres.sh go test -tags migrated_fynedo,sqlite_fts5 -p 1 -run '^$' -bench "$REPEATED" -benchmem -count 1 -v "${REPEATED_ARGS[@]}" ./sync/ ./collector/httpapi/ || rc=1
  scripts/with-postgres.sh go test -tags migrated_fynedo,sqlite_fts5 -p 1 -run '^$' -bench . -skip "^BenchmarkRecord\$|$REPEATED" -benchmem -count 1 -v "${ARGS[@]}" ./... || rc=1
  exit $rc
} | tee "$OUT/benchmarks.txt.tmp" | grep --line-buffered -E '^(Benchmark|ok|FAIL|---|panic|\s+\w+_test.go)' || status=$?
mv "$OUT/benchmarks.txt.tmp" "$OUT/benchmarks.txt"
go run ./tools/benchreport "${FLAGS[@]}" -in "$OUT/benchmarks.txt" -out "$OUT/benchmarks.md" -postgres "$PGVER, fsync $PG_FSYNC" || status=$?
if [ "$status" -ne 0 ]; then
  echo "bench: FAILED (see FAIL above): $OUT/benchmarks.txt holds what ran; $OUT/benchmarks.md was written only if nothing it needs is missing" >&2
  exit "$status"
fi
echo "bench: $OUT/benchmarks.md"
