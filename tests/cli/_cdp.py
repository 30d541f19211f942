#!/usr/bin/python3
"""Drives headless chromium over the DevTools protocol on a pipe (no
network port, no extra packages) for tests/cli/serve_page.sh.

usage: _cdp.py CHROMIUM URL QUERY [--mode M] [--answer] [--screenshot PNG] [--size WxH]
Opens URL, waits until the page is ready (body[data-ready]), types QUERY
into the search box key by key (Input.insertText per character), picks the
mode, presses Enter (or clicks Answer), waits until body[data-state] is
"results" / "answered", and prints the page's HTML.  Every wait is bounded
(20 s); exit 1 with a message on timeout or a chromium failure."""
import base64
import json
import os
import subprocess
import sys
import time

args = sys.argv[1:]
chromium, url, query = args[0], args[1], args[2]
mode = args[args.index("--mode") + 1] if "--mode" in args else ""
answer = "--answer" in args
shot = args[args.index("--screenshot") + 1] if "--screenshot" in args else None
size = args[args.index("--size") + 1] if "--size" in args else "1100x760"
w, h = (int(x) for x in size.split("x"))
datadir = os.environ.get("CDP_USER_DATA", "/tmp/cdp-profile")

# Chromium reads commands from fd 3 and writes replies to fd 4.  The pipe
# ends are moved above 9 first so the dup2 in the child cannot clobber one.
import fcntl
raw = os.pipe() + os.pipe()
fds = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in raw]
for fd in raw:
    os.close(fd)
to_chrome_r, to_chrome_w, from_chrome_r, from_chrome_w = fds


def child_fds():
    os.dup2(to_chrome_r, 3)
    os.dup2(from_chrome_w, 4)


proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=" + datadir,
                         "--window-size=%d,%d" % (w, h), "about:blank"],
                        preexec_fn=child_fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
                        stderr=open(datadir + ".log", "w"))
os.close(to_chrome_r)
os.close(from_chrome_w)
out = os.fdopen(to_chrome_w, "wb", buffering=0)
inp = os.fdopen(from_chrome_r, "rb", buffering=0)
buf = b""
next_id = 0
deadline_s = 20


def die(msg):
    proc.kill()
    sys.exit("_cdp.py: " + msg)


def recv():
    global buf
    while b"\0" not in buf:
        chunk = inp.read(65536)
        if not chunk:
            die("chromium closed the pipe (see %s.log)" % datadir)
        buf += chunk
    msg, buf = buf.split(b"\0", 1)
    return json.loads(msg)


def call(method, params=None, session=None):
    global next_id
    next_id += 1
    m = {"id": next_id, "method": method, "params": params or {}}
    if session:
        m["sessionId"] = session
    out.write(json.dumps(m).encode() + b"\0")
    while True:
        r = recv()
        if r.get("id") == next_id:
            if "error" in r:
                die("%s: %s" % (method, r["error"]))
            return r.get("result", {})


def evaluate(expr, session):
    r = call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    if "exceptionDetails" in r:
        die("page script failed: %s" % r["exceptionDetails"])
    return r["result"].get("value")


def wait_for(expr, session, what):
    end = time.time() + deadline_s
    while time.time() < end:
        if evaluate(expr, session):
            return
        time.sleep(0.05)
    die("timed out waiting for %s; status line: %r" % (what, evaluate("document.getElementById('status').textContent", session)))


try:
    target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    call("Emulation.setDeviceMetricsOverride", {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False}, s)
    call("Page.enable", {}, s)
    call("Page.navigate", {"url": url}, s)
    wait_for("document.body && document.body.dataset.ready === '1'", s, "the page to load")
    evaluate("document.getElementById('q').focus()", s)
    for ch in query:   # typed, one key at a time
        call("Input.insertText", {"text": ch}, s)
    if evaluate("document.getElementById('q').value", s) != query:
        die("typing did not reach the search box")
    if mode:
        evaluate("document.getElementById('mode').value = %s" % json.dumps(mode), s)
    if answer:
        evaluate("document.getElementById('ask').click()", s)
        wait_for("document.body.dataset.state === 'answered'", s, "the answer")
    else:
        for t in ("keyDown", "keyUp"):
            call("Input.dispatchKeyEvent", {"type": t, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
                                            **({"text": "\r"} if t == "keyDown" else {})}, s)
        wait_for("document.body.dataset.state === 'results'", s, "the results")
    if shot:
        png = call("Page.captureScreenshot", {"format": "png"}, s)["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
    print(evaluate("document.documentElement.outerHTML", s))
    call("Browser.close")
finally:
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
