#!/usr/bin/env bash
# Starts the product: sets up the machine, builds what is missing, then runs the ingest server with
# the web pages on http://127.0.0.1:8080, with SQLite and the data folder ./data (no other service).
# Extra arguments go to recorder-server (see `recorder-server --help`), e.g. --listen 0.0.0.0:9000.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/toolchains/setup.sh"
"$repo/toolchains/build.sh" native wasm-simd wasm-plain
exec "$repo/build/native/server/recorder-server" --web "$repo/web" \
  --data "${RECORDER_DATA:-$repo/data}" "$@"
