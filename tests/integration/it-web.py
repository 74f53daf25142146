"""End-to-end test of the web app (issue 6): builds web/ when out of date, starts rg-core,
rg-flow, rg-pdf (and rg-notify when it is built) on a fresh database and RabbitMQ vhost,
Caddy in front of them with deploy/Caddyfile, then runs web/e2e/e2e.mjs in Debian's
Chromium.  Screenshots, the downloaded PDF and measures.json go to
$MESON_BUILD_ROOT/web-e2e (or RG_WEB_E2E_ARTIFACTS).

Ports: the edge listens on RG_TEST_EDGE_HTTP_PORT / RG_TEST_EDGE_HTTPS_PORT (default: free
ports); the services on free loopback ports.  Needs what scripts/test starts (PostgreSQL,
Redis, RabbitMQ); SKIPs (77) without it.
"""
import gzip
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corelib import Core, Database, free_port, need_env  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STACK = os.environ.get("RG_TEST_STACK", "")


def wait_http(url, secs=30):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def edge_request(port, method, path, body=None, headers=None, chunked=False):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except (ConnectionError, http.client.HTTPException) as e:
        return 0, {}, str(e).encode()
    finally:
        c.close()


def api_error(status, body, want_status, want_code):
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    return status == want_status and code == want_code


def edge_checks(port):
    """What the edge itself promises (deploy/Caddyfile): the API's error shape and limits hold
    through it, and the app is served with its security headers, compressed."""
    bad = []
    big = b"x" * (1024 * 1024 + 4096)
    js = {"Content-Type": "application/json"}
    st, _, body = edge_request(port, "POST", "/api/v1/auth/register", big, js)
    if not api_error(st, body, 413, "body_too_large"):
        bad.append(f"declared over-size body: {st} {body[:120]!r}")
    st, _, body = edge_request(port, "POST", "/api/v1/auth/register",
                               (big[i:i + 65536] for i in range(0, len(big), 65536)), js, chunked=True)
    if not api_error(st, body, 413, "body_too_large"):
        bad.append(f"chunked over-size body: {st} {body[:120]!r}")
    st, _, body = edge_request(port, "GET", "/api/v1/no-such-route")
    if not api_error(st, body, 404, "not_found"):
        bad.append(f"unknown API route: {st} {body[:120]!r}")
    st, h, body = edge_request(port, "GET", "/", headers={"Accept-Encoding": "gzip"})
    for k in ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"):
        if k not in h:
            bad.append(f"/ lacks the {k} header")
    if "server" in h:
        bad.append("/ names its server")
    if h.get("content-encoding") != "gzip" or b"<html" not in gzip.decompress(body):
        bad.append(f"/ is not gzip-compressed for a client that accepts it: {h.get('content-encoding')}")
    st, _, body = edge_request(port, "GET", "/api/v1/metrics")
    if not api_error(st, body, 404, "not_found"):
        bad.append(f"/api/v1/metrics is served at the edge: {st}")
    st, h, body = edge_request(port, "GET", "/no-such-page")
    if st != 404 or "content-security-policy" not in h or "x-frame-options" not in h or "server" in h:
        bad.append(f"the 404 page lacks the security headers: {st} {sorted(h)}")
    st, _, body = edge_request(port, "GET", "/../../../../etc/passwd")
    if b"root:" in body:
        bad.append("path traversal reached /etc/passwd")
    for b in bad:
        print("FAIL: edge:", b)
    if not bad:
        print("ok: edge: API errors and limits as JSON, security headers, compression, no traversal")
    return not bad


def edge_checks_api_down(port):
    st, h, body = edge_request(port, "GET", "/api/v1/themes")
    if api_error(st, body, 503, "unavailable") and h.get("retry-after"):
        print("ok: edge: rg-core down -> 503 unavailable with Retry-After, as JSON")
        return True
    print(f"FAIL: edge: rg-core down gives {st} {h.get('retry-after')} {body[:120]!r}")
    return False


