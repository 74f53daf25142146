"""Shared helpers for the renderer integration tests (it-render-*.py).

Standard library only.  Loaded by the test scripts with importlib (the file name has
dashes so that `git add tests/integration/it-render-*` picks it up).

Environment (set by tests/integration/meson.build):
  RG_BIN_RESUMEGO  path of the built `resumego`
  RG_DATA_DIR      data/ (themes, locales, schema)
  RG_SHARED        ../shared (corpus, cases)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import xml.etree.ElementTree as ET

SKIP = 77

BIN = os.environ.get("RG_BIN_RESUMEGO", "")
DATA = os.environ.get("RG_DATA_DIR", "")
SHARED = os.environ.get("RG_SHARED", "")
HERE = os.path.dirname(os.path.abspath(__file__))
SRCROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

A4 = (595.276, 841.89)
LETTER = (612.0, 792.0)
PAPER = {"a4": A4, "letter": LETTER}

BAD_TOKENS = ["undefined", "null", "NaN", "Invalid Date", "[object Object]"]


# ---- results ----------------------------------------------------------------------------

class Results:
    """Collects checks; prints failures with their evidence and a one-line summary."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = []
        self.notes = []
        self.t0 = time.time()

    def check(self, label, ok, evidence=""):
        if ok:
            self.passed += 1
        else:
            self.failed.append((label, evidence))
            ev = str(evidence)
            if len(ev) > 1500:
                ev = ev[:1500] + " ...[truncated]"
            print("FAIL: %s%s" % (label, (" -- " + ev) if ev else ""), flush=True)
        return ok

    def known(self, label, ok, evidence, why):
        """A check that fails for a documented limitation outside our code (e.g. how poppler
        extracts right-to-left text).  A failure is reported as KNOWN, not counted as failed;
        a pass is counted as a failure so that the marker is removed once it is fixed."""
        if ok:
            self.failed.append((label + " (marked as a known limitation but passes now)", ""))
            print("FAIL: %s -- passes now; remove its known-limitation marker" % label, flush=True)
        else:
            self.known_count = getattr(self, "known_count", 0) + 1
            ev = str(evidence)[:400]
            print("KNOWN: %s -- %s -- %s" % (label, why, ev), flush=True)
        return ok

    def note(self, msg):
        self.notes.append(msg)
        print("NOTE: " + msg, flush=True)

    def finish(self):
        dt = time.time() - self.t0
        known = getattr(self, "known_count", 0)
        print("%s: %d passed, %d failed%s (%.1fs)" % (self.name, self.passed, len(self.failed),
              ", %d known limitations" % known if known else "", dt))
        if self.failed:
            print("failed checks:")
            for label, _ in self.failed:
                print("  - " + label)
        sys.exit(1 if self.failed else 0)


def require_env(*shared_subdirs):
    """Exit 77 (skip) when the binary or a shared/ input folder is missing."""
    if not BIN or not os.access(BIN, os.X_OK):
        print("SKIP: RG_BIN_RESUMEGO not set or not executable: %r" % BIN)
        sys.exit(SKIP)
    for sub in shared_subdirs:
        p = os.path.join(SHARED, sub)
        if not SHARED or not os.path.isdir(p):
            print("SKIP: shared input folder missing: %s" % p)
            sys.exit(SKIP)
    for tool in ("pdftotext", "pdfinfo", "pdffonts", "qpdf"):
        if not shutil.which(tool):
            print("SKIP: %s not installed" % tool)
            sys.exit(SKIP)


def mkdtemp(tag):
    return tempfile.mkdtemp(prefix="rg-it-%s-" % tag)


# ---- processes ---------------------------------------------------------------------------

def run(args, input=None, env=None, timeout=60, cwd=None):
    """Runs a command; returns (rc, stdout bytes, stderr str)."""
    e = dict(os.environ)
    if env:
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
    if isinstance(input, str):
        input = input.encode()
    try:
        p = subprocess.run(args, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        return (-999, b"", "TIMEOUT after %ss: %s" % (timeout, " ".join(map(str, args))))
    return (p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))


def rg(*args, **kw):
    return run([BIN] + [str(a) for a in args], **kw)


