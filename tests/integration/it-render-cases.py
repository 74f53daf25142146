#!/usr/bin/env python3
"""One check function per case in ../shared/cases/README.md (each a CLASS of fault).

Cases: 01 02 04 05 07 08 09 11 12 13 15 16 18 20 21 23 24 25.  Most run in every theme
(`resumego themes --names`).  Deliberate product differences (see the issue): remote image
URLs are never fetched -- a warning, layout intact, PDF still produced.
"""
import base64
import http.server
import importlib.util
import json
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
import threading
import time
import unicodedata
import zlib
from concurrent.futures import ThreadPoolExecutor

_spec = importlib.util.spec_from_file_location(
    "itc", os.path.join(os.path.dirname(os.path.abspath(__file__)), "it-render-common.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)

R = None
TMP = None
THEMES = []
COLS = {}
CASES = None
POOL = None

DATE_KEYS = {"startDate", "endDate", "date", "releaseDate"}


def case_path(name):
    return os.path.join(CASES, name)


def load_case(name):
    with open(case_path(name), encoding="utf-8") as f:
        return json.load(f)


def strings(v, acc=None, key=None):
    """(key, string) for every string value, dates excluded."""
    if acc is None:
        acc = []
    if isinstance(v, str):
        if key not in DATE_KEYS and v.strip():
            acc.append((key, v))
    elif isinstance(v, list):
        for x in v:
            strings(x, acc, key)
    elif isinstance(v, dict):
        for k, x in v.items():
            strings(x, acc, k)
    return acc


_n = [0]


def render_doc(doc, theme="classic", *opts, name=None, env=None, timeout=60):
    """doc: dict (written to TMP) or a path.  Returns (pdf, rc, stderr)."""
    _n[0] += 1
    if isinstance(doc, dict):
        src = C.write_json(TMP, "%s-%d.json" % (name or "doc", _n[0]), doc)
    else:
        src = doc
    pdf = os.path.join(TMP, "%s-%s-%d.pdf" % (name or os.path.basename(src), theme, _n[0]))
    rc, err = C.render(src, pdf, "--theme", theme, *opts, env=env, timeout=timeout)
    return pdf, rc, err


def all_themes(doc, *opts, name=None):
    """Renders doc in every theme (2 at a time); {theme: (pdf, rc, err)}."""
    res = POOL.map(lambda t: (t, render_doc(doc, t, *opts, name=name)), THEMES)
    return dict(res)


def rendered_ok(tag, pdf, rc, err):
    return R.check("%s: exit 0 and a PDF" % tag, rc == 0 and os.path.isfile(pdf) and os.path.getsize(pdf) > 0,
                   "rc=%s stderr=%s" % (rc, err.strip()[-500:]))


def nospace(s):
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", s))


def runs_of(pdf):
    return C.text_runs(C.qdf(pdf, TMP))


def glyph_checks(tag, pdf, needed_text):
    """No .notdef / unmapped glyphs; every needed code point drawn by some font."""
    runs = runs_of(pdf)
    notdef = [(r["base"], r["text"]) for r in runs if r["notdef"]]
    unm = [(r["base"], r["unmapped"][:5]) for r in runs if r["unmapped"]]
    R.check("%s: no .notdef glyph drawn" % tag, not notdef, notdef[:5])
    R.check("%s: every glyph has a ToUnicode entry (cmap coverage)" % tag, not unm, unm[:5])
    drawn = set("".join(r["text"] for r in runs))
    missing = sorted({ch for ch in needed_text if not ch.isspace() and ch not in drawn})
    R.check("%s: every input code point is drawn by some font" % tag, not missing,
            "missing: %s" % " ".join("U+%04X(%s)" % (ord(c), c) for c in missing[:20]))
    return runs


# ---- 01 ---------------------------------------------------------------------------------

def case01():
    doc = load_case("01-cjk-text.json")
    strs = strings(doc)
    for t, (pdf, rc, err) in all_themes(case_path("01-cjk-text.json"), name="c01").items():
        tag = "01 cjk-text [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        text = nospace(C.pdftotext(pdf))
        miss = [s for k, s in strs if nospace(s) not in text]
        R.check("%s: pdftotext has every input string (NFC, whitespace ignored)" % tag, not miss, miss)
        fonts = C.pdffonts(pdf)
        R.check("%s: at least one embedded Type0/CID font" % tag,
                any("CID" in f["line"] for f in fonts), [f["line"] for f in fonts])
        notemb = [f["name"] for f in fonts if f["emb"] != "yes"]
        R.check("%s: every font emb yes" % tag, not notemb, notemb)
        cjk = "".join(ch for k, s in strs for ch in s
                      if re.match(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]", ch))
        glyph_checks(tag, pdf, cjk)


# ---- 02 ---------------------------------------------------------------------------------

def case02():
    for t, (pdf, rc, err) in all_themes(case_path("02-cjk-bold.json"), name="c02").items():
        tag = "02 cjk-bold [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        runs = runs_of(pdf)
        pos = [r for r in runs if "首席" in r["text"] or "工程师" in r["text"]]
        summ = [r for r in runs if "普通" in r["text"] or "文字" in r["text"]]
        R.check("%s: position CJK glyphs found" % tag, bool(pos), [r["text"] for r in runs])
        R.check("%s: position CJK glyphs drawn bold (BaseFont Bold or Tr 2)" % tag,
                pos and all("Bold" in r["base"] or r["tr"] == 2 for r in pos),
                [(r["base"], r["text"], r["tr"]) for r in pos])
        R.check("%s: summary CJK glyphs drawn regular" % tag,
                summ and all("Bold" not in r["base"] and r["tr"] == 0 for r in summ),
                [(r["base"], r["text"], r["tr"]) for r in summ])


# ---- 04 ---------------------------------------------------------------------------------

def case04():
    doc = load_case("04-symbols-fallback.json")
    hl = doc["work"][0]["highlights"]
    for t, (pdf, rc, err) in all_themes(case_path("04-symbols-fallback.json"), name="c04").items():
        tag = "04 symbols [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        text = C.norm(C.pdftotext(pdf))
        for s in hl:
            # a leading bullet the user typed may be merged with the theme's bullet
            R.check("%s: text has %r exactly" % (tag, s), C.norm(s) in text, C.context(text, s[-10:]))
        glyph_checks(tag, pdf, "".join(hl))


# ---- 05 ---------------------------------------------------------------------------------

BIDI_CTRL = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
PRES_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")
RTL_CH = re.compile("[\u0590-\u08ff]")


def logical_text(pdf):
    return C.norm(BIDI_CTRL.sub("", C.pdftotext(pdf, "-raw")))


RAW_RTL_WHY = ("poppler's -raw and -bbox-layout keep content-stream order and start a new word "
               "whenever a glyph lies left of the previous one; cairo 1.16 writes right-to-left "
               "runs in logical order, so every letter is its own word there (the default mode "
               "reorders them; see docs/internals/render-layout.md)")


def case05():
    doc = load_case("05-rtl-arabic-hebrew.json")
    heb = {"basics": {"name": "ישראל ישראלי", "summary": "מפתח עם 10 שנות ניסיון ב-C++"}}
    mixed = {"basics": {"name": "Alex Example", "label": "Engineer",
                        "summary": "Backend engineer who builds reliable payment systems in Go and Rust."},
             "projects": [{"name": "منصة الدفع", "description": "Payments platform for a Gulf bank",
                           "highlights": ["Designed the ledger API"]}]}
    for t in THEMES:
        th = C.theme_data(t)
        right = th["margin"]["right"]
        left = th["margin"]["left"]
        for label, d in (("arabic", case_path("05-rtl-arabic-hebrew.json")), ("hebrew", heb)):
            pdf, rc, err = render_doc(d, t, name="c05" + label)
            tag = "05 rtl %s [%s]" % (label, t)
            if not rendered_ok(tag, pdf, rc, err):
                continue
            raw = C.pdftotext(pdf, "-raw")
            pf = sorted(set(PRES_FORMS.findall(raw)))
            R.check("%s: no Arabic Presentation Forms in extracted text" % tag, not pf,
                    " ".join("U+%04X" % ord(c) for c in pf[:20]))
            lt = logical_text(pdf)
            src = doc if label == "arabic" else heb
            for k, s in strings(src):
                R.known("%s: pdftotext -raw has logical-order %s %r" % (tag, k, s), C.norm(s) in lt,
                        "extracted (bidi controls removed): %r" % lt[:300], RAW_RTL_WHY)
            # What poppler's default mode can give: every right-to-left word whole (words
            # with a lam-alef ligature excepted: poppler flips the two letters of it).
            dt = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", C.pdftotext(pdf))
            dwords = set(C.norm(dt).split())
            for k, s in strings(src):
                for w in C.norm(s).split():
                    # lam-alef ligatures and Arabic vowel marks (harakat): poppler flips the
                    # ligature's letters and puts a positioned mark in a word of its own
                    # (mixed-script tokens like "ב-C++" are checked part by part below)
                    if not RTL_CH.search(w) or re.search("[A-Za-z0-9]", w) or "\u0644\u0627" in w or "\u0644\u0623" in w or \
                            "\u0644\u0622" in w or "\u0644\u0625" in w or \
                            re.search("[\u064b-\u065f\u0670]", w):
                        continue
                    w = w.strip(".,:;")
                    R.check("%s: default-mode pdftotext has the word %r of %s" % (tag, w, k),
                            any(w in x for x in dwords), sorted(dwords)[:40])
            # RTL lines end at the right margin (one-column themes: page margin; the
            # centred header of a centred theme excluded)
            if COLS.get(t, 1) == 1:
                pages = C.bbox(pdf)
                pg = pages[0]
                edge = pg["w"] - right
                loc = "ar" if label == "arabic" else "he"
                heads = {"".join(sorted(nospace(h))) for h in C.locale_data(loc)["headings"].values()}
                bad = []
                for ln in pg["lines"]:
                    if not RTL_CH.search(ln["text"]):
                        continue
                    x0, y0, x1, y1 = ln["box"]
                    # section headings may carry a theme ornament (accent bar) at the edge
                    if "".join(sorted(nospace(ln["text"]))) in heads:
                        continue
                    # the date column, mirrored to the left edge
                    if abs(x0 - left) < 1.5 and re.search(r"\d{4}", ln["text"]):
                        continue
                    centred = abs((x0 + x1) / 2 - pg["w"] / 2) < 3
                    if th.get("header", {}).get("align") == "center" and centred:
                        continue
                    if abs(x1 - edge) > 1.0:
                        bad.append((round(x0, 1), round(x1, 1), ln["text"][:40]))
                R.check("%s: RTL lines end at the right margin (xMax=%.1f +-1)" % (tag, edge), not bad, bad[:6])
            # embedded LTR words stay LTR, in logical order right-to-left on the line
            words = [w for p in C.bbox(pdf) for w in p["words"]]
            wt = [w["text"] for w in words]
            ltr = ["Python", "PostgreSQL"] if label == "arabic" else ["C++", "10"]
            for w in ltr:
                R.check("%s: LTR token %r intact in default-mode pdftotext" % (tag, w),
                        w in C.pdftotext(pdf), C.pdftotext(pdf)[:300])
                R.check("%s: LTR token %r extracted intact by -bbox-layout" % (tag, w),
                        any(w in x for x in wt), "words: %s" % wt[:60])
            if label == "arabic":
                py = [w for w in words if "Python" in w["text"]]
                pg_ = [w for w in words if "PostgreSQL" in w["text"]]
                if py and pg_:
                    R.check("%s: 'Python' (first) sits right of 'PostgreSQL' (RTL paragraph order)" % tag,
                            py[0]["box"][0] > pg_[0]["box"][0],
                            "Python x=%.1f PostgreSQL x=%.1f" % (py[0]["box"][0], pg_[0]["box"][0]))
        # English resume with one Arabic project name stays LTR
        pdf, rc, err = render_doc(mixed, t, name="c05mixed")
        tag = "05 rtl english+arabic-project [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        pages = C.bbox(pdf)
        lines = [ln for ln in pages[0]["lines"] if "Backend" in ln["text"] or "Designed" in ln["text"]]
        lo = left if COLS.get(t, 1) == 1 else None
        R.check("%s: English body lines found" % tag, bool(lines), [l["text"] for l in pages[0]["lines"]][:20])
        if lo is not None:
            bad = [(round(l["box"][0], 1), l["text"][:30]) for l in lines if abs(l["box"][0] - lo) > 1.5]
            R.check("%s: English lines start at the left margin (page not mirrored)" % tag, not bad, bad)
        else:
            xs = [w["box"][0] for l in lines for w in l["words"][:1]]
            R.check("%s: English lines left-aligned (same xMin)" % tag, xs and max(xs) - min(xs) < 1.5, xs)
        lt = logical_text(pdf)
        R.check("%s: Arabic project name whole in default-mode pdftotext" % tag,
                "منصة الدفع" in re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "",
                                       C.pdftotext(pdf)), C.pdftotext(pdf)[:300])
        R.known("%s: Arabic project name in logical order (-raw)" % tag, "منصة الدفع" in lt,
                "extracted: %r" % C.context(lt, "Payments", 80), RAW_RTL_WHY)
        pf = sorted(set(PRES_FORMS.findall(C.pdftotext(pdf, "-raw"))))
        R.check("%s: no Arabic Presentation Forms" % tag, not pf, pf)
        # An English resume of someone with an Arabic name stays LTR: the page follows the
        # bulk of the text, not the first letter of the name.
        arname = {"basics": {"name": "لينا حداد", "label": "Backend Engineer",
                             "summary": "Designed payment systems for ten years."}}
        pdf, rc, err = render_doc(arname, t, name="c05arname")
        tag = "05 rtl english resume, arabic name [%s]" % t
        if rendered_ok(tag, pdf, rc, err):
            lines = [ln for ln in C.bbox(pdf)[0]["lines"] if "Designed" in ln["text"]]
            if lo is not None:
                R.check("%s: the English summary starts at the left margin (page not mirrored)" % tag,
                        lines and abs(lines[0]["box"][0] - lo) <= 1.5, [(l["box"], l["text"][:30]) for l in lines])
            else:
                R.check("%s: the English summary is on the page" % tag, bool(lines), lines)


# ---- 07 ---------------------------------------------------------------------------------

def case07():
    doc = load_case("07-cyrillic-greek-latin-ext.json")
    strs = strings(doc)
    for t, (pdf, rc, err) in all_themes(case_path("07-cyrillic-greek-latin-ext.json"), name="c07").items():
        tag = "07 cyrillic-greek-latin-ext [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        text = C.norm(C.pdftotext(pdf))
        miss = [s for k, s in strs if C.norm(s) not in text]
        R.check("%s: pdftotext equality for every field" % tag, not miss, miss)
        glyph_checks(tag, pdf, "".join(s for k, s in strs))


# ---- 08 ---------------------------------------------------------------------------------

def page_footer_re(loc="en"):
    pat = C.locale_data(loc)["page"]
    return re.compile(re.escape(pat).replace(re.escape("{page}"), r"\d+").replace(re.escape("{pages}"), r"\d+"))


def case08():
    work = []
    for i in range(1, 13):
        work.append({"name": "Example Co %02d" % i, "position": "Engineer %02d" % i,
                     "startDate": "%d-%02d" % (2000 + i, i), "endDate": "%d-%02d" % (2001 + i, i),
                     "highlights": ["Item %02d-%s shipped %d features to %d users" % (i, c, 3 * i, 100 * i + ord(c))
                                    for c in "abcde"]})
    doc = {"basics": {"name": "Alex Example"}, "work": work}
    foot = page_footer_re()
    for paper in ("a4", "letter"):
        for t in THEMES:
            th = C.theme_data(t)
            pdf, rc, err = render_doc(doc, t, "--paper", paper, name="c08")
            tag = "08 page-flow [%s %s]" % (t, paper)
            if not rendered_ok(tag, pdf, rc, err):
                continue
            info = C.pdfinfo(pdf)
            R.check("%s: Pages >= 2" % tag, int(info.get("Pages", 0)) >= 2, info.get("Pages"))
            sizes = C.page_sizes(pdf)
            R.check("%s: every page exactly %s" % (tag, paper), sizes and all(C.size_is(s, paper) for s in sizes), sizes)
            text = C.pdftotext(pdf)
            bad = []
            for i in range(1, 13):
                for c in "abcde":
                    n = len(re.findall(r"Item %02d-%s\b" % (i, c), text))
                    if n != 1:
                        bad.append(("Item %02d-%s" % (i, c), n))
            R.check("%s: all 60 highlights appear exactly once" % tag, not bad, bad[:10])
            pages = C.bbox(pdf)

            def page_of(pred):
                for pi, p in enumerate(pages):
                    for ln in p["lines"]:
                        if pred(ln["text"]):
                            return pi + 1, ln
                return None, None
            orphans = []
            for i in range(1, 13):
                ph, _ = page_of(lambda s: "Engineer %02d" % i in s)
                pc, _ = page_of(lambda s: "Example Co %02d" % i in s)
                pa, _ = page_of(lambda s: "Item %02d-a" % i in s)
                if not (ph and ph == pc == pa):
                    orphans.append("entry %02d: title p%s, employer p%s, first highlight p%s" % (i, ph, pc, pa))
            R.check("%s: no entry header is the last line of a page" % tag, not orphans, orphans)
            over = []
            for pi, p in enumerate(pages):
                limit = p["h"] - th["margin"]["bottom"] + 1.0
                for ln in p["lines"]:
                    if foot.search(ln["text"]):
                        continue
                    if ln["box"][3] > limit:
                        over.append("p%d yMax=%.1f > %.1f: %s" % (pi + 1, ln["box"][3], limit, ln["text"][:40]))
            R.check("%s: no line box crosses the bottom margin" % tag, not over, over[:5])


# ---- 09 ---------------------------------------------------------------------------------

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


def case09():
    doc = load_case("09-long-tokens.json")
    url = doc["basics"]["url"]
    email = doc["basics"]["email"]
    for paper in ("a4", "letter"):
        res = dict(POOL.map(lambda t: (t, render_doc(case_path("09-long-tokens.json"), t, "--paper", paper, name="c09")), THEMES))
        for t, (pdf, rc, err) in res.items():
            tag = "09 long-tokens [%s %s]" % (t, paper)
            if not rendered_ok(tag, pdf, rc, err):
                continue
            pages = C.bbox(pdf)
            out = []
            for pi, p in enumerate(pages):
                cols = column_ranges(t, p["w"])
                for wd in p["words"]:
                    x0, _, x1, _ = wd["box"]
                    if not any(a - 0.5 <= x0 and x1 <= b + 0.5 for a, b in cols):
                        out.append("p%d [%.1f..%.1f] %r (columns %s)" % (pi + 1, x0, x1, wd["text"][:50],
                                                                       [(round(a, 1), round(b, 1)) for a, b in cols]))
            R.check("%s: every word inside the margins / its column" % tag, not out, out[:6])
            text = C.norm(C.pdftotext(pdf))
            joined = re.sub(r"\s", "", text)
            for s in (url, email, "Pneumonoultramicroscopicsilicovolcanoconiosis", "Donaudampfschifffahrtsgesellschaftskapitän"):
                R.check("%s: %r present (whitespace ignored)" % (tag, s[:40]), s in joined, "")
            ann, _ = C.annotations(C.qdf(pdf, TMP))
            uris = [a["uri"] for a in ann]
            R.check("%s: link annotation with the full original URL" % tag, url in uris, uris)
            R.check("%s: mailto: annotation with the full e-mail" % tag, "mailto:" + email in uris, uris)


# ---- 11 ---------------------------------------------------------------------------------

def case11():
    for t, (pdf, rc, err) in all_themes(case_path("11-no-double-escaping.json"), name="c11").items():
        tag = "11 no-double-escaping [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        text = C.norm(C.pdftotext(pdf))
        for s in ('Smith & Sons "Widgets" <Ltd>', "O'Brien's", "<b>not bold</b>", "R&D Lead", "A/B tests & 'quick wins'"):
            R.check("%s: literal %r" % (tag, s), s in text, C.context(text, s[:5]))
        ent = [e for e in ("&amp;", "&#39;", "&quot;", "&lt;", "&gt;", "&#") if e in text]
        R.check("%s: no HTML entities" % tag, not ent, ent)
    R.note("11: HTML/DOCX exports (xmllint part) do not exist in this product; not checked")


# ---- 12 ---------------------------------------------------------------------------------

def case12():
    doc = load_case("12-special-characters.json")
    kws = doc["skills"][0]["keywords"]
    for t, (pdf, rc, err) in all_themes(case_path("12-special-characters.json"), name="c12").items():
        tag = "12 special-characters [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        text = C.norm(C.pdftotext(pdf))
        miss = [k for k in kws + ["first_last@example.com"] if k not in text]
        R.check("%s: every keyword literally" % tag, not miss, miss)
        starred = "*Alpha*" in text
        want = ["Acme *Alpha* and *Beta*", "Lead on *ProjectAlpha* and *ProjectBeta*"] if starred else \
               ["Acme Alpha and Beta", "Lead on ProjectAlpha and ProjectBeta"]
        miss = [w for w in want if w not in text]
        R.check("%s: asterisks printed or italicised consistently, neighbours intact" % tag, not miss,
                "missing %s; text: %r" % (miss, text[:300]))


# ---- 13 ---------------------------------------------------------------------------------

def case13():
    for loc in ("en", "de", "fr"):
        present = C.locale_data(loc)["present"]
        res = dict(POOL.map(lambda t: (t, render_doc(case_path("13-ongoing-roles.json"), t, "--locale", loc, name="c13")), THEMES))
        for t, (pdf, rc, err) in res.items():
            tag = "13 ongoing-roles [%s %s]" % (t, loc)
            if not rendered_ok(tag, pdf, rc, err):
                continue
            text = C.norm(C.pdftotext(pdf))
            n = len(re.findall(re.escape(present), text))
            rng = re.findall(r"\d{4}\s*[–-]\s*" + re.escape(present), text)
            R.check("%s: all three ranges end with %r" % (tag, present), len(rng) == 3,
                    "ranges found %s (%d occurrences of %r) in %r" % (rng, n, present, text[:400]))
            bad = [b for b in ("Invalid", "NaN", "undefined", "1970") if b in text]
            R.check("%s: no Invalid/NaN/undefined/1970" % tag, not bad, bad)
    rc, out, err = C.rg("validate", case_path("13-ongoing-roles.json"))
    allout = out.decode() + err
    R.check("13 validate: accepts missing endDate (exit 0)", rc == 0, allout)
    R.check("13 validate: documented answer for endDate \"\" (pointer /education/0/endDate)",
            "/education/0/endDate" in allout, allout)
    R.check("13 validate: documented answer for endDate \"present\" (pointer /volunteer/0/endDate)",
            "/volunteer/0/endDate" in allout, allout)
    R.check("13 validate: no complaint about /work/0 (endDate omitted is valid)", "/work/0" not in allout, allout)


# ---- 15 ---------------------------------------------------------------------------------

def headings_in(pdf):
    return C.outline_titles(C.qdf(pdf, TMP))


def case15():
    en = C.locale_data("en")["headings"]
    minimal = {"basics": {"name": "Alex Example"}}
    for t in THEMES:
        for label, d in (("minimal", minimal), ("fragments", case_path("15-missing-fields.json"))):
            pdf, rc, err = render_doc(d, t, name="c15" + label)
            tag = "15 missing-fields %s [%s]" % (label, t)
            crashed = rc not in (0, 1)
            R.check("%s: no crash (exit 0, or 1 with a clear error)" % tag, not crashed and (rc == 0 or "error" in err),
                    "rc=%d %s" % (rc, err[-400:]))
            if rc != 0:
                continue
            ok, msg = C.qpdf_check(pdf)
            R.check("%s: qpdf --check" % tag, ok, msg)
            text = C.pdftotext(pdf)
            bad = C.bad_tokens_in(text)
            R.check("%s: no undefined/null/NaN/[object Object]" % tag, not bad, bad)
            hs = headings_in(pdf)
            flat = nospace(text).lower()
            if label == "minimal":
                R.check("%s: no section headings (outline empty)" % tag, not hs, hs)
                present = [h for h in en.values() if nospace(h).lower() in flat]
                R.check("%s: no heading text printed" % tag, not present, present)
            else:
                for sec in ("education", "projects", "contact"):
                    h = en[sec]
                    R.check("%s: empty section %s has no heading" % (tag, sec), h not in hs, hs)
                R.check("%s: Example Co and Go printed" % tag, "Example Co" in text and "Go" in text, text[:300])


# ---- 16 ---------------------------------------------------------------------------------

def case16():
    for t in THEMES:
        pa, rca, erra = render_doc(case_path("16-legacy-keys-a.json"), t, name="c16a")
        pb, rcb, errb = render_doc(case_path("16-legacy-keys-b.json"), t, name="c16b")
        tag = "16 legacy-keys [%s]" % t
        if not (rendered_ok(tag + " A", pa, rca, erra) and rendered_ok(tag + " B", pb, rcb, errb)):
            continue
        ta, tb = C.pdftotext(pa), C.pdftotext(pb)
        R.check("%s: A and B give identical pdftotext" % tag, ta == tb, "A=%r B=%r" % (ta[:200], tb[:200]))
        ua = sorted(a["uri"] for a in C.annotations(C.qdf(pa, TMP))[0])
        ub = sorted(a["uri"] for a in C.annotations(C.qdf(pb, TMP))[0])
        R.check("%s: same set of link URIs" % tag, ua == ub, "A=%s B=%s" % (ua, ub))
        R.check("%s: https://corp.example.com link present" % tag, "https://corp.example.com" in ua, ua)
        ia, ib = C.pdfimages_list(pa), C.pdfimages_list(pb)
        R.check("%s: same images" % tag, [(i["width"], i["height"]) for i in ia] == [(i["width"], i["height"]) for i in ib],
                "A=%s B=%s" % (ia, ib))
        if t == THEMES[0]:
            for k in ("website", "picture", "company"):
                R.check("16 legacy-keys: A warns about mapped legacy key %r" % k, k in erra, erra)
            R.check("16 legacy-keys: B has no legacy-key warning", "legacy" not in errb.lower(), errb)
    both = {"basics": {"name": "Alex Example", "url": "https://v1.example.com", "website": "https://legacy.example.com"},
            "work": [{"name": "V1 Corp", "company": "Legacy Corp", "position": "Dev", "startDate": "2020-01"}]}
    pdf, rc, err = render_doc(both, "classic", name="c16both")
    if rendered_ok("16 legacy-keys both", pdf, rc, err):
        text = C.pdftotext(pdf)
        R.check("16 legacy-keys both: v1 name wins", "V1 Corp" in text and "Legacy Corp" not in text, text[:300])
        uris = [a["uri"] for a in C.annotations(C.qdf(pdf, TMP))[0]]
        R.check("16 legacy-keys both: v1 url wins", "https://v1.example.com" in uris and
                not any("legacy.example.com" in u for u in uris), uris)
        R.check("16 legacy-keys both: a warning names the conflicting keys",
                "/work/0" in err and "company" in err and "website" in err, err)


# ---- 18 ---------------------------------------------------------------------------------

def png_rgba(w, h):
    raw = bytearray()
    for y in range(h):
        raw.append(0)
        for x in range(w):
            a = 255 if (x - w / 2) ** 2 + (y - h / 2) ** 2 < (w / 2.2) ** 2 else 0
            raw += bytes((40 + 3 * x % 200, 90, 200 - 2 * y % 180, a))
    def chunk(tp, data):
        c = struct.pack(">I", len(data)) + tp + data
        return c + struct.pack(">I", zlib.crc32(tp + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b""))


def png_rgb_big(w, h):
    row = b"\x00" + bytes((i * 7) % 256 for i in range(3 * w))
    def chunk(tp, data):
        c = struct.pack(">I", len(data)) + tp + data
        return c + struct.pack(">I", zlib.crc32(tp + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(row * h, 6)) + chunk(b"IEND", b""))


def find_jpeg():
    for root in ("/usr/share/doc", "/usr/share/pixmaps", "/usr/share/backgrounds", "/usr/share"):
        for dp, dn, fn in os.walk(root):
            for f in sorted(fn):
                if f.lower().endswith((".jpg", ".jpeg")):
                    p = os.path.join(dp, f)
                    try:
                        if os.path.getsize(p) < 300000:
                            with open(p, "rb") as fh:
                                if fh.read(3) == b"\xff\xd8\xff":
                                    return p
                    except OSError:
                        pass
    return None


class _Hits(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):
        _Hits.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *a):
        pass


def case18():
    photo_themes = [t for t in THEMES if C.theme_data(t).get("header", {}).get("photo")]
    R.check("18: at least one theme shows a photo", bool(photo_themes), THEMES)
    d = os.path.join(TMP, "c18")
    os.makedirs(d)
    uri = "data:image/png;base64," + base64.b64encode(png_rgba(64, 64)).decode()
    jpg = find_jpeg()
    if jpg:
        shutil.copy(jpg, os.path.join(d, "photo.jpg"))
    with open(os.path.join(d, "big.png"), "wb") as f:
        f.write(png_rgb_big(2400, 2400))
    with open(os.path.join(d, "photo.webp"), "wb") as f:
        f.write(b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
    with open(os.path.join(d, "corrupt.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Hits)
    port = srv.server_address[1]
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    base = {"basics": {"name": "Alex Example", "label": "Engineer", "email": "alex@example.com",
                       "summary": "Builds reliable systems."},
            "work": [{"name": "Example Co", "position": "Engineer", "startDate": "2020-01",
                      "highlights": ["Built the billing pipeline"]}]}

    def with_img(x):
        doc = json.loads(json.dumps(base))
        doc["basics"]["image"] = x
        return C.write_json(d, "img-%d.json" % abs(hash(x) % 100000), doc)
    noimg = C.write_json(d, "noimg.json", base)
    try:
        for t in photo_themes:
            # (a) data: PNG with alpha -> one image + smask
            pdf, rc, err = render_doc(with_img(uri), t, name="c18a")
            tag = "18 photo (a) data: PNG alpha [%s]" % t
            if rendered_ok(tag, pdf, rc, err):
                im = C.pdfimages_list(pdf)
                R.check("%s: one image + one smask" % tag,
                        len([i for i in im if i["type"] == "image"]) == 1 and len([i for i in im if i["type"] == "smask"]) == 1,
                        [i["line"] for i in im])
            # (b) local JPEG relative to the input file, embedded as is
            if jpg:
                pdf, rc, err = render_doc(with_img("./photo.jpg"), t, name="c18b")
                tag = "18 photo (b) local ./photo.jpg [%s]" % t
                if rendered_ok(tag, pdf, rc, err):
                    im = C.pdfimages_list(pdf)
                    R.check("%s: one JPEG image (DCT)" % tag,
                            len(im) == 1 and im[0]["enc"] == "jpeg", [i["line"] for i in im])
                    xd = os.path.join(d, "x-" + t)
                    C.run(["pdfimages", "-j", pdf, xd])
                    got = [os.path.join(d, f) for f in os.listdir(d) if f.startswith("x-" + t) and f.endswith(".jpg")]
                    same = False
                    if got:
                        with open(got[0], "rb") as a, open(jpg, "rb") as b:
                            same = a.read() == b.read()
                    R.check("%s: JPEG embedded as is (extracted stream == source file)" % tag, same, got)
            elif t == photo_themes[0]:
                R.note("18 (b): no small JPEG found on the system; JPEG sub-check skipped")
            # (b) ./photo.webp (a 1x1 lossless WebP): one image, or a warning if unsupported
            pdf, rc, err = render_doc(with_img("./photo.webp"), t, name="c18w")
            tag = "18 photo (b) ./photo.webp [%s]" % t
            if rendered_ok(tag, pdf, rc, err):
                im = [i for i in C.pdfimages_list(pdf) if i["type"] == "image"]
                R.check("%s: one image, or no image and a warning" % tag,
                        len(im) == 1 or (not im and "/basics/image" in err), "images %s, stderr %r" % (im, err))
            # a corrupt image file: warning, PDF, no image
            pdf, rc, err = render_doc(with_img("./corrupt.png"), t, name="c18bad")
            tag = "18 photo corrupt ./corrupt.png [%s]" % t
            if rendered_ok(tag, pdf, rc, err):
                R.check("%s: a warning on /basics/image" % tag, "/basics/image" in err, err)
                R.check("%s: no image embedded" % tag, not C.pdfimages_list(pdf), C.pdfimages_list(pdf))
            # a missing local file: warning, PDF
            pdf, rc, err = render_doc(with_img("./no-such-photo.png"), t, name="c18miss")
            tag = "18 photo missing ./no-such-photo.png [%s]" % t
            if rendered_ok(tag, pdf, rc, err):
                R.check("%s: a warning on /basics/image" % tag, "/basics/image" in err, err)
            # large image scaled down
            pdf, rc, err = render_doc(with_img("./big.png"), t, name="c18big")
            tag = "18 photo large 2400x2400 PNG [%s]" % t
            if rendered_ok(tag, pdf, rc, err):
                im = [i for i in C.pdfimages_list(pdf) if i["type"] == "image"]
                R.check("%s: one image, scaled down (< 2400 px)" % tag, len(im) == 1 and im[0]["width"] < 2400,
                        [i["line"] for i in im])
                R.check("%s: PDF stays small (< 1 MB)" % tag, os.path.getsize(pdf) < 1 << 20, os.path.getsize(pdf))
            # (c) http URL served locally, (d) unresolvable https URL: not fetched
            ref_pdf, _, _ = render_doc(noimg, t, name="c18ref")
            ref_words = [(w["text"], tuple(round(v, 1) for v in w["box"])) for p in C.bbox(ref_pdf) for w in p["words"]]
            for lab, u in (("(c) http://127.0.0.1", "http://127.0.0.1:%d/photo-progressive.jpg" % port),
                           ("(d) https://img.invalid", "https://img.invalid/p.png")):
                t0 = time.time()
                pdf, rc, err = render_doc(with_img(u), t, name="c18r")
                dt = time.time() - t0
                tag = "18 photo %s [%s]" % (lab, t)
                if not rendered_ok(tag, pdf, rc, err):
                    continue
                R.check("%s: warning on /basics/image" % tag, "/basics/image" in err, err)
                R.check("%s: fast (< 3 s, no fetch timeout)" % tag, dt < 3.0, "%.2fs" % dt)
                R.check("%s: qpdf --check" % tag, *C.qpdf_check(pdf))
                R.check("%s: no image embedded" % tag, not C.pdfimages_list(pdf), C.pdfimages_list(pdf))
                words = [(w["text"], tuple(round(v, 1) for v in w["box"])) for p in C.bbox(pdf) for w in p["words"]]
                R.check("%s: layout intact (same word boxes as without an image)" % tag, words == ref_words,
                        "first difference: %s" % (next(((a, b) for a, b in zip(words, ref_words) if a != b), (len(words), len(ref_words))),))
        R.check("18 photo (c): the renderer made no HTTP request", not _Hits.hits, _Hits.hits)
    finally:
        srv.shutdown()


# ---- 20 ---------------------------------------------------------------------------------

def case20():
    han = "".join(chr(0x4E00 + 37 * i) for i in range(300))
    assert len(set(han)) == 300
    doc = {"basics": {"name": "测试用户", "summary": han}}
    latin = load_case("21-text-layer.json")
    latin["basics"]["summary"] = "Backend engineer with ten years of experience in payments and logistics. " * 3
    for t, (pdf, rc, err) in all_themes(doc, name="c20").items():
        tag = "20 cjk-subsetting [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        fonts = C.pdffonts(pdf)
        bad = [f["line"] for f in fonts if f["emb"] != "yes" or f["sub"] != "yes" or not re.match(r"^[A-Z]{6}\+", f["name"])]
        R.check("%s: every font emb yes, sub yes, ABCDEF+ prefix" % tag, fonts and not bad, bad or fonts)
        cjkf = [f["name"] for f in fonts if "CJK" in f["name"] or "SC" in f["name"]]
        R.check("%s: Chinese text uses Simplified-Chinese glyph forms (SC font)" % tag,
                cjkf and all("sc" in f.split("+")[-1].lower() for f in cjkf), [f["name"] for f in fonts])
        sz = os.path.getsize(pdf)
        R.check("%s: size < 400 KB" % tag, sz < 400 * 1024, "%d bytes" % sz)
        R.check("%s: one page" % tag, C.pdfinfo(pdf).get("Pages") == "1", C.pdfinfo(pdf).get("Pages"))
        text = nospace(C.pdftotext(pdf))
        miss = [c for c in han if c not in text]
        R.check("%s: all 300 Han characters extracted" % tag, not miss, "".join(miss[:30]))
    for t, (pdf, rc, err) in all_themes(latin, name="c20latin").items():
        tag = "20 latin one-pager [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        sz = os.path.getsize(pdf)
        R.check("%s: size < 60 KB" % tag, sz < 60 * 1024, "%d bytes" % sz)
        fonts = C.pdffonts(pdf)
        bad = [f["line"] for f in fonts if f["emb"] != "yes" or f["sub"] != "yes"]
        R.check("%s: every font emb yes, sub yes" % tag, fonts and not bad, bad)


# ---- 21 ---------------------------------------------------------------------------------

def case21():
    for t, (pdf, rc, err) in all_themes(case_path("21-text-layer.json"), name="c21").items():
        tag = "21 text-layer [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        text = C.norm(C.pdftotext(pdf))
        for s in ("Alex Example", "alex@example.com", "Built the billing pipeline"):
            R.check("%s: text has %r" % (tag, s), s in text, text[:200])
        R.check("%s: pdffonts lists a font" % tag, len(C.pdffonts(pdf)) >= 1, "")
        w, h = C.page_sizes(pdf)[0]
        big = [i["line"] for i in C.pdfimages_list(pdf) if i["width"] * i["height"] > 0 and False]
        # image size in points is not in -list; a full-page raster would show as a large pixel count
        big = [i["line"] for i in C.pdfimages_list(pdf) if i["width"] * i["height"] > 1000 * 1000]
        R.check("%s: no page-covering image" % tag, not big, big)
    # copy-paste gives the exact words: every section heading (outline title) is one word run
    ex = os.path.join(C.SRCROOT, "examples", "resume.json")
    if os.path.isfile(ex):
        for t, (pdf, rc, err) in all_themes(ex, name="c21ex").items():
            tag = "21 text-layer headings copy-paste [%s]" % t
            if not rendered_ok(tag, pdf, rc, err):
                continue
            text = C.norm(C.pdftotext(pdf)).lower()
            hs = headings_in(pdf)
            R.check("%s: outline has headings" % tag, bool(hs), hs)
            bad = [h for h in hs if C.norm(h).lower() not in text]
            def how(h):
                pat = r"\s*".join(re.escape(ch) for ch in h.lower())
                m = re.search(pat, text)
                return "%r extracted as %r" % (h, m.group(0) if m else "(not found at all)")
            R.check("%s: every heading extracts as whole words (no letter-spacing damage)" % tag, not bad,
                    "; ".join(how(h) for h in bad))


# ---- 23 ---------------------------------------------------------------------------------

def tokens_order(text, toks):
    pos = []
    for tk in toks:
        m = re.search(r"(?<![\w-])" + re.escape(tk) + r"(?![\w-])", text)
        pos.append(m.start() if m else -1)
    return pos


def case23():
    main = ["A-one", "A-two", "A-three", "B-one", "B-two", "B-three"]
    side = ["Rust", "Go", "Spanish"]
    res = all_themes(case_path("23-two-column-order.json"), name="c23")
    single = [t for t in THEMES if COLS.get(t, 1) == 1]
    ref = None
    if single:
        pdf, rc, err = res[single[0]]
        if rc == 0:
            tx = C.pdftotext(pdf)
            ref = [tk for _, tk in sorted(zip(tokens_order(tx, main + side), main + side))]
    for t, (pdf, rc, err) in res.items():
        tag = "23 two-column-order [%s, %d col]" % (t, COLS.get(t, 1))
        if not rendered_ok(tag, pdf, rc, err):
            continue
        text = C.pdftotext(pdf)
        pm = tokens_order(text, main)
        R.check("%s: A-one..B-three all present, in order" % tag, -1 not in pm and pm == sorted(pm), list(zip(main, pm)))
        if -1 in pm:
            continue
        run = text[pm[0]:pm[-1]]
        inter = [s for s in side if re.search(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", run)]
        R.check("%s: default-mode pdftotext yields A-one..B-three as one run (no sidebar words inside)" % tag,
                not inter, "%s inside %r" % (inter, run[:300]))
        if ref:
            mine = [tk for _, tk in sorted(zip(tokens_order(text, main + side), main + side))]
            # per-section order: main tokens in the same relative order, side tokens too
            R.check("%s: per-section token order equals the single-column theme's" % tag,
                    [x for x in mine if x in main] == [x for x in ref if x in main] and
                    [x for x in mine if x in side] == [x for x in ref if x in side], "mine=%s ref=%s" % (mine, ref))


# ---- 24 ---------------------------------------------------------------------------------

def case24():
    want = {"mailto:alex@example.com": "alex@example.com", "https://alex.example.com": "alex.example.com",
            "https://github.com/alex-example": None, "https://demo.example.com": "Demo",
            "https://doi.example.org/10.0000/demo": None}
    for t, (pdf, rc, err) in all_themes(case_path("24-links.json"), name="c24").items():
        tag = "24 links [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        ann, npages = C.annotations(C.qdf(pdf, TMP))
        uris = [a["uri"] for a in ann]
        for u in want:
            R.check("%s: /Link /URI %s" % (tag, u), u in uris, uris)
        tel = [u for u in uris if u and u.startswith("tel:")]
        R.check("%s: tel: link digits match +1-555-0100" % tag, not tel or re.sub(r"\D", "", tel[0]) == "15550100", tel)
        pages = C.bbox(pdf)
        for a in ann:
            p = pages[a["page"] - 1]
            box = C.pdf_rect_to_bbox(a["rect"], p["h"])
            hit = [w["text"] for w in p["words"] if C.overlap(box, w["box"])]
            R.check("%s: %s rect overlaps visible text" % (tag, a["uri"]), bool(hit), "rect %s, no word" % (box,))
            lab = want.get(a["uri"])
            if lab:
                R.check("%s: %s rect overlaps %r" % (tag, a["uri"], lab), any(lab in h for h in hit), hit)
        text = C.pdftotext(pdf)
        R.check("%s: publication URL or link text visible" % tag,
                "doi.example.org" in text or "A Paper" in text, "")


# ---- 25 ---------------------------------------------------------------------------------

def case25():
    doc = load_case("21-text-layer.json")
    doc["basics"]["image"] = "https://img.invalid/p.png"
    src = C.write_json(TMP, "c25.json", doc)
    can = shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    for t in THEMES:
        pdf = os.path.join(TMP, "c25-%s.pdf" % t)
        cmd = ([shutil.which("unshare"), "-n"] if can else []) + [C.BIN, "render", src, "-o", pdf, "--theme", t]
        t0 = time.time()
        rc, out, err = C.run(cmd, timeout=30)
        dt = time.time() - t0
        tag = "25 network-independence [%s]%s" % (t, " (unshare -n)" if can else "")
        if not rendered_ok(tag, pdf, rc, err):
            continue
        R.check("%s: renders in < 1 s" % tag, dt < 1.0, "%.2fs" % dt)
        if C.theme_data(t).get("header", {}).get("photo"):
            R.check("%s: warning for the remote image" % tag, "/basics/image" in err, err)
        R.check("%s: qpdf --check" % tag, *C.qpdf_check(pdf))
    if not can:
        R.note("25: `unshare -n` not usable here; timed without a network namespace")
    # 50 concurrent renders, bounded memory
    d = os.path.join(TMP, "c25-many")
    os.makedirs(d)
    procs = []
    t0 = time.time()
    for i in range(50):
        procs.append(subprocess.Popen([C.BIN, "render", src, "-o", os.path.join(d, "%02d.pdf" % i), "-q",
                                       "--theme", THEMES[i % len(THEMES)]],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    rcs = []
    peak_kb = 0
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        rcs.append(p.returncode)
        peak_kb = max(peak_kb, ru.ru_maxrss)
    dt = time.time() - t0
    R.check("25: 50 concurrent renders all exit 0", all(r == 0 for r in rcs), rcs)
    R.check("25: 50 concurrent renders finish in < 30 s", dt < 30, "%.1fs" % dt)
    R.check("25: 50 PDFs written", len([f for f in os.listdir(d) if f.endswith(".pdf")]) == 50, os.listdir(d))
    R.check("25: peak RSS of one render process <= 64 MB", peak_kb <= 64 * 1024,
            "%d KB (largest ru_maxrss of the 50 render processes)" % peak_kb)
    R.note("25: peak child RSS %.1f MB; 50 concurrent renders in %.1fs" % (peak_kb / 1024.0, dt))


def case_order():
    """meta.sectionOrder (written by the web editor) reorders the sections in every theme;
    sections it does not name keep their places; junk in it is ignored."""
    base = {"basics": {"name": "Order Test", "summary": "Summary line Qz"},
            "work": [{"name": "WorkCoQz", "position": "Dev"}], "education": [{"institution": "EduUniQz"}],
            "projects": [{"name": "ProjQz"}], "languages": [{"language": "LangQz"}]}
    words = ["WorkCoQz", "EduUniQz", "ProjQz"]

    def order_in(pdf):
        t = C.pdftotext(pdf, "-raw")
        return sorted((t.find(w), w) for w in words if t.find(w) >= 0)

    plain = all_themes(base, name="order-plain")
    want = ["EduUniQz", "ProjQz", "WorkCoQz"]
    doc = dict(base, meta={"sectionOrder": ["education", 7, "projects", "education", "nope", "work"]})
    res = all_themes(doc, name="order")
    for th in THEMES:
        pdf, rc, err = res[th]
        if not rendered_ok("order/%s" % th, pdf, rc, err):
            continue
        got = [w for _, w in order_in(pdf)]
        R.check("order/%s: sections follow meta.sectionOrder" % th, got == want, got)
        p0, p1 = C.pdftotext(plain[th][0], "-raw"), C.pdftotext(pdf, "-raw")
        if p0.find("LangQz") > max(p0.find(w) for w in words):
            R.check("order/%s: a section it does not name keeps its place" % th,
                    p1.find("LangQz") > max(p1.find(w) for w in words), p1.find("LangQz"))


# ---- emoji --------------------------------------------------------------------------------

EMOJI = ["👩\u200d💻", "👨\u200d👩\u200d👧\u200d👦", "🇩🇪", "🇯🇵", "👍🏽", "❤️", "1️⃣", "🚀",
         "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", "🫠", "☕"]


def colourful_pixels(pdf, tag):
    """Pixels of page 1 far from grey (an emoji is colourful, text and rules are not)."""
    out = os.path.join(TMP, tag + "-px")
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", pdf, out], check=True)
    data = open(out + "-1.ppm", "rb").read()
    # binary PPM: "P6\n<w> <h>\n255\n" then RGB triples
    parts = data.split(b"\n", 3)
    px = parts[3]
    n = 0
    for i in range(0, len(px) - 2, 3):
        r, g, b = px[i], px[i + 1], px[i + 2]
        if max(r, g, b) - min(r, g, b) > 90:
            n += 1
    return n


def case_emoji():
    """Emoji clusters (ZWJ sequences, flags, skin tones, keycaps, tag flags, a Unicode 14
    emoji) are drawn in colour as one picture each, copy as exactly the characters written,
    and leave a PDF that qpdf finds clean; a heart without VS16 stays text."""
    line = " ".join(EMOJI)
    doc = {"basics": {"name": "Emoji Person 👩\u200d💻", "label": "Engineer " + line,
                      "summary": "Loves ☕ and 🐧; family 👨\u200d👩\u200d👧\u200d👦, again 🚀🚀🚀 and ❤ as text."},
           "work": [{"name": "Rocket Co 🚀", "position": "Dev 💡",
                     "highlights": ["Shipped 🎉 " + "🎉" * 60]}]}
    plain = json.loads(json.dumps(doc, ensure_ascii=False))
    for k in ("name", "label", "summary"):
        plain["basics"][k] = re.sub(r"[^\x00-\u024f]", "x", plain["basics"][k])
    plain["work"][0] = {"name": "Rocket Co x", "position": "Dev x", "highlights": ["Shipped x " + "x" * 60]}
    res, res_plain = all_themes(doc, name="emoji"), all_themes(plain, name="emoji-plain")
    for t in THEMES:
        pdf, rc, err = res[t]
        tag = "emoji [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        text = nospace(C.pdftotext(pdf))
        for e in EMOJI + ["👨\u200d👩\u200d👧\u200d👦,", "🚀🚀🚀", "🎉" * 60]:
            R.check("%s: copies %s exactly" % (tag, ascii(e)), nospace(e) in text, C.context(text, e[:1]))
        R.check("%s: a heart without VS16 copies as the plain heart" % tag, "❤astext" in text, C.context(text, "❤"))
        q = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
        R.check("%s: qpdf --check clean (no warnings)" % tag, q.returncode == 0 and "WARNING" not in q.stdout + q.stderr,
                (q.stdout + q.stderr)[-400:])
        imgs = subprocess.run(["pdfimages", "-list", pdf], capture_output=True, text=True).stdout.splitlines()[2:]
        pics = [l.split() for l in imgs if len(l.split()) > 5 and l.split()[2] == "image"]
        rgb = [f for f in pics if f[5] == "rgb"]
        # 81 emoji drawn (cairo stores a picture without colour, e.g. a white flag, as grey)
        R.check("%s: each emoji is a colour picture" % tag, len(pics) >= 81 and len(rgb) >= 70,
                (len(pics), len(rgb)))
        if res_plain[t][1] == 0:
            c1, c0 = colourful_pixels(pdf, "emoji-" + t), colourful_pixels(res_plain[t][0], "emoji-plain-" + t)
            R.check("%s: the page has the emoji's colours" % tag, c1 > c0 + 200, (c1, c0))

# ---- one baseline -------------------------------------------------------------------------

def shifted_runs(pdf, fonts):
    """In every text block that shows all of `fonts` (base-name fragments), the vertical
    moves between its runs within a line (Td with a y part under a line's height): []
    when they share one baseline."""
    objs = C.qdf(pdf, TMP)
    base = {}
    for body in objs.values():
        for name, num in re.findall(r"/(f-\d+-\d+) (\d+) 0 R", body):
            m = re.search(r"/BaseFont /(\S+)", objs.get(int(num), ""))
            if m:
                base[name] = m.group(1)
    moves = []
    for body in objs.values():
        if "stream" not in body or "BT" not in body:
            continue
        data = C._stream_of(body)
        if isinstance(data, bytes):
            data = data.decode("latin-1")
        for bt in re.findall(r"\bBT\b(.*?)\bET\b", data or "", re.S):
            used = {base.get(f, f) for f in re.findall(r"/(f-\d+-\d+) [\d.]+ Tf", bt)}
            if all(any(frag in u for u in used) for frag in fonts):
                # in em (cairo sets the size in Tm); a move of a line or more is a new line
                moves += [float(y) for _, y in re.findall(r"([-\d.]+) ([-\d.]+) Td", bt)
                          if 1e-3 < abs(float(y)) < 0.9]
    return moves


def case_baseline():
    """Runs of different scripts on one line share its baseline, whichever script comes
    first (pango 1.50 aligns them on the first run's script baseline: Arabic after Chinese
    sat 0.45 em high)."""
    lines = ["中文 أنا Latin.", "Latin 中文 أنا.", "日本語 עברית Latin.", "한국어 عربي text."]
    doc = {"basics": {"name": "Baseline Test"},
           "work": [{"name": "Co", "position": "Dev", "highlights": lines}]}
    for t, (pdf, rc, err) in all_themes(doc, name="baseline").items():
        tag = "baseline [%s]" % t
        if not rendered_ok(tag, pdf, rc, err):
            continue
        for fonts in (["CJK", "Arabic"], ["CJK", "Hebrew"]):
            mv = shifted_runs(pdf, fonts)
            R.check("%s: %s and %s runs share the line's baseline" % (tag, fonts[0], fonts[1]), not mv, mv[:6])

CASE_FUNCS = [("order", case_order), ("emoji", case_emoji), ("baseline", case_baseline), ("01", case01), ("02", case02), ("04", case04), ("05", case05), ("07", case07), ("08", case08),
              ("09", case09), ("11", case11), ("12", case12), ("13", case13), ("15", case15), ("16", case16),
              ("18", case18), ("20", case20), ("21", case21), ("23", case23), ("24", case24), ("25", case25)]


def main():
    global R, TMP, THEMES, COLS, CASES, POOL
    C.require_env("cases")
    R = C.Results("it-render-cases")
    TMP = C.mkdtemp("cases")
    CASES = os.path.join(C.SHARED, "cases")
    THEMES = C.themes()
    COLS = C.theme_columns()
    POOL = ThreadPoolExecutor(max_workers=2)
    only = set(sys.argv[1:])
    for num, fn in CASE_FUNCS:
        if only and num not in only:
            continue
        t0 = time.time()
        nfail = len(R.failed)
        try:
            fn()
        except Exception as e:  # a crash in one case must not hide the others
            import traceback
            R.check("case %s ran to completion" % num, False, traceback.format_exc()[-1200:])
        print("case %s: %d new failures (%.1fs)" % (num, len(R.failed) - nfail, time.time() - t0), flush=True)
    POOL.shutdown()
    R.finish()


if __name__ == "__main__":
    main()
