#!/usr/bin/env python3
"""rg-core connection and size limits: oversize bodies (declared and chunked), slow
senders that stall or trickle (slowloris), ambiguous request framing (smuggling), the
per-address connection limit, huge headers.  After each abuse the service must still answer."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corelib import Checker, Core, Database  # noqa: E402

t = Checker()
MAX_BODY = 64 * 1024


def connect(core):
    s = socket.create_connection(("127.0.0.1", core.port), timeout=10)
    return s


def read_all(s, timeout=10):
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def closed_within(s, seconds):
    """Seconds until the peer closed the connection, or None if it stayed open."""
    start = time.time()
    s.settimeout(0.2)
    while time.time() - start < seconds:
        try:
            b = s.recv(4096)
            if not b:
                return time.time() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.time() - start
    return None


def alive(core, what):
    t.eq(core.request("GET", "/healthz").status, 200, f"still serving after {what}")


def test_bodies(core):
    tok = core.user("big@example.com")
    big = b'{"data":{"basics":{"name":"' + b"x" * (MAX_BODY + 10) + b'"}}}'
    r = core.request("POST", "/api/v1/resumes", raw=big, token=tok, headers={"Content-Type": "application/json"})
    t.check(r.status == 413 and (r.json or {}).get("error", {}).get("code") == "body_too_large",
            "declared oversize body 413 JSON", r)
    alive(core, "413")
    # Exactly at the cap is fine.
    head = b'{"data":{"basics":{"name":"x"}},"title":"t"}'
    exact = head + b" " * (MAX_BODY - len(head))
    r = core.request("POST", "/api/v1/resumes", raw=exact, token=tok, headers={"Content-Type": "application/json"})
    t.eq(r.status, 201, "a body of exactly max_body is accepted")
    # Expect: 100-continue: refused before the client sends a byte of the body.
    s = connect(core)
    s.sendall(b"POST /api/v1/resumes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + tok.encode() + b"\r\nExpect: 100-continue\r\n"
              b"Content-Length: 10000000\r\n\r\n")
    resp = read_all(s, 5)
    s.close()
    t.check(resp.startswith(b"HTTP/1.1 413"), "Expect: 100-continue with a huge length gets 413, not 100", resp[:80])
    # Chunked: no length to refuse up front; the connection is cut once past the cap.
    s = connect(core)
    s.sendall(b"POST /api/v1/resumes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + tok.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    sent, cut = 0, False
    chunk = b"%x\r\n" % 16384 + b"y" * 16384 + b"\r\n"
    try:
        while sent < 4 * 1024 * 1024:
            s.sendall(chunk)
            sent += 16384
    except (BrokenPipeError, ConnectionResetError):
        cut = True
    resp = b"" if cut else read_all(s, 5)
    s.close()
    t.check((cut or not resp.startswith(b"HTTP/1.1 2")) and sent < 4 * 1024 * 1024,
            "chunked body past the cap is cut off", (cut, sent, resp[:60]))
    alive(core, "a chunked oversize body")
    # PATCH cannot grow a resume past what PUT and import accept (max_body), so whatever is
    # stored can always be saved back and re-imported.
    part = "p" * (MAX_BODY * 6 // 10)
    r = core.request("POST", "/api/v1/resumes", {"data": {"basics": {"name": "A", "summary": part}}}, token=tok)
    rid = (r.json or {}).get("id")
    t.eq(r.status, 201, "a resume of 60% of max_body")
    r = core.request("PATCH", "/api/v1/resumes/%s" % rid, {"data": {"basics": {"label": part}}}, token=tok,
                     headers={"If-Match": '"1"'})
    t.check(r.status == 413 and (r.json or {}).get("error", {}).get("code") == "body_too_large"
            and "max_body" in r.json["error"].get("message", ""),
            "PATCH growing the resume past max_body: 413 with a clear message", r)
    r = core.request("GET", "/api/v1/resumes/%s" % rid, token=tok)
    t.check(r.status == 200 and r.json["version"] == 1, "the refused PATCH changed nothing", r)
    r = core.request("PUT", "/api/v1/resumes/%s" % rid, {"title": r.json["title"], "data": r.json["data"]}, token=tok,
                     headers={"If-Match": '"1"'})
    t.eq(r.status, 200, "the stored resume can be saved back with PUT")


def test_slow(core):
    # Stalls mid-headers: the idle timeout (2 s) closes it.
    s = connect(core)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    took = closed_within(s, 8)
    s.close()
    t.check(took is not None and took < 5, "a stalled request is closed by the idle timeout", took)
    # Trickles a byte every 0.5 s (never idle for 2 s): the request deadline (3 s) cuts it.
    s = connect(core)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    start, cut_at = time.time(), None
    try:
        while time.time() - start < 12:
            s.sendall(b"X")
            time.sleep(0.5)
            s.settimeout(0.01)
            try:
                if s.recv(1) == b"":
                    cut_at = time.time() - start
                    break
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        cut_at = time.time() - start
    s.close()
    t.check(cut_at is not None and cut_at < 7, "a trickling sender (slowloris) is cut off", cut_at)
    # A body that trickles in is cut off too.
    s = connect(core)
    s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000\r\n\r\n")
    start, cut_at = time.time(), None
    try:
        while time.time() - start < 12:
            s.sendall(b" ")
            time.sleep(0.5)
            s.settimeout(0.01)
            try:
                if s.recv(1) == b"":
                    cut_at = time.time() - start
                    break
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        cut_at = time.time() - start
    s.close()
    t.check(cut_at is not None and cut_at < 7, "a trickling body is cut off", cut_at)
    # Keep-alive between requests is not punished: two requests 1 s apart on one connection.
    s = connect(core)
    ok = 0
    for _ in range(2):
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        d = s.recv(4096)
        ok += d.startswith(b"HTTP/1.1 200")
        time.sleep(1)
    s.close()
    t.eq(ok, 2, "kept-alive connection serves several requests")
    alive(core, "slow clients")


def test_per_ip(core):
    # Four kept-alive connections, each proven by a 200.  A connection the client closed a
    # moment ago (the readiness probe) may still count until the server reaps it, so a
    # refused one is retried.
    held, tries = [], 0
    while len(held) < 4 and tries < 40:
        tries += 1
        h = connect(core)
        try:
            h.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            h.settimeout(10)
            ok = h.recv(4096).startswith(b"HTTP/1.1 200")
        except (BrokenPipeError, ConnectionResetError):
            ok = False
        if ok:
            held.append(h)
        else:
            h.close()
            time.sleep(0.1)
    t.eq(len(held), 4, "four connections up to per_ip_limit are served")
    s = connect(core)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = read_all(s, 3)
    except (BrokenPipeError, ConnectionResetError):
        resp = b""
    s.close()
    t.check(not resp.startswith(b"HTTP/1.1 200"), "a connection past per_ip_limit is refused", resp[:60])
    for h in held:
        h.close()
    time.sleep(0.5)
    alive(core, "hitting the per-address limit")


def framing_case(core, tok, headers, body, what, want=(400,)):
    """Sends a raw POST with the given framing headers; the answer must come at once (not
    after request_timeout), be one of `want`, and the connection must then be closed, so
    nothing after the headers is read as another request."""
    s = connect(core)
    start = time.time()
    s.sendall(b"POST /api/v1/resumes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + tok.encode() + b"\r\n" + headers + b"\r\n" + body)
    resp = read_all(s, 10)
    took = time.time() - start
    s.close()
    status = int(resp[9:12]) if resp[:5] == b"HTTP/" and resp[9:12].isdigit() else None
    t.check(status in want and took < 2.0, f"{what}: {want} at once", (took, resp[:200]))
    t.eq(resp.count(b"HTTP/1.1 "), 1, f"{what}: one response, the connection closed after it")
    return resp


def test_framing(core):
    tok = core.user("framing@example.com")
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    framing_case(core, tok, b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                 b"0\r\n\r\n" + smuggled, "Content-Length and Transfer-Encoding")
    framing_case(core, tok, b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                 b"0\r\n\r\n" + smuggled, "Transfer-Encoding and Content-Length")
    framing_case(core, tok, b"Content-Length: 2\r\nContent-Length: 30\r\n",
                 b"{}" + smuggled, "two different Content-Length values")
    framing_case(core, tok, b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n",
                 "Transfer-Encoding gzip, chunked", want=(400, 501))
    framing_case(core, tok, b"Transfer-Encoding: identity\r\n", b"{}", "Transfer-Encoding identity",
                 want=(400, 501))
    framing_case(core, tok, b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                 b"0\r\n\r\n", "Transfer-Encoding chunked twice", want=(400, 501))
    # What stays allowed: one Content-Length repeated with the same value, and plain chunked.
    body = b'{"data":{"basics":{"name":"F"}}}'
    s = connect(core)
    s.sendall(b"POST /api/v1/resumes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nAuthorization: Bearer " + tok.encode() + b"\r\nContent-Length: %d\r\n"
              b"Content-Length: %d\r\n\r\n" % (len(body), len(body)) + body)
    resp = read_all(s, 5)
    s.close()
    t.check(resp.startswith(b"HTTP/1.1 201"), "the same Content-Length twice is accepted", resp[:80])
    s = connect(core)
    s.sendall(b"POST /api/v1/resumes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nAuthorization: Bearer " + tok.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    resp = read_all(s, 5)
    s.close()
    t.check(resp.startswith(b"HTTP/1.1 201"), "a plain chunked body is accepted", resp[:80])
    alive(core, "ambiguous framing")


def test_headers(core):
    s = connect(core)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 200000 + b"\r\n\r\n")
    resp = read_all(s, 5)
    s.close()
    t.check(not resp.startswith(b"HTTP/1.1 200"), "a 200 KB header is refused", resp[:60])
    alive(core, "a huge header")


def main():
    db = Database("limits")
    core = None
    try:
        core = Core(db.url, max_body=MAX_BODY, conn_timeout="2s", request_timeout="3s",
                    conn_memory="32KiB", threads=2)
        test_bodies(core)
        test_framing(core)
        test_slow(core)
        # Its own instance with long timeouts: held connections must not time out meanwhile.
        ipcore = Core(db.url, per_ip_limit=4, conn_timeout="60s", request_timeout="60s", threads=2)
        try:
            test_per_ip(ipcore)
        finally:
            t.eq(ipcore.stop(), 0, "per-address core exits 0 on SIGTERM")
        test_headers(core)
        log = core.log_text()
        t.check('"event":"http.slow_request_cut"' in log, "cut-offs are logged")
    finally:
        if core:
            t.eq(core.stop(), 0, "rg-core exits 0 on SIGTERM")
        db.drop()
    t.finish()


if __name__ == "__main__":
    main()
