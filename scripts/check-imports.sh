#!/usr/bin/env bash
# Checks that Package.swift declares every module a target imports. SwiftPM lets a target import a
# module it reaches only through another target's dependencies (--explicit-target-dependency-
# import-check lets that through too), and such a build breaks as soon as the other target drops
# the dependency. For every Swift target (regular, executable, test, macro), this reads the
# `import X` lines of its .swift files (`@testable`, `@_exported`, `@preconcurrency`, access
# modifiers and `import struct X.Y` forms included; comments and multi-line strings skipped) and
# fails, listing each target and module, when X is neither a declared dependency (a target's name,
# or a product of a package dependency, whose module has the product's name: ArgumentParser,
# Logging) nor one of the toolchain's and the system's modules below.
# Usage: scripts/check-imports.sh   (run by scripts/lint.sh; needs swift and python3)
set -euo pipefail
cd "$(dirname "$0")/.."

# Modules that come with the toolchain or the OS, never declared in Package.swift. Explicit on
# purpose: a new one is added here, in review, rather than matched by a pattern.
system_modules=(
  Swift _Concurrency _StringProcessing _Volatile Synchronization Observation Distributed RegexBuilder
  Foundation FoundationEssentials FoundationInternationalization FoundationNetworking FoundationXML
  Dispatch Glibc Musl Darwin os
  XCTest Testing
)

manifest="$(mktemp /tmp/check-imports.XXXXXX)"
trap 'rm -f "$manifest"' EXIT
swift package dump-package > "$manifest"

python3 - "$manifest" "${system_modules[@]}" <<'PY'
import json
import os
import re
import sys

manifest_path, system = sys.argv[1], set(sys.argv[2:])
with open(manifest_path) as handle:
    package = json.load(handle)

IMPORT = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*"  # attributes: @testable, @_exported, @preconcurrency, @_implementationOnly
    r"(?:(?:public|package|internal|fileprivate|private|open)\s+)?"
    r"import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?"
    r"([A-Za-z_][A-Za-z0-9_]*)"
)


def code_lines(path):
    """(line number, text) of each line outside block comments and multi-line string literals."""
    in_comment = in_string = False
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            starts_outside = not in_comment and not in_string
            index = 0
            while index < len(line):
                if in_comment:
                    end = line.find("*/", index)
                    if end < 0:
                        break
                    in_comment, index = False, end + 2
                elif in_string:
                    end = line.find('"""', index)
                    if end < 0:
                        break
                    in_string, index = False, end + 3
                else:
                    comment, string, slashes = line.find("/*", index), line.find('"""', index), line.find("//", index)
                    found = [p for p in (comment, string, slashes) if p >= 0]
                    if not found:
                        break
                    first = min(found)
                    if first == slashes:
                        break
                    if first == comment:
                        in_comment, index = True, comment + 2
                    else:
                        in_string, index = True, string + 3
            if starts_outside:
                yield number, line


def declared(target):
    names = set()
    for dependency in target.get("dependencies", []):
        for kind in ("byName", "target", "product"):
            if kind in dependency:
                names.add(dependency[kind][0])
    return names


def target_files(target):
    default = {"test": "Tests", "plugin": "Plugins"}.get(target["type"], "Sources")
    root = target.get("path") or os.path.join(default, target["name"])
    if not os.path.isdir(root):
        sys.exit(f"check-imports: {target['name']}: no directory {root}")
    excluded = [os.path.normpath(os.path.join(root, path)) for path in target.get("exclude") or []]
    sources = target.get("sources")
    included = [os.path.normpath(os.path.join(root, path)) for path in sources] if sources else [root]

    def within(path, parents):
        return any(path == parent or path.startswith(parent + os.sep) for parent in parents)

    for directory, _, names in os.walk(root):
        for name in sorted(names):
            path = os.path.normpath(os.path.join(directory, name))
            if name.endswith(".swift") and within(path, included) and not within(path, excluded):
                yield path


problems = []
checked = 0
for target in package["targets"]:
    if target["type"] not in ("regular", "executable", "test", "macro"):
        continue
    checked += 1
    allowed = declared(target) | system
    seen = set()
    for path in sorted(target_files(target)):
        for number, line in code_lines(path):
            match = IMPORT.match(line)
            if match and match.group(1) not in allowed and match.group(1) not in seen:
                seen.add(match.group(1))
                problems.append(f"  {target['name']} imports {match.group(1)} ({path}:{number})")

if problems:
    print("check-imports: modules imported but not declared as dependencies in Package.swift:", file=sys.stderr)
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"check-imports: {checked} targets import only what Package.swift declares")
PY
