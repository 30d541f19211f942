#!/usr/bin/python3
"""A TCP listener on 127.0.0.1 that records every connection (for tests that
prove ragged makes none).  usage: _listener.py LOGFILE PORTFILE [echo]
Writes the port to PORTFILE, then appends one line per connection (with the
first bytes received) to LOGFILE until killed.  With "echo" every request
gets HTTP 500 (or 401 for every other one) whose JSON body repeats the
request's headers: a hostile server that hands a client's credentials back
to it, to prove ragged does not print them."""
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
    echo = len(sys.argv) > 3 and sys.argv[3] == "echo"
    try:
        if echo:
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
