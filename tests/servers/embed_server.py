#!/usr/bin/env python3
"""A tiny embedding server for tests: speaks ollama's POST /api/embed and the
OpenAI-compatible POST /v1/embeddings, with deterministic vectors.

usage: embed_server.py PORT_FILE [--model NAME] [--dim N] [--api-key KEY] [--fail-first N] [--delay-ms MS]

Binds 127.0.0.1 on a free port and writes the port to PORT_FILE (the test
waits for it).  Vectors: dimension N, value i = sin(hash(text) + i), so equal
texts get equal vectors.  --fail-first N answers 503 to the first N requests
(to exercise retries); --delay-ms answers late (timeouts).  --api-key requires "Authorization: Bearer KEY".
Every request body is appended to PORT_FILE.log for the test to inspect.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def vec(text, dim):
    h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") / 1e6
    return [math.sin(h + i) for i in range(dim)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("--model", default="tiny-embed")
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--api-key")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    a = ap.parse_args()
    state = {"failures": a.fail_first}
    log = open(a.port_file + ".log", "a")

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, obj):
            b = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            log.write(body.decode() + "\n")
            log.flush()
            if a.delay_ms:
                time.sleep(a.delay_ms / 1000.0)
            if state["failures"] > 0:
                state["failures"] -= 1
                return self.reply(503, {"error": "busy, try again"})
            if self.path not in ("/api/embed", "/v1/embeddings"):
                return self.reply(404, {"error": "no such endpoint " + self.path})
            if a.api_key and self.headers.get("Authorization") != "Bearer " + a.api_key:
                return self.reply(401, {"error": {"message": "invalid api key"}})
            req = json.loads(body)
            if req.get("model") != a.model:
                return self.reply(404, {"error": "model '%s' not found" % req.get("model")})
            texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
            if self.path == "/api/embed":
                return self.reply(200, {"model": a.model, "embeddings": [vec(t, a.dim) for t in texts]})
            # answer out of order: clients must use "index"
            data = [{"object": "embedding", "index": i, "embedding": vec(t, a.dim)} for i, t in enumerate(texts)]
            return self.reply(200, {"object": "list", "model": a.model, "data": list(reversed(data))})

    srv = HTTPServer(("127.0.0.1", 0), H)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
