# Shared by the toolchain scripts; sourced, not run.

# Where built dependencies are cached. Git ignores it; delete it to force a rebuild.
cache_dir=${RECORDER_CACHE:-$repo/.cache}

log() { printf '[setup %s] %s\n' "$(date +%T)" "$*" >&2; }

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi
}

# Debian's emscripten runs on the machine's node, which does not look in Debian's module folder
# (emcc then fails with "Cannot find module 'acorn'").
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
