# Shared helpers for the project's scripts.  Sourced, not run.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Every Debian package the project needs, by purpose.  scripts/deps installs the missing
# ones; nothing is downloaded from anywhere else.
PKGS_BUILD="meson ninja-build pkg-config gcc libc6-dev libjansson-dev libcairo2-dev libpango1.0-dev
  libharfbuzz-dev libfontconfig-dev libfribidi-dev libjpeg62-turbo-dev libwebp-dev libcmocka-dev"
PKGS_FONTS="fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji fonts-dejavu-core
  fonts-liberation2 fonts-crosextra-carlito fonts-ebgaramond fonts-lato fonts-symbola"
PKGS_TEST="poppler-utils qpdf python3"
PKGS_BENCH="hyperfine"
# rg-core: its libraries, the servers it talks to, and the API load benchmark.
PKGS_CORE="libmicrohttpd-dev libpq-dev libhiredis-dev libargon2-dev libssl-dev postgresql-15
  postgresql-client-15 redis-server redis-tools curl wrk caddy"
# rg-flow / rg-pdf: the broker and its C client, libcurl for S3, OpenSSL for SHA-256/HMAC;
# nodejs (with its npm) runs the local S3 test server (tests/s3rver).
PKGS_FLOW="rabbitmq-server librabbitmq-dev libcurl4-openssl-dev libssl-dev nodejs"
# rg-notify: libwebsockets; python3-websockets is the WebSocket client of its tests and
# of the README's "watch a generation live".
PKGS_NOTIFY="libwebsockets-dev libhiredis-dev python3-websockets"
# The web app (web/, docs/web.md): Caddy is the edge (also in PKGS_CORE); the browser tests
# drive Debian's Chromium through playwright-core (never a downloaded browser).
PKGS_WEB="caddy chromium chromium-driver"

# Installs the packages named in "$@" that are not installed yet.  Quick (one dpkg-query)
# when everything is present; runs `apt-get update` at most once per call.
ensure_pkgs() {
    local missing=() p
    local have
    # dpkg-query exits non-zero when any package is unknown to dpkg (never installed): under
    # `set -o pipefail` that must not end the script on exactly the fresh machine it is for.
    have=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null | awk '$2 ~ /^ii/ {print $1}' || true)
    for p in "$@"; do
        if ! grep -qx "$p" <<<"$have"; then missing+=("$p"); fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    # Waits for another apt/dpkg run (an unattended upgrade, a second checkout) instead of failing.
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install failed for: ${missing[*]}"
}

# Configures (once) and builds the tree in $1 with extra meson options after it.
build_tree() {
    local dir=$1; shift
    if [ ! -f "$ROOT/$dir/build.ninja" ]; then
        meson setup "$ROOT/$dir" "$ROOT" "$@" >/dev/null || die "meson setup failed"
    else
        meson configure "$ROOT/$dir" "$@" >/dev/null 2>&1 || true
    fi
    ninja -C "$ROOT/$dir" >/dev/null || { ninja -C "$ROOT/$dir"; die "build failed"; }
}

# The web app's npm packages: `npm ci` from web/package-lock.json when node_modules is
# missing or older than the lockfile.
web_deps() {
    local w=$ROOT/web
    if [ ! -f "$w/node_modules/.package-lock.json" ] || [ "$w/package-lock.json" -nt "$w/node_modules/.package-lock.json" ]; then
        say "installing the web app's npm packages (npm ci in web/)"
        (cd "$w" && npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed in web/"
    fi
}

# Builds the static web app into web/out (and its CSP into web/out.csp) when a source file
# is newer than the last build.
web_build() {
    local w=$ROOT/web
    web_deps
    if [ -f "$w/out.csp" ] && [ -f "$w/out/index.html" ] &&
        [ -z "$(find "$w/app" "$w/components" "$w/lib" "$w/scripts" "$w/package-lock.json" "$w/next.config.ts" \
                "$w/postcss.config.mjs" "$w/tsconfig.json" -newer "$w/out.csp" -print -quit 2>/dev/null)" ]; then
        return 0
    fi
    say "building the web app (next build, static export to web/out)"
    (cd "$w" && NEXT_TELEMETRY_DISABLED=1 npm run build >"$w/.build.log" 2>&1) || { tail -40 "$w/.build.log" >&2; die "web build failed (web/.build.log)"; }
}
