"""Integration tests of rg-notify, the WebSocket hub (issue 5), against the real
PostgreSQL, Redis and RabbitMQ that scripts/test starts, with the real rg-core, rg-flow
and rg-pdf where the path needs them.

  it-notify.py live       a generation requested through rg-core's API is seen live by
                          each of the owner's sockets (query token, cookie, Bearer) and by
                          none of another user's
  it-notify.py reconnect  a client that disconnects while three renders finish gets all
                          of them on reconnect, in order, once, then live; resync when
                          since is unknown, too old (retention) or too far behind
  it-notify.py hubs       two hubs, the user on each: both get the message, another
                          user's socket nothing; SIGTERM closes sockets with 1001
  it-notify.py broker     RabbitMQ restarts during live traffic: every committed
                          notification still arrives, once, in order (replay covers it)
  it-notify.py abuse      unauthenticated, malformed, oversized, slow (1008, bounded
                          memory) and idle clients, connection limits, session end,
                          refused handshakes (404, 403 for a cookie from another Origin)
  it-notify.py seq        one user's notifications committed out of id order by concurrent
                          transactions, a client reconnecting with since every 0.05-1.5 s:
                          every committed one arrives, once, in seq order
  it-notify.py fdlimit    an open-file limit below max_connections: lowered at start,
                          extra clients refused (1013, 503), no busy loop, no log flood

Clients: python3-websockets (Debian) and, where a client must misbehave, a raw socket.
"""
import asyncio
import base64
import hashlib
import importlib.util
import json
import os
import resource
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from corelib import Checker, Core, free_port, need_env, redis_url_parts  # noqa: E402

# python3-websockets is a Debian package; a python3 that is not Debian's (pyenv) can
# still load it, it is pure Python.
try:
    import websockets  # noqa: E402
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    import websockets  # noqa: E402

_spec = importlib.util.spec_from_file_location("itflow", os.path.join(HERE, "it-flow.py"))
itflow = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(itflow)
STACK = os.environ.get("RG_TEST_STACK", "")


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def redis(*args):
    host, port = redis_url_parts(os.environ["RG_TEST_REDIS_URL"])
    return subprocess.run(["redis-cli", "-h", host, "-p", str(port), *args], capture_output=True,
                          text=True, timeout=10).stdout.strip()


class Hub:
    """One rg-notify process."""

    def __init__(self, env, tag, prefix=None, nofile=None, **cfg):
        need_env("RG_BIN_NOTIFY", "RG_TEST_REDIS_URL")
        self.port, self.mport = free_port(), free_port()
        self.prefix = prefix if prefix is not None else f"itn{os.getpid()}_{self.port}:"
        self.env = dict(os.environ, RG_PG_URL=env.db.url, RG_AMQP_URL=env.vh.url,
                        RG_REDIS_URL=os.environ["RG_TEST_REDIS_URL"],
                        RG_NOTIFY_PORT=str(self.port), RG_NOTIFY_METRICS_PORT=str(self.mport),
                        RG_NOTIFY_REDIS_PREFIX=self.prefix, RG_LOG_LEVEL="info")
        for k, v in cfg.items():
            self.env["RG_NOTIFY_" + k.upper()] = str(v)
        self.log_path = os.path.join(env.tmp, f"notify-{tag}.log")
        self.log = open(self.log_path, "ab")
        self.proc = None
        self.nofile = nofile

    def start(self):
        def limit():
            if self.nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
        self.proc = subprocess.Popen([os.environ["RG_BIN_NOTIFY"]], env=self.env, stdout=self.log,
                                     stderr=self.log, start_new_session=True, preexec_fn=limit)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            if http_get(self.mport, "/healthz")[0] == 200:
                return True
            time.sleep(0.05)
        return False

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")

    def log_lines(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read().splitlines()

    def metric(self, name):
        st, text = http_get(self.mport, "/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return None

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def url(self, **q):
        qs = "&".join(f"{k}={v}" for k, v in q.items() if v is not None)
        return f"ws://127.0.0.1:{self.port}/ws" + ("?" + qs if qs else "")

    def session(self, uid):
        """A session as rg-core writes it (core-auth.c): <prefix>sess:<sha256 hex> -> uid."""
        tok = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        redis("SET", self.prefix + "sess:" + hashlib.sha256(tok.encode()).hexdigest(), str(uid),
              "PX", "600000")
        return tok

    def stop(self, sig=signal.SIGTERM):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


async def connect(url, headers=None, **kw):
    return await websockets.connect(url, subprotocols=["resumego.v1"], extra_headers=headers,
                                    ping_interval=None, max_queue=None, open_timeout=10, **kw)


async def recv(ws, timeout=10):
    """The next message as JSON, or None on timeout."""
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except asyncio.TimeoutError:
        return None


async def until_ready(ws, timeout=15):
    """Messages up to `ready`: (messages, ready)."""
    msgs = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = await recv(ws, max(0.1, deadline - time.time()))
        if m is None:
            break
        if m.get("type") == "ready":
            return msgs, m
        msgs.append(m)
    return msgs, None


async def close_code(ws, timeout=10):
    """Reads until the hub closes; returns (code, reason) or (None, None)."""
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.time()))
    except websockets.ConnectionClosed as e:
        return e.code, e.reason
    except asyncio.TimeoutError:
        pass
    return None, None


