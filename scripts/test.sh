#!/usr/bin/env bash
# Runs every test: unit tests and integration tests against real mosquitto brokers that the tests
# start themselves on free 127.0.0.1 ports, and against RabbitMQ nodes (one standalone, one
# two-node cluster) that this script starts once, in the background while Swift builds.
# Usage: scripts/test.sh [extra `swift test` arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# RabbitMQ nodes take a minute or two to start: start them now, use them after the build.
rabbit_dir="$(mktemp -d /tmp/hatchling-rabbitmq-XXXXXX)"
scripts/rabbitmq-nodes.sh start "$rabbit_dir" > "$rabbit_dir/start.log" 2>&1 &
rabbit_start=$!
cleanup() {
  kill "$rabbit_start" 2>/dev/null || true
  scripts/rabbitmq-nodes.sh stop "$rabbit_dir" || true
}
trap cleanup EXIT

# The integration tests run the built executable, so build it first.
swift build --build-tests
# A short libFuzzer run over the command path (a separate, instrumented build); the long run's
# figure is in docs/security.md. Skipped with FUZZ_RUNS=0.
if [ "${FUZZ_RUNS:-5000}" != 0 ]; then
  scripts/fuzz.sh --runs "${FUZZ_RUNS:-5000}"
fi
if ! wait "$rabbit_start"; then
  cat "$rabbit_dir/start.log" >&2
  echo "test.sh: the RabbitMQ test nodes did not start" >&2
  exit 1
fi
cat "$rabbit_dir/start.log"
HATCHLING_TEST_RABBITMQ="$rabbit_dir/rabbitmq.env" swift test --skip-build "$@"
