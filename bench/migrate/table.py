#!/usr/bin/env python3
"""Markdown table of bench/migrate/run.sh measurements: table.py ROWS.jsonl REPO > RESULTS.md
(separate so a partial run can be tabulated too)."""
import json, os, platform, subprocess, sys, time
rows = [json.loads(l) for l in open(sys.argv[1])]
repo = sys.argv[2]
commit = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
load = open("/proc/loadavg").read().split()[:3]
mib = lambda b: "?" if b is None or b < 0 else f"{b/1048576:.1f}"
print("# ragged migrate: measured costs\n")
print(f"Machine: {cpu}, {os.cpu_count()} cores visible, shared with other jobs (load average {' '.join(load)} at the end "
      f"of the run). Commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Embedder: builtin (384-d). "
      "Produced by `bench/migrate/run.sh`; wall time and peak RSS from GNU time.\n")
print("| run | records | wall s | rec/s | peak RSS MiB | source MiB | target MiB | read / embed / write / build / verify s | verify |")
print("|---|---:|---:|---:|---:|---:|---:|---|---|")
for r in rows:
    j = r["report"]
    if r["rc"] != 0:
        err = j.get("error", {}).get("message") or r["stderr"].strip()
        print(f"| {r['label']} | | {r['wall']:.1f} | | {r['rss_kib']/1024:.0f} | | | | FAILED: {err[:160]} |")
        continue
    n = j.get("records_written") or j.get("records_source", 0)
    ps = j.get("phase_seconds", {})
    ps["verify"] = ps.get("verify", 0) + ps.get("queries", 0)
    phases = " / ".join(f"{ps.get(p, 0):.1f}" for p in ("read", "embed", "write", "build", "verify"))
    v = j.get("verification")
    vs = ""
    if v:
        ov = v["topk_overlap"]
        vs = ("passed" if v["passed"] else "FAILED") + (f", top-10 overlap {ov['mean']:.3f} (min {ov['min']:.1f})" if "mean" in ov else "")
    tgt = j["bytes"]["target"] if not j.get("dry_run") else j["bytes"]["target_estimate"]
    rate = f"{n / r['wall']:.0f}" if r["wall"] > 0 and not j.get("dry_run") else ""
    label = r["label"] + (" (target size: estimate)" if j.get("dry_run") else "")
    print(f"| {label} | {n} | {r['wall']:.1f} | {rate} | {r['rss_kib']/1024:.0f} | {mib(j['bytes']['source'])} | {mib(tgt)} | {phases} | {vs} |")