def themes():
    rc, out, err = rg("themes", "--names")
    names = [l.strip() for l in out.decode().splitlines() if l.strip()]
    if rc != 0 or not names:
        print("FATAL: `resumego themes --names` failed: rc=%d %s" % (rc, err))
        sys.exit(1)
    return names


def theme_columns():
    rc, out, err = rg("themes", "--json")
    try:
        items = json.loads(out.decode())["items"]
        return {i["name"]: int(i.get("columns", 1)) for i in items}
    except Exception:
        # fall back to the data files
        res = {}
        for n in themes():
            try:
                with open(os.path.join(DATA, "themes", n + ".json")) as f:
                    res[n] = int(json.load(f).get("columns", {}).get("count", 1))
            except Exception:
                res[n] = 1
        return res


def theme_data(name):
    with open(os.path.join(DATA, "themes", name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def locale_data(tag):
    with open(os.path.join(DATA, "locales", tag + ".json"), encoding="utf-8") as f:
        return json.load(f)


def write_json(dirpath, name, doc):
    p = os.path.join(dirpath, name)
    with open(p, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    return p


def render(inp, out, *opts, env=None, timeout=60):
    """Renders inp (a path) to out; returns (rc, stderr)."""
    rc, _, err = rg("render", inp, "-o", out, *opts, env=env, timeout=timeout)
    return rc, err


# ---- text --------------------------------------------------------------------------------

def norm(s):
    """NFC + collapse every run of whitespace into one space."""
    return " ".join(unicodedata.normalize("NFC", s).split())


def pdftotext(pdf, *mode):
    rc, out, err = run(["pdftotext", "-enc", "UTF-8"] + list(mode) + [pdf, "-"])
    return out.decode("utf-8", "replace")


def bad_tokens_in(text):
    """Which of undefined/null/NaN/Invalid Date/[object Object] appear as words."""
    found = []
    for tok in BAD_TOKENS:
        if re.search(r"(?<![A-Za-z])" + re.escape(tok) + r"(?![A-Za-z])", text):
            found.append(tok)
    return found


def context(text, needle, width=60):
    i = text.find(needle)
    if i < 0:
        return ""
    return text[max(0, i - width): i + len(needle) + width]


# ---- pdfinfo / pdffonts / pdfimages ------------------------------------------------------

def pdfinfo(pdf):
    rc, out, err = run(["pdfinfo", "-enc", "UTF-8", pdf])
    info = {}
    for line in out.decode("utf-8", "replace").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    info["_rc"] = rc
    return info


def page_sizes(pdf):
    info = pdfinfo(pdf)
    n = int(info.get("Pages", "0") or 0)
    rc, out, err = run(["pdfinfo", "-f", "1", "-l", str(max(n, 1)), pdf])
    sizes = []
    for m in re.finditer(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out.decode()):
        sizes.append((float(m.group(1)), float(m.group(2))))
    return sizes


def size_is(size, paper):
    w, h = PAPER[paper]
    return abs(size[0] - w) < 0.01 and abs(size[1] - h) < 0.01


def pdffonts(pdf):
    rc, out, err = run(["pdffonts", pdf])
    lines = out.decode("utf-8", "replace").splitlines()
    fonts = []
    for line in lines[2:]:
        if not line.strip():
            continue
        # name type... encoding emb sub uni num gen ; type/encoding may contain spaces
        parts = line.split()
        if len(parts) < 6:
            continue
        fonts.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3],
                      "type": line[37:55].strip() if len(line) > 55 else "", "line": line})
    return fonts


def pdfimages_list(pdf):
    rc, out, err = run(["pdfimages", "-list", pdf])
    rows = []
    for line in out.decode().splitlines()[2:]:
        p = line.split()
        if len(p) >= 12:
            rows.append({"page": int(p[0]), "type": p[2], "width": int(p[3]), "height": int(p[4]),
                         "enc": p[8], "line": line})
    return rows


def qpdf_check(pdf):
    rc, out, err = run(["qpdf", "--check", pdf])
    return rc == 0, (out.decode("utf-8", "replace") + err).strip()[-600:]


# ---- -bbox-layout ------------------------------------------------------------------------

