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
"""
import argparse
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
    a = ap.parse_args()

    if a.vocab_file:
        with open(a.vocab_file, encoding="utf-8") as f:
            vocab = [l.rstrip("\r\n") for l in f]
        if vocab and vocab[-1] == "":
            vocab.pop()
    else:
        vocab = TINY_VOCAB
    V, H, I = len(vocab), a.hidden, a.intermediate
    rng = np.random.default_rng(a.seed)

    def rnd(*shape, std=a.std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    t = [("embeddings.word_embeddings.weight", rnd(V, H, std=0.5)),
         ("embeddings.position_embeddings.weight", rnd(a.max_position, H, std=0.5)),
         ("embeddings.token_type_embeddings.weight", rnd(2, H, std=0.5)),
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
    t += [("pooler.dense.weight", rnd(H, H)), ("pooler.dense.bias", rnd(H))]

    os.makedirs(os.path.join(a.out, "1_Pooling"), exist_ok=True)
    write_safetensors(os.path.join(a.out, "model.safetensors"), t, a.dtype)
    cfg = {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
           "hidden_size": H, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
           "intermediate_size": I, "max_position_embeddings": a.max_position, "type_vocab_size": 2,
           "vocab_size": V, "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
           "pad_token_id": 0}
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
    for name, obj in files.items():
        with open(os.path.join(a.out, name), "w") as f:
            json.dump(obj, f, indent=2)
    with open(os.path.join(a.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")


if __name__ == "__main__":
    main()
