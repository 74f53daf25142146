#!/usr/bin/env python3
"""Summarise the results.tsv written by bench/bench-render.sh as Markdown: our figures, the
peers' figures from the same run, the ratios, and PASS/MISS against the targets of issue 2.

usage: bench_summary.py RESULTS.tsv
"""
import statistics
import sys
from collections import defaultdict

DEFAULT_THEME = "classic"  # one column, serif: the closest to the peers' HTML page
FILES = ("sample-resume", "sample-long")
TARGETS = {
    "warm_ms": 10.0,    # sample-resume, single-threaded, ms/doc (median)
    "docs_2t": 180.0,   # sample-resume, docs/s on 2 cores (2 worker processes)
    "cold_ms": 40.0,    # cold `resumego render` process (median)
    "rss_mb": 40.0,     # peak RSS
}


def num(s):
    return None if s in ("-", "") else float(s)


def load(path):
    d = defaultdict(dict)
    notes, peers, machine = [], {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            kind = c[0]
            if kind == "machine":
                machine[c[1]] = c[2]
            elif kind == "peer":
                peers[c[1]] = c[2]
            elif kind == "note":
                notes.append(c[1])
            elif kind == "warm":  # file theme median p95 pages bytes cpu
                d["warm"][(c[1], c[2])] = (float(c[3]), float(c[4]), int(c[5]), int(c[6]))
                d["warmcpu"][(c[1], c[2])] = float(c[7])
            elif kind == "tput":  # file theme threads docs/s cpu_ms_per_doc
                d["tput"][(c[1], c[2], int(c[3]))] = float(c[4])
                d["tputcpu"][(c[1], c[2], int(c[3]))] = float(c[5])
            elif kind == "rss":  # phase kb
                d["rss"][c[1]] = int(c[2])
            elif kind == "cold":  # tool file theme median min max runs
                d["cold"][(c[1], c[2], c[3])] = (num(c[4]), num(c[5]), num(c[6]), int(c[7]))
            elif kind == "procrss":  # tool file theme kb
                d["procrss"][(c[1], c[2], c[3])] = int(c[4])
            elif kind == "par":  # tool file processes docs/s
                d["par"][(c[1], c[2], int(c[3]))] = num(c[4])
            elif kind == "chromium-warm":  # file tabs median p95 docs/s
                d["crwarm"][(c[1], int(c[2]))] = (float(c[3]), float(c[4]), float(c[5]))
    return d, notes, peers, machine


def fmt(v, nd=1):
    return "–" if v is None else ("%.*f" % (nd, v))


def ratio(a, b):
    """How many times a is larger than b, as text."""
    if a is None or b is None or b == 0:
        return "–"
    return "%.1f×" % (a / b)


def verdict(ok):
    return "PASS" if ok else "MISS"


def main(path):
    d, notes, peers, m = load(path)
    out = []
    w = out.append
    w("### Machine and run\n")
    w("- %s CPUs online (nproc), %s, %s RAM, %s" % (m.get("nproc"), m.get("cpu"), m.get("mem"),
                                                    m.get("os")))
    w("- build: %s; commit %s; %s" % (m.get("buildtype"), m.get("commit"), m.get("date")))
    w("- load average at start %s, at end %s (the machine is shared; figures are noisier when "
      "it is busy)" % (m.get("load_start"), m.get("load_end")))
    for k, v in sorted(peers.items()):
        w("- peer: %s" % v)
    w("")

    themes = sorted({t for (_, t) in d["warm"]}, key=lambda t: (t != DEFAULT_THEME, t))
    threads = sorted({n for (_, _, n) in d["tput"]})
    w("### ResumeGo, in process (bench-render)\n")
    w("Load + render per document, input already in memory, one renderer per worker process (cairo 1.16 is not safe with renderers in several threads). "
      "median/p95 ms = wall time of one document in one thread; CPU ms = median CPU time of "
      "that thread per document; docs/s nP (CPU ms/doc) = wall-clock throughput of n worker processes "
      "and the CPU time they spent per document. When CPU ms/doc stays flat from 1 to 2 "
      "threads, the renderer is not contending with itself and any shortfall in docs/s comes "
      "from other load on the cores.\n")
    hdr = "| file | theme | pages | PDF KB | median ms | p95 ms | CPU ms | " + \
        " | ".join("docs/s %dP (CPU ms/doc)" % n for n in threads) + \
        " | cold CLI median ms | CLI peak RSS MB |"
    w(hdr)
    w("|" + "---|" * (hdr.count("|") - 1))
    for f in FILES:
        for t in themes:
            if (f, t) not in d["warm"]:
                continue
            med, p95, pages, size = d["warm"][(f, t)]
            cold = d["cold"].get(("resumego", f, t))
            rss = d["procrss"].get(("resumego", f, t))
            w("| %s | %s | %d | %.1f | %.2f | %.2f | %.2f | %s | %s | %s |" % (
                f, t, pages, size / 1024, med, p95, d["warmcpu"][(f, t)],
                " | ".join("%s (%s)" % (fmt(d["tput"].get((f, t, n))),
                                        fmt(d["tputcpu"].get((f, t, n)), 2)) for n in threads),
                fmt(cold[0] if cold else None, 1), fmt(rss / 1024 if rss else None, 1)))
    r = d["rss"]
    w("\nbench-render peak RSS (ru_maxrss): %s MB after creating one renderer, %s MB after all "
      "single-threaded runs (one renderer, both files, every theme), %s MB after the 2-thread "
      "runs (two renderers alive)." % (fmt(r.get("start", 0) / 1024), fmt(r.get("single", 0) / 1024),
                                       fmt(r.get("threads", 0) / 1024)))
    w("")

    w("### Peers, same run, same text (HTML from bench/resume_html.py)\n")
    w("Ours = theme `%s`. \"Cold\" = a new process per document; warm = documents printed one "
      "after another by a process that is already running.\n" % DEFAULT_THEME)
    w("| file | measure | ResumeGo | wkhtmltopdf | Chromium | ResumeGo faster than wkhtmltopdf "
      "| ResumeGo faster than Chromium |")
    w("|---|---|---|---|---|---|---|")
    for f in FILES:
        ours_cold = d["cold"].get(("resumego", f, DEFAULT_THEME), (None,))[0]
        wk_cold = d["cold"].get(("wkhtmltopdf", f, "-"), (None,))[0]
        cr_cold = d["cold"].get(("chromium", f, "-"), (None,))[0]
        w("| %s | cold process, median ms/doc | %s | %s | %s | %s | %s |" % (
            f, fmt(ours_cold), fmt(wk_cold), fmt(cr_cold), ratio(wk_cold, ours_cold),
            ratio(cr_cold, ours_cold)))
        ours_1 = d["tput"].get((f, DEFAULT_THEME, 1))
        wk_p1 = d["par"].get(("wkhtmltopdf", f, 1))
        cr1 = d["crwarm"].get((f, 1))
        cr_1 = cr1[2] if cr1 else None
        w("| %s | docs/s, one at a time (ours: 1 process; wkhtmltopdf: processes; Chromium: 1 warm "
          "tab) | %s | %s | %s | %s | %s |" % (f, fmt(ours_1), fmt(wk_p1), fmt(cr_1),
                                             ratio(ours_1, wk_p1), ratio(ours_1, cr_1)))
        ours_2 = d["tput"].get((f, DEFAULT_THEME, 2))
        wk_p2 = d["par"].get(("wkhtmltopdf", f, 2))
        cr2 = d["crwarm"].get((f, 2))
        cr_2 = cr2[2] if cr2 else None
        w("| %s | docs/s, two side by side (ours: 2 processes; wkhtmltopdf: 2 processes; Chromium: "
          "2 warm tabs) | %s | %s | %s | %s | %s |" % (f, fmt(ours_2), fmt(wk_p2), fmt(cr_2),
                                                    ratio(ours_2, wk_p2), ratio(ours_2, cr_2)))
        cli_p1 = d["par"].get(("resumego", f, 1))
        cli_p2 = d["par"].get(("resumego", f, 2))
        w("| %s | docs/s, a new process per document, 1 / 2 side by side | %s / %s | %s / %s | – "
          "| %s / %s | – |" % (f, fmt(cli_p1), fmt(cli_p2), fmt(wk_p1), fmt(wk_p2),
                               ratio(cli_p1, wk_p1), ratio(cli_p2, wk_p2)))
        if cr1:
            w("| %s | Chromium warm tab, median / p95 ms per print | %s | – | %s / %s | – | %s |" % (
                f, fmt(d["warm"].get((f, DEFAULT_THEME), (None,))[0], 2), fmt(cr1[0]), fmt(cr1[1]),
                ratio(cr1[0], d["warm"].get((f, DEFAULT_THEME), (None,))[0])))
        ours_rss = d["procrss"].get(("resumego", f, DEFAULT_THEME))
        wk_rss = d["procrss"].get(("wkhtmltopdf", f, "-"))
        w("| %s | peak RSS of one process, MB | %s | %s | – | %s less | – |" % (
            f, fmt(ours_rss / 1024 if ours_rss else None),
            fmt(wk_rss / 1024 if wk_rss else None), ratio(wk_rss, ours_rss)))
    w("\nwkhtmltopdf has no warm mode (0.12.6 with unpatched Qt refuses several inputs in one "
      "run), so its docs/s are processes started back to back, one or two at a time. Chromium "
      "warm = playwright-core `page.setContent` + `page.pdf` in a loop on tabs of one browser. "
      "Chromium's RSS is spread over several processes and not shown.")
    for n in notes:
        w("- note: %s" % n)
    w("")

    w("### Targets (issue 2, sample-resume)\n")
    f, t = "sample-resume", DEFAULT_THEME
    warm = d["warm"].get((f, t), (None,))[0]
    two = d["tput"].get((f, t, 2))
    cold = d["cold"].get(("resumego", f, t), (None,))[0]
    rss_cli = d["procrss"].get(("resumego", f, t))
    rss_cli_max = max((v for (tool, ff, _), v in d["procrss"].items()
                       if tool == "resumego" and ff == f), default=None)
    rss_bench = d["rss"].get("single")
    warm_all = [d["warm"][(f, x)][0] for x in themes if (f, x) in d["warm"]]
    two_all = [d["tput"][(f, x, 2)] for x in themes if (f, x, 2) in d["tput"]]
    cold_all = [v[0] for (tool, ff, _), v in d["cold"].items() if tool == "resumego" and ff == f]
    rows = [
        ("warm ms/doc, 1 thread (median)", "<= %g" % TARGETS["warm_ms"], warm,
         warm is not None and warm <= TARGETS["warm_ms"],
         "themes %.1f–%.1f, %d of %d pass" % (min(warm_all), max(warm_all),
                                             sum(v <= TARGETS["warm_ms"] for v in warm_all),
                                             len(warm_all)) if warm_all else ""),
        ("docs/s, 2 processes", ">= %g" % TARGETS["docs_2t"], two,
         two is not None and two >= TARGETS["docs_2t"],
         "themes %.0f–%.0f, %d of %d pass" % (min(two_all), max(two_all),
                                             sum(v >= TARGETS["docs_2t"] for v in two_all),
                                             len(two_all)) if two_all else ""),
        ("cold `resumego render` ms (median)", "<= %g" % TARGETS["cold_ms"], cold,
         cold is not None and cold <= TARGETS["cold_ms"],
         "themes %.1f–%.1f, %d of %d pass" % (min(cold_all), max(cold_all),
                                             sum(v <= TARGETS["cold_ms"] for v in cold_all),
                                             len(cold_all)) if cold_all else ""),
        ("peak RSS MB, one CLI render", "<= %g" % TARGETS["rss_mb"],
         rss_cli / 1024 if rss_cli else None,
         rss_cli is not None and rss_cli / 1024 <= TARGETS["rss_mb"],
         "largest over themes %.1f" % (rss_cli_max / 1024) if rss_cli_max else ""),
        ("peak RSS MB, bench-render, 1 renderer, all files and themes", "<= %g" % TARGETS["rss_mb"],
         rss_bench / 1024 if rss_bench else None,
         rss_bench is not None and rss_bench / 1024 <= TARGETS["rss_mb"], ""),
    ]
    w("| target | goal | measured (`%s`) | verdict | other themes |" % t)
    w("|---|---|---|---|---|")
    for name, goal, val, ok, other in rows:
        w("| %s | %s | %s | **%s** | %s |" % (name, goal, fmt(val), verdict(ok), other))
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        sys.exit(2)
    main(sys.argv[1])
