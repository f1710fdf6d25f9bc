#!/usr/bin/env python3
"""Fails when a sealed outbox record holds update bytes in the clear.

  no_plaintext.py STORED KEPT...

STORED: `sqlite3 state.db "SELECT device_id, hex(bytes) FROM updates ..."`
output (the coordinator keeps the acknowledged uploads byte for byte).
Every 64-byte window of each stored update is searched in every KEPT file.
"""
import sys

stored = [bytes.fromhex(line.split("|")[1].strip()) for line in open(sys.argv[1])]
records = {path: open(path, "rb").read() for path in sys.argv[2:]}
windows = 0
for update in stored:
    for at in range(0, len(update) - 64, 64):
        windows += 1
        for path, data in records.items():
            if update[at:at + 64] in data:
                sys.exit(f"FAIL: {path} holds update bytes {at}..{at + 64} in the clear")
# The search can fail: the clear header names the task it carries.
assert all(b"\ntask r1-device-" in data for data in records.values()), "header not found"
assert windows >= 1000, f"only {windows} windows: the stored updates are missing"
print(f"no plaintext: {windows} windows of {len(stored)} stored updates absent from {len(records)} records")
