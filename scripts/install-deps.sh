#!/usr/bin/env bash
# Installs what building and testing hatchling-agent needs, if it is missing (Debian/Ubuntu, as root
# or with sudo). Safe to run again.
set -euo pipefail
packages=(libmosquitto-dev libssl-dev mosquitto mosquitto-clients tini pkg-config python3 python3-psutil python3-jsonschema socat openssl rabbitmq-server prometheus shellcheck)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # rabbitmq-server (for the tests against another broker) would start a system node on install;
  # policy-rc.d keeps it (and any other service) from starting while apt runs.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 0755 /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.x from swift.org" >&2; exit 1; }
