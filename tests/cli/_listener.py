#!/usr/bin/python3
"""A TCP listener on 127.0.0.1 that records every connection (for tests that
prove ragged makes none).  usage: _listener.py LOGFILE PORTFILE [echo]
Writes the port to PORTFILE, then appends one line per connection (with the
first bytes received) to LOGFILE until killed.  With "echo" every request
gets HTTP 500 (or 401 for every other one) whose JSON body repeats the
request's headers: a hostile server that hands a client's credentials back
to it, to prove ragged does not print them.  Other modes spell the echo
differently: "echo-escaped" (a JSON error body with every character of the
headers as \\uXXXX and '/' as \\/), "echo-case" (a JSON error body with the
headers in swapped letter case), "echo-html" (HTTP 200 with an HTML page
quoting the headers, as a misrouted proxy or debug endpoint would)."""
import socket
import sys

log, portfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
while True:
    c, addr = s.accept()
    c.settimeout(2)
    try:
        data = c.recv(65536)
    except OSError:
        data = b""
    with open(log, "a") as f:
        f.write("connection from %s: %r\n" % (addr, data if len(sys.argv) > 3 else data[:120]))
    mode = sys.argv[3] if len(sys.argv) > 3 else ""
    echo = mode == "echo"
    try:
        if mode in ("echo-escaped", "echo-case", "echo-html"):
            import json
            head = data.split(b"\r\n\r\n")[0].decode("latin-1")
            if mode == "echo-escaped":
                esc = "".join("\\/" if ch == "/" else "\\u%04x" % ord(ch) for ch in head)
                body = ('{"error": "invalid api key: ' + esc + '"}').encode()
                status, ctype = b"401 Unauthorized", b"application/json"
            elif mode == "echo-case":
                body = json.dumps({"error": "invalid api key: " + head.swapcase()}).encode()
                status, ctype = b"401 Unauthorized", b"application/json"
            else:
                body = ("<html><body><h1>Request received</h1><pre>" + head + "</pre></body></html>").encode()
                status, ctype = b"200 OK", b"text/html"
            c.sendall(b"HTTP/1.0 " + status + b"\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body)
        elif echo:
            import json
            head = data.split(b"\r\n\r\n")[0].decode("latin-1")
            n = getattr(sys, "_n", 0) + 1
            sys._n = n
            body = json.dumps({"error": "rejected request:\n" + head, "detail": head, "message": head}).encode()
            status = b"401 Unauthorized" if n % 2 else b"500 Internal Server Error"
            c.sendall(b"HTTP/1.0 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body)
        else:
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    except OSError:
        pass
    c.close()
