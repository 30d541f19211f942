#!/usr/bin/env python3
"""Writes a random BERT model as a real sentence-transformers directory.

config.json, vocab.txt, tokenizer_config.json, model.safetensors (written by
hand: 8-byte header length, JSON header, raw little-endian tensors),
modules.json, 1_Pooling/config.json, sentence_bert_config.json.

Weights come from numpy's PCG64 with a fixed seed, so the same arguments give
the same bytes.  Used by the unit tests (tiny shapes) and by bench/embed
(the all-MiniLM-L6-v2 shape with the real vocabulary).

usage: make_tiny_bert.py OUT_DIR [--seed N] [--layers N] [--hidden N] [--heads N]
       [--intermediate N] [--pooling mean|cls|max] [--dtype F32|F16|BF16|F64]
       [--max-seq-length N] [--max-position N] [--vocab-file PATH] [--std X]
       [--arch bert|xlmr] [--cross-encoder] [--num-labels N]
       [--unigram-pieces N] [--byte-fallback] [--post roberta|template] [--pretok metaspace|ws]

--arch xlmr writes an XLM-RoBERTa model (model_type xlm-roberta, positions
from padding_idx + 1, one token type) with a generated SentencePiece Unigram
tokenizer.json (Precompiled normalizer with a small generated character map,
Replace of repeated spaces, Metaspace, RobertaProcessing or
TemplateProcessing) instead of vocab.txt.  --cross-encoder writes the
sentence-transformers CrossEncoder layout: *ForSequenceClassification with
the classification head (BERT: bert.pooler + classifier; XLM-R:
classifier.dense + classifier.out_proj), no pooling modules.
"""
import argparse
import base64
import json
import os
import struct

import numpy as np

TINY_VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
              + list(".,!?;:'\"()-$%&/")
              + [chr(c) for c in range(ord("a"), ord("z") + 1)]
              + ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
              + [str(d) for d in range(10)] + ["##" + str(d) for d in range(10)]
              + ["the", "quick", "brown", "fox", "jump", "##s", "##ed", "##ing", "over", "lazy", "dog",
                 "hello", "world", "cafe", "naive", "un", "##able", "token", "##izer", "embed", "##ding",
                 "model", "search", "query", "passage", "vector", "store", "local", "first", "rag"])


def to_dtype(a, dtype):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "F32":
        return a.astype("<f4").tobytes()
    if dtype == "F64":
        return a.astype("<f8").tobytes()
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    if dtype == "BF16":
        # round to nearest even on the top 16 bits
        u = a.view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        return u.astype("<u2").tobytes()
    raise SystemExit("unknown dtype " + dtype)


def write_safetensors(path, tensors, dtype):
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        b = to_dtype(arr, dtype)
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------- generated Unigram tokenizer ----------------
SP = "\u2581"
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello", "world", "caf\u00e9", "na\u00efve",
         "stra\u00dfe", "\u00fcber", "mot", "recherche", "passage", "vector", "query", "model", "search", "local",
         "\u043c\u0438\u0440", "\u03ba\u03cc\u03c3\u03bc\u03bf\u03c2", "token", "izer", "embed", "ding", "un", "able"]
CHARS = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:'\"()-$%&/")
         + list("\u00e9\u00e8\u00ea\u00fc\u00f6\u00e4\u00df\u00ef\u00e7\u00f1\u043c\u0438\u0440\u03ba\u03cc\u03c3\u03bc\u03bf\u03c2"))
# Precompiled map: a few SentencePiece nmt_nfkc-like rules, one with a
# multi-character key (e + combining acute) and one whose prefix is a key too.
PRECOMPILED = {"\ufb01": "fi", "\uff21": "A", "\u00a0": " ", "\u2460": "1", "\t": " ", "e\u0301": "\u00e9",
               "\u3000": " ", "\u2163": "IV"}


def darts_build(mapping):
    """A darts-clone double array (the format of SentencePiece's
    precompiled_charsmap) for mapping key bytes -> replacement string."""
    blob, values = b"", {}
    for k in sorted(mapping):
        values[k.encode()] = len(blob)
        blob += mapping[k].encode() + b"\0"
    root = {}
    for k, v in values.items():
        n = root
        for c in k:
            n = n.setdefault(c, {})
        n[None] = v
    units, used = {0: 0}, {0}

    def place(node, pos):
        labels = sorted(c for c in node if c is not None)
        need = labels + ([0] if None in node else [])
        base = 1
        while (pos ^ base) >= (1 << 21) or any((base ^ c) in used for c in need):
            base += 1
        units[pos] = units.get(pos, 0) | ((pos ^ base) << 10)
        for c in need:
            used.add(base ^ c)
        if None in node:
            units[base] = (1 << 31) | node[None]
        for c in labels:
            units[base ^ c] = c | ((1 << 8) if None in node[c] else 0)
        for c in labels:
            place(node[c], base ^ c)

    place(root, 0)
    arr = [0] * (max(units) + 1)
    for p, u in units.items():
        arr[p] = u
    trie = struct.pack("<%dI" % len(arr), *arr)
    return struct.pack("<I", len(trie)) + trie + blob


