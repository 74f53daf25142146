#!/usr/bin/env python3
"""Page flow and geometry, in every theme.

- multi-page documents carry the locale's "Page x of y" on every page (en, de, fr, ja, ar)
- no entry header is the last line of a page: its first highlight is on the same page
  (several documents, shifted so that breaks fall at different places; A4 and Letter)
- long URLs, e-mails and words stay inside the margins / their column
- a long job title never overlaps its dates (bbox)
- two-column themes: default-mode pdftotext yields each section whole, never interleaved
  with the other column (case 23 over ALL two-column themes, with a full resume)
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

R = None
TMP = None
POOL = None
_n = [0]


def render(doc, theme, *opts):
    _n[0] += 1
    src = doc if isinstance(doc, str) else C.write_json(TMP, "d%d.json" % _n[0], doc)
    pdf = os.path.join(TMP, "d%d-%s.pdf" % (_n[0], theme))
    rc, err = C.render(src, pdf, "--theme", theme, "-q", *opts)
    return pdf, rc, err


def ok(tag, pdf, rc, err):
    return R.check("%s: exit 0" % tag, rc == 0 and os.path.isfile(pdf), "rc=%d %s" % (rc, err[-300:]))


def column_ranges(t, w):
    th = C.theme_data(t)
    m = th["margin"]
    L, Rt = m["left"], w - m["right"]
    cols = th.get("columns", {})
    if int(cols.get("count", 1)) == 1:
        return [(L, Rt)]
    sw, gap = cols["sidebar_width"], cols["gap"]
    if cols.get("sidebar", "left") == "left":
        return [(L, L + sw), (L + sw + gap, Rt)]
    return [(L, Rt - sw - gap), (Rt - sw, Rt)]


def long_doc(pad):
    work = []
    for i in range(1, 11):
        work.append({"name": "Employer %02d" % i, "position": "Role %02d" % i, "startDate": "%d-03" % (2000 + i),
                     "endDate": "%d-02" % (2001 + i),
                     "highlights": ["First %02d: %s" % (i, "delivered the thing on time " * (1 + (i + pad) % 3))] +
                                   ["More %02d-%d" % (i, k) for k in range(3)]})
    return {"basics": {"name": "Alex Example", "label": "Engineer",
                       "summary": "Padding sentence to move the page breaks. " * (pad * 3)},
            "work": work, "skills": [{"name": "Core", "keywords": ["Go", "SQL"]}]}


def check_page_numbers(themes):
    for loc in ("en", "de", "fr", "ja", "ar"):
        pat = C.locale_data(loc)["page"]
        res = list(POOL.map(lambda t: (t, render(os.path.join(C.SRCROOT, "examples", "resume.json"), t, "--locale", loc)), themes))
        for t, (pdf, rc, err) in res:
            tag = "page x of y [%s %s]" % (t, loc)
            if not ok(tag, pdf, rc, err):
                continue
            n = int(C.pdfinfo(pdf).get("Pages", 0))
            R.check("%s: example resume is multi-page" % tag, n >= 2, n)
            bad = []
            for i in range(1, n + 1):
                want = pat.replace("{page}", str(i)).replace("{pages}", str(n))
                pt = C.norm(re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", C.pdftotext(pdf, "-f", str(i), "-l", str(i))))
                if C.norm(want) not in pt:
                    bad.append("page %d lacks %r (tail %r)" % (i, want, pt[-60:]))
            if loc == "ar":
                # poppler places the numbers of a right-to-left line on the wrong side of
                # the words ("3 من1 صفحة"); the page itself reads right (golden images).
                R.known("%s: every page carries %r" % (tag, pat), not bad, bad,
                        "poppler's bidi reordering of digits inside a right-to-left line")
                pts = [C.pdftotext(pdf, "-f", str(i), "-l", str(i)) for i in range(1, n + 1)]
                R.check("%s: every page carries the word %r and its page number" % (tag, "صفحة"),
                        all(re.search(r"صفحة|من", p) and re.search(r"\b%d\b" % (i + 1), p)
                            for i, p in enumerate(pts)), [p[-80:] for p in pts])
            else:
                R.check("%s: every page carries %r" % (tag, pat), not bad, bad)
    # single-page documents carry no page number
    for t in themes:
        pdf, rc, err = render(os.path.join(C.SHARED, "cases", "21-text-layer.json"), t)
        if ok("one-pager [%s]" % t, pdf, rc, err):
            R.check("one-pager [%s]: no 'Page 1 of 1'" % t, "Page 1 of 1" not in C.pdftotext(pdf), "")


def check_orphans(themes):
    for pad in (0, 1, 2, 3, 4, 5):
        doc = long_doc(pad)
        for paper in ("a4", "letter"):
            res = list(POOL.map(lambda t: (t, render(doc, t, "--paper", paper)), themes))
            for t, (pdf, rc, err) in res:
                tag = "entry headers [%s %s pad %d]" % (t, paper, pad)
                if not ok(tag, pdf, rc, err):
                    continue
                pages = C.bbox(pdf)
                lines = [(pi, ln) for pi, p in enumerate(pages) for ln in p["lines"]]

                def first(s):
                    for pi, ln in lines:
                        if s in ln["text"]:
                            return pi + 1
                    return None
                bad = []
                for i in range(1, 11):
                    a, b, c = first("Role %02d" % i), first("Employer %02d" % i), first("First %02d:" % i)
                    if not (a and a == b == c):
                        bad.append("entry %02d: title p%s employer p%s first highlight p%s" % (i, a, b, c))
                R.check("%s: header and first highlight on the same page" % tag, not bad, bad)
                # the last text line of every page but the last is not an entry header
                last = []
                for pi, p in enumerate(pages[:-1]):
                    body = [ln for ln in p["lines"] if not re.search(r"Page \d+ of \d+", ln["text"])]
                    if body:
                        lt = max(body, key=lambda l: l["box"][3])["text"]
                        if re.search(r"Role \d\d|Employer \d\d", lt):
                            last.append("page %d ends with %r" % (pi + 1, lt))
                R.check("%s: no page ends with an entry header" % tag, not last, last)


def check_margins(themes):
    doc = {"basics": {"name": "Alex Example", "email": "firstname.middlename.lastname.team@subdomain.example-company.co.uk",
                      "url": "https://portfolio.example.com/projects/2024/distributed-systems/consensus?ref=resume&utm_source=pdf",
                      "profiles": [{"network": "GitHub", "username": "averyveryveryverylongusernamethatneverends",
                                    "url": "https://github.com/averyveryveryverylongusernamethatneverends/and/a/long/path"}],
                      "summary": "Supercalifragilisticexpialidociousnessandmoreandmoreletterswithoutanyspaceatall ok."},
           "work": [{"name": "Example Co", "position": "Engineer", "startDate": "2020-01",
                     "url": "https://www.example.com/careers/teams/platform/infrastructure/reliability/very/long/path/index.html",
                     "highlights": ["See https://git.example.com/org/repository-with-a-long-name/-/merge_requests/123456789?tab=diffs",
                                    "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz compliance"]}],
           "skills": [{"name": "Words", "keywords": ["Pneumonoultramicroscopicsilicovolcanoconiosis",
                                                      "Donaudampfschifffahrtsgesellschaftskapitän"]}],
           "interests": [{"name": "Hobbies", "keywords": ["Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]}]}
    for paper in ("a4", "letter"):
        res = list(POOL.map(lambda t: (t, render(doc, t, "--paper", paper)), themes))
        for t, (pdf, rc, err) in res:
            tag = "long tokens [%s %s]" % (t, paper)
            if not ok(tag, pdf, rc, err):
                continue
            out = []
            for pi, p in enumerate(C.bbox(pdf)):
                cols = column_ranges(t, p["w"])
                for w in p["words"]:
                    if not any(a - 0.5 <= w["box"][0] and w["box"][2] <= b + 0.5 for a, b in cols):
                        out.append("p%d [%.1f..%.1f] %r cols %s" % (pi + 1, w["box"][0], w["box"][2], w["text"][:40],
                                                                  [(round(a), round(b)) for a, b in cols]))
            R.check("%s: every word inside the margins / its column" % tag, not out, out[:6])
            flat = re.sub(r"\s", "", C.pdftotext(pdf))
            for s in ("Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz", doc["basics"]["email"]):
                R.check("%s: %r survives wrapping" % (tag, s[:30]), s in flat, "")


def check_title_dates(themes):
    title = "Principal Distinguished Senior Staff Engineer for Platform Reliability, Developer Experience and Infrastructure Modernisation"
    doc = {"basics": {"name": "Alex Example"},
           "work": [{"name": "Example Corporation International Holdings Limited", "position": title,
                     "startDate": "2019-11", "endDate": "2023-12", "highlights": ["Did things"]},
                    {"name": "Short Co", "position": "Dev", "startDate": "2015-09", "highlights": ["Other things"]}],
           "education": [{"institution": "University of Somewhere With An Extremely Long Official Institution Name",
                          "area": "Computer Science and Engineering with a Minor in Applied Mathematics",
                          "studyType": "Bachelor of Science", "startDate": "2011-09", "endDate": "2015-06"}]}
    for paper in ("a4", "letter"):
        res = list(POOL.map(lambda t: (t, render(doc, t, "--paper", paper)), themes))
        for t, (pdf, rc, err) in res:
            tag = "long title vs dates [%s %s]" % (t, paper)
            if not ok(tag, pdf, rc, err):
                continue
            pages = C.bbox(pdf)
            words = [w for p in pages[:1] for w in p["words"]]
            dates = [w for w in words if re.fullmatch(r"(Nov|Dec|Sep|Jun|Present|20\d\d|–|-)", w["text"])]
            others = [w for w in words if w not in dates]
            hits = ["%r %s x %r %s" % (a["text"], [round(v) for v in a["box"]], b["text"], [round(v) for v in b["box"]])
                    for a in dates for b in others if C.overlap(a["box"], b["box"], -0.5)]
            R.check("%s: no word overlaps a date" % tag, not hits, hits[:5])
            txt = C.norm(C.pdftotext(pdf))
            # the dates may sit between the title's first and second line in reading order
            nodate = C.norm(re.sub(r"(Nov|Dec|Sep|Jun) (19|20)\d\d|Present|–", " ", txt))
            R.check("%s: the whole title is printed" % tag, title in nodate, C.context(nodate, "Principal", 80))


def _pos(text, s):
    return [m.start() for m in re.finditer(r"(?<![\w])" + re.escape(s) + r"(?![\w])", text)]


def _flat(s):
    return C.norm(s.replace("-", ""))


def check_columns(themes, cols):
    two = [t for t in themes if cols.get(t, 1) > 1]
    R.check("at least one two-column theme", bool(two), cols)
    with open(os.path.join(C.SRCROOT, "examples", "resume.json"), encoding="utf-8") as f:
        doc = json.load(f)
    # distinctive strings per section (hyphens dropped: pdftotext dehyphenates line ends)
    ex_strings = {
        "work": [h[:40].rsplit(" ", 1)[0] for w in doc.get("work", []) for h in w.get("highlights", [])[:2]],
        "skills": [", ".join(s.get("keywords", [])[:2]) for s in doc.get("skills", []) if len(s.get("keywords", [])) >= 2],
        "languages": [l["language"] for l in doc.get("languages", [])],
        "interests": [", ".join(i.get("keywords", [])) for i in doc.get("interests", []) if i.get("keywords")],
    }
    c23 = {"work": ["A-one", "A-two", "A-three", "B-one", "B-two", "B-three"], "skills": ["Rust", "Go"], "languages": ["Spanish"]}
    for t in two:
        th = C.theme_data(t)
        side = set(th.get("sidebar_sections", []))
        for label, d, strs in (("case 23", os.path.join(C.SHARED, "cases", "23-two-column-order.json"), c23),
                               ("example", doc, ex_strings)):
            strs = {k: [_flat(x) for x in v if x] for k, v in strs.items() if v}
            pdf, rc, err = render(d, t)
            tag = "two-column reading order %s [%s]" % (label, t)
            if not ok(tag, pdf, rc, err):
                continue
            n = int(C.pdfinfo(pdf).get("Pages", 1))
            whole = _flat(C.pdftotext(pdf))
            for sec, items in strs.items():
                miss = [x for x in items if not _pos(whole, x)]
                R.check("%s: %s strings all extracted" % (tag, sec), not miss, miss)
            # per page: each section's text is one run with nothing of the other column inside
            for pg in range(1, n + 1):
                text = _flat(C.pdftotext(pdf, "-f", str(pg), "-l", str(pg)))
                for sec, items in strs.items():
                    pos = [(p, x) for x in items for p in _pos(text, x)[:1]]
                    if len(pos) < 2:
                        continue
                    a = min(p for p, x in pos)
                    b = max(p + len(x) for p, x in pos)
                    span = text[a:b]
                    other = [o for o in strs if o != sec and ((o in side) != (sec in side))]
                    intr = ["%s:%r" % (o, x) for o in other for x in strs[o] if _pos(span, x)]
                    R.check("%s p%d: section %s is one run, not interleaved with the other column" % (tag, pg, sec),
                            not intr, "%s inside the %s run: %r" % (intr[:4], sec, span[:160] + " ... " + span[-160:]))
            if label == "case 23":
                run = whole[whole.find("A-one"):whole.find("B-three")]
                bad = [x for x in ("Rust", "Go", "Spanish") if _pos(run, x)]
                R.check("%s: 'A-one ... B-three' is one run without Rust/Go/Spanish" % tag, not bad, run)


def main():
    global R, TMP, POOL
    C.require_env("cases")
    R = C.Results("it-render-flow")
    TMP = C.mkdtemp("flow")
    POOL = ThreadPoolExecutor(2)
    themes = C.themes()
    cols = C.theme_columns()
    for fn in (lambda: check_page_numbers(themes), lambda: check_orphans(themes), lambda: check_margins(themes),
               lambda: check_title_dates(themes), lambda: check_columns(themes, cols)):
        try:
            fn()
        except Exception:
            import traceback
            R.check("check ran to completion", False, traceback.format_exc()[-1200:])
    POOL.shutdown()
    R.finish()


if __name__ == "__main__":
    main()