async def quiet(ws, secs):
    """Messages that arrive within secs (a socket that should get nothing)."""
    got = []
    deadline = time.time() + secs
    while time.time() < deadline:
        m = await recv(ws, max(0.05, deadline - time.time()))
        if m is not None:
            got.append(m)
    return got


class RawWS:
    """A WebSocket client that can misbehave: not read, not answer pings, send bad frames."""

    def __init__(self, port, path, rcvbuf=None, headers="", protocol="resumego.v1"):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.connect(("127.0.0.1", port))
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocol}\r\n{headers}\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise OSError("handshake: connection closed")
            self.buf += d
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])

    def send(self, payload, opcode=1, fin=True):
        mask = secrets.token_bytes(4)
        n = len(payload)
        hdr = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.s.settimeout(max(0.01, deadline - time.time()))
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d

    def frame(self, timeout=10):
        """(opcode, payload); EOFError when the hub hung up; socket.timeout on timeout."""
        deadline = time.time() + timeout
        self._need(2, deadline)
        op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        off = 2
        if n == 126:
            self._need(4, deadline)
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(off + n, deadline)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return op, payload

    def close(self):
        self.s.close()


def run_until_done(core, tok, runs, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = [core.request("GET", f"/api/v1/renders/{r}", token=tok).json.get("state") for r in runs]
        if all(s in ("done", "failed") for s in states):
            return states
        time.sleep(0.2)
    return None


def make_resume(core, tok, i):
    r = core.request("POST", "/api/v1/resumes", {"data": itflow.resume_doc(i)}, token=tok)
    return r.json["id"]


def pipeline_env(tag, ck):
    """Database, vhost, rg-flow, rg-pdf and rg-core: the whole generation path."""
    e = itflow.Env(tag, ck)
    os.environ["RG_STORAGE"] = "fs://" + e.storage
    flow, pdf = e.flow(), e.pdf()
    ck.check(flow.start() and pdf.start(), "rg-flow and rg-pdf start")
    core = Core(e.db.url)
    return e, core


# ---- scenarios ------------------------------------------------------------------------------

async def live(ck):
    e, core = pipeline_env("nlive", ck)
    hub = Hub(e, "live", prefix=core.prefix)
    try:
        ck.check(hub.start(), "rg-notify starts and is healthy")
        ta, tb = core.user("owner@example.com"), core.user("other@example.com")
        rid = make_resume(core, ta, 1)
        a1 = await connect(hub.url(token=ta))
        a2 = await connect(hub.url(), headers={"Cookie": f"theme=dark; rg_session={ta}"},
                           origin=f"http://127.0.0.1:{hub.port}")
        b1 = await connect(hub.url(), headers={"Authorization": f"Bearer {tb}"})
        ck.eq(a1.subprotocol, "resumego.v1", "the hub speaks resumego.v1")
        for name, ws in (("query token", a1), ("cookie", a2), ("Bearer", b1)):
            msgs, ready = await until_ready(ws)
            ck.check(ready is not None and msgs == [] and ready.get("last_seq") == 0,
                     f"{name}: authenticated, ready with last_seq 0", (msgs, ready))
        r = core.request("POST", f"/api/v1/resumes/{rid}/renders",
                         {"theme": "modern", "paper": "a4", "locale": "en"}, token=ta)
        ck.eq(r.status, 202, "render requested through the API")
        run = r.json["run_id"]
        got = {}
        for name, ws in (("a1", a1), ("a2", a2)):
            seq = []
            deadline = time.time() + 90
            while time.time() < deadline and not any(m.get("type") == "render.done" for m in seq):
                m = await recv(ws, deadline - time.time())
                if m is None:
                    break
                seq.append(m)
            got[name] = seq
        seq = got["a1"]
        ck.eq([m.get("type") for m in seq], ["render.queued", "render.progress", "render.done"],
              "the owner sees queued, progress, done live")
        ck.eq([m.get("state") for m in seq], ["queued", "running", "done"], "states of the run")
        ck.check(all(m.get("run_id") == run and m.get("resume_id") == rid for m in seq),
                 "every message names the run and the resume", seq)
        ck.eq(seq[-1].get("pdf_url") if seq else None, f"/api/v1/renders/{run}/pdf", "done carries the PDF link")
        ids = [m.get("id") for m in seq]
        ck.check(all(isinstance(i, int) for i in ids) and ids == sorted(ids) and len(set(ids)) == 3,
                 "ids are increasing integers", ids)
        db_ids = [int(x) for x in e.db.sql(f"SELECT id FROM notifications WHERE payload->>'run_id' = '{run}' ORDER BY id").split()]
        ck.eq(ids, db_ids, "the ids are the notification rows'")
        ck.eq([m.get("seq") for m in seq], [1, 2, 3], "seq: the user's notifications numbered 1, 2, 3")
        ck.check(all("at" in m and m["at"].endswith("Z") for m in seq), "every message has `at`")
        ck.eq([m.get("id") for m in got["a2"]], ids, "the owner's second socket (cookie) gets the same")
        ck.eq(await quiet(b1, 2), [], "another user's socket gets nothing")
        pdf = core.request("GET", seq[-1]["pdf_url"], token=ta) if seq else None
        ck.check(pdf is not None and pdf.status == 200 and pdf.body.startswith(b"%PDF-"),
                 "the link in render.done serves the PDF")
        await a1.send('{"type":"ping"}')
        ck.eq((await recv(a1) or {}).get("type"), "pong", "ping is answered with pong")
        ck.check((hub.metric("rg_notify_messages_out_total") or 0) >= 6, "messages_out counted")
        ck.check((hub.metric("rg_notify_delivery_seconds_count") or 0) >= 6, "delivery latency observed")
        ck.eq(hub.metric("rg_notify_connections"), 3, "connections gauge")
        for ws in (a1, a2, b1):
            await ws.close()
    finally:
        ck.eq(hub.stop(), 0, "rg-notify stops cleanly")
        core.stop()
        e.close()


async def reconnect(ck):
    e, core = pipeline_env("nrec", ck)
    hub = Hub(e, "rec", prefix=core.prefix)
    try:
        ck.check(hub.start(), "rg-notify starts")
        tok = core.user("away@example.com")
        rids = [make_resume(core, tok, i) for i in range(3)]
        ws = await connect(hub.url(token=tok))
        _, ready = await until_ready(ws)
        last = ready["last_seq"] if ready else -1
        await ws.close()
        runs = []
        for i, rid in enumerate(rids):
            r = core.request("POST", f"/api/v1/resumes/{rid}/renders",
                             {"theme": ["classic", "modern", "tech"][i], "paper": "a4", "locale": "en"}, token=tok)
            runs.append(r.json.get("run_id"))
        ck.eq(run_until_done(core, tok, runs), ["done"] * 3, "three renders finish while offline")
        uid = int(e.db.sql("SELECT id FROM users WHERE email = 'away@example.com'"))
        want = [int(x) for x in e.db.sql(f"SELECT seq FROM notifications WHERE user_id = {uid} AND seq > {last} ORDER BY seq").split()]
        ws = await connect(hub.url(token=tok, since=last))
        msgs, ready = await until_ready(ws)
        ids = [m.get("seq") for m in msgs]
        ck.eq(ids, want, "reconnect with since: every missed notification, in order, once")
        ck.eq(sorted({m["run_id"] for m in msgs if m.get("type") == "render.done"}), sorted(runs),
              "all three done messages")
        ck.eq(len(want), 9, "three runs x (queued, progress, done)")
        ck.check(ready is not None and ready.get("replayed") == 9 and ready.get("last_seq") == want[-1],
                 "ready after the replay: replayed 9, last_seq the newest", ready)
        ck.eq(await quiet(ws, 1.5), [], "nothing twice after the replay")
        # the seam: a live message after the replay arrives once
        r = core.request("POST", f"/api/v1/resumes/{rids[0]}/renders",
                         {"theme": "elegant", "paper": "a4", "locale": "en"}, token=tok)
        live_msgs = []
        deadline = time.time() + 60
        while time.time() < deadline and not any(m.get("type") == "render.done" for m in live_msgs):
            m = await recv(ws, deadline - time.time())
            if m is None:
                break
            live_msgs.append(m)
        ck.eq([m.get("type") for m in live_msgs], ["render.queued", "render.progress", "render.done"],
              "then live, once")
        ck.eq([m["seq"] for m in live_msgs], [want[-1] + 1, want[-1] + 2, want[-1] + 3],
              "live seqs follow the replayed ones")
        await ws.close()
        # a client that was offline past the last message: since = newest -> nothing, ready
        newest = live_msgs[-1]["seq"] if live_msgs else 0
        ws = await connect(hub.url(token=tok, since=newest))
        msgs, ready = await until_ready(ws)
        ck.check(msgs == [] and ready and ready["replayed"] == 0 and ready["last_seq"] == newest,
                 "since = newest: empty replay", (msgs, ready))
        await ws.close()
        # since from the auth message
        ws = await connect(hub.url())
        await ws.send(json.dumps({"type": "auth", "token": tok, "since": last}))
        msgs, ready = await until_ready(ws)
        ck.eq([m["seq"] for m in msgs][:9], want, "since in the auth message replays too")
        await ws.close()
        # resync: an id never given out
        ws = await connect(hub.url(token=tok, since=10 ** 15))
        m = await recv(ws)
        ck.check(m and m.get("type") == "resync" and m.get("reason") == "since_unknown"
                 and m.get("last_seq") == newest, "since beyond any seq: resync since_unknown", m)
        _, ready = await until_ready(ws)
        ck.check(ready is not None, "ready follows resync")
        await ws.close()
        # too many missed: a hub with replay_max 5
        small = Hub(e, "rec-small", prefix=core.prefix, replay_max=5)
        ck.check(small.start(), "second hub (replay_max 5) starts")
        ws = await connect(small.url(token=tok, since=last))
        m = await recv(ws)
        ck.check(m and m.get("type") == "resync" and m.get("reason") == "too_many" and m.get("last_seq") == newest,
                 "more than replay_max missed: resync too_many", m)
        await ws.close()
        small.stop()
        # retention: a hub keeping 1 s deletes older rows; a since before them is too old
        time.sleep(1.2)
        short = Hub(e, "rec-ret", prefix=core.prefix, retention="1s", prune_interval="200ms")
        ck.check(short.start(), "third hub (retention 1 s) starts")
        deadline = time.time() + 10
        while time.time() < deadline and int(e.db.sql(f"SELECT count(*) FROM notifications WHERE user_id = {uid}")):
            time.sleep(0.1)
        ck.eq(int(e.db.sql(f"SELECT count(*) FROM notifications WHERE user_id = {uid}")), 0,
              "notifications past retention are deleted")
        ws = await connect(short.url(token=tok, since=last))
        m = await recv(ws)
        ck.check(m and m.get("type") == "resync" and m.get("reason") == "since_too_old",
                 "since before the retention window: resync since_too_old", m)
        await ws.close()
        short.stop()
    finally:
        ck.eq(hub.stop(), 0, "rg-notify stops cleanly")
        core.stop()
        e.close()


async def hubs(ck):
    e = itflow.Env("nhubs", ck)
    flow = e.flow()
    h1, h2 = Hub(e, "h1"), None
    try:
        ck.check(flow.start(), "rg-flow starts")
        ck.check(h1.start(), "hub 1 starts")
        h2 = Hub(e, "h2", prefix=h1.prefix)
        ck.check(h2.start(), "hub 2 starts")
        other = int(e.db.sql("INSERT INTO users (email, email_norm, password_hash) "
                             "VALUES ('o@example.com', 'o@example.com', 'x') RETURNING id").split()[0])
        tok, tok_o = h1.session(e.uid), h1.session(other)
        w1 = await connect(h1.url(token=tok))
        w2 = await connect(h2.url(token=tok))
        wo = await connect(h2.url(token=tok_o))
        for ws in (w1, w2, wo):
            await until_ready(ws)
        rid = e.add_resumes(1)
        run = e.submit(rid)[0]
        m1, m2 = await recv(w1, 20), await recv(w2, 20)
        ck.check(m1 and m1.get("type") == "render.queued" and m1.get("run_id") == run,
                 "the user's socket on hub 1 gets the message", m1)
        ck.check(m2 is not None and m1 is not None and m2.get("id") == m1.get("id"),
                 "the user's socket on hub 2 gets it too", m2)
        ck.eq(await quiet(wo, 1.5), [], "another user on hub 2 gets nothing")
        ck.check((h1.metric("rg_notify_messages_in_total") or 0) >= 1 and
                 (h2.metric("rg_notify_messages_in_total") or 0) >= 1, "each hub consumed rg.notify")
        # SIGTERM: every socket is closed with 1001 and the hub exits 0
        h2.proc.send_signal(signal.SIGTERM)
        code2, _ = await close_code(w2)
        codeo, _ = await close_code(wo)
        ck.eq((code2, codeo), (1001, 1001), "SIGTERM closes the hub's sockets with 1001")
        ck.eq(h2.proc.wait(15), 0, "hub 2 exits 0 after SIGTERM")
        ck.check(w1.open, "the other hub's socket stays open")
        await w1.close()
    finally:
        ck.eq(h1.stop(), 0, "hub 1 stops cleanly")
        if h2:
            h2.stop()
        e.close()


def quiet_run(e):
    """Submits one render in an Env without rg-pdf and without a step timeout (see the
    callers) and waits for its one render.progress: after that the run writes nothing more,
    so a test can count the notifications it makes itself.  Returns the run id."""
    run = e.submit(e.add_resumes(1))[0]
    deadline = time.time() + 60
    while time.time() < deadline and e.db.sql(
            f"SELECT count(*) FROM notifications WHERE user_id = {e.uid} AND kind = 'render.progress'") == "0":
        time.sleep(0.1)
    return run


async def broker(ck):
    # No rg-pdf here: the run is dispatched once (render.progress) and must then stay quiet,
    # so no step timeout may re-dispatch or fail it while the test counts notifications.
    e = itflow.Env("nbroker", ck, flow_extra={"RG_FLOW_STEP_TIMEOUT": "60min"})
    flow = e.flow()
    hub = Hub(e, "broker")
    try:
        ck.check(flow.start(), "rg-flow starts")
        ck.check(hub.start(), "rg-notify starts")
        run = quiet_run(e)
        tok = hub.session(e.uid)
        ws = await connect(hub.url(token=tok, since=0))
        msgs, ready = await until_ready(ws)
        start = ready["last_seq"] if ready else 0
        n = int(os.environ.get("RG_NOTIFY_TEST_N", "300"))
        done = threading.Event()

        def produce(k):
            # the production path: flow_notify writes the row and the outbox message in one
            # transaction; rg-flow relays it to rg.notify.  Two writers whose transactions
            # stay open a little after the write: with ids as the cursor they committed out
            # of id order and the catch-up after the broker restart lost rows
            for i in range(k):
                e.db.sql(f"BEGIN; SELECT flow_notify(r, 'queued') FROM workflow_runs r WHERE r.id = '{run}'; "
                         "SELECT pg_sleep(random() * 0.02); SELECT pg_notify('rg_outbox', ''); COMMIT")
                time.sleep(0.005)

        def producers():
            ts = [threading.Thread(target=produce, args=(k,)) for k in (n // 2, n - n // 2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            done.set()

        def restart():
            time.sleep(0.8)
            itflow.rabbitctl("stop_app")
            time.sleep(1.5)
            itflow.rabbitctl("start_app")
            itflow.rabbitctl("await_startup")

        tp, tr = threading.Thread(target=producers), threading.Thread(target=restart)
        tp.start()
        tr.start()
        got = []
        deadline = time.time() + 120
        want = None
        while time.time() < deadline:
            m = await recv(ws, 0.5)
            if m is not None:
                got.append(m)
                continue
            if done.is_set() and not tr.is_alive():
                want = [int(x) for x in e.db.sql(
                    f"SELECT seq FROM notifications WHERE user_id = {e.uid} AND seq > {start} ORDER BY seq").split()]
                if len([m for m in got if "seq" in m]) >= len(want):
                    break
        tp.join()
        tr.join()
        ids = [m["seq"] for m in got if "seq" in m]
        ck.eq(len(want or []), n, "every notification was committed")
        ck.eq(sorted(set(ids)), want, "every committed notification arrived despite the broker restart")
        ck.eq(len(ids), len(set(ids)), "none twice")
        ck.eq(ids, list(range(start + 1, start + 1 + n)), "in seq order, without a gap")
        ck.check((hub.metric("rg_notify_broker_reconnects_total") or 0) >= 1, "the hub reconnected to the broker")
        ck.check(ws.open, "the socket survived the broker restart")
        await ws.close()
    finally:
        ck.eq(hub.stop(), 0, "rg-notify stops cleanly")
        e.close()


async def seq(ck):
    """Notifications of one user committed out of id order (concurrent transactions, as
    the relay's render.progress against the user's own submits) and a client that keeps
    reconnecting with since: every committed notification arrives, none twice."""
    # No rg-pdf: the run's one render.progress must be in before the counting starts, and
    # no step timeout may add more while it goes on.
    e = itflow.Env("nseq", ck, flow_extra={"RG_FLOW_STEP_TIMEOUT": "60min"})
    flow = e.flow()
    hub = Hub(e, "seq")
    try:
        ck.check(flow.start(), "rg-flow starts")
        ck.check(hub.start(), "rg-notify starts")
        run = quiet_run(e)
        tok = hub.session(e.uid)
        notify = (f"SELECT flow_notify(r, 'queued') FROM workflow_runs r WHERE r.id = '{run}'")

        # Two transactions: A writes first and stays open, B writes after it.  B must not
        # commit first: it waits for A (the user's row), and its seq follows A's.
        ws = await connect(hub.url(token=tok, since=0))
        _, ready = await until_ready(ws)
        base = ready["last_seq"] if ready else -1
        a = subprocess.Popen(["psql", "-tA", "-q", "-v", "ON_ERROR_STOP=1", e.db.url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        a.stdin.write(f"BEGIN;\n{notify};\nSELECT 'a-wrote';\n")
        a.stdin.flush()
        ck.eq(a.stdout.readline().strip() + a.stdout.readline().strip(), "a-wrote", "transaction A wrote")
        b_done = threading.Event()
        tb = threading.Thread(target=lambda: (e.db.sql(f"{notify}; SELECT pg_notify('rg_outbox', '')"), b_done.set()))
        tb.start()
        time.sleep(1)
        ck.check(not b_done.is_set(), "B waits while A is open")
        ck.eq(await quiet(ws, 0.5), [], "nothing is delivered before A commits")
        a.stdin.write("SELECT pg_notify('rg_outbox', ''); COMMIT;\n")
        a.stdin.close()
        a.wait(10)
        tb.join(10)
        got = [await recv(ws, 10), await recv(ws, 10)]
        rows = e.db.sql(f"SELECT id, seq FROM notifications WHERE user_id = {e.uid} AND seq > {base} ORDER BY seq").split()
        ck.check(len(rows) == 2 and int(rows[0].split("|")[0]) < int(rows[1].split("|")[0]),
                 "A's id and seq come before B's", rows)
        ck.eq([m and m.get("seq") for m in got], [base + 1, base + 2], "the socket gets A then B")
        ck.eq(await quiet(ws, 0.5), [], "once each")
        await ws.close()

        # Writers whose transactions stay open for a while after writing, and a client that
        # reconnects every 0.05-1.5 s with since = the highest seq it saw (docs/notify.md).
        secs = float(os.environ.get("RG_NOTIFY_SEQ_SECS", "12"))
        stop = threading.Event()

        def writer():
            while not stop.is_set():
                e.db.sql(f"BEGIN; {notify}; SELECT pg_sleep(random() * 0.08); "
                         "SELECT pg_notify('rg_outbox', ''); COMMIT")
        ws_threads = [threading.Thread(target=writer) for _ in range(3)]
        for t in ws_threads:
            t.start()
        last, seen, bad, conns = base + 2, [], [], 0
        t_end = time.time() + secs
        rnd = secrets.SystemRandom()
        while time.time() < t_end:
            w = await connect(hub.url(token=tok, since=last))
            conns += 1
            mine = []
            hold_until = time.time() + rnd.uniform(0.05, 1.5)
            while time.time() < hold_until:
                m = await recv(w, max(0.01, hold_until - time.time()))
                if m is not None and "seq" in m:
                    mine.append(m["seq"])
            await w.close()
            if mine != list(range(last + 1, last + 1 + len(mine))):
                bad.append((last, mine[:20]))
            seen += mine
            if mine:
                last = max(last, max(mine))
        stop.set()
        for t in ws_threads:
            t.join()
        newest = int(e.db.sql(f"SELECT notify_seq FROM users WHERE id = {e.uid}"))
        w = await connect(hub.url(token=tok, since=last))
        deadline = time.time() + 20
        while last < newest and time.time() < deadline:
            m = await recv(w, 2)
            if m is not None and "seq" in m:
                if m["seq"] != last + 1:
                    bad.append((last, [m["seq"]]))
                seen.append(m["seq"])
                last = max(last, m["seq"])
        await w.close()
        db = [int(x) for x in e.db.sql(f"SELECT seq FROM notifications WHERE user_id = {e.uid} AND seq > {base + 2} ORDER BY seq").split()]
        ck.check(len(db) >= 30 and conns >= 8, "many notifications and reconnects", (len(db), conns))
        ck.eq(db, list(range(base + 3, newest + 1)), "committed seqs have no hole")
        ck.eq(sorted(seen), db, "every committed notification reached the client, none twice")
        ck.eq(bad, [], "each connection delivered since + 1, since + 2, ... without a gap")
    finally:
        ck.eq(hub.stop(), 0, "rg-notify stops cleanly")
        e.close()


async def abuse(ck):
    e = itflow.Env("nabuse", ck)
    flow = e.flow()
    hub = Hub(e, "abuse", auth_timeout="1s", ping_interval="1s", idle_timeout="3s",
              max_connections=5, max_per_user=3, queue_max=64, queue_bytes="64KiB",
              session_recheck="500ms", close_grace="15s")
    try:
        ck.check(flow.start(), "rg-flow starts")
        ck.check(hub.start(), "rg-notify starts")
        tok = hub.session(e.uid)

        async def expect_close(ws, code, what, send=None):
            if send is not None:
                await ws.send(send)
            got, reason = await close_code(ws, 5)
            ck.eq(got, code, what + f" ({reason})")

        # unauthenticated
        ws = await connect(hub.url())
        t0 = time.time()
        await expect_close(ws, 4401, "no credentials: closed 4401 after auth_timeout")
        ck.check(0.8 <= time.time() - t0 < 4, "after about auth_timeout", time.time() - t0)
        await expect_close(await connect(hub.url(token="abc")), 4401, "malformed token: 4401")
        await expect_close(await connect(hub.url(token="A" * 43)), 4401, "unknown session: 4401")
        await expect_close(await connect(hub.url(), headers={"Cookie": "rg_session=" + "B" * 43},
                                         origin=f"http://127.0.0.1:{hub.port}"), 4401,
                           "unknown session in the cookie: 4401")
        for what, msg in (("a ping", '{"type":"ping"}'), ("garbage", "hello"), ("an unknown type", '{"type":"x"}')):
            ws = await connect(hub.url())
            t0 = time.time()
            await ws.send(msg)
            try:
                first = await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as ex:
                first = ex.code
            ck.check(first == 4401 and time.time() - t0 < 0.8,
                     f"{what} before auth: closed 4401 at once, nothing answered", (first, time.time() - t0))
        await expect_close(await connect(hub.url()), 4401, "auth message with a bad token: 4401",
                           '{"type":"auth","token":"nope"}')
        ws = await connect(hub.url())
        await ws.send(json.dumps({"type": "auth", "token": tok}))
        _, ready = await until_ready(ws)
        ck.check(ready is not None, "auth message with a good token: ready")
        await ws.close()
        for path, want in (("/other", 404), ("/ws/x", 404)):
            try:
                st = RawWS(hub.port, f"{path}?token={tok}").status
            except OSError:
                st = 0
            ck.eq(st, want, f"upgrade on {path}: HTTP {want}")
        try:
            st = RawWS(hub.port, f"/ws?token={tok}", protocol="other.v9").status
        except OSError:
            st = 0
        ck.check(st in (0, 400), "an unknown subprotocol is refused at the handshake", st)

        # cookie authentication needs an allowed Origin (no cross-site socket with the
        # user's cookie); explicit credentials need none
        own = f"http://127.0.0.1:{hub.port}"
        for origin, want in (("https://evil.example", 403), (None, 403), ("null", 403),
                             (own, 101), ("http://localhost:8080", 101)):
            hdr = f"Cookie: rg_session={tok}\r\n" + (f"Origin: {origin}\r\n" if origin else "")
            try:
                raw = RawWS(hub.port, "/ws", headers=hdr)
                st = raw.status
                ready = st == 101 and b"ready" in raw.frame()[1]
                raw.close()
            except OSError:
                st, ready = 0, False
            ck.check(st == want and (want != 101 or ready),
                     f"cookie with Origin {origin}: HTTP {want}" + (" and ready" if want == 101 else ""), st)
        for q, hdr in ((f"/ws?token={tok}", ""), ("/ws", f"Authorization: Bearer {tok}\r\n")):
            raw = RawWS(hub.port, q, headers=hdr + "Origin: https://evil.example\r\n")
            ck.check(raw.status == 101 and b"ready" in raw.frame()[1],
                     "token/Bearer from any Origin: ready (no ambient credential)", raw.status)
            raw.close()
        lines = [l for l in hub.log_lines() if '"notify.lws"' in l]
        ck.check(len(lines) <= 20, "refused handshakes do not flood the log", len(lines))

        # malformed and oversized
        async def authed(**q):
            w = await connect(hub.url(token=tok, **q))
            await until_ready(w)
            return w
        await expect_close(await authed(), 4400, "not JSON: 4400", "hello")
        await expect_close(await authed(), 4400, "not an object: 4400", "[1,2]")
        await expect_close(await authed(), 4400, "unknown type: 4400", '{"type":"subscribe"}')
        await expect_close(await authed(), 1003, "binary frame: 1003", b'{"type":"ping"}')
        await expect_close(await connect(hub.url(token=tok, since="x1")), 4400, "since not a number: 4400")
        big = json.dumps({"type": "ping", "pad": "x" * 5000})
        await expect_close(await authed(), 1009, "a 5 KB message: 1009", big)
        w = await authed()
        await w.send(json.dumps({"type": "ping", "pad": "y" * 3900}))
        ck.eq((await recv(w) or {}).get("type"), "pong", "a message just under max_message is fine")
        await w.close()
        # fragmented, 6 KB in all; the client sends nothing after the fragment that crosses
        # max_message (unread input would make the hub's close a reset)
        raw = RawWS(hub.port, f"/ws?token={tok}")
        raw.frame()  # ready
        raw.send(b"x" * 2000, opcode=1, fin=False)
        raw.send(b"y" * 2000, opcode=0, fin=False)
        raw.send(b"z" * 2000, opcode=0, fin=False)
        try:
            op, payload = raw.frame()
            got = struct.unpack(">H", payload[:2])[0] if op == 8 else op
        except (EOFError, OSError):
            got = None
        ck.eq(got, 1009, "a fragmented message over max_message: 1009")
        raw.close()
        raw = RawWS(hub.port, f"/ws?token={tok}")
        raw.frame()  # ready
        raw.send(b'{"type":"ping","x":"\xff\xfe"}')
        op, payload = raw.frame()
        ck.eq((op, struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None), (8, 1007),
              "invalid UTF-8: 1007")
        raw.close()

        # limits: 3 sockets per user, 5 in all
        mine = [await authed() for _ in range(3)]
        await expect_close(await connect(hub.url(token=tok)), 4429, "a 4th socket of one user: 4429")
        other = int(e.db.sql("INSERT INTO users (email, email_norm, password_hash) "
                             "VALUES ('y@example.com', 'y@example.com', 'x') RETURNING id").split()[0])
        toky = hub.session(other)
        ys = [await authed_as(hub, toky) for _ in range(2)]
        await expect_close(await connect(hub.url(token=toky)), 1013, "past max_connections: 1013")
        # the session ends (logout): the user's sockets close with 4401
        redis("DEL", hub.prefix + "sess:" + hashlib.sha256(toky.encode()).hexdigest())
        for y in ys:
            got, reason = await close_code(y, 5)
            ck.eq(got, 4401, f"session ended: 4401 ({reason})")
        for w in mine:
            await w.close()
        await asyncio.sleep(0.3)

        # idle: a peer that never answers pings is dropped after idle_timeout; a healthy
        # client (answers pings) stays
        healthy = await websockets.connect(hub.url(token=tok), subprotocols=["resumego.v1"], ping_interval=None)
        raw = RawWS(hub.port, f"/ws?token={tok}")
        t0, ops = time.time(), []
        try:
            while time.time() - t0 < 10:
                ops.append(raw.frame(10)[0])
        except EOFError:
            pass
        except socket.timeout:
            ops.append("timeout")
        took = time.time() - t0
        ck.check(9 in ops and "timeout" not in ops and 2 <= took <= 7,
                 "a peer that never answers pings is hung up on after idle_timeout", (ops, took))
        raw.close()
        ck.check(healthy.open, "a client that answers pings stays connected past idle_timeout")
        await healthy.close()

        # slow client: stops reading; the hub closes it with 1008 and its memory stays bounded.
        # A hub with the default ping/idle timers: a client that does not read does not
        # answer pings either, and the idle timer above would cut it first.
        ck.eq(hub.stop(), 0, "rg-notify stops cleanly")
        hub = Hub(e, "slow", queue_max=64, queue_bytes="512KiB", close_grace="15s")
        ck.check(hub.start(), "rg-notify (default timers) starts")
        tok = hub.session(e.uid)
        rss0 = hub.rss_kb()
        slow = RawWS(hub.port, f"/ws?token={tok}", rcvbuf=4096)
        op, payload = slow.frame()
        ck.check(op == 1 and b"ready" in payload, "slow client: ready")
        fast = await connect(hub.url(token=tok))
        await until_ready(fast)
        n = 1000

        def produce():
            # 1000 render.failed messages with an 8 KB error text (8 MB in all, past what
            # the kernel buffers of the connection hold), as flow_notify writes them: the
            # notification row and its outbox message in one transaction.  A steady stream
            # (20 per transaction), not one burst: a burst for one user larger than
            # queue_max would close even a client that reads (docs/notify.md, limits).
            for _ in range(n // 20):
                e.db.sql(
                    f"WITH u AS (UPDATE users SET notify_seq = notify_seq + 20 WHERE id = {e.uid} "
                    "RETURNING notify_seq - 20 AS base), "
                    "k AS (SELECT nextval(pg_get_serial_sequence('notifications', 'id')) AS id, base + g AS seq "
                    "FROM u, generate_series(1, 20) g), m AS (SELECT id, seq, jsonb_build_object('id', id, 'seq', seq, "
                    "'type', 'render.failed', 'state', 'failed', 'error', jsonb_build_object("
                    "'code', 'x', 'message', repeat('x', 8000), 'retryable', false), 'at', now()) AS p FROM k), "
                    f"i AS (INSERT INTO notifications (id, user_id, seq, kind, payload) SELECT id, {e.uid}, "
                    "seq, 'render.failed', p FROM m) INSERT INTO outbox (exchange, routing_key, message_id, payload) "
                    f"SELECT 'rg.notify', 'user.{e.uid}', 'notify:' || id, p::text FROM m; "
                    "SELECT pg_notify('rg_outbox', '')")
        tp = threading.Thread(target=produce)
        tp.start()
        fast_got = 0
        deadline = time.time() + 60
        while time.time() < deadline and fast_got < n:
            m = await recv(fast, 5)
            if m is None:
                break
            fast_got += m.get("type") == "render.failed"
        tp.join()
        ck.check(fast_got >= n, "a client that reads gets every message meanwhile", fast_got)
        deadline = time.time() + 20
        while time.time() < deadline and not hub.metric('rg_notify_closed_total{reason="slow"}'):
            await asyncio.sleep(0.1)
        ck.eq(hub.metric('rg_notify_closed_total{reason="slow"}'), 1, "the slow client was closed")
        rss1 = hub.rss_kb()
        ck.check(rss1 - rss0 < 16 * 1024, "hub memory stays bounded", (rss0, rss1))
        code, frames = None, 0
        try:
            while True:
                op, payload = slow.frame(10)
                frames += 1
                if op == 8:
                    code = struct.unpack(">H", payload[:2])[0]
                    break
        except (EOFError, socket.timeout):
            pass
        ck.eq(code, 1008, f"the slow client reads its close: 1008 (after {frames} frames)")
        ck.check(frames < n, "it did not get everything buffered", frames)
        slow.close()
        await fast.close()
    finally:
        ck.eq(hub.stop(), 0, "rg-notify stops cleanly")
        e.close()


async def fdlimit(ck):
    """A hub whose open-file limit is below max_connections lowers max_connections to fit,
    refuses extra clients (1013 once upgraded, HTTP 503 before) and does not spin."""
    e = itflow.Env("nfd", ck)
    hub = Hub(e, "fd", nofile=300, max_connections=1000, max_per_user=1000)
    socks = []
    try:
        ck.check(hub.start(), "rg-notify starts with 300 descriptors and max_connections 1000")
        low = [json.loads(l) for l in hub.log_lines() if "notify.max_connections_lowered" in l]
        ck.check(low and low[0].get("max_connections") == 300 - 128 and low[0].get("configured") == 1000,
                 "max_connections lowered to what the limit allows, with a log line", low)
        tok = hub.session(e.uid)
        ready = closed = busy = other = 0
        cpu0 = hub.cpu_s()
        for i in range(400):
            t = hub.session(e.uid)
            try:
                r = RawWS(hub.port, f"/ws?token={t}")
            except OSError:
                other += 1
                continue
            socks.append(r)
            if r.status == 503:
                busy += 1
                continue
            if r.status != 101:
                other += 1
                continue
            op, payload = r.frame(10)
            if op == 1 and b"ready" in payload:
                ready += 1
            elif op == 8 and struct.unpack(">H", payload[:2])[0] == 1013:
                closed += 1
            else:
                other += 1
        ck.eq(ready, 172, "172 sockets (the lowered max_connections) are served")
        ck.check(closed + busy == 400 - 172 and other == 0, "the others get 1013 or HTTP 503",
                 (closed, busy, other))
        time.sleep(2)
        cpu = hub.cpu_s() - cpu0
        ck.check(cpu < 1.5, "no busy loop at the limit (CPU seconds for 400 clients + 2 s held)", cpu)
        ck.check(len(hub.log_lines()) < 100, "the log is not flooded", len(hub.log_lines()))
        ck.check(hub.proc.poll() is None, "the hub is still running")
        for r in socks:
            r.close()
        socks = []
        time.sleep(1)
        ws = await connect(hub.url(token=tok))
        _, rd = await until_ready(ws)
        ck.check(rd is not None, "once the clients are gone a new one is served")
        await ws.close()
    finally:
        for r in socks:
            r.close()
        ck.eq(hub.stop(), 0, "rg-notify stops cleanly")
        e.close()


async def authed_as(hub, tok):
    w = await connect(hub.url(token=tok))
    await until_ready(w)
    return w


def main():
    need_env("RG_TEST_PG_URL", "RG_TEST_AMQP_URL", "RG_TEST_REDIS_URL", "RG_TEST_STACK", "RG_BIN_NOTIFY")
    ck = Checker()
    fn = {"live": live, "reconnect": reconnect, "hubs": hubs, "broker": broker, "abuse": abuse, "seq": seq,
          "fdlimit": fdlimit}[sys.argv[1]]
    asyncio.run(fn(ck))
    ck.finish()


if __name__ == "__main__":
    main()
