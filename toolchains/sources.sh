# Fetches libvpx, opus, libwebm, libyuv and cpp-httplib from Debian's source packages, checks them
# against their .dsc checksums and unpacks them with Debian's patches into $src_root/<package>/tree.
# Sourced by the other toolchain scripts (needs $repo and common.sh); sets src_<package> ('-' as '_').

packages=(libvpx opus libwebm libyuv cpp-httplib)
src_root=$cache_dir/src

enable_deb_src() {
  local list=/etc/apt/sources.list.d/debian-src.sources
  [[ -f $list ]] && return 0
  log "enabling Debian source packages"
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | as_root tee "$list" >/dev/null
  as_root apt-get update -qq
}

# Checks every file a .dsc names against the SHA-256 the .dsc gives for it.
verify_dsc() {
  local dsc=$1 dir
  dir=$(dirname "$dsc")
  awk '/^Checksums-Sha256:/{on=1; next} /^[^ ]/{on=0} on && NF==3 {print $1 "  " $3}' "$dsc" |
    (cd "$dir" && sha256sum --quiet -c -) || { log "checksum mismatch for $dsc"; exit 1; }
}

# Fetches, verifies and unpacks (with Debian's patches) one source package; prints its folder.
fetch_source() {
  local pkg=$1 dsc
  dsc=$(ls "$src_root/$pkg"/*.dsc 2>/dev/null | head -n1 || true)
  if [[ -z $dsc ]]; then
    enable_deb_src
    mkdir -p "$src_root/$pkg"
    log "downloading source package $pkg"
    (cd "$src_root/$pkg" && apt-get source --download-only -qq "$pkg" >/dev/null)
    dsc=$(ls "$src_root/$pkg"/*.dsc | head -n1)
  fi
  verify_dsc "$dsc"
  local tree="$src_root/$pkg/tree"
  if [[ ! -f $tree/.unpacked ]]; then
    rm -rf "$tree"
    (cd "$src_root/$pkg" && dpkg-source --no-check -x "$(basename "$dsc")" tree >/dev/null)
    touch "$tree/.unpacked"
  fi
  echo "$tree"
}

for pkg in "${packages[@]}"; do
  declare "src_${pkg//-/_}=$(fetch_source "$pkg")"
done

