#!/usr/bin/env bash
# Configures (once) and builds the named flavours into build/<flavour>; incremental on re-run.
#   native      server, recorder core, tests, benchmarks (RelWithDebInfo)
#   asan        the same with AddressSanitizer + UndefinedBehaviorSanitizer, no benchmarks
#   wasm-simd   recorder core as WASM, threads + SIMD128 -> web/gen/recorder-core-simd.{js,wasm}
#   wasm-plain  recorder core as WASM, one thread, no SIMD -> web/gen/recorder-core-plain.{js,wasm}
# Needs toolchains/setup.sh to have run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/toolchains/common.sh"
jobs=${RECORDER_JOBS:-$(nproc)}

build() {
  local flavour=$1 dir=$repo/build/$1
  local -a configure
  case $flavour in
    native) configure=(cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECORDER_WERROR=ON) ;;
    asan) configure=(cmake -DCMAKE_BUILD_TYPE=Debug -DRECORDER_SANITIZE=ON -DRECORDER_BENCH=OFF -DRECORDER_WERROR=ON) ;;
    wasm-simd) configure=(emcmake cmake -DCMAKE_BUILD_TYPE=Release -DRECORDER_WASM_VARIANT=simd) ;;
    wasm-plain) configure=(emcmake cmake -DCMAKE_BUILD_TYPE=Release -DRECORDER_WASM_VARIANT=plain) ;;
    *) log "unknown build flavour: $flavour"; exit 2 ;;
  esac
  if [[ ! -f $dir/build.ninja ]]; then
    log "configuring $flavour"
    "${configure[@]}" -S "$repo" -B "$dir" -G Ninja -DRECORDER_CACHE="$cache_dir" >/dev/null
  fi
  log "building $flavour"
  if ! ninja -C "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
    grep -v '^\[' "$dir/build.log" | tail -n 60 >&2
    log "build of $flavour failed (full log: $dir/build.log)"
    exit 1
  fi
}

for flavour in "$@"; do build "$flavour"; done
