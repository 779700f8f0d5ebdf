#!/usr/bin/python3
"""Prints the [tables.mpls] section of each srgate config file given, as a JSON list (one
object per file, in order), for ctrl-plane/tests/path_oracle.rs to compare compiled MPLS
tables with config/mpls-anycast-*.toml. Python's own tomllib (3.11+) reads the TOML.

usage: /usr/bin/python3 toml2json.py FILE.toml...
"""

import json
import sys
import tomllib

out = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        out.append(tomllib.load(f)["tables"]["mpls"])
print(json.dumps(out))
