#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build/fuzz and runs each for a fixed
# number of inputs, from its seeds and past findings, with limits that fail the run: a crash or a
# sanitizer report, an input slower than its -timeout, RSS above -rss_limit_mb (a single malloc
# above it too), or the whole run above its wall-clock cap. New inputs go to
# build/fuzz/corpus/<target>, never to the repository. Prints one line per target,
#   fuzz <target>: passed (N runs in S s)    or    fuzz <target>: failed (...), log in build/fuzz/<target>.log
# and exits non-zero when any failed. tests/run.sh counts one test per line.
#
#   tests/fuzz.sh [target...]     (default: all of them)
# A crashing input is saved as build/fuzz/<target>-crash-*: add it to the target's regressions
# folder once fixed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build/fuzz

# name | binary in build/fuzz | seeds and past findings, read only ("-": none) | inputs to run |
# libFuzzer flags. Runs are sized for about 20 s each on the shared 2-core machine.
targets=(
  "webm_finalize_fuzzer|tests/webm/webm_finalize_fuzzer|tests/webm/fuzz/regressions|6000|-max_len=65536 -timeout=5 -rss_limit_mb=512"
  "tus_headers_fuzzer|tests/server/tus_headers_fuzzer|-|200000|-max_len=512 -timeout=2 -rss_limit_mb=512"
  "byte_ranges_fuzzer|tests/server/byte_ranges_fuzzer|tests/server/fuzz/byte_ranges_seeds|200000|-max_len=1024 -timeout=2 -rss_limit_mb=256"
)

selected=("$@")
wanted() {
  ((${#selected[@]} == 0)) && return 0
  local t
  for t in "${selected[@]}"; do [[ $t == "$1" ]] && return 0; done
  return 1
}

names=()
for spec in "${targets[@]}"; do
  IFS='|' read -r name _ <<<"$spec"
  wanted "$name" && names+=("$name")
done

mkdir -p "$build"
if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DRECORDER_BENCH=OFF >"$build/configure.log" 2>&1 ||
    { for n in "${names[@]}"; do echo "fuzz $n: failed (configure, see $build/configure.log)"; done; exit 1; }
fi
if ! ninja -C "$build" -j"${RECORDER_JOBS:-$(nproc)}" "${names[@]}" >"$build/build.log" 2>&1; then
  tail -n 30 "$build/build.log" >&2
  for n in "${names[@]}"; do echo "fuzz $n: failed (build, see $build/build.log)"; done
  exit 1
fi

failed=0
for spec in "${targets[@]}"; do
  IFS='|' read -r name binary seeds runs flags <<<"$spec"
  wanted "$name" || continue
  corpus=$build/corpus/$name
  log=$build/$name.log
  mkdir -p "$corpus"
  started=$(date +%s)
  # The quarantine keeps freed memory resident; a small one keeps -rss_limit_mb about our memory.
  dirs=("$corpus")
  [[ $seeds == - ]] || dirs+=("$repo/$seeds")
  # shellcheck disable=SC2086
  (cd "$build" && ASAN_OPTIONS=quarantine_size_mb=16:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    timeout 120 "./$binary" -runs="$runs" $flags -artifact_prefix="$build/$name-" -print_final_stats=1 \
    "${dirs[@]}") >"$log" 2>&1
  rc=$?
  seconds=$(($(date +%s) - started))
  if ((rc == 0)); then
    echo "fuzz $name: passed ($runs runs in $seconds s)"
  else
    reason=$(grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|ALARM|out-of-memory|runtime error' "$log" || echo "exit $rc")
    ((rc == 124)) && reason="over the 120 s cap"
    echo "fuzz $name: failed ($reason), log in $log"
    failed=$((failed + 1))
  fi
done
((failed == 0))
