#!/usr/bin/env bash
# The render benchmark, with the peers, in one run:
#   1. bench-render (in-process: warm ms/doc, docs/s with 1 and 2 worker processes, peak RSS);
#   2. a cold `resumego render` process per document (hyperfine when installed, else a loop;
#      the page cache is warm, the process is new) and its peak RSS;
#   3. the same resumes as HTML (bench/resume_html.py) through wkhtmltopdf (a process per
#      document: one at a time, and two side by side for docs/s) and headless Chromium (a
#      cold process per document, and warm tabs driven by playwright-core from
#      bench/node_modules);
#   4. ratios computed from these figures and PASS/MISS against the targets of issue 2.
#
# usage: bench/bench-render.sh [--install-peers] [--quick] [--build-dir DIR] [--out DIR]
#   --install-peers  apt-get install -y wkhtmltopdf chromium; npm ci in bench/
#   --quick          fewer iterations (a smoke run; the figures are noisier)
# Missing peers are skipped with a note.  Results: OUT/results.tsv, OUT/summary.md
# (default OUT: BUILD/bench-out).  Exit status 0 even when a target is missed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-bench
out=
install_peers=0
quick=0
while [ $# -gt 0 ]; do
    case $1 in
    --install-peers) install_peers=1 ;;
    --quick) quick=1 ;;
    --build-dir) build=$(realpath -m "$2"); shift ;;
    --out) out=$(realpath -m "$2"); shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-render.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
out=${out:-$build/bench-out}
samples=$root/../shared/bench
inputs=("$samples/sample-resume.json" "$samples/sample-long.json")
themes=(classic compact elegant modern sidebar tech)

if [ "$quick" = 1 ]; then
    iters=15 warm=3 secs=0.5 runs=5 peer_runs=3 cr_iters=5 par_docs=6
else
    iters=60 warm=5 secs=2 runs=30 peer_runs=10 cr_iters=30 par_docs=20
fi

note() { printf '== %s\n' "$*" >&2; }

# ---- peers --------------------------------------------------------------------------
if [ "$install_peers" = 1 ]; then
    note "installing peers: wkhtmltopdf chromium (apt), playwright-core (npm, bench/package-lock.json)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q wkhtmltopdf chromium >/dev/null; then
        apt-get update -q >/dev/null
        apt-get install -y -q wkhtmltopdf chromium >/dev/null
    fi
    npm ci --prefix "$root/bench" --no-audit --no-fund >/dev/null
fi

