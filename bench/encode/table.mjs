#!/usr/bin/env node
// Encoder speed, native vs WASM, in one run on the same machine (it is shared and noisy, so only
// figures from the same run are compared). For FourPeople at 640x480 and 1280x720, 30 fps, and 1
// and 2 threads, it runs bench/encode with each engine at the same fixed speed and bitrate and
// prints a table of fps and the WASM/native ratios, then the rows as JSON.
//
//   node bench/encode/table.mjs [--seconds 10] [--speed 7] [--repeat 1]
// Needs: toolchains/build.sh native wasm-simd wasm-plain (RECORDER_WASM_DIR selects another WASM
// output folder, as for wasm/node.mjs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { makeY4m, repoDir, tempDir } from '../../tests/js/lib/media.mjs';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    speed: { type: 'string', default: '7' },
    repeat: { type: 'string', default: '1' },
  },
});
const nativeBin = path.join(repoDir, 'build/native/bench/encode/encode');
if (!fs.existsSync(nativeBin)) throw new Error(`${nativeBin} is not built: run toolchains/build.sh native`);
const wasmScript = path.join(repoDir, 'bench/encode/encode-wasm.mjs');
const work = tempDir('bench-encode-');

const sizes = [
  { width: 640, height: 480, kbps: 250 },
  { width: 1280, height: 720, kbps: 1000 },
];
const engines = [
  { name: 'native', threads: [1, 2], cmd: (a) => [nativeBin, ['--engine', 'native', ...a]] },
  { name: 'wasm-plain', threads: [1], cmd: (a) => [process.execPath, [wasmScript, '--variant', 'plain', ...a]] },
  { name: 'wasm-simd', threads: [1, 2], cmd: (a) => [process.execPath, [wasmScript, '--variant', 'simd', ...a]] },
];

// Best of `repeat` runs: the least disturbed by other work on the machine.
function run(engine, args) {
  let best = null;
  for (let i = 0; i < Number(opt.repeat); i++) {
    const [bin, argv] = engine.cmd(args);
    const out = execFileSync(bin, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const result = JSON.parse(out.trim().split('\n').pop());
    if (!best || result.fps > best.fps) best = result;
  }
  return best;
}

const rows = [];
for (const size of sizes) {
  const frames = Math.round(Number(opt.seconds) * 30);
  const clip = makeY4m('FourPeople_1280x720_60.mp4',
    `fps=30,scale=${size.width}:${size.height},trim=end_frame=${frames}`,
    `fourpeople_${size.width}x${size.height}_30_${frames}f.y4m`);
  for (const threads of [1, 2]) {
    const row = { size: `${size.width}x${size.height}`, kbps: size.kbps, threads };
    for (const engine of engines) {
      if (!engine.threads.includes(threads)) continue;
      const args = ['--in', clip, '--out', path.join(work, `${engine.name}.webm`),
        '--kbps', String(size.kbps), '--threads', String(threads), '--speed', opt.speed];
      const result = run(engine, args);
      row[engine.name] = { fps: result.fps, kbps: result.kbps, frames: result.frames };
    }
    rows.push(row);
  }
}

const fmt = (v, d = 1) => (v === undefined ? '–' : v.toFixed(d));
console.log(`VP9 realtime CBR, speed ${opt.speed}, FourPeople ${opt.seconds} s at 30 fps, best of ${opt.repeat}`);
console.log('| clip | size | kbps | threads | native fps | wasm plain fps | wasm simd fps | plain/native | simd/native | simd/plain | realtime (simd ≥ 30 fps) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const n = r.native.fps;
  const p = r['wasm-plain']?.fps;
  const s = r['wasm-simd'].fps;
  console.log(`| FourPeople | ${r.size} | ${r.kbps} | ${r.threads} | ${fmt(n)} | ${fmt(p)} | ${fmt(s)} | ` +
    `${p === undefined ? '–' : fmt(p / n, 2)} | ${fmt(s / n, 2)} | ` +
    `${p === undefined ? '–' : fmt(s / p, 2)} | ${s >= 30 ? 'yes' : 'no'} |`);
}
console.log(JSON.stringify(rows));
fs.rmSync(work, { recursive: true, force: true });
