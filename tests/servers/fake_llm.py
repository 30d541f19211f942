#!/usr/bin/python3
"""A fake LLM server for the answer tests (tests/cli/answer*.sh).

Speaks both documented streaming chat formats:
  POST /api/chat              Ollama: one JSON object per line, last one "done": true
  POST /v1/chat/completions   OpenAI: server-sent events "data: {...}", then "data: [DONE]"

Binds 127.0.0.1 on a free port and writes the port to --port-file once it
listens; the tests wait for that file (bounded) and stop the server by PID.

The answer is built from the prompt, so the tests can tell the passages
arrived: it quotes the first words of passages [1] and [2] with citations.
The byte stream is cut into pieces of random size (fixed seed) sent as
separate HTTP chunks with flushes in between, so lines, JSON strings and
UTF-8 sequences arrive split anywhere.

The model name selects a behaviour:
  ok              a well-formed answer citing [1] and [2]
  badcite         also cites [9] and [1, 7], which no prompt here has
  nocite          an answer without citations
  malformed       garbage lines / events between the good ones, still complete
  crlf            (openai) CR LF line endings
  cutoff          half the answer, then the connection is dropped mid-body
  cutoff-clean    half the answer, then a clean end of body without the end marker
  slow            0.4 s between pieces
  gate            half the answer, then waits (<= 60 s) for the --gate file
  error           HTTP 404 with the server's JSON error
  midstream-error an error object in the middle of the stream
  length          the server stops at its token limit (finish reason "length")
  nonstream       one plain JSON document instead of a stream (pretty-printed)
  html            HTTP 502 with an HTML page
  leak            echoes the presented bearer token inside the answer text
  unicode         an answer in non-ASCII text
  control         terminal escape sequences and a carriage return in the answer
With --key K every request must carry "Authorization: Bearer K"; others get
HTTP 401 whose message repeats the token they presented (as some servers
do), which ragged must never print.

--log FILE appends one JSON line per request (path, model, options,
messages, whether the key matched; never the key).
"""
import argparse
import json
import os
import random
import re
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None


def first_words(text, n):
    return " ".join(text.split()[:n])


def passages_of(prompt):
    """[(number, text)] from the user message ragged builds."""
    out = []
    for m in re.finditer(r"^\[(\d+)\] Source: [^\n]*\n(.*?)(?=\n\n\[\d+\] Source: |\n\nQuestion: |\Z)", prompt,
                         re.S | re.M):
        out.append((int(m.group(1)), m.group(2)))
    return out


def make_answer(mode, prompt, token):
    ps = passages_of(prompt)
    if mode == "unicode":
        # Cyrillic, an emoji (4-byte UTF-8) and Japanese, split anywhere on the wire.
        return ("\u0421\u043e\u0433\u043b\u0430\u0441\u043d\u043e \u0437\u0430\u043c\u0435\u0442\u043a\u0430\u043c "
                "\U0001F4E6 [1]. \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 [1].")
    if mode == "control":
        return "Plain \x1b[31mred\x1b[0m text\rover [1]."
    if not ps:
        return "The passages do not say."
    parts = ["According to the notes, %s [1]." % first_words(ps[0][1], 8)]
    if len(ps) > 1:
        parts.append("They also mention %s [2]." % first_words(ps[1][1], 6))
    if mode == "nocite":
        return "I believe the answer is yes."
    if mode == "badcite":
        parts.append("This sentence cites a passage that does not exist [9], and so does this [1, 7].")
    if mode == "leak":
        parts.append("The key you sent is %s, keep it safe [1]." % token)
    parts.append("(Passages seen: %d.)" % len(ps))
    return " ".join(parts)


