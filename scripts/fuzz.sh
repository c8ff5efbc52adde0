#!/usr/bin/env bash
# Fuzzes the command path (raw payload bytes → dispatcher → encoded response) with libFuzzer and
# AddressSanitizer. Usage: scripts/fuzz.sh [--runs N | --time SECONDS] [extra libFuzzer flags]
#   default: --runs 20000 (a short run, as in scripts/test.sh); a long run: --runs 1000000
# The seed corpus is Fuzz/corpus; new inputs go to a temporary directory, crashes to .build-fuzz/crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-runs=20000)
case "${1:-}" in
  --runs) limit=(-runs="$2"); shift 2 ;;
  --time) limit=(-max_total_time="$2"); shift 2 ;;
  -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
esac
# A separate scratch path: every module is built with the fuzzer's instrumentation.
swift build --product command-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|Cannot export local symbol' || true
binary=.build-fuzz/debug/command-fuzz
[ -x "$binary" ] || { echo "fuzz: the harness did not build" >&2; exit 1; }
work="$(mktemp -d /tmp/hatchling-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p .build-fuzz/crashes
started=$(date +%s)
"$binary" "$work" Fuzz/corpus "${limit[@]}" -max_len=6000 -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix=.build-fuzz/crashes/ -print_final_stats=1 "$@" 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
echo "fuzz: exit $status after $(( $(date +%s) - started )) s (0 = no crash, no leak, no broken invariant)"
exit "$status"
