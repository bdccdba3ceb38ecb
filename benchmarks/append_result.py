#!/usr/bin/env python3
"""append_result.py SECTION [FILE]: append stdin to the end of a section of
docs/benchmarks.md (the lines up to the next "## " heading), creating the
section at the end of the file when it does not exist yet. Benchmarks run in
any order; this keeps each one's results under its own heading."""
import sys

section = sys.argv[1].strip()
if not section.startswith("## "):
    section = "## " + section
path = sys.argv[2] if len(sys.argv) > 2 else "docs/benchmarks.md"
text = sys.stdin.read().rstrip("\n") + "\n"
try:
    lines = open(path).read().splitlines(keepends=True)
except FileNotFoundError:
    lines = ["# Benchmarks\n"]
try:
    start = next(i for i, l in enumerate(lines) if l.rstrip("\n") == section)
except StopIteration:
    if lines and lines[-1].strip():
        lines.append("\n")
    lines += [section + "\n", "\n", text]
else:
    nxt = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    end = nxt
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    # The section's trailing blank lines become exactly one before the next heading.
    lines[end:nxt] = [text] + (["\n"] if nxt < len(lines) else [])
open(path, "w").write("".join(lines))
