#!/usr/bin/env python3
"""Links, outline and metadata, in every theme.

- /Link annotations: mailto:, tel:, https:// (scheme added when missing) and every URL of
  the resume; each /Rect overlaps a word box of the visible text (pdftotext -bbox-layout).
- Outline (qpdf --qdf /Outlines /Title): exactly one entry per non-empty section.
- Metadata (pdfinfo): Title has the name, Author = name, Subject = label, Keywords hold every
  skill name and keyword, Creator names ResumeGo.
"""
import importlib.util
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

_spec = importlib.util.spec_from_file_location(
    "itc", os.path.join(os.path.dirname(os.path.abspath(__file__)), "it-render-common.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)


def nonempty_sections(doc, theme):
    th = C.theme_data(theme)
    secs = list(th.get("sections", [])) + list(th.get("sidebar_sections", []))
    b = doc.get("basics", {}) or {}
    out = []
    for s in secs:
        if s == "summary":
            ok = bool(str(b.get("summary", "")).strip())
        elif s == "contact":
            ok = COLS.get(theme, 1) > 1 and any(b.get(k) for k in ("email", "phone", "url", "location", "profiles"))
        else:
            ok = isinstance(doc.get(s), list) and any(isinstance(x, dict) and x for x in doc[s])
        if ok:
            out.append(s)
    return out


def uris_expected(doc):
    b = doc.get("basics", {})
    want = set()
    if b.get("email"):
        want.add("mailto:" + b["email"])
    if b.get("url"):
        u = b["url"]
        want.add(u if re.match(r"^[a-z]+://", u) else "https://" + u)
    for p in b.get("profiles", []):
        if p.get("url"):
            want.add(p["url"])
    for sec in ("work", "projects", "publications", "volunteer", "education", "awards", "certificates"):
        for it in doc.get(sec, []) or []:
            if isinstance(it, dict) and it.get("url"):
                u = it["url"]
                want.add(u if re.match(r"^[a-z]+://", u) else "https://" + u)
    return want


COLS = {}


def main():
    global COLS
    C.require_env("cases")
    R = C.Results("it-render-links-outline")
    tmp = C.mkdtemp("links")
    themes = C.themes()
    COLS = C.theme_columns()
    en = C.locale_data("en")["headings"]
    inputs = [("24-links", os.path.join(C.SHARED, "cases", "24-links.json")),
              ("example", os.path.join(C.SRCROOT, "examples", "resume.json"))]
    jobs = []
    for label, src in inputs:
        for t in themes:
            jobs.append((label, src, t))

    def do(job):
        label, src, t = job
        pdf = os.path.join(tmp, "%s-%s.pdf" % (label, t))
        rc, err = C.render(src, pdf, "--theme", t, "-q")
        return job, pdf, rc, err

    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(do, jobs))
    for (label, src, t), pdf, rc, err in results:
        tag = "%s [%s]" % (label, t)
        if not R.check("%s: exit 0" % tag, rc == 0, err):
            continue
        with open(src, encoding="utf-8") as f:
            doc = json.load(f)
        objs = C.qdf(pdf, tmp)
        ann, npages = C.annotations(objs)
        uris = [a["uri"] for a in ann]
        for u in sorted(uris_expected(doc)):
            R.check("%s: link annotation %s" % (tag, u), u in uris, uris)
        if doc["basics"].get("phone"):
            digits = re.sub(r"[^\d+]", "", doc["basics"]["phone"])
            R.check("%s: tel: link for the phone" % tag, "tel:" + digits in uris, uris)
        bad_scheme = [u for u in uris if not re.match(r"^(https?://|mailto:|tel:)", u or "")]
        R.check("%s: every link has a scheme" % tag, not bad_scheme, bad_scheme)
        pages = C.bbox(pdf)
        for a in ann:
            p = pages[a["page"] - 1]
            box = C.pdf_rect_to_bbox(a["rect"], p["h"]) if a["rect"] and len(a["rect"]) == 4 else None
            hit = [w["text"] for w in p["words"] if box and C.overlap(box, w["box"])]
            R.check("%s: %s rect overlaps its visible text" % (tag, a["uri"]), bool(hit),
                    "rect %s on page %d has no word" % (box, a["page"]))
            if a["uri"].startswith("mailto:"):
                R.check("%s: mailto rect covers the e-mail" % tag, any(a["uri"][7:] in h for h in hit), hit)
        # outline
        titles = C.outline_titles(objs)
        want = [en[s] for s in nonempty_sections(doc, t)]
        R.check("%s: outline has one entry per non-empty section" % tag, sorted(titles) == sorted(want),
                "outline %s, expected %s" % (titles, want))
        dup = sorted({x for x in titles if titles.count(x) > 1})
        R.check("%s: no duplicate outline entries" % tag, not dup, dup)
        # metadata
        info = C.pdfinfo(pdf)
        b = doc["basics"]
        R.check("%s: Title contains the name" % tag, b["name"] in info.get("Title", ""), info.get("Title"))
        R.check("%s: Author is the name" % tag, info.get("Author") == b["name"], info.get("Author"))
        if b.get("label"):
            R.check("%s: Subject is the label" % tag, info.get("Subject") == b["label"], info.get("Subject"))
        kw = info.get("Keywords", "")
        want_kw = [s.get("name") for s in doc.get("skills", [])] + [k for s in doc.get("skills", []) for k in s.get("keywords", [])]
        miss = [k for k in want_kw if k and k not in kw]
        R.check("%s: Keywords hold every skill and keyword" % tag, not miss, "missing %s in %r" % (miss, kw))
        R.check("%s: Creator names ResumeGo" % tag, info.get("Creator", "").startswith("ResumeGo"), info.get("Creator"))
    R.finish()


if __name__ == "__main__":
    main()
