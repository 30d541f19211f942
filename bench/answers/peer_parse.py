#!/usr/bin/python3
"""Peer for the stream parser timing: what a Python client does with the same
bytes (split lines, json.loads each, join the content), best of 5."""
import json
import sys
import time


def ndjson(data):
    out = []
    for line in data.split(b"\n"):
        if line.strip():
            j = json.loads(line)
            out.append(j.get("message", {}).get("content", ""))
    return "".join(out)


def sse(data):
    out = []
    for line in data.split(b"\n"):
        if line.startswith(b"data: "):
            payload = line[6:]
            if payload == b"[DONE]":
                break
            j = json.loads(payload)
            out.append(j["choices"][0]["delta"].get("content") or "")
    return "".join(out)


for name, path in (("ndjson", sys.argv[1]), ("sse", sys.argv[2])):
    data = open(path, "rb").read()
    fn = ndjson if name == "ndjson" else sse
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    print(name, min(times))