def bbox(pdf):
    """pdftotext -bbox-layout parsed: list of pages {w,h,blocks:[{box,lines:[{box,words,text}]}]}."""
    rc, out, err = run(["pdftotext", "-enc", "UTF-8", "-bbox-layout", pdf, "-"])
    txt = out.decode("utf-8", "replace")
    # the XHTML has a DOCTYPE and a namespace; strip both for ElementTree
    txt = re.sub(r"<!DOCTYPE[^>]*>", "", txt)
    txt = txt.replace('xmlns="http://www.w3.org/1999/xhtml"', "")
    root = ET.fromstring(txt)
    pages = []
    for pg in root.iter("page"):
        page = {"w": float(pg.get("width")), "h": float(pg.get("height")), "blocks": [], "lines": [],
                "words": []}
        for blk in pg.iter("block"):
            b = {"box": _box(blk), "lines": []}
            for ln in blk.iter("line"):
                words = [{"box": _box(w), "text": w.text or ""} for w in ln.iter("word")]
                line = {"box": _box(ln), "words": words, "text": " ".join(w["text"] for w in words)}
                b["lines"].append(line)
                page["lines"].append(line)
                page["words"].extend(words)
            page["blocks"].append(b)
        pages.append(page)
    return pages


def _box(el):
    return (float(el.get("xMin")), float(el.get("yMin")), float(el.get("xMax")), float(el.get("yMax")))


def overlap(a, b, slack=0.0):
    return not (a[2] < b[0] - slack or b[2] < a[0] - slack or a[3] < b[1] - slack or b[3] < a[1] - slack)


# ---- qpdf --qdf: objects, annotations, outline ------------------------------------------

def qdf(pdf, tmpdir):
    out = os.path.join(tmpdir, os.path.basename(pdf) + ".qdf")
    run(["qpdf", "--qdf", "--object-streams=disable", pdf, out])
    with open(out, "rb") as f:
        data = f.read().decode("latin-1")
    objs = {}
    for m in re.finditer(r"(?m)^(\d+) 0 obj\n(.*?)\nendobj", data, re.S):
        objs[int(m.group(1))] = m.group(2)
    return objs


