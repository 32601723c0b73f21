#!/usr/bin/env python3
"""Counts code lines the same way in C and Rust: a line counts if anything
is left on it once comments are removed (blank lines, comment-only lines
and lines of a block comment do not count; braces alone do, in both
languages). String and character literals are skipped over, so "//" inside
one is not a comment.

    bench/tools/count_lines.py FILE...           one line per file
    bench/tools/count_lines.py --pairs           the fiber examples and their Tokio peers
    bench/tools/count_lines.py --pairs --markdown   the same as a Markdown table
    bench/tools/count_lines.py --pairs --write-docs the table into docs/fibers.md and
                                                    docs/benchmarks.md (between the
                                                    <!-- count_lines.py:pairs --> markers)
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# (name, the C example, the Tokio peer)
PAIRS = [
    ("chat server", "examples/fiber_chat.c", "bench/peers/tokio_examples/src/bin/chat.rs"),
    ("TCP proxy, idle timeout", "examples/fiber_proxy.c", "bench/peers/tokio_examples/src/bin/proxy.rs"),
    ("HTTP/1.1 keep-alive server", "examples/fiber_http.c", "bench/peers/tokio_examples/src/bin/tinyhttp.rs"),
]

# A Rust character literal ('a', '\n', '\u{1F600}'); any other quote is a lifetime.
RUST_CHAR = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")


def code_lines(text, rust):
    """Returns how many lines of `text` hold code."""
    counted = set()
    line = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
        elif c.isspace():
            i += 1
        elif c == '"':
            counted.add(line)
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    line += 1
                    counted.add(line)
                i += 1
            i += 1
        elif c == "'" and rust:
            counted.add(line)
            m = RUST_CHAR.match(text, i)
            i = m.end() if m else i + 1
        elif c == "'":
            counted.add(line)
            i += 1
            while i < n and text[i] not in "'\n":
                i += 2 if text[i] == "\\" else 1
            i += 1
        else:
            counted.add(line)
            i += 1
    return len(counted)


def count_file(path):
    with open(path, encoding="utf-8") as f:
        return code_lines(f.read(), rust=path.endswith(".rs"))


DOCS = ["docs/fibers.md", "docs/benchmarks.md"]
BEGIN, END = "<!-- count_lines.py:pairs -->", "<!-- /count_lines.py:pairs -->"


def pair_rows():
    rows = []
    for name, c, rs in PAIRS:
        nc, nr = count_file(os.path.join(ROOT, c)), count_file(os.path.join(ROOT, rs))
        rows.append((name, c, nc, os.path.basename(rs), nr, nc / nr))
    return rows


def markdown_table():
    lines = ["| program | weft (fibers) | lines | Tokio | lines | ratio |", "|---|---|---:|---|---:|---:|"]
    for name, c, nc, rs, nr, ratio in pair_rows():
        lines.append(f"| {name} | `{c}` | {nc} | `{rs}` | {nr} | {ratio:.2f}× |")
    return "\n".join(lines) + "\n"


def write_docs():
    table = markdown_table()
    for doc in DOCS:
        path = os.path.join(ROOT, doc)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        a, b = text.find(BEGIN), text.find(END)
        if a < 0 or b < a:
            print(f"{doc}: no {BEGIN} ... {END} block", file=sys.stderr)
            return 1
        text = text[: a + len(BEGIN)] + "\n" + table + text[b:]
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"updated {doc}")
    return 0


def pairs(argv):
    if "--write-docs" in argv:
        return write_docs()
    if "--markdown" in argv:
        print(markdown_table(), end="")
        return 0
    for name, c, nc, rs, nr, ratio in pair_rows():
        print(f"{name:28} {c:26} {nc:4}   {rs:12} {nr:4}   {ratio:.2f}x")
    return 0


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] == "--pairs":
        return pairs(argv[1:])
    for path in argv:
        print(f"{count_file(path):6} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
