#!/usr/bin/python3
"""Embedding-engine benchmark: ragged's native BERT (fp32, int8) against
PyTorch on CPU, same weights, same inputs, same thread count, in one run.

The model has exactly the all-MiniLM-L6-v2 shape (6 layers, 384 hidden,
12 heads, 1536 FFN, the real 30,522-token vocabulary from ../shared) with
fixed random weights (tests/ref/make_tiny_bert.py --seed 2024).

The PyTorch peer is torch.nn.TransformerEncoder (post-LayerNorm, GELU:
BERT's encoder layer) in inference mode, which takes PyTorch's fused "fast
path" kernels and nested tensors on CPU, plus the same embeddings, mean
pooling and normalisation.  Inputs are token ids for both sides.

usage: bench/embed/run.py [--threads N] [--seconds S] [--out FILE]
Needs bench/embed/install-bench-deps.sh (python3-torch) and `make`.
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
from bert_ref import load_safetensors  # noqa: E402

LENGTHS = (32, 128, 256)
BATCHES = (1, 32)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def build_driver(tmp):
    sh(["make", "-C", ROOT, "-j2", "build/libragged.a"])
    pkgs = "jansson libutf8proc openblas".split()
    cflags = sh(["pkg-config", "--cflags"] + pkgs).split()
    libs = sh(["pkg-config", "--libs"] + pkgs).split()
    exe = os.path.join(tmp, "bench_embed")
    sh(["cc", "-std=c17", "-O2", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "src")] + cflags +
       [os.path.join(ROOT, "bench", "embed", "bench_embed.c"), os.path.join(ROOT, "build", "libragged.a"),
        "-o", exe] + libs + ["-lm", "-pthread"])
    return exe


def torch_peer(model_dir, threads):
    import json
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    W = {k: torch.tensor(v, dtype=torch.float32) for k, v in
         load_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    H, nh, I, nl = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    eps = cfg["layer_norm_eps"]

    class Peer(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(H, nh, I, dropout=0.0, activation="gelu", layer_norm_eps=eps,
                                               batch_first=True, norm_first=False)
            self.enc = nn.TransformerEncoder(layer, nl, enable_nested_tensor=True)
            self.ln = nn.LayerNorm(H, eps=eps)
            with torch.no_grad():
                self.ln.weight.copy_(W["embeddings.LayerNorm.weight"])
                self.ln.bias.copy_(W["embeddings.LayerNorm.bias"])
                for i, l in enumerate(self.enc.layers):
                    p = "encoder.layer.%d." % i
                    l.self_attn.in_proj_weight.copy_(torch.cat([W[p + "attention.self.%s.weight" % n]
                                                                for n in ("query", "key", "value")]))
                    l.self_attn.in_proj_bias.copy_(torch.cat([W[p + "attention.self.%s.bias" % n]
                                                              for n in ("query", "key", "value")]))
                    l.self_attn.out_proj.weight.copy_(W[p + "attention.output.dense.weight"])
                    l.self_attn.out_proj.bias.copy_(W[p + "attention.output.dense.bias"])
                    l.norm1.weight.copy_(W[p + "attention.output.LayerNorm.weight"])
                    l.norm1.bias.copy_(W[p + "attention.output.LayerNorm.bias"])
                    l.linear1.weight.copy_(W[p + "intermediate.dense.weight"])
                    l.linear1.bias.copy_(W[p + "intermediate.dense.bias"])
                    l.linear2.weight.copy_(W[p + "output.dense.weight"])
                    l.linear2.bias.copy_(W[p + "output.dense.bias"])
                    l.norm2.weight.copy_(W[p + "output.LayerNorm.weight"])
                    l.norm2.bias.copy_(W[p + "output.LayerNorm.bias"])

        def forward(self, ids, mask):
            L = ids.shape[1]
            x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:L] \
                + W["embeddings.token_type_embeddings.weight"][0]
            # Equal-length batches need no padding mask; without one PyTorch
            # skips the nested-tensor conversion (faster here).
            x = self.enc(self.ln(x), src_key_padding_mask=None if bool(mask.all()) else ~mask)
            m = mask.unsqueeze(-1).float()
            e = (x * m).sum(1) / m.sum(1)
            return torch.nn.functional.normalize(e, dim=1)

    peer = Peer().eval()
    return peer, torch


def make_ids(batch, length, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30000, size=(batch, length))
    ids[:, 0], ids[:, -1] = 101, 102
    return ids


def torch_worker(model, threads, seconds):
    """Serves measurements of the PyTorch peer: reads "L B" (passages/s) or
    "lat" (median ms of a 16-token query) lines on stdin, answers one line each.
    A long-lived process lets the main run interleave ragged and PyTorch
    shape by shape, so both see the same background load."""
    peer, torch = torch_peer(model, threads)
    print("ready " + torch.__version__, flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd == ["lat"]:
            ids = torch.tensor(make_ids(1, 16, 7))
            mask = torch.ones(1, 16, dtype=torch.bool)
            ts = []
            with torch.inference_mode():
                peer(ids, mask)
                for _ in range(200):
                    t0 = time.perf_counter()
                    peer(ids, mask)
                    ts.append((time.perf_counter() - t0) * 1000)
            print(float(np.median(ts)), flush=True)
            continue
        L, B = int(cmd[0]), int(cmd[1])
        ids = torch.tensor(make_ids(B, L, 42))
        mask = torch.ones(B, L, dtype=torch.bool)
        with torch.inference_mode():
            peer(ids, mask)
            n, t0 = 0, time.perf_counter()
            while True:
                peer(ids, mask)
                n += 1
                el = time.perf_counter() - t0
                if el >= seconds and n >= 3:
                    break
        print(n * B / el, flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        return torch_worker(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "embed", "RESULTS.md"))
    a = ap.parse_args()
    shared = os.path.join(ROOT, "..", "shared", "models", "all-MiniLM-L6-v2", "vocab.txt")
    if not os.path.exists(shared):
        sys.exit("bench/embed: ../shared/models/all-MiniLM-L6-v2/vocab.txt is absent; the benchmark needs the real vocab")
    tmp = tempfile.mkdtemp(prefix="ragged-bench-embed-")
    model = os.path.join(tmp, "minilm-shape")
    sh([sys.executable, os.path.join(ROOT, "tests", "ref", "make_tiny_bert.py"), model, "--seed", "2024",
        "--layers", "6", "--hidden", "384", "--heads", "12", "--intermediate", "1536", "--max-seq-length", "256",
        "--max-position", "512", "--vocab-file", shared, "--std", "0.05"])
    exe = build_driver(tmp)
    peer, torch = torch_peer(model, a.threads)
    T = str(a.threads)

    # Same model on both sides: compare embeddings of a few sequences.
    check = [make_ids(1, n, 100 + n)[0] for n in (5, 40, 200)]
    idsfile = os.path.join(tmp, "ids.txt")
    with open(idsfile, "w") as f:
        for s in check:
            f.write(" ".join(map(str, s)) + "\n")
    diffs = {}
    for prec in ("fp32", "int8"):
        c = np.array([[float(v) for v in l.split()] for l in sh([exe, "dump", model, prec, T, idsfile]).splitlines()])
        with torch.inference_mode():
            t = np.concatenate([peer(torch.tensor(s[None]), torch.ones(1, len(s), dtype=torch.bool)).numpy()
                                for s in check])
        diffs[prec] = (np.abs(c - t).max(), (c * t).sum(1).min())

    # PyTorch's OpenMP threads and the BLAS's own threads can oversubscribe
    # the cores; keep one worker per BLAS setting and take PyTorch's better number.
    workers = {}
    for blas_threads in ("1", T):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=blas_threads, OMP_NUM_THREADS=T)
        w = subprocess.Popen([sys.executable, __file__, "--torch-worker", model, T, str(a.seconds)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        torch_version = w.stdout.readline().split()[1]
        workers[blas_threads] = w

    def ask(cmd):
        vals = []
        for w in workers.values():
            w.stdin.write(cmd + "\n")
            w.stdin.flush()
            vals.append(float(w.stdout.readline()))
        return vals

    rows, load = [], [os.getloadavg()[0]]
    for L in LENGTHS:
        for B in BATCHES:
            res = {}
            for prec in ("fp32", "int8"):
                out = sh([exe, "speed", model, prec, T, str(L), str(B), str(a.seconds)])
                kv = dict(x.split("=") for x in out.split())
                res[prec] = float(kv["passages_per_s"])
                kernel = kv["kernel"]
            res["torch"] = max(ask("%d %d" % (L, B)))
            rows.append((L, B, res))
            load.append(os.getloadavg()[0])
            print("len %d batch %d: ragged fp32 %.1f/s, int8 %.1f/s, torch %.1f/s" %
                  (L, B, res["fp32"], res["int8"], res["torch"]), file=sys.stderr)
    lat = {}
    for prec in ("fp32", "int8"):
        kv = dict(x.split("=") for x in sh([exe, "latency", model, prec, T, "16", "200"]).split())
        lat[prec] = float(kv["median_ms"])
    lat["torch"] = min(ask("lat"))
    for w in workers.values():
        w.stdin.close()
        w.wait()

    cpu = "unknown"
    for l in open("/proc/cpuinfo"):
        if l.startswith("model name"):
            cpu = l.split(":", 1)[1].strip()
            break
    try:
        commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    except Exception:
        commit = "unknown"
    md = []
    md.append("Machine: %s, %d cores visible (%s), threads used: %s. Commit %s, %s UTC. "
              "int8 kernel: %s. PyTorch %s (CPU), numpy %s." %
              (cpu, os.cpu_count(), platform.machine(), T, commit,
               datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), kernel, torch_version, np.__version__))
    md.append("PyTorch peer: torch.nn.TransformerEncoder fast path, inference mode, no padding mask (equal lengths); "
              "best of OPENBLAS_NUM_THREADS=1 and =%s, measured right after ragged for each shape. Inputs are token ids on both sides (tokenizer not timed)." % T)
    md.append("Load average (1 min) during the run: %s (other jobs share this machine)." %
              ", ".join("%.2f" % x for x in load))
    md.append("Same model check: max |ragged fp32 - torch| = %.2g (min cosine %.6f); int8 min cosine to torch %.5f." %
              (diffs["fp32"][0], diffs["fp32"][1], diffs["int8"][1]))
    md.append("")
    md.append("| tokens | batch | ragged fp32 (passages/s) | ragged int8 (passages/s) | PyTorch fp32 (passages/s) "
              "| fp32 / PyTorch | int8 / PyTorch |")
    md.append("|---:|---:|---:|---:|---:|---:|---:|")
    for L, B, r in rows:
        md.append("| %d | %d | %.1f | %.1f | %.1f | %.2fx | %.2fx |" %
                  (L, B, r["fp32"], r["int8"], r["torch"], r["fp32"] / r["torch"], r["int8"] / r["torch"]))
    md.append("")
    md.append("One 16-token query (batch 1), median of 200: ragged fp32 %.2f ms, ragged int8 %.2f ms, "
              "PyTorch %.2f ms." % (lat["fp32"], lat["int8"], lat["torch"]))
    text = "\n".join(md) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
