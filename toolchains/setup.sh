#!/usr/bin/env bash
# Installs and builds everything the project needs, on a fresh Debian 12 machine or again on a
# prepared one. Safe to re-run: each step checks a stamp or the installed state first and does
# nothing when it is already done.
# Steps: Debian packages, npm modules, Debian source packages (codec libraries, cpp-httplib), the
# patched header-only cpp-httplib, the WASM builds of the codec libraries.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/toolchains/common.sh"

# Debian packages. Kept in one list so a newcomer sees every system dependency in one place.
packages=(
  build-essential cmake ninja-build pkg-config git dpkg-dev
  libvpx-dev libopus-dev libyuv-dev                       # recorder core, native build
  libspdlog-dev libsqlite3-dev libssl-dev                 # server (cpp-httplib comes from source)
  nlohmann-json3-dev libcli11-dev libargon2-dev
  libpocketsphinx-dev pocketsphinx-en-us                  # built-in transcription engine
  libcurl4-openssl-dev                                    # webhook deliveries, S3 media store (HTTP client, SigV4)
  libpq-dev postgresql-15 postgresql-contrib              # the shared index; tests run a throw-away cluster
  libexpat1-dev                                           # S3 media store: ListObjectsV2 and error XML
  swift-proxy swift-account swift-container swift-object  # tests/services/s3.sh: a real S3 server (Swift's
  python3-swift                                           #   s3api), started and stopped by the tests
  nginx                                                   # load balancer of toolchains/cluster.sh (tests/services/nginx.sh;
                                                          #   under systemd Debian also starts its own nginx.service on :80)
  libgtest-dev libbenchmark-dev                           # tests and benchmarks
  clang libclang-rt-14-dev clang-format                   # sanitizers, fuzzers, C++ format check
  ffmpeg mkvtoolnix sqlite3                               # verification tools used by tests
  emscripten                                              # WASM build
  chromium                                                # browser tests: Chromium,
  firefox-esr                                             # Firefox ESR (puppeteer-core, WebDriver BiDi),
  webkit2gtk-driver xvfb                                  # WebKitGTK's MiniBrowser (WebKitWebDriver) under Xvfb;
  gstreamer1.0-plugins-bad                                # its MediaRecorder (MP4) for bench/browser
)

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_packages "${packages[@]}"

# npm modules, pinned by package-lock.json; reinstalled only when the lock file changes.
lock_hash=$(sha256sum "$repo/package-lock.json" | cut -c1-16)
if [[ "$(cat "$repo/node_modules/.lock-hash" 2>/dev/null)" != "$lock_hash" ]]; then
  log "installing npm modules"
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$repo/node_modules/.lock-hash"
fi

source "$repo/toolchains/sources.sh"

# cpp-httplib from Debian's source with toolchains/patches/cpp-httplib-*.patch, into
# $cache_dir/httplib (CMake's deps::httplib). Debian's binary package is the same 0.11.4 compiled
# into a shared library, which leaves no way to patch it or to set its compile-time limits.
httplib_patches=$(find "$repo/toolchains/patches" -name 'cpp-httplib-*.patch' | sort)
httplib_key=$(cat "$src_cpp_httplib/httplib.h" $httplib_patches | sha256sum | cut -c1-16)
if [[ "$(cat "$cache_dir/httplib/.key" 2>/dev/null)" != "$httplib_key" || ! -f "$cache_dir/httplib/httplib.cc" ]]; then
  log "patching cpp-httplib into $cache_dir/httplib"
  rm -rf "$cache_dir/httplib" && mkdir -p "$cache_dir/httplib"
  cp "$src_cpp_httplib/httplib.h" "$cache_dir/httplib/"
  for p in $httplib_patches; do
    patch -d "$cache_dir/httplib" -p1 --quiet --forward --no-backup-if-mismatch <"$p" ||
      { log "cpp-httplib patch $(basename "$p") does not apply"; exit 1; }
  done
  # Split it the way upstream's split.py does: declarations stay in httplib.h, the definitions
  # between the two border lines go to httplib.cc, compiled once (deps::httplib) instead of in
  # every file that includes the header.
  mv "$cache_dir/httplib/httplib.h" "$cache_dir/httplib/httplib-whole.h"
  awk -v h="$cache_dir/httplib/httplib.h" -v cc="$cache_dir/httplib/httplib.cc" '
    BEGIN { print "#include \"httplib.h\"\nnamespace httplib {" > cc }
    index($0, "// ----------------------------------------------------------------------------") == 1 {
      in_impl = !in_impl; next
    }
    in_impl { gsub(/inline /, ""); print > cc; next }
    { print > h }
    END { print "} // namespace httplib" > cc }' "$cache_dir/httplib/httplib-whole.h"
  rm "$cache_dir/httplib/httplib-whole.h"
  echo "$httplib_key" > "$cache_dir/httplib/.key"
fi

# libwebm is compiled from its source by CMake for every target (Debian ships no mkvmuxer headers).
"$repo/toolchains/wasm-deps.sh"
