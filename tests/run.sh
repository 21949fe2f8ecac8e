#!/usr/bin/env bash
# Runs every test: sets up the machine, builds what is missing, then runs
#   1. the static checks (tests/static-checks.sh: types, lint), each counted as one test,
#   2. the C++ tests (ctest) of the native build,
#   3. the libFuzzer targets (tests/fuzz.sh: clang, a fixed number of inputs, memory and time
#      limits), one test per target,
#   4. the JS, WASM and browser tests (node --test tests/js),
#   5. the same C++ tests built with AddressSanitizer + UndefinedBehaviorSanitizer. That build
#      runs at the lowest priority from step 1 on: the browser tests wait on real time (clips play
#      at their own speed) and leave CPU idle, which the build takes without slowing them.
# Ends with one line "tests: N passed, N failed, N skipped" and exits non-zero when anything failed.
# RECORDER_SKIP_ASAN=1 leaves out step 3 (for a quick local loop; CI never sets it).
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
logs=$repo/build/test-logs
total_passed=0
total_failed=0
total_skipped=0

fail_setup() { echo "tests: 0 passed, 1 failed"; echo "$1" >&2; exit 1; }

toolchains/setup.sh || fail_setup "set-up failed"
toolchains/build.sh native wasm-simd wasm-plain || fail_setup "build failed"
mkdir -p "$logs"
asan_build_pid=
if [[ ${RECORDER_SKIP_ASAN:-0} != 1 ]]; then
  nice -n 19 toolchains/build.sh asan >"$logs/asan-build.log" 2>&1 &
  asan_build_pid=$!
fi

# tests/static-checks.sh closes with "static checks: N passed, N failed".
run_static_checks() {
  local log=$logs/static.log
  echo "== static checks (${SECONDS} s into the run)"
  tests/static-checks.sh 2>&1 | tee "$log"
  local line
  line=$(grep -E '^static checks: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
  if [[ -z $line ]]; then
    total_failed=$((total_failed + 1))
    return
  fi
  total_passed=$((total_passed + $(awk '{print $3}' <<<"$line")))
  total_failed=$((total_failed + $(awk '{print $5}' <<<"$line")))
}

# ctest's closing line reads "97% tests passed, 1 tests failed out of 35"; it counts skipped tests
# (listed as "(Skipped)") among the passed ones.
run_ctest() {
  local name=$1 dir=$2 log=$logs/$1.log
  echo "== C++ tests ($name) (${SECONDS} s into the run)"
  (cd "$dir" && ctest --output-on-failure -j2 --timeout 900) 2>&1 | tee "$log"
  local line total failed
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n1)
  if [[ -z $line ]]; then
    total_failed=$((total_failed + 1))
    return
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"$line")
  skipped=$(grep -c '(Skipped)' "$log")
  total_passed=$((total_passed + total - failed - skipped))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
}

# tests/fuzz.sh prints "fuzz <target>: passed (...)" or "fuzz <target>: failed (...)" per target.
run_fuzz() {
  local log=$logs/fuzz.log
  echo "== fuzzers (${SECONDS} s into the run)"
  tests/fuzz.sh 2>&1 | tee "$log"
  local passed failed
  passed=$(grep -cE '^fuzz [^ ]+: passed' "$log")
  failed=$(grep -cE '^fuzz [^ ]+: failed' "$log")
  ((passed + failed == 0)) && failed=1
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

# node's TAP reporter closes with "# pass N", "# fail N", "# skipped N" and "# todo N".
count_node_log() {
  local log=$1 passed failed skipped todo
  passed=$(grep -E '^# pass [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  failed=$(grep -E '^# fail [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  if [[ -z $passed ]]; then
    total_failed=$((total_failed + 1))
    return
  fi
  skipped=$(grep -E '^# skipped [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  todo=$(grep -E '^# todo [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + ${failed:-0}))
  total_skipped=$((total_skipped + ${skipped:-0} + ${todo:-0}))
}

# Two lanes: the tests that mostly wait (a throttled link, timers, a server's retries) and use
# little CPU run beside the others, which run one file at a time as before.
run_node_tests() {
  local log=$logs/node.log side_log=$logs/node-side.log
  echo "== JS, WASM and browser tests (${SECONDS} s into the run)"
  local side=(tests/js/browser_uplink.test.mjs tests/js/webhooks.test.mjs tests/js/openapi.test.mjs
    tests/js/event_queue.test.mjs tests/js/tus_client.test.mjs tests/js/choose_threads.test.mjs
    tests/js/uplink.test.mjs)
  local main=() f
  for f in tests/js/*.test.mjs; do
    [[ " ${side[*]} " == *" $f "* ]] || main+=("$f")
  done
  RECORDER_BUILD_DIR=$repo/build/native node --test --test-reporter=tap "${side[@]}" >"$side_log" 2>&1 &
  local side_pid=$!
  RECORDER_BUILD_DIR=$repo/build/native node --test --test-reporter=tap "${main[@]}" 2>&1 | tee "$log"
  wait "$side_pid"
  echo "== the side lane (${side[*]}):"
  cat "$side_log"
  count_node_log "$log"
  count_node_log "$side_log"
}

# The sanitizer build started above; a build that failed counts as one failed test.
run_asan_ctest() {
  echo "== waiting for the asan build (${SECONDS} s into the run)"
  if ! wait "$asan_build_pid"; then
    cat "$logs/asan-build.log"
    echo "asan build failed"
    total_failed=$((total_failed + 1))
    return
  fi
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 run_ctest asan build/asan
}

run_static_checks
run_ctest native build/native
run_fuzz
run_node_tests
[[ -z $asan_build_pid ]] || run_asan_ctest

echo "== done in ${SECONDS} s"
echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
((total_failed == 0))
