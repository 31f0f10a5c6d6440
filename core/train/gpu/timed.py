#!/usr/bin/env python3
"""timed.py NAME LIMIT CMD...: runs CMD with a time limit of LIMIT seconds and
prints one line with its exit status, wall time and peak RSS (children), so
that a device script reports each step alike. Exits with CMD's status."""
import resource
import subprocess
import sys
import time

name, limit, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
start = time.monotonic()
try:
    rc = subprocess.run(cmd, timeout=limit).returncode
except subprocess.TimeoutExpired:
    rc = 124
wall = time.monotonic() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"## {name}: rc {rc}, wall {wall:.1f} s, peak RSS {rss} KB", flush=True)
sys.exit(rc)
