"""Prints the command examples of the given Markdown files, one per line as
FILE:LINE<TAB>COMMAND: every command of a ```sh (or bash/shell) block, with
backslash continuations joined and trailing comments kept (the shell drops
them), and every "$ " line of an untyped block (a transcript)."""
import re
import sys

for path in sys.argv[1:]:
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang = m.group(1)
        i += 1
        start = i
        while i < len(lines) and not lines[i].startswith("```"):
            i += 1
        block = lines[start:i]
        i += 1
        if lang in ("sh", "bash", "shell"):
            cmd, at = "", None
            for n, line in enumerate(block):
                if at is None:
                    at = start + n + 1
                if line.rstrip().endswith("\\"):
                    cmd += line.rstrip()[:-1] + " "
                    continue
                cmd += line
                if cmd.strip() and not cmd.strip().startswith("#"):
                    print(f"{path}:{at}\t{cmd.strip()}")
                cmd, at = "", None
        elif lang == "":
            for n, line in enumerate(block):
                if line.startswith("$ "):
                    print(f"{path}:{start + n + 1}\t{line[2:].strip()}")
