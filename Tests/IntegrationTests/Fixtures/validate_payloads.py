#!/usr/bin/env python3
"""Validates payloads against docs/schemas/fleet.schema.json with the jsonschema package.
Input: a JSON file holding a list of [kind, payload] pairs (kind: heartbeat, response, status,
command). Prints one line per payload; exit 1 if any is invalid. Test fixture only."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
items = json.load(open(sys.argv[2]))
invalid = 0
for index, (kind, payload) in enumerate(items):
    try:
        jsonschema.validate(payload, {"$defs": schema["$defs"], "$ref": "#/$defs/" + kind})
        print(f"valid {index} {kind}")
    except jsonschema.ValidationError as error:
        invalid += 1
        print(f"invalid {index} {kind}: {error.message}")
sys.exit(1 if invalid else 0)
