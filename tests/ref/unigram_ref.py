#!/usr/bin/env python3
"""Independent reference of the Hugging Face `tokenizers` Unigram pipeline
(the Python package is not in Debian), written from its definitions:

  normalizers    Precompiled (SentencePiece charsmap: each grapheme shorter
                 than 6 bytes, else each character, replaced by the first
                 prefix match), NFC/NFD/NFKC/NFKD, Lowercase, Strip, Replace,
                 Prepend, Sequence
  pre-tokenizer  Metaspace (replace ' ', prepend scheme, split keeping the
                 replacement with the following text), WhitespaceSplit
  model          a lattice of every vocabulary piece at every character
                 position, unknown nodes (min score - 10) where no one-character
                 piece exists, Viterbi best path (ties: the first node), runs
                 of unknowns fused, byte fallback to <0xXX> pieces
  post-processor TemplateProcessing / RobertaProcessing / BertProcessing

It works on Python str (code points), builds an explicit lattice of nodes and
looks pieces up in a dict, unlike ragged's C code.  The Precompiled map is
read from precompiled_map.json next to tokenizer.json (written by
make_tiny_bert.py), not by decoding the double array, so the C decoder is
checked too.

Grapheme clusters: Python has no segmentation in the standard library; this
reference treats a base character followed by combining marks (category M*)
as one cluster, which covers the generated test texts.

usage: unigram_ref.py TOKENIZER_JSON IN.json OUT.json
  IN.json:  {"texts": [...]}  OUT.json: {"ids": [[...]], "pretokens": ["a|b", ...]}
"""
import json
import os
import re
import sys
import unicodedata

K_UNK_PENALTY = 10.0


def rust_ws(c):
    o = ord(c)
    return (9 <= o <= 13) or o in (0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000) or \
        0x2000 <= o <= 0x200A


def graphemes(s):
    out = []
    for c in s:
        if out and unicodedata.category(c).startswith("M"):
            out[-1] += c
        else:
            out.append(c)
    return out


