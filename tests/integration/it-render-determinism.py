#!/usr/bin/env python3
"""Same input + options -> byte-identical PDF.

- repeated runs, in every theme, A4 and Letter
- TZ = UTC, America/Los_Angeles, Asia/Kolkata, Pacific/Chatham, Etc/GMT+12 (with and
  without SOURCE_DATE_EPOCH): identical bytes
- SOURCE_DATE_EPOCH changes the CreationDate, and only that; it is written as that instant
- batch `-O DIR --jobs 2` output identical to single renders (whole corpus, classic+sidebar)
"""
import hashlib
import importlib.util
import os
import re
from concurrent.futures import ThreadPoolExecutor

_spec = importlib.util.spec_from_file_location(
    "itc", os.path.join(os.path.dirname(os.path.abspath(__file__)), "it-render-common.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)

ZONES = ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham", "Etc/GMT+12"]


def sha(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def main():
    C.require_env("cases", "corpus/resumes")
    R = C.Results("it-render-determinism")
    tmp = C.mkdtemp("det")
    themes = C.themes()
    inputs = [os.path.join(C.SRCROOT, "examples", "resume.json"),
              os.path.join(C.SHARED, "cases", "01-cjk-text.json"),
              os.path.join(C.SHARED, "cases", "13-ongoing-roles.json")]
    n = [0]

    def rend(src, theme, paper, env):
        n[0] += 1
        out = os.path.join(tmp, "r%d.pdf" % n[0])
        rc, err = C.render(src, out, "--theme", theme, "--paper", paper, "-q", env=env)
        return out if rc == 0 else None, rc, err

    jobs = []
    for src in inputs:
        for t in themes:
            for paper in ("a4", "letter"):
                for sde in (None, "1700000000"):
                    envs = [{"TZ": z, "SOURCE_DATE_EPOCH": sde} for z in ZONES] + [{"TZ": None, "SOURCE_DATE_EPOCH": sde}]
                    jobs.append((src, t, paper, sde, envs))

    def do(job):
        src, t, paper, sde, envs = job
        outs = [rend(src, t, paper, e) for e in envs] + [rend(src, t, paper, envs[0])]
        return job, outs

    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(do, jobs))
    for (src, t, paper, sde, envs), outs in results:
        tag = "%s [%s %s SDE=%s]" % (os.path.basename(src), t, paper, sde)
        fails = [(e, rc, err) for (o, rc, err), e in zip(outs, envs + [envs[0]]) if o is None]
        if not R.check("%s: renders" % tag, not fails, fails[:2]):
            continue
        hs = [sha(o) for o, _, _ in outs]
        R.check("%s: byte-identical across runs and TZ %s" % (tag, ZONES + ["unset"]), len(set(hs)) == 1,
                list(zip(ZONES + ["unset", "again"], hs)))
    # SOURCE_DATE_EPOCH changes the CreationDate (and nothing about the content)
    src = inputs[0]
    a, _, _ = rend(src, "classic", "a4", {"SOURCE_DATE_EPOCH": "1700000000", "TZ": "Asia/Kolkata"})
    b, _, _ = rend(src, "classic", "a4", {"SOURCE_DATE_EPOCH": "1600000000", "TZ": "UTC"})
    c, _, _ = rend(src, "classic", "a4", {"SOURCE_DATE_EPOCH": None})
    if a and b and c:
        R.check("SOURCE_DATE_EPOCH: different epochs give different PDFs", sha(a) != sha(b), "")
        ia = C.run(["pdfinfo", "-isodates", a])[1].decode()
        ib = C.run(["pdfinfo", "-isodates", b])[1].decode()
        ic = C.run(["pdfinfo", "-isodates", c])[1].decode()
        ca = re.search(r"CreationDate:\s*(\S+)", ia)
        cb = re.search(r"CreationDate:\s*(\S+)", ib)
        R.check("SOURCE_DATE_EPOCH=1700000000 -> CreationDate 2023-11-14T22:13:20 UTC",
                ca and ca.group(1) in ("2023-11-14T22:13:20Z", "2023-11-14T22:13:20+00:00"), ca and ca.group(1))
        R.check("SOURCE_DATE_EPOCH=1600000000 -> CreationDate 2020-09-13T12:26:40 UTC",
                cb and cb.group(1) in ("2020-09-13T12:26:40Z", "2020-09-13T12:26:40+00:00"), cb and cb.group(1))
        R.check("no SOURCE_DATE_EPOCH: no implicit (wall-clock) CreationDate",
                "CreationDate" not in ic, re.findall(r"CreationDate.*", ic))
        R.check("SOURCE_DATE_EPOCH: text identical", C.pdftotext(a) == C.pdftotext(b) == C.pdftotext(c), "")
    # batch == single
    cdir = os.path.join(C.SHARED, "corpus", "resumes")
    files = sorted(os.path.join(cdir, f) for f in os.listdir(cdir) if f.endswith(".json"))
    files += inputs[1:]
    for t in ("classic", "sidebar", "tech"):
        if t not in themes:
            continue
        od = os.path.join(tmp, "batch-" + t)
        os.makedirs(od)
        rc, out, err = C.rg("render", *files, "-O", od, "--jobs", "2", "--theme", t, "-q", timeout=180)
        R.check("batch [%s]: exit 0" % t, rc == 0, err[-500:])

        def single(f):
            o = os.path.join(tmp, "single-%s-%s.pdf" % (t, os.path.basename(f)))
            rc2, err2 = C.render(f, o, "--theme", t, "-q")
            return f, o, rc2
        with ThreadPoolExecutor(2) as ex:
            singles = list(ex.map(single, files))
        diff = []
        for f, o, rc2 in singles:
            bp = os.path.join(od, os.path.splitext(os.path.basename(f))[0] + ".pdf")
            if rc2 != 0 or not os.path.isfile(bp) or sha(bp) != sha(o):
                diff.append(os.path.basename(f))
        R.check("batch --jobs 2 [%s]: every PDF identical to the single render" % t, not diff, diff)
    R.finish()


if __name__ == "__main__":
    main()
