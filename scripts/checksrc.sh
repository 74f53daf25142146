#!/usr/bin/env bash
# Source rules that a compiler does not check (STYLE.md): no raw allocation outside
# src/lib/lib-mem.c (use rg_malloc & co., which never return NULL), none of the string
# functions that overflow or are not re-entrant, and only /* */ comments.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
bad=0
report() { echo "checksrc: $1"; bad=1; }

banned='(^|[^_[:alnum:]])(malloc|calloc|realloc|free|strcpy|strcat|sprintf|vsprintf|atoi|atol|strtok|gets)[[:space:]]*\('
while IFS= read -r hit; do
    case "$hit" in
        src/lib/lib-mem.c:*) ;;
        *) report "banned call: $hit" ;;
    esac
done < <(grep -rnE "$banned" src include --include='*.c' --include='*.h' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*)')

# `//` comments (a URL inside a string or a comment is fine)
while IFS= read -r hit; do
    report "// comment: $hit"
done < <(grep -rnE '^[[:space:]]*//' src include --include='*.c' --include='*.h')

if [ $bad -ne 0 ]; then
    exit 1
fi
echo "checksrc: ok ($(find src include -name '*.[ch]' | wc -l) files)"
