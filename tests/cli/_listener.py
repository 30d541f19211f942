#!/usr/bin/python3
"""A TCP listener on 127.0.0.1 that records every connection (for tests that
prove ragged makes none).  usage: _listener.py LOGFILE PORTFILE
Writes the port to PORTFILE, then appends one line per connection (with the
first bytes received) to LOGFILE until killed."""
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
        data = c.recv(200)
    except OSError:
        data = b""
    with open(log, "a") as f:
        f.write("connection from %s: %r\n" % (addr, data[:120]))
    try:
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    except OSError:
        pass
    c.close()
