#!/usr/bin/env python3
"""Turn a JSON Resume into a one-column HTML page with the same text, for the peers
(wkhtmltopdf, headless Chromium) in bench/bench-render.sh.

It aims at what a typical HTML resume theme does: one self-contained page, inline CSS,
system fonts (no downloads), A4 print size, links for e-mail, phone and URLs.  Every text
field that our renderer prints is printed here too, so both sides shape and lay out about
the same amount of text.  Python standard library only.

usage: resume_html.py IN.json [OUT.html]   (stdout when OUT is missing)
"""
import html
import json
import sys

CSS = """
@page { size: A4; margin: 16mm 18mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Serif", "DejaVu Serif", serif; font-size: 9.5pt; line-height: 1.3;
       color: #1d2329; margin: 0; }
header { text-align: center; margin-bottom: 10pt; }
h1 { font-size: 24pt; margin: 0; color: #1f3a68; font-weight: 600; }
.label { font-size: 11.5pt; color: #5a6470; margin-top: 2pt; }
.contact { font-size: 8.5pt; color: #5a6470; margin-top: 4pt; }
.contact a { color: inherit; text-decoration: none; }
h2 { font-size: 10.5pt; text-transform: uppercase; letter-spacing: .06em; color: #1f3a68;
     border-bottom: .6pt solid #b9c2cf; padding-bottom: 2pt; margin: 14pt 0 5pt; }
.entry { margin-bottom: 9pt; page-break-inside: avoid; break-inside: avoid; }
.head { display: flex; justify-content: space-between; gap: 12pt; }
.title { font-weight: 600; font-size: 10pt; }
.dates, .muted { color: #5a6470; font-size: 8.5pt; white-space: nowrap; }
p { margin: 3pt 0; }
ul { margin: 3pt 0 0 14pt; padding: 0; }
li { margin: 1pt 0; }
a { color: #1f3a68; }
"""


def esc(v):
    return html.escape(str(v)) if v not in (None, "") else ""


def dates(e):
    start = e.get("startDate") or e.get("date") or e.get("releaseDate") or ""
    end = e.get("endDate")
    if "startDate" in e:
        return "%s – %s" % (start, end or "Present")
    return start


def entry(out, title, sub, when, summary=None, bullets=(), url=None):
    out.append('<div class="entry"><div class="head"><div><span class="title">%s</span>'
               % esc(title))
    if sub:
        out.append(' · %s' % esc(sub))
    out.append('</div><div class="dates">%s</div></div>' % esc(when))
    if url:
        out.append('<div class="muted"><a href="%s">%s</a></div>' % (esc(url), esc(url)))
    if summary:
        out.append("<p>%s</p>" % esc(summary))
    items = [b for b in bullets if b]
    if items:
        out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % esc(b) for b in items))
    out.append("</div>")


def render(r):
    b = r.get("basics", {}) or {}
    out = ['<!DOCTYPE html><html lang="%s"><head><meta charset="utf-8"><title>%s</title>'
           "<style>%s</style></head><body>"
           % (esc((r.get("meta") or {}).get("language", "en")), esc(b.get("name")), CSS)]
    out.append("<header><h1>%s</h1>" % esc(b.get("name")))
    if b.get("label"):
        out.append('<div class="label">%s</div>' % esc(b["label"]))
    contact = []
    if b.get("email"):
        contact.append('<a href="mailto:%s">%s</a>' % (esc(b["email"]), esc(b["email"])))
    if b.get("phone"):
        contact.append('<a href="tel:%s">%s</a>' % (esc(b["phone"].replace(" ", "")),
                                                   esc(b["phone"])))
    if b.get("url"):
        contact.append('<a href="%s">%s</a>' % (esc(b["url"]), esc(b["url"])))
    loc = b.get("location") or {}
    place = ", ".join(esc(loc[k]) for k in ("address", "postalCode", "city", "region",
                                            "countryCode") if loc.get(k))
    if place:
        contact.append(place)
    for p in b.get("profiles") or []:
        contact.append('<a href="%s">%s: %s</a>' % (esc(p.get("url")), esc(p.get("network")),
                                                    esc(p.get("username"))))
    out.append('<div class="contact">%s</div></header>' % " · ".join(contact))
    if b.get("summary"):
        out.append("<h2>Summary</h2><p>%s</p>" % esc(b["summary"]))

    def section(key, heading, fn):
        items = r.get(key) or []
        if items:
            out.append("<section><h2>%s</h2>" % heading)
            for it in items:
                fn(it)
            out.append("</section>")

    section("work", "Experience", lambda e: entry(
        out, e.get("position"), " · ".join(x for x in (e.get("name"), e.get("location")) if x),
        dates(e), e.get("summary"), e.get("highlights") or (), e.get("url")))
    section("projects", "Projects", lambda e: entry(
        out, e.get("name"), ", ".join(e.get("roles") or []), dates(e), e.get("description"),
        e.get("highlights") or (), e.get("url")))
    section("volunteer", "Volunteering", lambda e: entry(
        out, e.get("position"), e.get("organization"), dates(e), e.get("summary"),
        e.get("highlights") or (), e.get("url")))
    section("education", "Education", lambda e: entry(
        out, " ".join(x for x in (e.get("studyType"), e.get("area")) if x),
        e.get("institution"), dates(e),
        ("Score: %s" % e["score"]) if e.get("score") else None, e.get("courses") or (),
        e.get("url")))
    section("awards", "Awards", lambda e: entry(
        out, e.get("title"), e.get("awarder"), e.get("date", ""), e.get("summary")))
    section("certificates", "Certificates", lambda e: entry(
        out, e.get("name"), e.get("issuer"), e.get("date", ""), None, (), e.get("url")))
    section("publications", "Publications", lambda e: entry(
        out, e.get("name"), e.get("publisher"), e.get("releaseDate", ""), e.get("summary"),
        (), e.get("url")))
    section("skills", "Skills", lambda e: entry(
        out, e.get("name"), e.get("level"), "", ", ".join(e.get("keywords") or [])))
    section("languages", "Languages", lambda e: entry(
        out, e.get("language"), e.get("fluency"), ""))
    section("interests", "Interests", lambda e: entry(
        out, e.get("name"), None, "", ", ".join(e.get("keywords") or [])))
    section("references", "References", lambda e: entry(
        out, e.get("name"), None, "", e.get("reference")))
    out.append("</body></html>\n")
    return "".join(out)


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8-sig") as f:
        doc = render(json.load(f))
    if len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(doc)
    else:
        sys.stdout.write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