def main():
    need_env("RG_TEST_PG_URL", "RG_TEST_REDIS_URL", "RG_TEST_AMQP_URL", "RG_TEST_STACK")
    if not os.path.exists("/usr/bin/chromium") or not shutil.which("caddy"):
        print("FAIL: chromium or caddy missing (scripts/deps installs them)")
        return 1
    # The app (web/out + web/out.csp), built only when a source is newer than the last build.
    r = subprocess.run(["bash", "-c", f'. "{ROOT}/scripts/lib.sh" && web_build'], cwd=ROOT)
    if r.returncode != 0:
        print("FAIL: the web app did not build")
        return 1

    tmp = tempfile.mkdtemp(prefix="it-web-")
    procs = []
    db = Database("web")
    vhost = f"it_web_{os.getpid()}"
    subprocess.run([STACK, "rabbitmqctl", "add_vhost", vhost], capture_output=True, timeout=120)
    subprocess.run([STACK, "rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   capture_output=True, timeout=120)
    amqp = os.environ["RG_TEST_AMQP_URL"].rstrip("/") + "/" + vhost
    storage = "fs://" + os.path.join(tmp, "objects")
    os.environ["RG_STORAGE"] = storage
    os.environ.setdefault("RG_DATA_DIR", os.path.join(ROOT, "data"))
    core = None
    try:
        core = Core(db.url)
        base = dict(os.environ, RG_PG_URL=db.url, RG_AMQP_URL=amqp, RG_STORAGE=storage,
                    RG_REDIS_URL=os.environ["RG_TEST_REDIS_URL"])

        def daemon(name, binvar, env):
            log = open(os.path.join(tmp, name + ".log"), "ab")
            p = subprocess.Popen([os.environ[binvar]], env=env, stdout=log, stderr=log, start_new_session=True)
            procs.append(p)
            return p

        fport, pport = free_port(), free_port()
        daemon("rg-flow", "RG_BIN_FLOW", dict(base, RG_FLOW_PORT=str(fport)))
        daemon("rg-pdf", "RG_BIN_PDF", dict(base, RG_PDF_PORT=str(pport), RG_PDF_SLOTS="2"))
        hub = False
        nport, nmport = free_port(), free_port()
        nbin = os.environ.get("RG_BIN_NOTIFY", "")
        if nbin and os.path.exists(nbin):
            # rg-notify reads sessions with rg-core's Redis key prefix.
            daemon("rg-notify", "RG_BIN_NOTIFY", dict(base, RG_NOTIFY_PORT=str(nport),
                                                      RG_NOTIFY_METRICS_PORT=str(nmport),
                                                      RG_NOTIFY_REDIS_PREFIX=core.prefix))
            hub = True
        for port, what in ((fport, "rg-flow"), (pport, "rg-pdf")):
            if not wait_http(f"http://127.0.0.1:{port}/healthz"):
                print(f"FAIL: {what} did not start (log in {tmp})")
                return 1
        if hub and not wait_http(f"http://127.0.0.1:{nmport}/healthz"):
            print(f"FAIL: rg-notify did not start (log in {tmp})")
            return 1

        with open(os.path.join(ROOT, "web", "out.csp")) as f:
            csp = f.read().strip()
        # A free port can be taken by another program's outgoing connection before Caddy
        # binds it: then try other ports (fixed ports from the environment are tried once).
        fixed = os.environ.get("RG_TEST_EDGE_HTTP_PORT")
        for attempt in range(1 if fixed else 4):
            http_port = int(fixed or free_port())
            https_port = int(os.environ.get("RG_TEST_EDGE_HTTPS_PORT") or free_port())
            cenv = dict(os.environ, RG_EDGE_HTTP_PORT=str(http_port), RG_EDGE_HTTPS_PORT=str(https_port),
                        RG_CORE_PORT=str(core.port), RG_NOTIFY_PORT=str(nport),
                        RG_WEB_ROOT=os.path.join(ROOT, "web", "out"), RG_WEB_CSP=csp,
                        RG_EDGE_DATA=os.path.join(tmp, "caddy"), HOME=tmp, XDG_DATA_HOME=tmp, XDG_CONFIG_HOME=tmp)
            log = open(os.path.join(tmp, "caddy.log"), "ab")
            caddy = subprocess.Popen(["caddy", "run", "--config", os.path.join(ROOT, "deploy", "Caddyfile"),
                                      "--adapter", "caddyfile"], env=cenv, stdout=log, stderr=log,
                                     start_new_session=True)
            procs.append(caddy)
            if wait_http(f"http://127.0.0.1:{http_port}/") and caddy.poll() is None:
                break
            caddy.terminate()
        else:
            print(f"FAIL: Caddy did not start (log in {tmp})")
            return 1

        edge_ok = edge_checks(http_port)

        out = os.environ.get("RG_WEB_E2E_ARTIFACTS") or os.path.join(os.environ.get("MESON_BUILD_ROOT", tmp), "web-e2e")
        shutil.rmtree(out, ignore_errors=True)
        env = dict(os.environ, RG_E2E_BASE=f"http://localhost:{http_port}", RG_E2E_ARTIFACTS=out,
                   RG_E2E_HUB="1" if hub else "0")
        r = subprocess.run(["node", os.path.join(ROOT, "web", "e2e", "e2e.mjs")], env=env, cwd=os.path.join(ROOT, "web"),
                           timeout=900)
        if r.returncode != 0:
            print(f"service logs in {tmp}")
        core.stop()
        core, down_ok = None, edge_checks_api_down(http_port)
        return r.returncode or (0 if edge_ok and down_ok else 1)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
        if core:
            core.stop()
        db.drop()
        subprocess.run([STACK, "rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=120)


if __name__ == "__main__":
    sys.exit(main())
