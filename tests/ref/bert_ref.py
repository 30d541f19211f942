#!/usr/bin/env python3
"""Independent reference for ragged's BERT engine, written from the model's
definition (BERT, Devlin et al. 2019; the transformers BertModel layout;
sentence-transformers Pooling/Normalize), in float64 numpy.

It deliberately works the way the original does, not the way ragged does:
texts are padded to the longest in each batch and attention uses an additive
padding mask; pooling uses the attention mask.

usage: bert_ref.py MODEL_DIR IN.json OUT.json
  IN.json:  {"texts": [...], "batch_size": 4, "prefix": ""}   or {"ids": [[101, ...], ...]}
  OUT.json: {"ids": [[...]], "embeddings": [[...]]}
"""
import json
import math
import os
import struct
import sys
import unicodedata

import numpy as np


# ---------------- safetensors ----------------
def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b: base + e]
        dt = info["dtype"]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2")
        elif dt == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit("dtype " + dt)
        out[name] = a.astype(np.float64).reshape(info["shape"])
    return out


# ---------------- tokenizer (BERT BasicTokenizer + WordPiece) ----------------
def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return any(a <= cp <= b for a, b in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
                                         (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
                                         (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])


class Tokenizer:
    def __init__(self, vocab, lower, strip):
        self.vocab = {t: i for i, t in reversed(list(enumerate(vocab)))}
        self.lower, self.strip = lower, strip

    def basic(self, text):
        text = "".join(" " if is_whitespace(c) else c for c in text
                       if not (ord(c) == 0 or ord(c) == 0xFFFD or is_control(c)))
        text = "".join(" %s " % c if is_cjk(ord(c)) else c for c in text)
        text = unicodedata.normalize("NFC", text)
        words = []
        for tok in text.split():
            if self.lower:
                tok = tok.lower()
            if self.strip:
                tok = "".join(c for c in unicodedata.normalize("NFD", tok) if unicodedata.category(c) != "Mn")
            cur = ""
            for c in tok:
                if is_punct(c):
                    if cur:
                        words.append(cur)
                    words.append(c)
                    cur = ""
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def wordpiece(self, word):
        if len(word) > 100:
            return [self.vocab["[UNK]"]]
        out, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.vocab["[UNK]"]]
            out.append(found)
            start = end
        return out

    def encode(self, text, max_len):
        ids = [i for w in self.basic(text) for i in self.wordpiece(w)]
        return [self.vocab["[CLS]"]] + ids[:max_len - 2] + [self.vocab["[SEP]"]]


# ---------------- model ----------------
def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def forward(W, cfg, ids_batch, pooling):
    B = len(ids_batch)
    L = max(len(s) for s in ids_batch)
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    d = H // nh
    eps = cfg.get("layer_norm_eps", 1e-12)
    ids = np.zeros((B, L), dtype=np.int64)          # [PAD] = 0
    mask = np.zeros((B, L))
    for i, s in enumerate(ids_batch):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
    g = lambda n: W[n]
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[np.arange(L)][None] \
        + g("embeddings.token_type_embeddings.weight")[0][None, None]
    x = layer_norm(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), eps)
    add_mask = (1.0 - mask)[:, None, None, :] * -1e30      # [B, 1, 1, L]
    lin = lambda t, p: t @ g(p + ".weight").T + g(p + ".bias")
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i
        def heads(t):
            return t.reshape(B, L, nh, d).transpose(0, 2, 1, 3)
        q = heads(lin(x, p + "attention.self.query"))
        k = heads(lin(x, p + "attention.self.key"))
        v = heads(lin(x, p + "attention.self.value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + add_mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        c = (s @ v).transpose(0, 2, 1, 3).reshape(B, L, H)
        a = layer_norm(lin(c, p + "attention.output.dense") + x, g(p + "attention.output.LayerNorm.weight"),
                       g(p + "attention.output.LayerNorm.bias"), eps)
        f = gelu(lin(a, p + "intermediate.dense"))
        x = layer_norm(lin(f, p + "output.dense") + a, g(p + "output.LayerNorm.weight"),
                       g(p + "output.LayerNorm.bias"), eps)
    if pooling == "cls":
        e = x[:, 0]
    elif pooling == "max":
        e = np.where(mask[:, :, None] > 0, x, -1e30).max(1)
    else:
        e = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def main():
    mdir, inp, outp = sys.argv[1:4]
    rd = lambda n: json.load(open(os.path.join(mdir, n)))
    cfg = rd("config.json")
    tc = rd("tokenizer_config.json")
    pc = rd("1_Pooling/config.json")
    pooling = "cls" if pc.get("pooling_mode_cls_token") else "max" if pc.get("pooling_mode_max_tokens") else "mean"
    max_len = min(rd("sentence_bert_config.json")["max_seq_length"], cfg["max_position_embeddings"])
    with open(os.path.join(mdir, "vocab.txt"), encoding="utf-8") as f:
        vocab = f.read().split("\n")
    if vocab[-1] == "":
        vocab.pop()
    lower = tc.get("do_lower_case", True)
    strip = tc.get("strip_accents")
    tok = Tokenizer(vocab, lower, lower if strip is None else strip)
    W = load_safetensors(os.path.join(mdir, "model.safetensors"))
    req = json.load(open(inp))
    if "ids" in req:
        seqs = req["ids"]
    else:
        pre = req.get("prefix", "")
        seqs = [tok.encode(pre + t, max_len) for t in req["texts"]]
    bs = req.get("batch_size", 4)
    embs = []
    for i in range(0, len(seqs), bs):
        embs.extend(forward(W, cfg, seqs[i:i + bs], pooling).tolist())
    json.dump({"ids": seqs, "embeddings": embs}, open(outp, "w"))


if __name__ == "__main__":
    main()
