#!/usr/bin/env python3
"""The soak's hostile side: idle connections held open and a stream of bad requests.

  soak_noise.py --port P --idle N --bad-rate R --stop-file F --report F

Idle: N TLS connections that finish the handshake and then send nothing. The server
closes them after --header-timeout; each is reopened at once, so N stay open all run.
Bad requests, R per second, each on a fresh connection, in rotation: plain-text garbage
on the TLS port, a garbage request line, Content-Length together with
Transfer-Encoding, a malformed chunk size, and a POST /inject whose body is not JSON.
Every one must be refused: an HTTP status of 400 or more, or the connection closed
without an answer. A 2xx or 1xx answer to any of them is counted as accepted_bad (the
soak fails on it). Runs until the stop file exists, then writes one JSON report.
"""
import argparse
import json
import os
import select
import socket
import ssl
import threading
import time

BAD_REQUESTS = {
    "garbage_request_line": b"\x01\x02GARBAGE \xff\r\n\r\n",
    "content_length_and_chunked": (
        b"POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "malformed_chunk_size": (
        b"POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
    "body_not_json": (
        b"POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 18\r\n\r\n{\"kind\": \"Admissi"),
}
KINDS = ["plaintext_on_tls_port"] + list(BAD_REQUESTS)


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = {"idle_opened": 0, "idle_reopened": 0, "idle_connect_failures": 0,
                       "bad_sent": 0, "bad_refused_with_status": 0, "bad_closed_without_answer": 0,
                       "accepted_bad": 0, "bad_connect_failures": 0}
        self.by_kind = {k: 0 for k in KINDS}
        self.first_accepted = ""

    def add(self, name, n=1):
        with self.lock:
            self.values[name] += n


def open_tls(ctx, port, timeout):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=None)
    except Exception:
        raw.close()
        raise


def hold_idle(args, counters, stop):
    ctx = tls_context()
    held = []

    def open_one(reopen):
        try:
            s = open_tls(ctx, args.port, 5)
            s.setblocking(False)
            held.append(s)
            counters.add("idle_reopened" if reopen else "idle_opened")
        except OSError:
            counters.add("idle_connect_failures")

    for _ in range(args.idle):
        if stop.is_set():
            break
        open_one(False)
    while not stop.is_set():
        readable, _, _ = select.select(held, [], [], 0.5) if held else ([], [], [])
        for s in readable:
            # An idle client sends nothing, so anything readable is the server closing
            # (EOF, an alert or a timeout answer): drop it and open another.
            try:
                s.recv(4096)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except OSError:
                pass
            held.remove(s)
            s.close()
            open_one(True)
        missing = args.idle - len(held)
        for _ in range(missing):
            open_one(True)
        if missing:
            time.sleep(0.2)  # the server refuses when full: do not spin on it
    for s in held:
        s.close()


def read_status(sock):
    """The status code of the first answer, or None when the server closed without one."""
    data = b""
    try:
        while b"\r\n" not in data and len(data) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (OSError, ssl.SSLError):
        pass
    if not data.startswith(b"HTTP/1."):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def send_bad(args, counters, stop):
    ctx = tls_context()
    n = 0
    start = time.monotonic()
    while not stop.is_set():
        due = start + n / args.bad_rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 0.5))
            continue
        kind = KINDS[n % len(KINDS)]
        n += 1
        try:
            if kind == "plaintext_on_tls_port":
                sock = socket.create_connection(("127.0.0.1", args.port), timeout=5)
                sock.sendall(b"POST /inject HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            else:
                sock = open_tls(ctx, args.port, 5)
                sock.sendall(BAD_REQUESTS[kind])
        except OSError:
            counters.add("bad_connect_failures")
            continue
        counters.add("bad_sent")
        with counters.lock:
            counters.by_kind[kind] += 1
        status = read_status(sock)
        sock.close()
        if status is None:
            counters.add("bad_closed_without_answer")
        elif status >= 400:
            counters.add("bad_refused_with_status")
        else:
            counters.add("accepted_bad")
            with counters.lock:
                if not counters.first_accepted:
                    counters.first_accepted = f"{kind}: HTTP {status}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--idle", type=int, default=200)
    p.add_argument("--bad-rate", type=float, default=5.0)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--report", required=True)
    args = p.parse_args()
    counters = Counters()
    stop = threading.Event()
    threads = [threading.Thread(target=hold_idle, args=(args, counters, stop)),
               threading.Thread(target=send_bad, args=(args, counters, stop))]
    for t in threads:
        t.start()
    while not os.path.exists(args.stop_file):
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    report = dict(counters.values, bad_by_kind=counters.by_kind, first_accepted_bad=counters.first_accepted)
    with open(args.report, "w") as f:
        json.dump(report, f)
        f.write("\n")


if __name__ == "__main__":
    main()