def unigram_vocab(rng, target, byte_fallback):
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), (SP, -2.0)]
    seen = {p for p, _ in pieces}

    def add(p, score):
        if p and p not in seen:
            seen.add(p)
            pieces.append((p, float(score)))

    for w in WORDS:
        add(SP + w, -rng.uniform(3, 9))
        add(w, -rng.uniform(5, 11))
        for i in range(len(w) - 1):
            add(w[i:i + 2], -rng.uniform(6, 12))
            add(SP + w[i:i + 3], -rng.uniform(6, 12))
    for c in CHARS:
        add(c, -rng.uniform(8, 14))
        add(SP + c, -rng.uniform(7, 13))
    letters = "abcdefghijklmnopqrstuvwxyz\u00e9\u00fc\u00df"
    while len(pieces) < target:
        n = int(rng.integers(2, 7))
        w = "".join(letters[int(i)] for i in rng.integers(0, len(letters), n))
        add((SP if rng.random() < 0.5 else "") + w, -rng.uniform(6, 16))
    if byte_fallback:
        for b in range(256):
            add("<0x%02X>" % b, 0.0)
    add("<mask>", 0.0)
    return pieces


def unigram_tokenizer_json(pieces, byte_fallback, post, pretok):
    charsmap = darts_build(PRECOMPILED)
    meta = {"type": "Metaspace", "replacement": SP, "prepend_scheme": "always", "split": True}
    pre = meta if pretok == "metaspace" else {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, meta]}
    ids = {p: i for i, (p, _) in enumerate(pieces)}
    if post == "roberta":
        pp = {"type": "RobertaProcessing", "sep": ["</s>", ids["</s>"]], "cls": ["<s>", ids["<s>"]],
              "trim_offsets": True, "add_prefix_space": True}
    else:
        sp = lambda t: {"SpecialToken": {"id": t, "type_id": 0}}
        sq = lambda t, ty: {"Sequence": {"id": t, "type_id": ty}}
        pp = {"type": "TemplateProcessing", "single": [sp("<s>"), sq("A", 0), sp("</s>")],
              "pair": [sp("<s>"), sq("A", 0), sp("</s>"), sp("</s>"), sq("B", 0), sp("</s>")],
              "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("<s>", "</s>")}}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": ids[t], "content": t, "special": True} for t in ("<s>", "<pad>", "</s>", "<unk>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": pre,
        "post_processor": pp,
        "decoder": {"type": "Metaspace", "replacement": SP, "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": ids["<unk>"], "vocab": [[p, s] for p, s in pieces],
                  "byte_fallback": byte_fallback},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=64)
    ap.add_argument("--pooling", default="mean", choices=["mean", "cls", "max"])
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16", "F64"])
    ap.add_argument("--max-seq-length", type=int, default=24)
    ap.add_argument("--max-position", type=int, default=40)
    ap.add_argument("--vocab-file")
    ap.add_argument("--std", type=float, default=0.15)
    ap.add_argument("--arch", default="bert", choices=["bert", "xlmr"])
    ap.add_argument("--cross-encoder", action="store_true")
    ap.add_argument("--num-labels", type=int, default=1)
    ap.add_argument("--unigram-pieces", type=int, default=400)
    ap.add_argument("--byte-fallback", action="store_true")
    ap.add_argument("--post", default="roberta", choices=["roberta", "template"])
    ap.add_argument("--pretok", default="metaspace", choices=["metaspace", "ws"])
    a = ap.parse_args()
    xlmr = a.arch == "xlmr"
    pieces = None
    if xlmr:
        pieces = unigram_vocab(np.random.default_rng(a.seed + 1000), a.unigram_pieces, a.byte_fallback)

    if a.vocab_file:
        with open(a.vocab_file, encoding="utf-8") as f:
            vocab = [l.rstrip("\r\n") for l in f]
        if vocab and vocab[-1] == "":
            vocab.pop()
    else:
        vocab = TINY_VOCAB
    if pieces:
        vocab = [p for p, _ in pieces]
    V, H, I = len(vocab), a.hidden, a.intermediate
    ntypes = 1 if xlmr else 2
    offset = 2 if xlmr else 0      # XLM-R: padding_idx (1) + 1
    max_position = a.max_position + offset
    rng = np.random.default_rng(a.seed)

    def rnd(*shape, std=a.std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    t = [("embeddings.word_embeddings.weight", rnd(V, H, std=0.5)),
         ("embeddings.position_embeddings.weight", rnd(max_position, H, std=0.5)),
         ("embeddings.token_type_embeddings.weight", rnd(ntypes, H, std=0.5)),
         ("embeddings.LayerNorm.weight", 1 + rnd(H, std=0.1)),
         ("embeddings.LayerNorm.bias", rnd(H, std=0.1))]
    for i in range(a.layers):
        p = "encoder.layer.%d." % i
        for n in ("query", "key", "value"):
            t += [(p + "attention.self.%s.weight" % n, rnd(H, H)), (p + "attention.self.%s.bias" % n, rnd(H))]
        t += [(p + "attention.output.dense.weight", rnd(H, H)), (p + "attention.output.dense.bias", rnd(H)),
              (p + "attention.output.LayerNorm.weight", 1 + rnd(H, std=0.1)),
              (p + "attention.output.LayerNorm.bias", rnd(H, std=0.1)),
              (p + "intermediate.dense.weight", rnd(I, H)), (p + "intermediate.dense.bias", rnd(I)),
              (p + "output.dense.weight", rnd(H, I)), (p + "output.dense.bias", rnd(H)),
              (p + "output.LayerNorm.weight", 1 + rnd(H, std=0.1)),
              (p + "output.LayerNorm.bias", rnd(H, std=0.1))]
    if not (xlmr and a.cross_encoder):
        t += [("pooler.dense.weight", rnd(H, H)), ("pooler.dense.bias", rnd(H))]
    if a.cross_encoder:
        # *ForSequenceClassification checkpoints prefix the encoder.
        t = [(("roberta." if xlmr else "bert.") + n, w) for n, w in t]
        L = a.num_labels
        if xlmr:
            t += [("classifier.dense.weight", rnd(H, H)), ("classifier.dense.bias", rnd(H)),
                  ("classifier.out_proj.weight", rnd(L, H, std=0.5)), ("classifier.out_proj.bias", rnd(L))]
        else:
            t += [("classifier.weight", rnd(L, H, std=0.5)), ("classifier.bias", rnd(L))]

    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "model.safetensors"), t, a.dtype)
    arch = ("XLMRoberta" if xlmr else "Bert") + ("ForSequenceClassification" if a.cross_encoder else "Model")
    cfg = {"architectures": [arch], "model_type": "xlm-roberta" if xlmr else "bert", "hidden_act": "gelu",
           "hidden_size": H, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
           "intermediate_size": I, "max_position_embeddings": max_position, "type_vocab_size": ntypes,
           "vocab_size": V, "layer_norm_eps": 1e-5 if xlmr else 1e-12, "position_embedding_type": "absolute",
           "pad_token_id": 1 if xlmr else 0}
    if a.cross_encoder:
        cfg["id2label"] = {str(i): ("LABEL_%d" % i) for i in range(a.num_labels)}
        cfg["label2id"] = {("LABEL_%d" % i): i for i in range(a.num_labels)}
    files = {
        "config.json": cfg,
        "tokenizer_config.json": {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
                                  "tokenizer_class": "BertTokenizer", "model_max_length": a.max_seq_length},
        "modules.json": [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                         {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                         {"idx": 2, "name": "2", "path": "2_Normalize",
                          "type": "sentence_transformers.models.Normalize"}],
        "1_Pooling/config.json": {"word_embedding_dimension": H,
                                  "pooling_mode_cls_token": a.pooling == "cls",
                                  "pooling_mode_mean_tokens": a.pooling == "mean",
                                  "pooling_mode_max_tokens": a.pooling == "max",
                                  "pooling_mode_mean_sqrt_len_tokens": False},
        "sentence_bert_config.json": {"max_seq_length": a.max_seq_length, "do_lower_case": False},
    }
    if a.cross_encoder:
        # The CrossEncoder layout: no pooling modules; the tokenizer's
        # model_max_length bounds the pair.
        files = {"config.json": cfg,
                 "tokenizer_config.json": {"do_lower_case": True, "model_max_length": a.max_seq_length,
                                           "tokenizer_class": "XLMRobertaTokenizer" if xlmr else "BertTokenizer"}}
    if xlmr:
        files["tokenizer_config.json"] = dict(files["tokenizer_config.json"], tokenizer_class="XLMRobertaTokenizer")
        files["tokenizer_config.json"].pop("do_lower_case", None)
    if not a.cross_encoder:
        os.makedirs(os.path.join(a.out, "1_Pooling"), exist_ok=True)
    for name, obj in files.items():
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2)
    if xlmr:
        with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(unigram_tokenizer_json(pieces, a.byte_fallback, a.post, a.pretok), f, ensure_ascii=False)
        # For tests/ref/unigram_ref.py: the character map as a plain dict.
        with open(os.path.join(a.out, "precompiled_map.json"), "w", encoding="utf-8") as f:
            json.dump(PRECOMPILED, f, ensure_ascii=False)
    else:
        with open(os.path.join(a.out, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(vocab) + "\n")


if __name__ == "__main__":
    main()
