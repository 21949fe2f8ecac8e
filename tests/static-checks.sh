#!/usr/bin/env bash
# Static checks of the code the project wrote: one `check` line each (at the end of this file).
# Each check passes or fails on its own (its command's exit status); a failure prints the check's
# output, and every check's output is kept in build/test-logs/static/NAME.log.
# Closes with "static checks: N passed, N failed" and exits non-zero when one failed;
# tests/run.sh counts each check as one test.
#   tests/static-checks.sh             every check
#   tests/static-checks.sh NAME...     only these
# Needs what toolchains/setup.sh installs (node_modules for the JS checks).
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
logs=$repo/build/test-logs/static
mkdir -p "$logs"
only=("$@")
passed=0
failed=0

# check NAME COMMAND...: runs COMMAND in the repository root; exit status 0 passes.
check() {
  local name=$1
  shift
  if ((${#only[@]})) && [[ " ${only[*]} " != *" $name "* ]]; then return 0; fi
  local log=$logs/$name.log start end
  start=$(date +%s%N)
  "$@" >"$log" 2>&1
  local status=$?
  end=$(date +%s%N)
  local seconds
  seconds=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  if ((status == 0)); then
    printf 'ok      %-16s %6s s\n' "$name" "$seconds"
    passed=$((passed + 1))
  else
    printf 'FAILED  %-16s %6s s   (exit %d; %s)\n' "$name" "$seconds" "$status" "${log#"$repo"/}"
    sed -e 's/^/    /' "$log" | head -n 200
    failed=$((failed + 1))
  fi
}

bin=node_modules/.bin

# JSDoc types, one project per global scope: the pages and the recorder module (tsconfig.json;
# it also checks web/recorder/index.js and errors.js against index.d.ts), the encoder worker and
# its driver (wasm/), the AudioWorklet. The worker message protocol (wasm/worker-protocol.d.ts) is
# checked from both sides: encoder.js in the first project, recorder-worker.js in the second.
check tsc           "$bin/tsc" -p tsconfig.json
check tsc-worker    "$bin/tsc" -p wasm/tsconfig.json
check tsc-worklet   "$bin/tsc" -p web/recorder/tsconfig.worklet.json
# Lint (eslint.config.js).
check eslint        "$bin/eslint" --max-warnings 0 web wasm tests/js bench eslint.config.js

# C++ layout (.clang-format) of every C++ file the project wrote. Compiler warnings are errors in
# the native and sanitizer builds (toolchains/build.sh: RECORDER_WERROR).
check clang-format  bash -c 'git ls-files -z "*.h" "*.cc" | xargs -0 clang-format --dry-run --Werror'

echo "static checks: $passed passed, $failed failed"
((failed == 0))