class Unigram:
    def __init__(self, path):
        tj = json.load(open(path, encoding="utf-8"))
        self.dir = os.path.dirname(path)
        m = tj["model"]
        assert m["type"] == "Unigram"
        self.vocab = [(p, float(s)) for p, s in m["vocab"]]
        self.token_to_id = {}
        for i, (p, _) in enumerate(self.vocab):
            self.token_to_id[p] = i          # last duplicate wins, like a Rust HashMap collect
        self.min_score = min(s for _, s in self.vocab)
        self.unk_id = m["unk_id"]
        self.byte_fallback = bool(m.get("byte_fallback", False))
        self.norms = self._flatten(tj.get("normalizer"), "normalizers")
        self.pres = self._flatten(tj.get("pre_tokenizer"), "pretokenizers")
        self.post = tj.get("post_processor")
        pm = os.path.join(self.dir, "precompiled_map.json")
        self.pmap = json.load(open(pm, encoding="utf-8")) if os.path.exists(pm) else {}

    @staticmethod
    def _flatten(node, key):
        if not node:
            return []
        if node["type"] == "Sequence":
            out = []
            for n in node[key]:
                out += Unigram._flatten(n, key)
            return out
        return [node]

    # ---- normalizers ----
    def _pc_transform(self, chunk):
        # first (shortest) key that is a prefix of chunk
        for n in range(1, len(chunk.encode()) + 1):
            b = chunk.encode()[:n]
            try:
                k = b.decode()
            except UnicodeDecodeError:
                continue
            if k in self.pmap:
                return self.pmap[k]
        return None

    def normalize(self, s):
        for n in self.norms:
            t = n["type"]
            if t in ("NFC", "NFD", "NFKC", "NFKD"):
                s = unicodedata.normalize(t, s)
            elif t == "Lowercase":
                s = "".join(c.lower() if len(c.lower()) == 1 else c for c in s)
            elif t == "Strip":
                if n.get("strip_left"):
                    while s and rust_ws(s[0]):
                        s = s[1:]
                if n.get("strip_right"):
                    while s and rust_ws(s[-1]):
                        s = s[:-1]
            elif t == "Prepend":
                s = n["prepend"] + s if s else s
            elif t == "Replace":
                p = n["pattern"]
                if "String" in p:
                    s = s.replace(p["String"], n["content"]) if p["String"] else s
                else:
                    s = re.sub(p["Regex"], n["content"], s)
            elif t == "Precompiled":
                out = []
                for g in graphemes(s):
                    r = self._pc_transform(g) if len(g.encode()) < 6 else None
                    if r is not None:
                        out.append(r)
                        continue
                    for c in g:
                        r = self._pc_transform(c)
                        out.append(c if r is None else r)
                s = "".join(out)
            else:
                raise SystemExit("normalizer " + t)
        return s

    # ---- pre-tokenizers: list of (text, starts_at_offset_0) ----
    def pre_tokenize(self, s):
        splits = [(s, True)] if s else []
        for p in self.pres:
            nxt = []
            for text, first in splits:
                if p["type"] == "WhitespaceSplit":
                    words, cur, cur_first, at = [], "", False, 0
                    for i, c in enumerate(text):
                        if rust_ws(c):
                            if cur:
                                words.append((cur, cur_first))
                            cur = ""
                        else:
                            if not cur:
                                cur_first = first and i == 0
                            cur += c
                    if cur:
                        words.append((cur, cur_first))
                    nxt += words
                    continue
                assert p["type"] == "Metaspace", p["type"]
                rep = p.get("replacement", "\u2581")
                scheme = p.get("prepend_scheme")
                if scheme is None:
                    scheme = "always" if p.get("add_prefix_space", True) else "never"
                t = text.replace(" ", rep)
                if not t.startswith(rep) and (scheme == "always" or (scheme == "first" and first)):
                    t = rep + t
                if p.get("split", True) is False:
                    pieces = [t]
                else:
                    pieces, cur = [], ""
                    for c in t:
                        if c == rep and cur:
                            pieces.append(cur)
                            cur = ""
                        cur += c
                    if cur:
                        pieces.append(cur)
                for k, piece in enumerate(pieces):
                    nxt.append((piece, first and k == 0))
            splits = [x for x in nxt if x[0]]
        return [t for t, _ in splits]

    # ---- model: an explicit lattice ----
    def viterbi(self, s):
        n = len(s)
        # nodes: (begin, end, id, score); begin/end in code points
        begin_nodes = [[] for _ in range(n + 1)]
        end_nodes = [[] for _ in range(n + 1)]
        unk_score = self.min_score - K_UNK_PENALTY
        for b in range(n):
            single = False
            for e in range(b + 1, n + 1):
                piece = s[b:e]
                if piece in self.token_to_id:
                    i = self.token_to_id[piece]
                    node = {"b": b, "e": e, "id": i, "score": self.vocab[i][1]}
                    begin_nodes[b].append(node)
                    end_nodes[e].append(node)
                    if e == b + 1:
                        single = True
            if not single:
                node = {"b": b, "e": b + 1, "id": self.unk_id, "score": unk_score}
                begin_nodes[b].append(node)
                end_nodes[b + 1].append(node)
        bos = {"b": 0, "e": 0, "acc": 0.0, "prev": None}
        end_nodes_with_bos = [[bos]] + end_nodes[1:]
        for pos in range(n + 1):
            targets = begin_nodes[pos] if pos < n else [{"b": n, "e": n, "id": None, "score": 0.0, "eos": True}]
            for r in targets:
                best, best_node = 0.0, None
                for l in end_nodes_with_bos[pos]:
                    sc = l["acc"] + r["score"]
                    if best_node is None or sc > best:
                        best, best_node = sc, l
                r["acc"], r["prev"] = best, best_node
            if pos == n:
                eos = targets[0]
        path = []
        node = eos["prev"]
        while node is not bos:
            path.append(node)
            node = node["prev"]
        path.reverse()
        # fuse unknowns, then map strings to ids
        strings, unk_run = [], ""
        for nd in path:
            if nd["id"] == self.unk_id:
                unk_run += s[nd["b"]:nd["e"]]
                continue
            if unk_run:
                strings.append(unk_run)
                unk_run = ""
            strings.append(s[nd["b"]:nd["e"]])
        if unk_run:
            strings.append(unk_run)
        ids = []
        for st in strings:
            if st in self.token_to_id:
                ids.append(self.token_to_id[st])
                continue
            if self.byte_fallback:
                bs = ["<0x%02X>" % b for b in st.encode()]
                if all(b in self.token_to_id for b in bs):
                    ids += [self.token_to_id[b] for b in bs]
                    continue
            ids.append(self.unk_id)
        return ids

    def encode_plain(self, text):
        ids = []
        for p in self.pre_tokenize(self.normalize(text)):
            ids += self.viterbi(p)
        return ids

    # ---- post-processor ----
    def template(self, pair):
        p = self.post
        if not p:
            return [("A", 0)] + ([("B", 1)] if pair else [])
        if p["type"] == "TemplateProcessing":
            out = []
            for it in p["pair" if pair else "single"]:
                if "SpecialToken" in it:
                    name = it["SpecialToken"]["id"]
                    out.append((p["special_tokens"][name]["ids"][0], it["SpecialToken"]["type_id"]))
                else:
                    out.append((it["Sequence"]["id"], it["Sequence"]["type_id"]))
            return out
        cls, sep = p["cls"][1], p["sep"][1]
        if p["type"] == "RobertaProcessing":
            return [(cls, 0), ("A", 0), (sep, 0)] + ([(sep, 0), ("B", 0), (sep, 0)] if pair else [])
        return [(cls, 0), ("A", 0), (sep, 0)] + ([("B", 1), (sep, 1)] if pair else [])


def main():
    tok = Unigram(sys.argv[1])
    req = json.load(open(sys.argv[2], encoding="utf-8"))
    ids, pres = [], []
    for t in req["texts"]:
        ids.append(tok.encode_plain(t))
        pres.append("|".join(tok.pre_tokenize(tok.normalize(t))))
    json.dump({"ids": ids, "pretokens": pres}, open(sys.argv[3], "w", encoding="utf-8"))


if __name__ == "__main__":
    main()
