#!/usr/bin/python3
"""A fake OpenAI-compatible rerank server on 127.0.0.1 (for tests/cli/rerank.sh).
usage: _rerank_server.py PORTFILE LOGFILE
POST /v1/rerank {"model", "query", "documents", "top_n"} answers
{"results": [{"index", "relevance_score"}]} best first, where the score is
the number of query words found in the document (case-insensitive); model
"missing" gets HTTP 404.  Each request body is appended to LOGFILE."""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

portfile, logfile = sys.argv[1], sys.argv[2]


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(logfile, "a") as f:
            f.write(self.path + " " + body.decode() + "\n")
        req = json.loads(body)
        if self.path != "/v1/rerank" or req.get("model") == "missing":
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"error": "model not found"}')
            return
        words = req["query"].lower().split()
        res = [{"index": i, "relevance_score": float(sum(w in d.lower() for w in words))}
               for i, d in enumerate(req["documents"])]
        res.sort(key=lambda r: -r["relevance_score"])
        out = json.dumps({"model": req["model"], "results": res}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


s = HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
