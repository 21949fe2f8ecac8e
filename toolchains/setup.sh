#!/usr/bin/env bash
# Installs and builds everything the project needs, on a fresh Debian 12 machine or again on a
# prepared one. Safe to re-run: each step checks a stamp or the installed state first and does
# nothing when it is already done.
# Steps: Debian packages, npm modules, Debian source packages of the codec libraries, their WASM
# builds.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/toolchains/common.sh"

# Debian packages. Kept in one list so a newcomer sees every system dependency in one place.
packages=(
  build-essential cmake ninja-build pkg-config git dpkg-dev
  libvpx-dev libopus-dev libyuv-dev                       # recorder core, native build
  libcpp-httplib-dev libspdlog-dev libsqlite3-dev libssl-dev  # server
  nlohmann-json3-dev libcli11-dev libargon2-dev
  libgtest-dev libbenchmark-dev                           # tests and benchmarks
  clang libclang-rt-14-dev                                # sanitizers and fuzzers
  ffmpeg mkvtoolnix sqlite3                               # verification tools used by tests
  emscripten                                              # WASM build
  chromium                                                # browser tests
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

# libwebm is compiled from this source by CMake for every target (Debian ships no mkvmuxer headers).
"$repo/toolchains/wasm-deps.sh"
