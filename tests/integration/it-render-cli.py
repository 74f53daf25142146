#!/usr/bin/env python3
"""Every warning/error path of `resumego render|validate|themes`.

exit codes: 0 ok, 1 input rejected, 2 usage, 3 internal.
"""
import importlib.util
import json
import os
import re

_spec = importlib.util.spec_from_file_location(
    "itc", os.path.join(os.path.dirname(os.path.abspath(__file__)), "it-render-common.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)


def main():
    C.require_env("cases", "corpus/resumes")
    R = C.Results("it-render-cli")
    tmp = C.mkdtemp("cli")
    good = os.path.join(C.SHARED, "cases", "21-text-layer.json")
    out = os.path.join(tmp, "o.pdf")

    def wr(name, data):
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def is_pdf(p):
        try:
            with open(p, "rb") as f:
                return f.read(5) == b"%PDF-"
        except OSError:
            return False

    def rejected(tag, path, rc_want, pattern, *extra):
        if os.path.exists(out):
            os.unlink(out)
        rc, so, err = C.rg("render", path, "-o", out, *extra)
        R.check("%s: exit %d" % (tag, rc_want), rc == rc_want, "rc=%d stderr=%r" % (rc, err[-400:]))
        R.check("%s: message matches /%s/" % (tag, pattern), re.search(pattern, err) is not None, err[-400:])
        R.check("%s: no PDF written" % tag, not os.path.exists(out) or os.path.getsize(out) == 0, "")
        lines = [l for l in err.splitlines() if l.strip()]
        dups = sorted({l for l in lines if lines.count(l) > 1})
        R.check("%s: each message printed once" % tag, not dups, dups)
        return err

    # invalid JSON: line and column
    for name, data, line, col in (("bad1.json", b'{"basics":\n {"name": "A",,}}', 2, None),
                                  ("bad2.json", b'{\n\n\n  "basics": {"name": "A"\n}', None, None),
                                  ("bad3.json", b'{"a": tru}', 1, None)):
        p = wr(name, data)
        err = rejected("invalid JSON %s" % name, p, 1, r"line \d+, column \d+")
        m = re.search(r"line (\d+), column (\d+)", err)
        if line and m:
            R.check("invalid JSON %s: reports line %d" % (name, line), int(m.group(1)) == line, err)
    p = wr("bad4.json", b'{"basics": {"name": "A"}')  # truncated
    rejected("truncated JSON", p, 1, r"line \d+, column \d+")
    # validate shows the same
    rc, so, err = C.rg("validate", os.path.join(tmp, "bad1.json"))
    R.check("validate invalid JSON: exit 1 with line/column", rc == 1 and re.search(r"line 2, column \d+", so.decode() + err), err)
    # invalid UTF-8: byte offset
    for name, data, off in (("u1.json", b'{"basics":{"name":"A\xff"}}', 20), ("u2.json", b'{"basics":{"name":"\xc3\x28"}}', 19),
                            ("u3.json", b'{"basics":{"name":"\xed\xa0\x80"}}', 19)):
        p = wr(name, data)
        err = rejected("invalid UTF-8 %s" % name, p, 1, r"byte offset \d+")
        m = re.search(r"byte offset (\d+)", err)
        R.check("invalid UTF-8 %s: offset %d" % (name, off), m and int(m.group(1)) == off, err)
    # size limit
    big = wr("big.json", b'{"basics":{"name":"A","summary":"' + b"a" * (2 * 1024 * 1024 + 10) + b'"}}')
    rejected("over the size limit", big, 1, r"limit|too (big|large)")
    # top level not an object
    for name, data in (("arr.json", b"[1,2]"), ("str.json", b'"hello"'), ("num.json", b"42"), ("nul.json", b"null")):
        rejected("top-level %s" % name, wr(name, data), 1, r"object")
    # empty input
    rejected("empty file", wr("empty.json", b""), 1, r"error")
    # usage errors: exit 2 with a clear message
    rejected("unknown theme", good, 2, r'unknown theme "nope".*classic', "--theme", "nope")
    rejected("unknown paper", good, 2, r"--paper must be a4 or letter", "--paper", "a3")
    rejected("unknown locale", good, 2, r'unknown locale "xx-QQ"', "--locale", "xx-QQ")
    rejected("unknown option", good, 2, r'unknown.*option.*--bogus', "--bogus")
    rejected("--theme without a value", good, 2, r"theme", "--theme")
    rejected("--jobs not a number", good, 2, r"jobs", "--jobs", "many")
    rc, so, err = C.rg("render")
    R.check("render without input: exit 2, pointing at usage/--help", rc == 2 and re.search(r"usage|--help", err),
            "rc=%d %r" % (rc, err[:200]))
    rc, so, err = C.rg("frobnicate")
    R.check("unknown subcommand: exit 2", rc == 2, "rc=%d %r" % (rc, err[:200]))
    rc, so, err = C.rg("themes", "--bogus")
    R.check("themes --bogus: exit 2", rc == 2, "rc=%d %r" % (rc, err[:200]))
    rc, so, err = C.rg("validate", "--bogus", good)
    R.check("validate --bogus: exit 2", rc == 2, "rc=%d %r" % (rc, err[:200]))
    # missing file: not 0, names the file
    rc, so, err = C.rg("render", os.path.join(tmp, "nope.json"), "-o", out)
    R.check("missing file: exit non-zero", rc != 0, rc)
    R.check("missing file: message names the file", "nope.json" in err, err)
    R.check("missing file: exit 1, 2 or 3, never a crash (signal)", rc in (1, 2, 3), "rc=%d %r" % (rc, err))
    # BOM accepted
    bom = wr("bom.json", b'\xef\xbb\xbf{"basics":{"name":"Bom Person"}}')
    rc, so, err = C.rg("render", bom, "-o", out)
    R.check("UTF-8 BOM accepted", rc == 0 and is_pdf(out) and "Bom Person" in C.pdftotext(out), "rc=%d %r" % (rc, err))
    # stdin / stdout
    with open(good, "rb") as f:
        data = f.read()
    rc, so, err = C.rg("render", "-", input=data)
    R.check("- reads stdin, writes the PDF to stdout", rc == 0 and so.startswith(b"%PDF-"), "rc=%d %r" % (rc, err))
    rc2, so2, err2 = C.rg("render", "-", "-o", "-", input=data)
    R.check("-o - writes to stdout", rc2 == 0 and so2.startswith(b"%PDF-"), err2)
    rc3, so3, err3 = C.rg("render", good, "-o", out)
    with open(out, "rb") as f:
        R.check("stdin/stdout PDF identical to the file render", so == f.read() == so2, "")
    R.check("stdout PDF has nothing but the PDF (ends with %%EOF)", so.rstrip().endswith(b"%%EOF"), so[-20:])
    rc, so, err = C.rg("render", "-", input=b"{oops")
    R.check("invalid JSON on stdin: exit 1 with line/column", rc == 1 and re.search(r"line \d+, column \d+", err), err)
    # default output name: IN with .pdf
    d = wr("default-name.json", data)
    rc, so, err = C.rg("render", d)
    R.check("default output IN.pdf", rc == 0 and is_pdf(os.path.join(tmp, "default-name.pdf")), err)
    # strict
    xf = wr("xfoo.json", b'{"basics":{"name":"A"},"x-foo":1}')
    rc, so, err = C.rg("render", "--strict", xf, "-o", out)
    R.check("--strict rejects a top-level x-foo key (exit 1)", rc == 1, "rc=%d %r" % (rc, err))
    R.check("--strict names /x-foo", "/x-foo" in err, err)
    rc, so, err = C.rg("render", xf, "-o", out)
    R.check("without --strict the x-foo key is accepted", rc == 0, "rc=%d %r" % (rc, err))
    sample = os.path.join(C.SHARED, "corpus", "schema-tests", "sample.resume.v1.0.0.valid.json")
    clean = os.path.join(C.SHARED, "corpus", "resumes", "es-senior-v1.json")
    rc, so, err = C.rg("render", "--strict", clean, "-o", out)
    R.check("--strict accepts a clean v1.0.0 resume (es-senior-v1.json)", rc == 0, "rc=%d %r" % (rc, err))
    rc, so, err = C.rg("validate", "--strict", clean)
    R.check("validate --strict accepts the clean resume", rc == 0, "rc=%d %r %r" % (rc, so, err))
    ex = os.path.join(C.SRCROOT, "examples", "resume.json")
    rc, so, err = C.rg("render", "--strict", ex, "-o", out)
    R.check("--strict accepts the bundled example resume", rc == 0, "rc=%d %r" % (rc, err))
    rc, so, err = C.rg("render", "--strict", os.path.join(C.SHARED, "corpus", "resumes", "phd-student-experience-key-en.json"), "-o", out)
    R.check("--strict rejects a top-level `experience` key", rc == 1 and "/experience" in err, "rc=%d %r" % (rc, err))
    # validate: JSON pointers
    bad = wr("val.json", json.dumps({"basics": {"name": "A", "email": "not-an-email"},
                                     "work": [{"name": "X"}, {"name": "Y"}, {"name": "Z", "startDate": "2019-02-30"}],
                                     "skills": 5}).encode())
    rc, so, err = C.rg("validate", bad)
    txt = so.decode() + err
    R.check("validate: exit 0 for warnings only", rc == 0, "rc=%d %r" % (rc, txt))
    R.check("validate: /work/2/startDate \"2019-02-30\" is not a date",
            re.search(r'/work/2/startDate: "2019-02-30" is not a date', txt) is not None, txt)
    R.check("validate: /skills pointer for the wrong type", "/skills" in txt, txt)
    rc, so, err = C.rg("validate", "--strict", "--json", bad)
    try:
        rep = json.loads(so.decode())
        ptrs = [dg["pointer"] for f in rep["files"] for dg in f["diagnostics"]]
        R.check("validate --strict --json: exit 1, ok false", rc == 1 and rep.get("ok") is False, rc)
        R.check("validate --strict --json: schema pointers /basics/email, /skills",
                all(p in ptrs for p in ("/basics/email", "/skills")), ptrs)
    except (ValueError, KeyError) as e:
        R.check("validate --strict --json prints JSON", False, "%s: %r" % (e, so[:300]))
    rc, so, err = C.rg("validate", "--json", bad)
    try:
        rep = json.loads(so.decode())
        ptrs = [dg["pointer"] for f in rep["files"] for dg in f["diagnostics"]]
        R.check("validate --json: exit 0 (warnings only)", rc == 0, rc)
        R.check("validate --json: pointers /work/2/startDate, /basics/email, /skills",
                all(p in ptrs for p in ("/work/2/startDate", "/basics/email", "/skills")), ptrs)
        R.check("validate --json: every pointer is an RFC 6901 pointer",
                all(p == "" or p.startswith("/") for p in ptrs), ptrs)
    except (ValueError, KeyError) as e:
        R.check("validate --json prints JSON", False, "%s: %r" % (e, so[:300]))
    rc, so, err = C.rg("validate", good)
    R.check("validate clean file: `FILE: ok`, exit 0", rc == 0 and ": ok" in so.decode() + err, so + err.encode())
    # --help everywhere
    for args in (["--help"], ["render", "--help"], ["validate", "--help"], ["themes", "--help"]):
        rc, so, err = C.rg(*args)
        R.check("`resumego %s` exits 0 with usage" % " ".join(args), rc == 0 and "usage" in (so.decode() + err).lower(),
                "rc=%d" % rc)
    # themes
    rc, so, err = C.rg("themes")
    names = C.themes()
    R.check("themes: >= 6 themes", len(names) >= 6, names)
    R.check("themes: one line each with a description",
            all(re.search(r"^%s\s+\S.{10,}" % re.escape(n), so.decode(), re.M) for n in names), so.decode())
    rc, so, err = C.rg("themes", "--json")
    try:
        items = json.loads(so.decode())["items"]
        R.check("themes --json: names match --names", sorted(i["name"] for i in items) == sorted(names), items)
        R.check("themes --json: a two-column theme exists", any(i.get("columns") == 2 for i in items), items)
    except (ValueError, KeyError) as e:
        R.check("themes --json prints JSON", False, str(e))
    R.check("themes: every data/themes/*.json is listed",
            sorted(f[:-5] for f in os.listdir(os.path.join(C.DATA, "themes")) if f.endswith(".json")) == sorted(names), names)
    # batch: one PDF per input; a bad input does not stop the others
    bd = os.path.join(tmp, "batch")
    os.makedirs(bd)
    ins = [os.path.join(C.SHARED, "cases", f) for f in ("21-text-layer.json", "24-links.json", "13-ongoing-roles.json")]
    rc, so, err = C.rg("render", *ins, "-O", bd, "--jobs", "2")
    want = sorted(os.path.splitext(os.path.basename(f))[0] + ".pdf" for f in ins)
    R.check("batch: exit 0", rc == 0, err)
    R.check("batch: one PDF per input, named after it", sorted(os.listdir(bd)) == want, os.listdir(bd))
    R.check("batch: all valid PDFs", all(is_pdf(os.path.join(bd, f)) for f in want), "")
    bd2 = os.path.join(tmp, "batch2")
    os.makedirs(bd2)
    rc, so, err = C.rg("render", ins[0], os.path.join(tmp, "bad1.json"), ins[1], "-O", bd2, "--jobs", "2")
    R.check("batch with one invalid input: exit 1", rc == 1, "rc=%d %r" % (rc, err))
    R.check("batch with one invalid input: the good ones are still written",
            sorted(os.listdir(bd2)) == sorted(os.path.splitext(os.path.basename(f))[0] + ".pdf" for f in (ins[0], ins[1])),
            os.listdir(bd2))
    R.check("batch with one invalid input: error names the file", "bad1.json" in err, err)
    rc, so, err = C.rg("render", ins[0], ins[1], "-o", out)
    R.check("several inputs with -o: exit 2 (needs -O)", rc == 2, "rc=%d %r" % (rc, err))
    nd = os.path.join(tmp, "no", "such", "dir")
    rc, so, err = C.rg("render", ins[0], "-O", nd)
    R.check("-O into a missing directory: created (mkdir -p), PDF written",
            rc == 0 and is_pdf(os.path.join(nd, "21-text-layer.pdf")), "rc=%d %r" % (rc, err))
    blocker = wr("afile", b"x")
    rc, so, err = C.rg("render", ins[0], "-O", os.path.join(blocker, "sub"))
    R.check("-O below a regular file: non-zero exit, message names the path", rc != 0 and "afile" in err,
            "rc=%d %r" % (rc, err))
    # warnings: printed with the JSON pointer; -q silences them
    legacy = os.path.join(C.SHARED, "cases", "16-legacy-keys-a.json")
    rc, so, err = C.rg("render", legacy, "-o", out)
    R.check("warnings carry JSON pointers (/basics/website)", rc == 0 and "/basics/website" in err, err)
    rc, so, err = C.rg("render", legacy, "-o", out, "-q")
    R.check("-q silences warnings", rc == 0 and err.strip() == "", err)
    # --png: the live preview's picture, the pages one under the other at the given width
    rc, so, err = C.rg("render", good, "-O", tmp, "--png", "300")
    png = os.path.join(tmp, "21-text-layer.png")
    with open(png, "rb") as f:
        head = f.read(24)
    w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    R.check("--png 300: a PNG 300 pixels wide, an A4 page high per page (16-pixel gaps)",
            rc == 0 and head[:8] == b"\x89PNG\r\n\x1a\n" and w == 300 and (h + 16) % (425 + 16) == 0,
            "rc=%d %r %dx%d" % (rc, err, w, h))
    for bad in ("10", "5000", "wide"):
        rejected("--png %s" % bad, good, 2, r"--png takes a width from 64 to 2400", "--png", bad)
    R.finish()


if __name__ == "__main__":
    main()
