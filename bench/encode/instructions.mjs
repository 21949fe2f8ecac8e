#!/usr/bin/env node
// Encoder work per frame as instruction counts (valgrind callgrind), native vs WASM SIMD: the
// one encoder figure this shared machine cannot disturb (fps in table.mjs move with the load).
// Each engine encodes FourPeople 640x480 at 250 kbps twice, --frames and 10 frames, and the
// difference divided by the difference in frames is the steady per-frame cost (start-up, node,
// the JIT and the first keyframe cancel out). V8 runs without Liftoff so the code is the same
// optimized code every run. Instructions are not time (WASM code has a lower IPC), so this
// complements table.mjs rather than replacing it.
//
//   node bench/encode/instructions.mjs [--frames 90] [--speed 7]
// Needs: toolchains/build.sh native wasm-simd; valgrind.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { makeY4m, repoDir, tempDir } from '../../tests/js/lib/media.mjs';

const { values: opt } = parseArgs({
  options: { frames: { type: 'string', default: '90' }, speed: { type: 'string', default: '7' } },
});
const frames = Number(opt.frames);
const nativeBin = path.join(repoDir, 'build/native/bench/encode/encode');
const work = tempDir('bench-instructions-');

const clip = (n) => makeY4m('FourPeople_1280x720_60.mp4', `fps=30,scale=640:480,trim=end_frame=${n}`,
  `fourpeople_640x480_30_${n}f.y4m`);

function instructions(argv) {
  const out = path.join(work, 'callgrind.out');
  const r = spawnSync('valgrind', ['--tool=callgrind', '--smc-check=all', `--callgrind-out-file=${out}`, ...argv],
    { encoding: 'utf8' });
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`valgrind ${argv.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
  return Number(m[1].replaceAll(',', ''));
}

const encodeArgs = (y4m) => ['--in', y4m, '--out', path.join(work, 'o.webm'), '--kbps', '250',
  '--threads', '1', '--speed', opt.speed];
const engines = {
  native: (y4m) => [nativeBin, '--engine', 'native', ...encodeArgs(y4m)],
  'wasm-simd': (y4m) => [process.execPath, '--no-experimental-fetch', '--no-liftoff', '--single-threaded',
    path.join(repoDir, 'bench/encode/encode-wasm.mjs'), '--variant', 'simd', ...encodeArgs(y4m)],
};

const rows = {};
for (const [name, argv] of Object.entries(engines)) {
  const long = instructions(argv(clip(frames)));
  const short = instructions(argv(clip(10)));
  rows[name] = (long - short) / (frames - 10);
}
console.log(`VP9 realtime CBR, speed ${opt.speed}, FourPeople 640x480 250 kbps, 1 thread, frames 10..${frames}`);
console.log('| engine | instructions per frame (M) |');
console.log('|---|---|');
for (const [name, v] of Object.entries(rows)) console.log(`| ${name} | ${(v / 1e6).toFixed(1)} |`);
console.log(`native/wasm-simd instructions: ${(rows.native / rows['wasm-simd']).toFixed(2)}`);
console.log(JSON.stringify(rows));
fs.rmSync(work, { recursive: true, force: true });
