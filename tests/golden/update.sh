#!/bin/sh
# Regenerates the golden page-1 images used by tests/integration/it-render-golden.py:
# examples/resume.json, A4, every theme, `pdftoppm -r 30 -gray -png`.
# LOOK at every image before committing it (e.g. open tests/golden/<theme>.png).
# usage: tests/golden/update.sh [path/to/resumego]   (default: build/src/cli/resumego)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-${RG_BIN_RESUMEGO:-$root/build/src/cli/resumego}}
export RG_DATA_DIR=${RG_DATA_DIR:-$root/data}
export SOURCE_DATE_EPOCH=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for t in $("$bin" themes --names); do
    "$bin" render "$root/examples/resume.json" -o "$tmp/$t.pdf" --theme "$t" --paper a4 -q
    pdftoppm -r 30 -gray -png -f 1 -l 1 -singlefile "$tmp/$t.pdf" "$root/tests/golden/$t"
    echo "tests/golden/$t.png"
done
