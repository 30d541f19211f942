#!/usr/bin/env python3
"""A tiny HTTP/1.1 server for the http client tests (tests/unit/test_http.c).

Binds 127.0.0.1 on a free port and writes the port to --port-file once it
listens (the test waits for that file with a bounded timeout, then stops the
server by PID).

  /echo         JSON: method, path, headers, body, client port (keep-alive check)
  /status/N     answers HTTP status N with a JSON error body
  /slow/MS      sleeps MS milliseconds, then answers
  /stream/N     N chunks "line i\\n" sent as chunked transfer encoding
  /old/api/v2/version    "0.6.3" (a ChromaDB that is too old)
  /auth/api/v2/version   401 with a JSON error (a server wanting a token)
"""
import argparse
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, payload, ctype="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        body = self._body()
        parts = self.path.strip("/").split("/")
        if self.path == "/old/api/v2/version":
            self._send(200, "0.6.3")
        elif self.path == "/auth/api/v2/version":
            self._send(401, {"error": "AuthError", "message": "Unauthorized"})
        elif parts[0] == "echo":
            self._send(200, {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "body_len": len(body),
                "client_port": self.client_address[1],
            })
        elif parts[0] == "status" and len(parts) > 1:
            code = int(parts[1])
            self._send(code, {"error": "TestError", "message": "status %d on purpose" % code})
        elif parts[0] == "slow" and len(parts) > 1:
            time.sleep(int(parts[1]) / 1000.0)
            self._send(200, {"slept_ms": int(parts[1])})
        elif parts[0] == "stream" and len(parts) > 1:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for i in range(int(parts[1])):
                    chunk = ("line %d\n" % i).encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        else:
            self._send(404, {"error": "NotFound", "message": "no route " + self.path})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
