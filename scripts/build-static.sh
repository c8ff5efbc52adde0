#!/usr/bin/env bash
# Builds the most static hatchling-agent this machine allows, stripped, into OUTDIR/hatchling-agent,
# and checks it: no Swift runtime library at run time, and a size budget. The hub's fleetctl is
# built the same way into OUTDIR/fleetctl (checked for the runtime libraries, its size reported).
#
#   scripts/build-static.sh OUTDIR
#
# What "most static" is here (Debian 12, no Swift static Linux SDK, no libmosquitto.a in Debian):
#   --static-swift-stdlib links the Swift runtime, the standard library, Foundation Essentials,
#   Dispatch and the package dependencies (swift-log, swift-argument-parser) into the binary. What
#   stays dynamic: libmosquitto.so.1, libssl.so.3 and libcrypto.so.3 (TLS, and HMAC for signed
#   commands), libstdc++.so.6, libgcc_s.so.1 and glibc; on Debian 12 `apt-get install
#   libmosquitto1` brings all of them. A fully static binary (-static-executable) would need a
#   libmosquitto.a built from Debian's source package; it is not done here (see Dockerfile.agent).
#
# Fails (exit 1) when ldd shows a Swift runtime library (libswift*, libFoundation*, libdispatch,
# libBlocksRuntime) or when the stripped binary is over 16 MiB; warns over 15 MiB (the target).
# Size: -Osize and the linker's identical-code folding (--icf=safe) took the stripped binary from
# 15.25 MiB to 14.91 MiB, and lld's packed relocations to about 14.1 MiB (measured on this code base;
# docs/benchmarks.md). Most of the rest is the
# Swift runtime (4.5 MiB), FoundationEssentials (2.4 MiB) and the regex runtime FoundationEssentials
# pulls in (0.9 MiB). The build uses its own scratch path, .build-static, so that these flags do not
# force a rebuild of the ordinary release build.
# EXTRA_SWIFT_BUILD_FLAGS (word-split) is added to the swift build command line.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
outdir=$1
limit=16777216 # 16 MiB: a failure
target=15728640 # 15 MiB: the target; over it is a warning

cd "$(dirname "$0")/.."
command -v swift >/dev/null || { echo "build-static: swift is not on PATH" >&2; exit 1; }
command -v strip >/dev/null || { echo "build-static: strip is not installed (apt-get install binutils)" >&2; exit 1; }

# shellcheck disable=SC2206 # word splitting of the extra flags is wanted
extra=(${EXTRA_SWIFT_BUILD_FLAGS:-})
# Linked by lld rather than gold, for three things gold lacks or does worse:
#   -z pack-relative-relocs  the PIE's 60,000 relative relocations as a 7.5 KB RELR table instead of
#                            a 1.4 MB RELA table that the loader reads, all of it, at every start
#                            (needs glibc 2.36 at run time: Debian 12 has it);
#   --symbol-ordering-file   the functions the agent runs, together (scripts/link-order.sh says why);
#                            each Swift function gets its own section for it (-function-sections);
#   --icf=safe               identical code folding, as before.
# SwiftPM does not always recompile when only these flags change: after changing them, remove
# .build-static once.
order=scripts/link-order/hatchling-agent.txt
flags=(-c release --product hatchling-agent --static-swift-stdlib --scratch-path .build-static
       -Xswiftc -Osize -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld
       -Xlinker --icf=safe -Xlinker -z -Xlinker pack-relative-relocs
       -Xlinker --symbol-ordering-file="$PWD/$order" -Xlinker --no-warn-symbol-ordering "${extra[@]}")
echo "build-static: swift build ${flags[*]}"
swift build "${flags[@]}"
bin_dir=$(swift build "${flags[@]}" --show-bin-path)
# fleetctl, with the same flags (the agent's link order only orders what they share).
fleetctl_flags=("${flags[@]}")
fleetctl_flags[3]=fleetctl
swift build "${fleetctl_flags[@]}"

mkdir -p "$outdir"
out="$outdir/hatchling-agent"
cp "$bin_dir/hatchling-agent" "$out"
strip "$out"
chmod 0755 "$out"
hub="$outdir/fleetctl"
cp "$bin_dir/fleetctl" "$hub"
strip "$hub"
chmod 0755 "$hub"

size=$(stat -c %s "$out")
mib=$(awk -v bytes="$size" 'BEGIN { printf "%.2f", bytes / 1048576 }')
echo "build-static: $out: $size bytes ($mib MiB) stripped"
if command -v file >/dev/null; then file "$out"; fi

echo "build-static: ldd $out"
links=$(ldd "$out" 2>&1 || true) # a fully static binary makes ldd say "not a dynamic executable" and exit 1
printf '%s\n' "$links" | sed 's/^/  /'

status=0
swift_runtime=$(printf '%s\n' "$links" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime' || true)
if [ -n "$swift_runtime" ]; then
    echo "build-static: FAIL: the binary links Swift runtime libraries (they must be static):" >&2
    printf '%s\n' "$swift_runtime" | sed 's/^/  /' >&2
    status=1
fi
missing=$(printf '%s\n' "$links" | grep 'not found' || true)
if [ -n "$missing" ]; then
    echo "build-static: FAIL: libraries not found on this machine:" >&2
    printf '%s\n' "$missing" | sed 's/^/  /' >&2
    status=1
fi
if [ "$size" -gt "$limit" ]; then
    echo "build-static: FAIL: $mib MiB is over the 16 MiB limit ($size > $limit bytes); docs/benchmarks.md says what the binary is made of" >&2
    status=1
elif [ "$size" -gt "$target" ]; then
    echo "build-static: WARNING: $mib MiB is over the 15 MiB target ($size > $target bytes)" >&2
fi

hub_links=$(ldd "$hub" 2>&1 || true)
if printf '%s\n' "$hub_links" | grep -qE 'libswift|libFoundation|libdispatch|libBlocksRuntime|not found'; then
    echo "build-static: FAIL: $hub links Swift runtime libraries or misses one:" >&2
    printf '%s\n' "$hub_links" | sed 's/^/  /' >&2
    status=1
fi
echo "build-static: $hub: $(stat -c %s "$hub") bytes stripped"

# They must start without a Swift toolchain's libraries: --version loads every library linked.
if [ "$status" -eq 0 ]; then
    version=$("$out" --version) || { echo "build-static: FAIL: $out --version did not run" >&2; exit 1; }
    echo "build-static: $out --version: $version"
    hub_version=$("$hub" --version) || { echo "build-static: FAIL: $hub --version did not run" >&2; exit 1; }
    echo "build-static: $hub --version: $hub_version"
fi
exit "$status"