def pdf_string(tok):
    """Decodes a PDF literal (...) or hex <...> string (PDFDocEncoding/UTF-16BE)."""
    if tok.startswith("<"):
        raw = bytes.fromhex(re.sub(r"\s", "", tok[1:-1]))
    else:
        s = tok[1:-1]
        outb = bytearray()
        i = 0
        while i < len(s):
            c = s[i]
            if c == "\\" and i + 1 < len(s):
                n = s[i + 1]
                if n in "nrtbf":
                    outb += {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b", "f": b"\f"}[n]
                    i += 2
                elif n in "01234567":
                    j = i + 1
                    while j < len(s) and j < i + 4 and s[j] in "01234567":
                        j += 1
                    outb.append(int(s[i + 1:j], 8) & 0xFF)
                    i = j
                elif n == "\n":
                    i += 2
                else:
                    outb += n.encode("latin-1")
                    i += 2
            else:
                outb += c.encode("latin-1")
                i += 1
        raw = bytes(outb)
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", "replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", "replace")
    return raw.decode("latin-1")


_STR = r"(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)"


def _nums(s):
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", s)]


def annotations(objs):
    """Link annotations: list of {page (1-based), rect (x0,y0,x1,y1 PDF coords), uri}."""
    # page order: follow /Pages /Kids
    pages = []
    root_pages = None
    for n, body in objs.items():
        if re.search(r"/Type /Pages\b", body) and "/Parent" not in body:
            root_pages = n
    def walk(n):
        body = objs.get(n, "")
        if re.search(r"/Type /Pages\b", body):
            m = re.search(r"/Kids \[(.*?)\]", body, re.S)
            for r in re.findall(r"(\d+) 0 R", m.group(1) if m else ""):
                walk(int(r))
        elif re.search(r"/Type /Page\b", body):
            pages.append(n)
    if root_pages is not None:
        walk(root_pages)
    res = []
    for idx, pn in enumerate(pages, 1):
        body = objs[pn]
        m = re.search(r"/Annots (\[.*?\]|\d+ 0 R)", body, re.S)
        if not m:
            continue
        arr = m.group(1)
        if arr.endswith("R") and not arr.startswith("["):
            arr = objs.get(int(arr.split()[0]), "")
        for r in re.findall(r"(\d+) 0 R", arr):
            a = objs.get(int(r), "")
            if "/Link" not in a:
                continue
            rm = re.search(r"/Rect\s*\[(.*?)\]", a, re.S)
            rect = tuple(_nums(rm.group(1))) if rm else None
            um = re.search(r"/URI\s*" + _STR, a, re.S)
            if not um:
                am = re.search(r"/A (\d+) 0 R", a)
                if am:
                    um = re.search(r"/URI\s*" + _STR, objs.get(int(am.group(1)), ""), re.S)
            uri = pdf_string(um.group(1)) if um else None
            res.append({"page": idx, "rect": rect, "uri": uri})
    return res, len(pages)


def outline_titles(objs):
    """Titles of the outline items, in document order (depth-first from /Outlines /First)."""
    cat = None
    for n, body in objs.items():
        if re.search(r"/Type /Catalog\b", body):
            cat = body
    if not cat:
        return []
    m = re.search(r"/Outlines (\d+) 0 R", cat)
    if not m:
        return []
    titles = []
    seen = set()
    def item_list(first):
        n = first
        while n is not None and n not in seen:
            seen.add(n)
            body = objs.get(n, "")
            tm = re.search(r"/Title\s*" + _STR, body, re.S)
            if tm:
                titles.append(pdf_string(tm.group(1)))
            fm = re.search(r"/First (\d+) 0 R", body)
            if fm:
                item_list(int(fm.group(1)))
            nm = re.search(r"/Next (\d+) 0 R", body)
            n = int(nm.group(1)) if nm else None
    root = objs.get(int(m.group(1)), "")
    fm = re.search(r"/First (\d+) 0 R", root)
    if fm:
        item_list(int(fm.group(1)))
    return titles


def pdf_rect_to_bbox(rect, page_h):
    """PDF user space rect (origin bottom-left) -> pdftotext bbox coords (origin top-left)."""
    x0, y0, x1, y1 = rect
    return (min(x0, x1), page_h - max(y0, y1), max(x0, x1), page_h - min(y0, y1))


# ---- raster ------------------------------------------------------------------------------

def read_pnm(path):
    """Reads a binary PGM (P5) or PPM (P6), 8 bit. Returns (kind, w, h, bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    tokens = []
    i = 0
    while len(tokens) < 4:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            while data[i:i + 1] not in (b"\n", b""):
                i += 1
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        tokens.append(data[i:j])
        i = j
    i += 1  # the single whitespace after maxval
    kind, w, h, mx = tokens[0].decode(), int(tokens[1]), int(tokens[2]), int(tokens[3])
    if mx != 255 or kind not in ("P5", "P6"):
        raise ValueError("unsupported PNM %s maxval %d" % (kind, mx))
    return kind, w, h, data[i:]


# ---- content streams: which font draws which character ---------------------------------

def pdf_bytes(tok):
    """Raw bytes of a PDF string token (literal or hex)."""
    if tok.startswith("<"):
        h = re.sub(r"\s", "", tok[1:-1])
        if len(h) % 2:
            h += "0"
        return bytes.fromhex(h)
    s = tok[1:-1]
    outb = bytearray()
    i = 0
    esc = {"n": 10, "r": 13, "t": 9, "b": 8, "f": 12}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n in esc:
                outb.append(esc[n])
                i += 2
            elif n in "01234567":
                j = i + 1
                while j < len(s) and j < i + 4 and s[j] in "01234567":
                    j += 1
                outb.append(int(s[i + 1:j], 8) & 0xFF)
                i = j
            elif n in "\r\n":
                i += 2
            else:
                outb += n.encode("latin-1")
                i += 2
        else:
            outb += c.encode("latin-1")
            i += 1
    return bytes(outb)


def _stream_of(body):
    m = re.search(r"stream\r?\n(.*?)\r?\nendstream", body, re.S)
    return m.group(1) if m else ""


def _parse_tounicode(cmap):
    """code (int) -> unicode str, plus the code byte width."""
    res = {}
    width = 1
    for m in re.finditer(r"begincodespacerange(.*?)endcodespacerange", cmap, re.S):
        hx = re.findall(r"<([0-9A-Fa-f]+)>", m.group(1))
        if hx:
            width = max(width, len(hx[0]) // 2)
    def u(h):
        try:
            return bytes.fromhex(h).decode("utf-16-be", "replace")
        except ValueError:
            return "\ufffd"
    for m in re.finditer(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for a, b in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", m.group(1)):
            res[int(a, 16)] = u(b)
    for m in re.finditer(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        body = m.group(1)
        for lo, hi, rest in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", body):
            lo_i, hi_i = int(lo, 16), int(hi, 16)
            if rest.startswith("["):
                items = re.findall(r"<([0-9A-Fa-f]*)>", rest)
                for k, h in enumerate(items):
                    res[lo_i + k] = u(h)
            else:
                h = rest[1:-1]
                base = int(h, 16) if h else 0
                n = len(h)
                for k in range(hi_i - lo_i + 1):
                    res[lo_i + k] = u(("%0" + str(n) + "X") % (base + k))
    return res, width


def fonts_by_resource(objs):
    """Resource name (e.g. f-0-0) -> {base, type0, map, width}."""
    fonts = {}
    for n, body in objs.items():
        for dm in re.finditer(r"/Font\s*<<(.*?)>>", body, re.S):
            for name, ref in re.findall(r"/([^\s/<>\[\]()]+)\s+(\d+) 0 R", dm.group(1)):
                fb = objs.get(int(ref), "")
                bm = re.search(r"/BaseFont /(\S+)", fb)
                info = {"base": bm.group(1) if bm else "?", "type0": "/Type0" in fb, "map": {}, "width": 2 if "/Type0" in fb else 1}
                tm = re.search(r"/ToUnicode (\d+) 0 R", fb)
                if tm:
                    mp, w = _parse_tounicode(_stream_of(objs.get(int(tm.group(1)), "")))
                    info["map"] = mp
                    info["width"] = w
                fonts[name] = info
    return fonts


_CTOK = re.compile(r"<<|>>|\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|\[|\]|/[^\s/\[\]()<>{}%]+|[-+]?(?:\d+\.?\d*|\.\d+)|[A-Za-z'\"*]+[0-9]?|%[^\n]*")


def text_runs(objs):
    """Every text-showing operation: {font, base, text, codes, notdef, unmapped, tr}."""
    fonts = fonts_by_resource(objs)
    runs = []
    for n, body in objs.items():
        if "stream" not in body or "BT" not in body:
            continue
        if re.search(r"/Subtype /(Image|Type1C|CIDFontType0C|OpenType)|/Length1|/CMapName", body.split("stream", 1)[0]):
            continue
        data = _stream_of(body)
        stack = []
        font = None
        tr = 0
        arr = None
        for tok in _CTOK.findall(data):
            if tok.startswith("%"):
                continue
            if tok == "[":
                arr = []
                continue
            if tok == "]":
                stack.append(("arr", arr or []))
                arr = None
                continue
            if arr is not None:
                arr.append(tok)
                continue
            if tok[0] in "(</" or tok[0].isdigit() or tok[0] in "-+." or tok in ("<<", ">>"):
                stack.append(tok)
                continue
            op = tok
            if op == "Tf" and len(stack) >= 2 and isinstance(stack[-2], str) and stack[-2].startswith("/"):
                font = stack[-2][1:]
            elif op == "Tr" and stack:
                try:
                    tr = int(float(stack[-1]))
                except (TypeError, ValueError):
                    pass
            elif op in ("Tj", "'", '"', "TJ") and stack:
                last = stack[-1]
                strs = [t for t in last[1] if t[0] in "(<"] if isinstance(last, tuple) else [last]
                info = fonts.get(font, {"base": "?", "map": {}, "width": 1, "type0": False})
                text = []
                codes = []
                for s in strs:
                    if not isinstance(s, str) or s[0] not in "(<":
                        continue
                    b = pdf_bytes(s)
                    w = info["width"]
                    for k in range(0, len(b) - w + 1, w):
                        codes.append(int.from_bytes(b[k:k + w], "big"))
                for c in codes:
                    text.append(info["map"].get(c, "\ufffd"))
                runs.append({"font": font, "base": info["base"], "text": "".join(text), "codes": codes,
                             "notdef": sum(1 for c in codes if c == 0 and 0 not in info["map"]),
                             "unmapped": [c for c in codes if c not in info["map"]], "tr": tr})
            stack = []
    return runs
