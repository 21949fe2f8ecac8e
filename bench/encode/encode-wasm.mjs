#!/usr/bin/env node
// The WASM engine of bench/encode: encodes a y4m (and optionally a WAV) with the recorder-core
// WASM module under node and prints, as its last line, one JSON object with the same fields as the
// native engine: frames, seconds, fps, bytes, kbps, dropped, variant, threads.
//
//   node bench/encode/encode-wasm.mjs --in clip.y4m [--wav a.wav] --out out.webm --kbps N
//        [--fps F] [--threads T] [--speed S] [--adaptive] [--variant simd|plain]
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import { i420Layout, loadCore, RecorderDriver } from '../../wasm/node.mjs';
import { readWav, readY4m } from '../../tests/js/lib/media.mjs';

const { values: opt } = parseArgs({
  options: {
    in: { type: 'string' }, wav: { type: 'string' }, out: { type: 'string' },
    kbps: { type: 'string', default: '250' }, fps: { type: 'string' },
    threads: { type: 'string', default: '1' }, speed: { type: 'string' },
    variant: { type: 'string', default: 'simd' }, engine: { type: 'string', default: 'wasm' },
    adaptive: { type: 'boolean', default: false },
  },
});
if (!opt.in || !opt.out) {
  console.error('usage: encode-wasm.mjs --in clip.y4m [--wav a.wav] --out out.webm --kbps N ' +
    '[--fps F] [--threads T] [--speed S] [--variant simd|plain]');
  process.exit(2);
}

const frames = readY4m(opt.in);
const first = frames.next();
if (first.done) throw new Error(`${opt.in}: no frames`);
const { width, height } = first.value;
frames.return();  // the first frame gave the size; the loop below reads the rest itself
const fps = opt.fps ? Number(opt.fps) : first.value.fps;
const wav = opt.wav ? readWav(opt.wav) : null;
if (wav && wav.sampleRate !== 48000) throw new Error(`${opt.wav}: must be 48 kHz`);

const module = await loadCore(opt.variant);
const out = fs.openSync(opt.out, 'w');
let bytes = 0;
const video = { width, height, fps, kbps: Number(opt.kbps), threads: Number(opt.threads),
  adaptiveSpeed: opt.adaptive };
if (opt.speed) video.speed = Number(opt.speed);
const driver = new RecorderDriver(module, {
  video,
  audio: wav ? { sampleRate: 48000, channels: wav.channels } : null,
}, (info, chunk) => {
  fs.writeSync(out, chunk);
  bytes += chunk.byteLength;
});

// Audio goes in 20 ms blocks interleaved with video by timestamp, as a capture would deliver it.
const audioBlock = 960 * (wav ? wav.channels : 1);
let audioPos = 0;
function feedAudioUntil(us) {
  while (wav && audioPos < wav.samples.length) {
    const t = Math.round((audioPos / wav.channels) * 1e6 / 48000);
    if (t > us) return;
    driver.addAudio(wav.samples.subarray(audioPos, audioPos + audioBlock), t);
    audioPos += audioBlock;
  }
}

// Frames are read straight into the module's frame buffer, as the native engine reads into its
// own and a browser copies a VideoFrame into the heap: no JS allocation or extra copy per frame,
// so the figure is the encoder's. The y4m layout (header line, then "FRAME\n" + I420 per frame)
// was checked by readY4m on the first frame above.
const layout = i420Layout(width, height);
const frameBytes = first.value.data.byteLength;
const fd = fs.openSync(opt.in, 'r');
const head = Buffer.alloc(512);
fs.readSync(fd, head, 0, head.length, 0);
let pos = head.indexOf(0x0a) + 1;
const marker = Buffer.alloc(6);
let count = 0;
const started = performance.now();
while (fs.readSync(fd, marker, 0, 6, pos) === 6 && marker.toString('latin1') === 'FRAME\n') {
  const at = driver.recorder.videoBuffer(frameBytes);
  // Take HEAPU8 after videoBuffer: a growing heap replaces the view.
  if (fs.readSync(fd, module.HEAPU8, at, frameBytes, pos + 6) < frameBytes) break;
  pos += 6 + frameBytes;
  const t = Math.round((count * 1e6) / fps);
  feedAudioUntil(t);
  driver.pushVideo('I420', width, height, layout, t);
  count++;
}
fs.closeSync(fd);
feedAudioUntil((count * 1e6) / fps);
driver.stop();
const seconds = (performance.now() - started) / 1000;
const stats = driver.stats();
driver.close();
fs.closeSync(out);

const mediaSeconds = count / fps;
console.log(JSON.stringify({
  engine: 'wasm', variant: opt.variant, threads: Number(opt.threads), width, height,
  frames: stats.videoFramesEncoded, dropped: stats.videoFramesDropped, seconds,
  fps: count / seconds, bytes, kbps: (bytes * 8) / 1000 / mediaSeconds,
  video_kbps: stats.videoKbps,
}));
// Threads of the simd variant keep node alive; the work is done.
process.exit(0);
