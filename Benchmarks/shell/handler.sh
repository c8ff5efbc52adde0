#!/usr/bin/env bash
# The pattern hatchling-agent replaces (the old bus-command-handler), as a benchmark subject:
#   mosquitto_sub -t fleet/<name>/command | while read -r line; do ...; mosquitto_pub ...; done
# One mosquitto_pub process per answer. The id is cut out with bash parameter expansion (no sed,
# jq or date fork), so this is the cheapest form of the pattern: a lower bound of its cost.
# Usage: handler.sh HOST PORT NAME   (scripts/bench.sh starts it in its own process group)
set -u
host="$1" port="$2" name="$3"
mosquitto_sub -h "$host" -p "$port" -q 1 -i "shell-handler-$name" -t "fleet/$name/command" |
while read -r line; do
  id=""
  case "$line" in
    *'"id"'*) id="${line#*\"id\":\"}"; id="${id%%\"*}" ;;
  esac
  mosquitto_pub -h "$host" -p "$port" -q 1 -t "fleet/$name/response" \
    -m "{\"v\":1,\"id\":\"$id\",\"hatchling\":\"$name\",\"command\":\"version-report\",\"ok\":true,\"result\":{\"agent\":\"shell\",\"openclaw\":null,\"protocol\":1,\"image\":null}}"
done
