#!/usr/bin/env bash
# Runs every test: unit tests and integration tests against real mosquitto brokers that the tests
# start themselves on free 127.0.0.1 ports. Usage: scripts/test.sh [extra `swift test` arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The integration tests run the built executable, so build it first.
swift build --build-tests
# A short libFuzzer run over the command path (a separate, instrumented build); the long run's
# figure is in docs/security.md. Skipped with FUZZ_RUNS=0.
if [ "${FUZZ_RUNS:-5000}" != 0 ]; then
  scripts/fuzz.sh --runs "${FUZZ_RUNS:-5000}"
fi
swift test --skip-build "$@"
