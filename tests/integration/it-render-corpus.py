#!/usr/bin/env python3
"""Every real resume in ../shared/corpus/resumes/ renders in every theme, on A4 and Letter.

Per PDF: `qpdf --check` passes; `pdftotext` holds basics.name and every employer name
(work[].name / company, or top-level experience[] name / company), compared after NFC and
whitespace normalisation; no undefined / null / NaN / Invalid Date / [object Object] that
the input itself does not contain; every page is exactly A4 (595.276x841.89) or Letter
(612x792).  Rendering uses the batch mode (`-O DIR --jobs 2`), one batch per theme+paper.
"""
import importlib.util
import os
import sys
from concurrent.futures import ThreadPoolExecutor

_spec = importlib.util.spec_from_file_location(
    "itc", os.path.join(os.path.dirname(os.path.abspath(__file__)), "it-render-common.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)

import json


def strings_of(v, acc):
    if isinstance(v, str):
        acc.append(v)
    elif isinstance(v, list):
        for x in v:
            strings_of(x, acc)
    elif isinstance(v, dict):
        for k, x in v.items():
            strings_of(x, acc)
    return acc


def expected_names(doc):
    """basics.name and every employer name the document has."""
    out = []
    b = doc.get("basics")
    if isinstance(b, dict) and isinstance(b.get("name"), str) and b["name"].strip():
        out.append(("basics.name", b["name"]))
    for key in ("work", "experience"):
        lst = doc.get(key)
        if not isinstance(lst, list):
            continue
        for i, w in enumerate(lst):
            if not isinstance(w, dict):
                continue
            nm = w.get("name")
            if not (isinstance(nm, str) and nm.strip()):
                nm = w.get("company")
            if isinstance(nm, str) and nm.strip():
                out.append(("%s[%d] employer" % (key, i), nm))
    return out


def main():
    C.require_env("corpus/resumes")
    R = C.Results("it-render-corpus")
    cdir = os.path.join(C.SHARED, "corpus", "resumes")
    files = sorted(os.path.join(cdir, f) for f in os.listdir(cdir) if f.endswith(".json"))
    R.check("corpus has resumes", len(files) > 0, cdir)
    docs = {}
    for f in files:
        with open(f, "rb") as fh:
            raw = fh.read()
        docs[f] = json.loads(raw.decode("utf-8-sig"))
    themes = C.themes()
    tmp = C.mkdtemp("corpus")

    combos = [(t, p) for t in themes for p in ("a4", "letter")]

    def batch(tp):
        t, p = tp
        outdir = os.path.join(tmp, "%s-%s" % (t, p))
        os.makedirs(outdir)
        rc, out, err = C.rg("render", *files, "-O", outdir, "--jobs", "2", "--theme", t,
                            "--paper", p, "-q", timeout=180)
        return tp, outdir, rc, err

    with ThreadPoolExecutor(max_workers=2) as ex:
        batches = list(ex.map(batch, combos))

    def check_one(args):
        (t, p), outdir, f = args
        res = []
        base = os.path.splitext(os.path.basename(f))[0]
        pdf = os.path.join(outdir, base + ".pdf")
        tag = "%s/%s/%s" % (t, p, base)
        if not os.path.isfile(pdf) or os.path.getsize(pdf) == 0:
            res.append(("%s: PDF produced" % tag, False, "missing %s" % pdf))
            return res
        res.append(("%s: PDF produced" % tag, True, ""))
        ok, msg = C.qpdf_check(pdf)
        res.append(("%s: qpdf --check" % tag, ok, msg))
        text = C.pdftotext(pdf)
        ntext = C.norm(text)
        for label, name in expected_names(docs[f]):
            nn = C.norm(name)
            res.append(("%s: text contains %s %r" % (tag, label, nn), nn in ntext,
                        "not found in pdftotext output (%d chars)" % len(ntext)))
        instr = " ".join(strings_of(docs[f], []))
        bad = [b for b in C.bad_tokens_in(text) if b not in C.bad_tokens_in(instr)]
        res.append(("%s: no undefined/null/NaN/Invalid Date/[object Object]" % tag, not bad,
                    "; ".join("%r in ...%s..." % (b, C.context(text, b)) for b in bad)))
        sizes = C.page_sizes(pdf)
        wrong = [(i + 1, s) for i, s in enumerate(sizes) if not C.size_is(s, p)]
        res.append(("%s: every page is exactly %s" % (tag, p), sizes and not wrong,
                    "page sizes %s" % (wrong or sizes)))
        return res

    jobs = []
    for (tp, outdir, rc, err) in batches:
        R.check("%s/%s: batch render exit 0" % tp, rc == 0, "rc=%d %s" % (rc, err.strip()[-800:]))
        for f in files:
            jobs.append((tp, outdir, f))
    with ThreadPoolExecutor(max_workers=2) as ex:
        for res in ex.map(check_one, jobs):
            for label, ok, ev in res:
                R.check(label, ok, ev)
    R.finish()


if __name__ == "__main__":
    main()
