#!/usr/bin/env bash
# Installs what building and testing hatchling-agent needs, if it is missing (Debian/Ubuntu, as root
# or with sudo). Safe to run again.
set -euo pipefail
packages=(libmosquitto-dev libssl-dev mosquitto mosquitto-clients tini pkg-config python3 python3-psutil python3-jsonschema socat openssl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.x from swift.org" >&2; exit 1; }