def pieces_of(text, rnd):
    """The answer as the model would stream it: runs of 1-12 characters."""
    out, i = [], 0
    while i < len(text):
        n = rnd.randint(1, 12)
        out.append(text[i:i + n])
        i += n
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # -- transport helpers --
    def send_plain(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_chunked(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def send_split(self, data, rnd, delay=0.0):
        """Sends bytes as HTTP chunks of random size (1-40 bytes)."""
        i = 0
        while i < len(data):
            n = rnd.randint(1, 40)
            self.chunk(data[i:i + n])
            i += n
            time.sleep(delay if delay else 0.0005)

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self):
        """Ends the connection in the middle of a chunked body."""
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    # -- request --
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            req = json.loads(raw)
        except ValueError:
            self.send_plain(400, json.dumps({"error": "request body is not JSON"}))
            return
        auth = self.headers.get("Authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else auth
        ollama = self.path.rstrip("/") == "/api/chat"
        openai = self.path.rstrip("/") == "/v1/chat/completions"
        key_state = "none" if not auth else ("match" if ARGS.key and token == ARGS.key else "mismatch")
        if ARGS.log:
            entry = {"path": self.path, "model": req.get("model"), "stream": req.get("stream"),
                     "options": req.get("options"), "temperature": req.get("temperature"),
                     "max_tokens": req.get("max_tokens"), "messages": req.get("messages"), "auth": key_state}
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if not (ollama or openai):
            self.send_plain(404, json.dumps({"error": "no route %s" % self.path}))
            return
        if ARGS.key and token != ARGS.key:
            msg = "Incorrect API key provided: %s" % (token or "(none)")
            self.send_plain(401, json.dumps({"error": msg} if ollama else
                                            {"error": {"message": msg, "type": "invalid_request_error"}}))
            return
        mode = req.get("model") or "ok"
        msgs = req.get("messages") or []
        prompt = "\n".join(m.get("content", "") for m in msgs if m.get("role") == "user")
        rnd = random.Random(len(prompt) * 7919 + len(mode))
        if mode == "error":
            if ollama:
                self.send_plain(404, json.dumps({"error": "model \"%s\" not found, try pulling it first" % mode}))
            else:
                self.send_plain(404, json.dumps({"error": {"message": "The model `%s` does not exist" % mode,
                                                           "type": "invalid_request_error"}}))
            return
        if mode == "html":
            self.send_plain(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            return
        answer = make_answer(mode, prompt, token)
        if mode == "nonstream":
            if ollama:
                doc = {"model": mode, "message": {"role": "assistant", "content": answer}, "done": True,
                       "done_reason": "stop"}
            else:
                doc = {"id": "x", "object": "chat.completion", "model": mode,
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                    "finish_reason": "stop"}]}
            self.send_plain(200, json.dumps(doc, indent=2, ensure_ascii=False))
            return
        pieces = pieces_of(answer, rnd)
        events = [self.encode(ollama, mode, {"content": p}) for p in pieces]
        half = len(events) // 2
        if mode == "malformed":
            junk = ([b"this line is not JSON\n", b"{\"message\": {\"content\": \"unterminated\n", b"[1, 2, 3]\n",
                     b"\n"] if ollama else
                    [b"data: this is not JSON\n\n", b": keep-alive comment\n\n", b"event: ping\ndata: {\"x\": \n\n",
                     b"retry: 100\n\n", b"data: [1, 2]\n\n"])
            for i, j in enumerate(junk):
                events.insert(1 + i * 2, j)
        if mode == "midstream-error":
            events = events[:half] + [self.encode(ollama, mode, {"error": "the model ran out of memory"})]
        reason = "length" if mode == "length" else "stop"
        tail = [self.encode(ollama, mode, {"done": reason, "prompt_tokens": len(prompt) // 4,
                                           "completion_tokens": len(pieces)})]
        if not ollama:
            tail.append(self.sse(b"[DONE]", mode))
        if mode == "midstream-error":
            tail = []
        ctype = "application/x-ndjson" if ollama else "text/event-stream"
        self.start_chunked(ctype)
        delay = 0.4 if mode == "slow" else 0.0
        if mode in ("cutoff", "cutoff-clean", "gate"):
            self.send_split(b"".join(events[:half]), rnd, delay)
            if mode == "cutoff":
                # Half a line, then the connection goes away.
                self.chunk(events[half][: len(events[half]) // 2])
                self.drop()
                return
            if mode == "cutoff-clean":
                self.end_chunked()
                return
            deadline = time.time() + 60
            while ARGS.gate and not os.path.exists(ARGS.gate) and time.time() < deadline:
                time.sleep(0.02)
            events = events[half:]
        if mode == "slow":
            for e in events + tail:
                self.chunk(e)
                time.sleep(delay)
        else:
            self.send_split(b"".join(events + tail), rnd)
        self.end_chunked()

    def sse(self, payload, mode):
        nl = b"\r\n" if mode == "crlf" else b"\n"
        return b"data: " + payload + nl + nl

    def encode(self, ollama, mode, what):
        if ollama:
            if "error" in what:
                obj = {"error": what["error"]}
            elif "done" in what:
                obj = {"model": mode, "message": {"role": "assistant", "content": ""}, "done": True,
                       "done_reason": what["done"], "prompt_eval_count": what["prompt_tokens"],
                       "eval_count": what["completion_tokens"]}
            else:
                obj = {"model": mode, "created_at": "2026-01-01T00:00:00Z",
                       "message": {"role": "assistant", "content": what["content"]}, "done": False}
            return (json.dumps(obj, ensure_ascii=False) + "\n").encode()
        if "error" in what:
            obj = {"error": {"message": what["error"], "type": "server_error"}}
        elif "done" in what:
            obj = {"id": "c1", "object": "chat.completion.chunk", "model": mode,
                   "choices": [{"index": 0, "delta": {}, "finish_reason": what["done"]}],
                   "usage": {"prompt_tokens": what["prompt_tokens"],
                             "completion_tokens": what["completion_tokens"]}}
        else:
            obj = {"id": "c1", "object": "chat.completion.chunk", "model": mode,
                   "choices": [{"index": 0, "delta": {"content": what["content"]}, "finish_reason": None}]}
        return self.sse(json.dumps(obj, ensure_ascii=False).encode(), mode)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--key")
    ap.add_argument("--gate")
    ARGS = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
