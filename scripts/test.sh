#!/usr/bin/env bash
# Runs every test: unit tests and integration tests against real mosquitto brokers that the tests
# start themselves on free 127.0.0.1 ports. Usage: scripts/test.sh [extra `swift test` arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The integration tests run the built executable, so build it first.
swift build --build-tests
swift test --skip-build "$@"
