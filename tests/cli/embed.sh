#!/usr/bin/env bash
# ragged embed / ragged model info on a generated tiny BERT model.
set -euo pipefail
/usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "skip: /usr/bin/python3 with numpy is not available"; exit 77; }
M="$TMP/model"
/usr/bin/python3 tests/ref/make_tiny_bert.py "$M" --seed 3 --pooling cls >/dev/null

out=$("$RAGGED" model info "$M")
grep -q "architecture  BertModel" <<<"$out"
grep -q "dimension     32" <<<"$out"
grep -q "layers        2 (heads 4, feed-forward 64)" <<<"$out"
grep -q "pooling       cls + normalize" <<<"$out"
grep -q "max tokens    24" <<<"$out"

json=$("$RAGGED" embed "The quick brown fox" --model "$M" --format json)
/usr/bin/python3 - "$json" <<'PY'
import json, math, sys
d = json.loads(sys.argv[1])
assert d["dim"] == 32 and len(d["vector"]) == 32, d
assert abs(math.sqrt(sum(v * v for v in d["vector"])) - 1) < 1e-5
assert d["tokens"] == 4 and d["max_tokens"] == 24, d
assert d["embedder"].startswith("bert:model:32:"), d["embedder"]
PY
# int8 gives a different identity but a close vector
json8=$("$RAGGED" embed "The quick brown fox" --model "$M" --precision int8 --format json)
/usr/bin/python3 - "$json" "$json8" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["embedder"] != b["embedder"]
cos = sum(x * y for x, y in zip(a["vector"], b["vector"]))
assert cos > 0.99, cos
PY
"$RAGGED" embed "hello" --model "$M" | grep -q "^dimension  32$"

# errors: exit code 1 and a message naming the path
set +e
err=$("$RAGGED" embed "x" --model "$TMP/nope" 2>&1); rc=$?
set -e
[[ $rc -eq 1 ]] || { echo "expected exit 1, got $rc: $err"; exit 1; }
grep -q "$TMP/nope" <<<"$err"
set +e
"$RAGGED" embed --model "$M" >/dev/null 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] || { echo "missing TEXT should be a usage error (2), got $rc"; exit 1; }
