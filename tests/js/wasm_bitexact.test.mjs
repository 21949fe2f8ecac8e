// The threads+SIMD WASM build of libvpx (x86 intrinsics kernels through emscripten's SSE headers
// and our simd128 kernels, toolchains/patches/libvpx-*.patch) must produce the same VP9 bitstream
// as the native build (Debian's libvpx with its x86 SIMD) and as the plain C WASM build: libvpx's
// C and SIMD paths are bit-exact, so any difference is a bug in a port. Every encode runs at a
// fixed speed with adaptive speed off, so timing cannot change the encoder's decisions.
//
// Packets are compared, not files: the WebM around them may differ (muxing app, segment UID).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { coreScript } from '../../wasm/node.mjs';
import { makeY4m, repoDir, tempDir } from './lib/media.mjs';

const nativeBin = path.join(repoDir, 'build/native/bench/encode/encode');
const wasmScript = path.join(repoDir, 'bench/encode/encode-wasm.mjs');

function hasCore(variant) {
  try {
    coreScript(variant);
    return true;
  } catch {
    return false;
  }
}

// Encodes with `engine` ('native', 'wasm-simd' or 'wasm-plain'); returns the output file.
function encode(engine, clip, { kbps, speed, threads }, dir) {
  const out = path.join(dir, `${engine}-t${threads}.webm`);
  const args = ['--in', clip, '--out', out, '--kbps', String(kbps), '--speed', String(speed),
    '--threads', String(threads)];
  if (engine === 'native') {
    execFileSync(nativeBin, ['--engine', 'native', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  } else {
    execFileSync(process.execPath, [wasmScript, '--variant', engine.slice(5), ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] });
  }
  return out;
}

// One line per VP9 packet: dts, pts, duration, size and MD5 of its bytes.
function packetMd5s(file) {
  const out = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-c', 'copy',
    '-f', 'framemd5', '-'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line && !line.startsWith('#'));
}

function assertSamePackets(fileA, fileB, what) {
  const a = packetMd5s(fileA);
  const b = packetMd5s(fileB);
  assert.ok(a.length > 0, `${fileA}: no video packets`);
  const first = a.findIndex((line, i) => line !== b[i]);
  assert.equal(first === -1 && a.length === b.length, true,
    `${what}: ${a.length} vs ${b.length} packets, first difference at packet ${first}:\n` +
    `  ${a[first]}\n  ${b[first]}`);
}

// Clips that reach different kernels: 640x480 (64x64 superblocks, all block sizes), CIF 352x288
// (partial superblocks at the right and bottom edges), and two speeds (5 searches sub-pixel
// positions with averaging predictors that 8 does not).
const cases = [
  { name: 'FourPeople 640x480', clip: () => makeY4m('FourPeople_1280x720_60.mp4',
    'fps=30,scale=640:480,trim=end_frame=90', 'fourpeople_640x480_30_90f.y4m'), kbps: 250 },
  { name: 'akiyo CIF', clip: () => makeY4m('akiyo_cif.mp4', 'fps=30,trim=end_frame=60',
    'akiyo_cif_30_60f.y4m'), kbps: 150 },
];
const speeds = [5, 8];

// Where the WASM build differs from native even without SIMD: the plain (C only) WASM build and
// the simd one agree with each other, and a native C-only build of the same libvpx source
// (generic-gnu, glibc) agrees with Debian's x86 SIMD build, but the two pairs differ from each
// other (akiyo at speed 8 from packet 57 on). So the cause is WASM vs native C (math library or
// 32-bit `long`), not a SIMD port; kept visible as a todo until it is found.
const nativeDiffersInC = new Set(['akiyo CIF/8']);

for (const c of cases) {
  for (const speed of speeds) {
    const settings = { kbps: c.kbps, speed, threads: 1 };
    const todo = nativeDiffersInC.has(`${c.name}/${speed}`) &&
      'WASM C differs from native C here too (see nativeDiffersInC)';

    test(`wasm simd encodes ${c.name} at speed ${speed} bit-exactly like native libvpx`,
      { timeout: 300_000, todo, skip: !fs.existsSync(nativeBin) && `${nativeBin} is not built` }, () => {
        const dir = tempDir('wasm-bitexact-');
        const clip = c.clip();
        assertSamePackets(encode('native', clip, settings, dir), encode('wasm-simd', clip, settings, dir),
          'native vs wasm simd');
        fs.rmSync(dir, { recursive: true, force: true });
      });

    test(`wasm simd encodes ${c.name} at speed ${speed} bit-exactly like wasm plain (C only)`,
      { timeout: 300_000, skip: !(hasCore('simd') && hasCore('plain')) && 'a WASM variant is not built' },
      () => {
        const dir = tempDir('wasm-bitexact-');
        const clip = c.clip();
        assertSamePackets(encode('wasm-plain', clip, settings, dir),
          encode('wasm-simd', clip, settings, dir), 'wasm plain vs wasm simd');
        fs.rmSync(dir, { recursive: true, force: true });
      });
  }
}

// Row-mt and tile threads must not make the bitstream depend on the engine either: libvpx's
// multi-threaded encode is deterministic for a given thread count.
test('wasm simd with 2 threads encodes FourPeople 640x480 bit-exactly like native with 2 threads',
  { timeout: 300_000, skip: !fs.existsSync(nativeBin) && `${nativeBin} is not built` }, () => {
    const dir = tempDir('wasm-bitexact-');
    const clip = cases[0].clip();
    const settings = { kbps: 250, speed: 7, threads: 2 };
    assertSamePackets(encode('native', clip, settings, dir), encode('wasm-simd', clip, settings, dir),
      'native vs wasm simd, 2 threads');
    fs.rmSync(dir, { recursive: true, force: true });
  });
