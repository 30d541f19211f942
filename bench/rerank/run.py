#!/usr/bin/python3
"""Reranking and XLM-R benchmark: ragged's native engine against PyTorch on
CPU, same weights, same inputs, same threads, in one run.

1. Cross-encoder of the cross-encoder/ms-marco-MiniLM-L-6-v2 shape
   (BertForSequenceClassification: 6 layers, 384 hidden, 12 heads, 1536 FFN,
   the real 30,522-token vocabulary from ../shared, one logit) with fixed
   random weights (tests/ref/make_tiny_bert.py --cross-encoder): rerank one
   query against 50 passages, every pair truncated to 256 tokens.
   ragged is timed end to end (tokenization + forward, rg_bert_model_score)
   and on the same token ids as the peer; the PyTorch peer is
   torch.nn.TransformerEncoder (BERT's post-LayerNorm GELU layer) in inference
   mode on its fused fast path, plus embeddings with token types, pooler and
   classifier: its best of OPENBLAS_NUM_THREADS 1 / THREADS and batches of 50
   / 16, asked right after ragged so both see the same load.
2. XLM-R shaped like multilingual-e5-small (12 layers, 384 hidden, 250,002
   Unigram pieces, F16 weights file) against BERT with the same encoder and
   the 30,522 vocabulary: encode throughput on token ids, interleaved runs.

usage: bench/rerank/run.py [--threads N] [--runs N] [--out FILE]
Needs bench/embed/install-bench-deps.sh (python3-torch) and `make`.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
from bert_ref import Tokenizer, WordPieceTemplate, build, load_safetensors, longest_first  # noqa: E402

PY = "/usr/bin/python3"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def build_driver(tmp):
    sh(["make", "-C", ROOT, "-j2", "build/libragged.a"])
    pkgs = "jansson libutf8proc openblas".split()
    cflags = sh(["pkg-config", "--cflags"] + pkgs).split()
    libs = sh(["pkg-config", "--libs"] + pkgs).split()
    exe = os.path.join(tmp, "bench_rerank")
    sh(["cc", "-std=c17", "-O2", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "src")] + cflags +
       [os.path.join(ROOT, "bench", "rerank", "bench_rerank.c"), os.path.join(ROOT, "build", "libragged.a"),
        "-o", exe] + libs + ["-lm", "-pthread"])
    return exe


def torch_peer(model_dir, threads):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    W = {(k[5:] if k.startswith("bert.") else k): torch.tensor(v, dtype=torch.float32)
         for k, v in load_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    H, nh, I, nl = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    eps = cfg["layer_norm_eps"]

    class Peer(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(H, nh, I, dropout=0.0, activation="gelu", layer_norm_eps=eps,
                                               batch_first=True, norm_first=False)
            self.enc = nn.TransformerEncoder(layer, nl, enable_nested_tensor=True)
            self.ln = nn.LayerNorm(H, eps=eps)
            self.pool = nn.Linear(H, H)
            self.cls = nn.Linear(H, cfg.get("num_labels", len(cfg.get("id2label", {0: 0}))))
            with torch.no_grad():
                self.ln.weight.copy_(W["embeddings.LayerNorm.weight"])
                self.ln.bias.copy_(W["embeddings.LayerNorm.bias"])
                self.pool.weight.copy_(W["pooler.dense.weight"])
                self.pool.bias.copy_(W["pooler.dense.bias"])
                self.cls.weight.copy_(W["classifier.weight"])
                self.cls.bias.copy_(W["classifier.bias"])
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

        def forward(self, ids, types):
            L = ids.shape[1]
            x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:L] \
                + W["embeddings.token_type_embeddings.weight"][types]
            # Equal-length pairs: no padding mask, so PyTorch skips the
            # nested-tensor conversion (its fastest path here).
            x = self.enc(self.ln(x))
            return self.cls(torch.tanh(self.pool(x[:, 0])))[:, 0]

    return Peer().eval(), torch


def torch_worker(model, threads, ids_file, runs):
    """Long-lived PyTorch process: answers "B" lines with the median seconds
    to score all pairs in batches of B, and "scores" with the scores."""
    peer, torch = torch_peer(model, threads)
    rows = [list(map(int, l.split())) for l in open(ids_file)]
    ids = torch.tensor(rows)
    types = torch.tensor([[0 if i <= r.index(102) else 1 for i in range(len(r))] for r in rows])
    print("ready " + torch.__version__, flush=True)
    for line in sys.stdin:
        cmd = line.split()
        with torch.inference_mode():
            if cmd == ["scores"]:
                print(" ".join("%.7g" % v for v in peer(ids, types).tolist()), flush=True)
                continue
            B = int(cmd[0])
            def once():
                for i in range(0, len(rows), B):
                    peer(ids[i:i + B], types[i:i + B])
            once()
            ts = []
            c0 = time.process_time()
            for _ in range(runs):
                t0 = time.perf_counter()
                once()
                ts.append(time.perf_counter() - t0)
            cpu = (time.process_time() - c0) / runs
        print(float(np.median(ts)), cpu, flush=True)


def kendall(a, b):
    n, c, d = len(a), 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            s = (a[i] - a[j]) * (b[i] - b[j])
            c += s > 0
            d += s < 0
    return (c - d) / (n * (n - 1) / 2)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        return torch_worker(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--xlmr-repeats", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "rerank", "RESULTS.md"))
    a = ap.parse_args()
    vocab_file = os.path.join(ROOT, "..", "shared", "models", "all-MiniLM-L6-v2", "vocab.txt")
    if not os.path.exists(vocab_file):
        sys.exit("bench/rerank: ../shared/models/all-MiniLM-L6-v2/vocab.txt is absent; the benchmark needs it")
    tmp = tempfile.mkdtemp(prefix="ragged-bench-rerank-")
    T = str(a.threads)
    gen = [PY, os.path.join(ROOT, "tests", "ref", "make_tiny_bert.py")]
    shape = ["--hidden", "384", "--heads", "12", "--intermediate", "1536", "--std", "0.05"]
    ce = os.path.join(tmp, "ms-marco-minilm-l6-shape")
    sh(gen + [ce, "--cross-encoder", "--seed", "2025", "--layers", "6", "--max-seq-length", "256",
              "--max-position", "512", "--vocab-file", vocab_file] + shape)
    exe = build_driver(tmp)

    # One query, 50 passages of ~300 real vocabulary words (cut to 256 tokens).
    vocab = [l.rstrip("\n") for l in open(vocab_file, encoding="utf-8")]
    words = [w for w in vocab[2000:] if w.isalpha() and w.isascii()]
    rng = np.random.default_rng(7)
    query = " ".join(rng.choice(words, 8))
    passages = [" ".join(rng.choice(words, 300)) for _ in range(50)]
    texts = os.path.join(tmp, "texts.txt")
    with open(texts, "w") as f:
        f.write(query + "\n" + "\n".join(passages) + "\n")
    tok = WordPieceTemplate(Tokenizer(vocab, True, True))
    tmpl = tok.template(True)
    ids_file = os.path.join(tmp, "ids.txt")
    qa = tok.pieces(query)
    with open(ids_file, "w") as f:
        for p in passages:
            pb = tok.pieces(p)
            n1, n2 = longest_first(len(qa), len(pb), 256 - 3)
            f.write(" ".join(map(str, build(tmpl, qa[:n1], pb[:n2], 2)[0])) + "\n")

    def ragged(mode, prec, inp):
        out = sh([exe, mode, ce, prec, T, inp, str(a.runs)]).splitlines()
        head = dict(kv.split("=") for kv in out[0].split())
        return head, [float(v) for v in out[1:]]

    workers = {}
    for blas in ("1", T):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=blas, OMP_NUM_THREADS=T)
        w = subprocess.Popen([PY, __file__, "--torch-worker", ce, T, ids_file, str(a.runs)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        torch_version = w.stdout.readline().split()[1]
        workers[blas] = w

    def ask(cmd):
        res = []
        for blas, w in workers.items():
            w.stdin.write(cmd + "\n")
            w.stdin.flush()
            res.append((w.stdout.readline().strip(), blas))
        return res

    loads = [os.getloadavg()[0]]
    rows = []
    scores = {}
    for prec in ("fp32", "int8", "bf16"):
        e2e, s_e2e = ragged("rerank", prec, texts)
        ids, s_ids = ragged("pairs", prec, ids_file)
        scores[prec] = s_ids
        loads.append(os.getloadavg()[0])
        best = min((float(v.split()[0]), float(v.split()[1]), "OPENBLAS_NUM_THREADS=%s, batch %s" % (blas, B))
                   for B in ("50", "16") for v, blas in ask(B))
        loads.append(os.getloadavg()[0])
        rows.append((prec, float(e2e["median_s"]), float(e2e["cpu_s"]), float(ids["median_s"]), float(ids["cpu_s"]),
                     best[0], best[1], best[2], int(ids["tokens"]) // 50))
    torch_scores = [float(v) for v in ask("scores")[0][0].split()]
    for w in workers.values():
        w.stdin.close()
        w.wait()
    diff = max(abs(x - y) for x, y in zip(scores["fp32"], torch_scores))
    top = lambda s: set(np.argsort(-np.array(s))[:10])
    agree = {p: (kendall(scores["fp32"], scores[p]), len(top(scores["fp32"]) & top(scores[p])),
                 max(abs(x - y) for x, y in zip(scores["fp32"], scores[p]))) for p in ("int8", "bf16")}

    # XLM-R (multilingual-e5-small shape) against BERT with the same encoder.
    xl = os.path.join(tmp, "e5-small-shape")
    bt = os.path.join(tmp, "bert-l12-shape")
    sh(gen + [xl, "--arch", "xlmr", "--seed", "2026", "--layers", "12", "--unigram-pieces", "250002",
              "--max-seq-length", "512", "--max-position", "512", "--dtype", "F16"] + shape)
    sh(gen + [bt, "--seed", "2026", "--layers", "12", "--max-seq-length", "512", "--max-position", "512",
              "--vocab-file", vocab_file, "--dtype", "F16"] + shape)
    xl_vocab = json.load(open(os.path.join(xl, "config.json")))["vocab_size"]
    xrows = []
    for prec in ("fp32", "int8"):
        for L, B in ((128, 32), (256, 8)):
            vals = {"xlmr": [], "bert": []}
            for _ in range(a.xlmr_repeats):   # interleaved pairs: both see the same load
                for name, d in (("bert", bt), ("xlmr", xl)):
                    out = dict(kv.split("=") for kv in sh([exe, "embed", d, prec, T, str(L), str(B), "2"]).split())
                    vals[name].append((float(out["passages_per_s"]), float(out["passages_per_cpu_s"])))
            loads.append(os.getloadavg()[0])
            wall = [x[0] / b[0] for b, x in zip(vals["bert"], vals["xlmr"])]
            cpu = [x[1] / b[1] for b, x in zip(vals["bert"], vals["xlmr"])]
            xb = float(np.median([v[1] for v in vals["bert"]]))
            xx = float(np.median([v[1] for v in vals["xlmr"]]))
            xrows.append((prec, L, B, xb, xx, float(np.median(cpu)), min(cpu), max(cpu), float(np.median(wall)),
                          min(wall), max(wall)))

    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    kern = sh([os.path.join(ROOT, "build", "ragged"), "model", "info", ce, "--format", "json"])
    kern = json.loads(kern)["int8_kernel"]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = "unknown CPU"
    for l in open("/proc/cpuinfo"):
        if l.startswith("model name"):
            cpu = l.split(":", 1)[1].strip()
            break
    lines = [
        "## Reranking and XLM-R (bench/rerank/run.py)",
        "",
        "Machine: %s, %d cores visible (%s), threads used: %s. Commit %s, %s. int8 kernel: %s. PyTorch %s (CPU)."
        % (cpu, os.cpu_count(), platform.machine(), T, commit, now, kern, torch_version),
        "Load average (1 min) during the run: %s (the machine is shared with other jobs)."
        % ", ".join("%.2f" % l for l in loads),
        "",
        "### Cross-encoder, ms-marco-MiniLM-L-6 shape: one query, 50 passages, pairs of %d tokens" % rows[0][8],
        "",
        "Same model check: max |ragged fp32 - torch| score = %.2g. Against fp32 on these 50 pairs (the spread, standard "
        "deviation, of the fp32 scores is %.3g): " % (diff, float(np.std(scores["fp32"])))
        + "; ".join("%s Kendall tau %.4f, top-10 overlap %d/10, max |%s - fp32| %.3g" % (p, t, o, p, d)
                    for p, (t, o, d) in agree.items()) + ".",
        "",
        "| precision | ragged end to end (s) | its CPU (s) | ragged same ids (s) | its CPU (s) | PyTorch (s) "
        "| its CPU (s) | PyTorch setup | ragged / PyTorch wall | ragged / PyTorch CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for prec, e2e, cpu_s, ids_s, ids_cpu, tb, tcpu, setup, _ in rows:
        lines.append("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s | %.2fx | %.2fx |"
                     % (prec, e2e, cpu_s, ids_s, ids_cpu, tb, tcpu, setup, tb / ids_s, tcpu / ids_cpu))
    lines += ["", "PyTorch runs fp32 in every row (its measurement is repeated right after each ragged one); the ratios "
              "compare ragged on the same token ids with PyTorch's best setup (wall: medians; CPU: user + system "
              "seconds of all threads per run). End to end adds ragged's tokenization of the 50 passages.",
              "", "### XLM-R (multilingual-e5-small shape) vs BERT, same encoder (12 x 384), token ids", "",
              "%d interleaved pairs of runs (BERT then XLM-R, 2 s each) per row; the ratio of each pair, median "
              "[min, max]. Per CPU second is the load-robust measure; wall clock follows the other jobs."
              % a.xlmr_repeats, "",
              "| precision | tokens | batch | BERT 30,522 vocab (passages/CPU s) | XLM-R %d vocab (passages/CPU s) "
              "| XLM-R / BERT per CPU s | XLM-R / BERT wall |" % xl_vocab, "|---|---:|---:|---:|---:|---:|---:|"]
    for prec, L, B, xb, xx, r, rlo, rhi, w, wlo, whi in xrows:
        lines.append("| %s | %d | %d | %.1f | %.1f | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] |"
                     % (prec, L, B, xb, xx, r, rlo, rhi, w, wlo, whi))
    lines.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
