#!/usr/bin/env python3
"""Independent reference for ragged's BERT engine, written from the model's
definition (BERT, Devlin et al. 2019; the transformers BertModel layout;
sentence-transformers Pooling/Normalize), in float64 numpy.

It deliberately works the way the original does, not the way ragged does:
texts are padded to the longest in each batch and attention uses an additive
padding mask; pooling uses the attention mask.

XLM-RoBERTa (model_type xlm-roberta): position ids start at padding_idx + 1,
one token type, the Unigram tokenizer of unigram_ref.py.  Cross-encoders
(*ForSequenceClassification): [CLS] A [SEP] B [SEP] (or the tokenizer's
pair template), truncated longest-first, then tanh(dense([CLS])) and the
classifier; the score is the logit (one label) or the softmax probability of
the last label.

usage: bert_ref.py MODEL_DIR IN.json OUT.json
  IN.json:  {"texts": [...], "batch_size": 4, "prefix": ""}   or {"ids": [[101, ...], ...]}
            or {"pairs": [[query, passage], ...]} (cross-encoders)
  OUT.json: {"ids": [[...]], "embeddings": [[...]]}  or {"ids": ..., "scores": [...]}
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


def forward(W, cfg, ids_batch, pooling, types_batch=None, head=None):
    B = len(ids_batch)
    L = max(len(s) for s in ids_batch)
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    d = H // nh
    eps = cfg.get("layer_norm_eps", 1e-12)
    pad = cfg.get("pad_token_id", 0)
    ids = np.full((B, L), pad, dtype=np.int64)
    types = np.zeros((B, L), dtype=np.int64)
    mask = np.zeros((B, L))
    for i, s in enumerate(ids_batch):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
        if types_batch:
            types[i, :len(s)] = types_batch[i]
    g = lambda n: W[n]
    if cfg["model_type"] == "xlm-roberta":
        # create_position_ids_from_input_ids: cumsum of the mask + padding_idx
        pos = (np.cumsum(mask, axis=1) * mask).astype(np.int64) + pad
    else:
        pos = np.broadcast_to(np.arange(L), (B, L))
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[pos] \
        + g("embeddings.token_type_embeddings.weight")[types]
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
    if head:
        h = np.tanh(x[:, 0] @ g(head[0] + ".weight").T + g(head[0] + ".bias"))
        logits = h @ g(head[1] + ".weight").T + g(head[1] + ".bias")
        if logits.shape[1] == 1:
            return logits[:, 0]
        p = np.exp(logits - logits.max(1, keepdims=True))
        return (p / p.sum(1, keepdims=True))[:, -1]
    if pooling == "cls":
        e = x[:, 0]
    elif pooling == "max":
        e = np.where(mask[:, :, None] > 0, x, -1e30).max(1)
    else:
        e = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


class PieceTokenizer:
    """A Unigram tokenizer.json through unigram_ref.py, with its template."""

    def __init__(self, path):
        from unigram_ref import Unigram
        self.u = Unigram(path)

    def pieces(self, text):
        return self.u.encode_plain(text)

    def template(self, pair):
        return self.u.template(pair)


class WordPieceTemplate:
    def __init__(self, tok):
        self.tok = tok

    def pieces(self, text):
        return [i for w in self.tok.basic(text) for i in self.tok.wordpiece(w)]

    def template(self, pair):
        cls, sep = self.tok.vocab["[CLS]"], self.tok.vocab["[SEP]"]
        return [(cls, 0), ("A", 0), (sep, 0)] + ([("B", 1), (sep, 1)] if pair else [])


def build(tmpl, a, b, ntypes):
    ids, types = [], []
    for item, ty in tmpl:
        seq = a if item == "A" else b if item == "B" else [item]
        ids += seq
        types += [ty if ty < ntypes else 0] * len(seq)
    return ids, types


def longest_first(n1, n2, budget):
    # tokenizers utils/truncation.rs, TruncationStrategy::LongestFirst
    if n1 + n2 <= budget:
        return n1, n2
    swap = n1 > n2
    if swap:
        n1, n2 = n2, n1
    n2 = n1 if n1 > budget else max(n1, budget - n1)
    if n1 + n2 > budget:
        n1 = budget // 2
        n2 = n1 + budget % 2
    return (n2, n1) if swap else (n1, n2)


def main():
    mdir, inp, outp = sys.argv[1:4]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    rd = lambda n: json.load(open(os.path.join(mdir, n)))
    has = lambda n: os.path.exists(os.path.join(mdir, n))
    cfg = rd("config.json")
    cfg.setdefault("model_type", "bert")
    xlmr = cfg["model_type"] == "xlm-roberta"
    cross = cfg["architectures"][0].endswith("ForSequenceClassification")
    tc = rd("tokenizer_config.json") if has("tokenizer_config.json") else {}
    pc = rd("1_Pooling/config.json") if has("1_Pooling/config.json") else {}
    pooling = "cls" if pc.get("pooling_mode_cls_token") else "max" if pc.get("pooling_mode_max_tokens") else "mean"
    positions = cfg["max_position_embeddings"] - (cfg.get("pad_token_id", 1) + 1 if xlmr else 0)
    if has("sentence_bert_config.json"):
        max_len = rd("sentence_bert_config.json")["max_seq_length"]
    else:
        max_len = tc.get("model_max_length", 512) if cross else 512
    max_len = min(max_len, positions)
    if has("vocab.txt"):
        with open(os.path.join(mdir, "vocab.txt"), encoding="utf-8") as f:
            vocab = f.read().split("\n")
        if vocab[-1] == "":
            vocab.pop()
        lower = tc.get("do_lower_case", True)
        strip = tc.get("strip_accents")
        tok = WordPieceTemplate(Tokenizer(vocab, lower, lower if strip is None else strip))
    else:
        tok = PieceTokenizer(os.path.join(mdir, "tokenizer.json"))
    ntypes = cfg.get("type_vocab_size", 1 if xlmr else 2)
    W = load_safetensors(os.path.join(mdir, "model.safetensors"))
    W = {(k.split(".", 1)[1] if k.startswith(("bert.", "roberta.")) else k): v for k, v in W.items()}
    head = None
    if cross:
        head = ("classifier.dense", "classifier.out_proj") if xlmr else ("pooler.dense", "classifier")
    req = json.load(open(inp))
    types = None
    if "ids" in req:
        seqs = req["ids"]
    elif "pairs" in req:
        tmpl = tok.template(True)
        budget = max_len - sum(1 for it, _ in tmpl if it not in ("A", "B"))
        seqs, types = [], []
        for q, p in req["pairs"]:
            a, b = tok.pieces(q), tok.pieces(p)
            n1, n2 = longest_first(len(a), len(b), budget)
            i, t = build(tmpl, a[:n1], b[:n2], ntypes)
            seqs.append(i)
            types.append(t)
    else:
        pre = req.get("prefix", "")
        tmpl = tok.template(False)
        budget = max_len - sum(1 for it, _ in tmpl if it not in ("A", "B"))
        seqs = [build(tmpl, tok.pieces(pre + t)[:budget], [], ntypes)[0] for t in req["texts"]]
    bs = req.get("batch_size", 4)
    outs = []
    for i in range(0, len(seqs), bs):
        outs.extend(forward(W, cfg, seqs[i:i + bs], pooling, types[i:i + bs] if types else None, head).tolist())
    json.dump({"ids": seqs, "scores" if cross else "embeddings": outs}, open(outp, "w"))


if __name__ == "__main__":
    main()