# ---- build --------------------------------------------------------------------------
# A fresh machine has neither the compiler nor the fonts: the project's own package list.
. "$root/scripts/lib.sh"
ensure_pkgs $PKGS_BUILD $PKGS_FONTS $PKGS_BENCH
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" bench/bench-render src/cli/resumego >/dev/null
bench_bin=$build/bench/bench-render
cli_bin=$build/src/cli/resumego
buildtype=$(meson introspect --buildoptions "$build" |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')

mkdir -p "$out"
rm -f "$out"/*.pdf
tsv=$out/results.tsv
: >"$tsv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=0 # our PDFs: no clock lookup, identical bytes per run

{
    printf 'machine\tnproc\t%s\n' "$(nproc)"
    printf 'machine\tcpu\t%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    printf 'machine\tmem\t%s\n' "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    printf 'machine\tos\t%s\n' "$(. /etc/os-release && echo "$PRETTY_NAME")"
    printf 'machine\tload_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'machine\tbuildtype\t%s\n' "$buildtype"
    printf 'machine\tdate\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf 'machine\tcommit\t%s\n' "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >>"$tsv"

# ---- timing helpers -----------------------------------------------------------------
have() { command -v "$1" >/dev/null 2>&1; }

# time_cmd RUNS PREPARE CMD... -> prints "median_ms min_ms max_ms" of RUNS fresh processes
# (after 2 untimed ones).  PREPARE is a command run before each (no shell), or "".
time_cmd() {
    local runs=$1 prepare=$2
    shift 2
    if have hyperfine; then
        local args=(-N --style none --warmup 2 --runs "$runs" --export-json "$work/hf.json")
        [ -n "$prepare" ] && args+=(--prepare "$prepare")
        hyperfine "${args[@]}" -- "$(printf '%q ' "$@")" >/dev/null 2>&1 || return 1
        python3 - "$work/hf.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.2f %.2f %.2f" % (r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3))
EOF
    else
        local i t0 t1
        for i in $(seq $((runs + 2))); do
            [ -n "$prepare" ] && $prepare
            t0=$(date +%s%N)
            "$@" >/dev/null 2>&1 || return 1
            t1=$(date +%s%N)
            [ "$i" -gt 2 ] && echo $(((t1 - t0) / 1000))
        done | sort -n | awk '{ v[NR] = $1 } END {
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.2f %.2f %.2f\n", m / 1000, v[1] / 1000, v[NR] / 1000 }'
    fi
}

# par_rate DOCS PROCS CMD... -> docs/s when PROCS shell loops run CMD OUT.pdf DOCS/PROCS
# times each, side by side (a new process per document).
par_rate() {
    local docs=$1 procs=$2 p t0 t1
    shift 2
    t0=$(date +%s%N)
    for p in $(seq "$procs"); do
        (for _ in $(seq $((docs / procs))); do "$@" "$work/par-$p.pdf" >/dev/null 2>&1; done) &
    done
    wait
    t1=$(date +%s%N)
    awk -v n=$(((docs / procs) * procs)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f\n", n / (ns / 1e9) }'
}

# peak_rss_kb CMD... -> largest ru_maxrss of the command's process tree members (KB)
peak_rss_kb() {
    python3 - "$@" <<'EOF'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF
}

is_pdf() { [ -s "$1" ] && [ "$(head -c5 "$1")" = "%PDF-" ]; }

# ---- 1. in-process ------------------------------------------------------------------
note "bench-render ($buildtype build): ${iters} iterations after ${warm} warm-up, docs/s runs of ~${secs}s"
RG_DATA_DIR=$root/data "$bench_bin" -n "$iters" -w "$warm" -t 1,2 -s "$secs" \
    --tsv "$work/bench.tsv" "${inputs[@]}"
cat "$work/bench.tsv" >>"$tsv"

# ---- 2. cold CLI --------------------------------------------------------------------
note "cold 'resumego render' processes: $runs runs each ($(have hyperfine && echo hyperfine || echo 'shell loop'))"
for in in "${inputs[@]}"; do
    name=$(basename "$in" .json)
    for theme in "${themes[@]}"; do
        pdf=$out/$name-$theme.pdf
        "$cli_bin" render "$in" -o "$pdf" --theme "$theme"
        is_pdf "$pdf" || { echo "bench-render.sh: resumego wrote no PDF for $name/$theme" >&2; exit 1; }
        read -r med min max < <(time_cmd "$runs" "" "$cli_bin" render "$in" -o "$work/cli.pdf" --theme "$theme")
        if [ "$theme" = classic ]; then
            for procs in 1 2; do
                printf 'par\tresumego\t%s\t%s\t%s\n' "$name" "$procs" \
                    "$(par_rate "$par_docs" "$procs" "$cli_bin" render "$in" --theme "$theme" -o)" >>"$tsv"
            done
        fi
        rss=$(peak_rss_kb "$cli_bin" render "$in" -o "$work/cli.pdf" --theme "$theme")
        printf 'cold\tresumego\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$theme" "$med" "$min" "$max" "$runs" >>"$tsv"
        printf 'procrss\tresumego\t%s\t%s\t%s\n' "$name" "$theme" "$rss" >>"$tsv"
    done
done

# ---- 3. peers -----------------------------------------------------------------------
for in in "${inputs[@]}"; do
    python3 "$root/bench/resume_html.py" "$in" "$out/$(basename "$in" .json).html"
done

if have wkhtmltopdf; then
    printf 'peer\twkhtmltopdf\t%s\n' "$(wkhtmltopdf --version 2>/dev/null | head -n1)" >>"$tsv"
    note "wkhtmltopdf: $peer_runs processes per document; $par_docs documents by 1 and 2 processes side by side"
    for in in "${inputs[@]}"; do
        name=$(basename "$in" .json)
        html=$out/$name.html
        wkhtmltopdf -q "$html" "$out/$name-wkhtmltopdf.pdf" >/dev/null 2>&1 || true
        if ! is_pdf "$out/$name-wkhtmltopdf.pdf"; then
            printf 'note\twkhtmltopdf failed on %s\n' "$name" >>"$tsv"
            continue
        fi
        read -r med min max < <(time_cmd "$peer_runs" "" wkhtmltopdf -q "$html" "$work/wk.pdf" ||
            echo "- - -")
        rss=$(peak_rss_kb wkhtmltopdf -q "$html" "$work/wk.pdf")
        printf 'cold\twkhtmltopdf\t%s\t-\t%s\t%s\t%s\t%s\n' "$name" "$med" "$min" "$max" "$peer_runs" >>"$tsv"
        printf 'procrss\twkhtmltopdf\t%s\t-\t%s\n' "$name" "$rss" >>"$tsv"
        for procs in 1 2; do
            printf 'par\twkhtmltopdf\t%s\t%s\t%s\n' "$name" "$procs" \
                "$(par_rate "$par_docs" "$procs" wkhtmltopdf -q "$html")" >>"$tsv"
        done
    done
else
    printf 'note\twkhtmltopdf not installed: skipped (bench/bench-render.sh --install-peers)\n' >>"$tsv"
fi

chromium_bin=
for c in chromium chromium-browser; do
    if have "$c"; then chromium_bin=$(command -v "$c"); break; fi
done
if [ -n "$chromium_bin" ]; then
    printf 'peer\tchromium\t%s\n' "$("$chromium_bin" --version 2>/dev/null | tail -n1)" >>"$tsv"
    cr_flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --no-pdf-header-footer)
    note "chromium: $peer_runs cold processes per document (fresh --user-data-dir each)"
    for in in "${inputs[@]}"; do
        name=$(basename "$in" .json)
        html=$out/$name.html
        "$chromium_bin" "${cr_flags[@]}" --user-data-dir="$work/cr-profile" \
            --print-to-pdf="$out/$name-chromium.pdf" "file://$html" >/dev/null 2>&1 || true
        rm -rf "$work/cr-profile"
        if ! is_pdf "$out/$name-chromium.pdf"; then
            printf 'note\tchromium --print-to-pdf failed on %s\n' "$name" >>"$tsv"
            continue
        fi
        read -r med min max < <(time_cmd "$peer_runs" "rm -rf $work/cr-profile" \
            "$chromium_bin" "${cr_flags[@]}" --user-data-dir="$work/cr-profile" \
            --print-to-pdf="$work/cr.pdf" "file://$html" || echo "- - -")
        printf 'cold\tchromium\t%s\t-\t%s\t%s\t%s\t%s\n' "$name" "$med" "$min" "$max" "$peer_runs" >>"$tsv"
    done
    if have node && [ -d "$root/bench/node_modules/playwright-core" ]; then
        note "chromium warm tabs (playwright-core): $cr_iters prints per tab after 3 warm-up, 1 and 2 tabs"
        for tabs in 1 2; do
            (cd "$root/bench" && node chromium-warm.mjs "$chromium_bin" "$cr_iters" 3 "$tabs" \
                "$out/sample-resume.html" "$out/sample-long.html") >>"$tsv" 2>"$work/cr-warm.err" ||
                printf 'note\tchromium warm tabs failed: %s\n' "$(tail -n1 "$work/cr-warm.err")" >>"$tsv"
        done
    else
        printf 'note\tchromium warm tabs skipped: needs node and bench/node_modules (bench/bench-render.sh --install-peers)\n' >>"$tsv"
    fi
else
    printf 'note\tchromium not installed: skipped (bench/bench-render.sh --install-peers)\n' >>"$tsv"
fi

printf 'machine\tload_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$tsv"

# ---- 4. summary ---------------------------------------------------------------------
python3 "$root/bench/bench_summary.py" "$tsv" | tee "$out/summary.md"
note "results: $tsv, $out/summary.md, PDFs and HTML in $out"
