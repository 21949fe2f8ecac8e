#!/usr/bin/env bash
# Builds libvpx, opus and libyuv for WebAssembly from Debian's source packages, in two
# variants (libwebm is compiled by CMake itself, for every target), into $cache_dir/wasm-deps/<variant>-<key>/{include,lib}:
#   simd   threads + WebAssembly SIMD128 (needs a cross-origin isolated page)
#   plain  one thread, no SIMD (runs anywhere)
# <key> hashes the source versions, this script and its patches, so a second run finds the build and
# does nothing; a change to any of them builds a new folder. Prints nothing when all is cached.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/toolchains/common.sh"

source "$repo/toolchains/sources.sh"

versions=$(cd "$src_root" && ls libvpx/*.dsc opus/*.dsc libwebm/*.dsc libyuv/*.dsc | sort | tr '\n' ' ')
patch_hash=$(cat "$0" $(find "$repo/toolchains/patches" -name 'libvpx-*.patch' | sort) | sha256sum | cut -c1-12)
emcc_version=$(emcc --version 2>/dev/null)  # whole output: emcc dies of a broken pipe under head
key=$(echo "$versions $patch_hash ${emcc_version%%$'\n'*}" | sha256sum | cut -c1-12)
jobs=$(nproc)

build_variant() {
  local variant=$1 cflags
  case $variant in
    simd) cflags="-O3 -pthread -msimd128" ;;
    plain) cflags="-O3" ;;
  esac
  local prefix=$cache_dir/wasm-deps/$variant-$key
  [[ -f $prefix/.complete ]] && return 0
  log "building WASM libraries ($variant) into $prefix"
  rm -rf "$prefix" "$cache_dir/wasm-build/$variant"
  mkdir -p "$prefix/include" "$prefix/lib"
  local work=$cache_dir/wasm-build/$variant

  # libvpx: VP9 encoder only, realtime only. The plain variant builds Debian's tree as it is (C
  # only). The simd variant builds a copy with toolchains/patches/libvpx-*.patch applied in name
  # order: libvpx's C-intrinsics x86 kernels through emscripten's SSE headers and our simd128
  # kernels, bound statically by --enable-wasm-simd (see the patches' headers).
  local vpx_src=$src_libvpx vpx_flags=(--disable-multithread)
  if [[ $variant == simd ]]; then
    vpx_src=$work/vpx-src
    vpx_flags=(--enable-multithread --enable-wasm-simd)
    mkdir -p "$work" && cp -a "$src_libvpx" "$vpx_src"
    local p
    for p in $(find "$repo/toolchains/patches" -name 'libvpx-*.patch' | sort); do
      patch -d "$vpx_src" -p1 --quiet --forward --no-backup-if-mismatch <"$p" ||
        { log "libvpx patch $(basename "$p") does not apply"; exit 1; }
    done
  fi
  mkdir -p "$work/vpx" && (cd "$work/vpx" &&
    emconfigure "$vpx_src/configure" --target=generic-gnu --prefix="$prefix" \
      --disable-examples --disable-docs --disable-tools --disable-unit-tests \
      --disable-vp8 --disable-vp9-decoder --enable-vp9-encoder --enable-realtime-only \
      --disable-runtime-cpu-detect "${vpx_flags[@]}" --extra-cflags="$cflags" >configure.log 2>&1 &&
    emmake make -j"$jobs" >build.log 2>&1 && emmake make install >install.log 2>&1) ||
    { log "libvpx build failed, see $work/vpx"; exit 1; }

  # opus: autotools needs a host triple that config.sub knows; its CMake build needs git metadata.
  mkdir -p "$work/opus" && (cd "$work/opus" &&
    CFLAGS="$cflags" emconfigure "$src_opus/configure" --host=i686-pc-linux-gnu --prefix="$prefix" \
      --disable-rtcd --disable-intrinsics --disable-asm --disable-shared --enable-static \
      --disable-stack-protector --disable-extra-programs --disable-doc >configure.log 2>&1 &&
    emmake make -j"$jobs" >build.log 2>&1 && emmake make install >install.log 2>&1) ||
    { log "opus build failed, see $work/opus"; exit 1; }

  # libyuv: pixel format conversion; no JPEG.
  mkdir -p "$work/yuv" && (cd "$work/yuv" &&
    emcmake cmake "$src_libyuv" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$cflags" \
      -DCMAKE_CXX_FLAGS="$cflags" -DCMAKE_DISABLE_FIND_PACKAGE_JPEG=ON >configure.log 2>&1 &&
    emmake make -j"$jobs" yuv >build.log 2>&1) ||
    { log "libyuv build failed, see $work/yuv"; exit 1; }
  cp "$work/yuv/libyuv.a" "$prefix/lib/"
  cp -r "$src_libyuv/include/." "$prefix/include/"

  echo "$versions" > "$prefix/.complete"
  ln -sfn "$variant-$key" "$cache_dir/wasm-deps/$variant"
}

build_variant plain
build_variant simd
