#!/usr/bin/env node
// Writes the hand-made hostile inputs of tests/webm/fuzz/regressions (issue 15), small versions of
// what tests/webm/finalize_test.cc builds at full size:
//   hostile_keyframes_one_instant.webm   3000 one-byte VP9 keyframes at 0 ms (frames-per-second limit)
//   hostile_keyframes_30ms.webm          3000 one-byte VP9 keyframes 30 ms apart (accepted, 90 s)
//   hostile_big_audio_little_video.webm  one VP9 frame, then 4 Opus frames of 256 KiB
//   hostile_17_tracks.webm               17 Opus tracks declared (tracks limit)
//
//   node tests/webm/fuzz/make_hostile.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'regressions');

const id = (v) => {
  const bytes = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  return Buffer.from(bytes);
};
const size = (n) => (n < 127 ? Buffer.from([0x80 | n]) : Buffer.concat([Buffer.from([0x01, 0, 0, 0]), uint32(n)]));
const uint32 = (n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const element = (i, ...payload) => {
  const body = Buffer.concat(payload);
  return Buffer.concat([id(i), size(body.length), body]);
};
const uint = (i, v) => element(i, v < 256 ? Buffer.from([v]) : uint32(v));
const string = (i, s) => element(i, Buffer.from(s, 'latin1'));
const unknownSize = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

const ebmlHeader = element(0x1a45dfa3, uint(0x4286, 1), uint(0x42f7, 1), uint(0x42f2, 4), uint(0x42f3, 8),
  string(0x4282, 'webm'), uint(0x4287, 4), uint(0x4285, 2));
const vp9 = (n) => element(0xae, uint(0xd7, n), uint(0x73c5, 100 + n), uint(0x83, 1), string(0x86, 'V_VP9'),
  element(0xe0, uint(0xb0, 64), uint(0xba, 48)));
const opus = (n) => element(0xae, uint(0xd7, n), uint(0x73c5, 100 + n), uint(0x83, 2), string(0x86, 'A_OPUS'),
  element(0xe1, element(0xb5, Buffer.from([0x40, 0xe7, 0x70, 0, 0, 0, 0, 0])), uint(0x9f, 1)));

// A live stream (1 ms ticks) of frames {track, ms, key, bytes}, in unknown-size Clusters.
function live(tracks, frames) {
  const parts = [ebmlHeader, id(0x18538067), unknownSize, element(0x1549a966, uint(0x2ad7b1, 1000000)),
    element(0x1654ae6b, ...tracks)];
  let clusterMs = -1;
  frames.forEach((f, i) => {
    if (clusterMs < 0 || f.ms - clusterMs > 32767) {
      clusterMs = f.ms;
      parts.push(id(0x1f43b675), unknownSize, uint(0xe7, f.ms));
    }
    const rel = f.ms - clusterMs;
    const data = Buffer.alloc(f.bytes, i & 255);
    parts.push(element(0xa3, Buffer.from([0x80 | f.track, rel >> 8, rel & 255, f.key ? 0x80 : 0]), data));
  });
  return Buffer.concat(parts);
}

const many = (n, frame) => Array.from({ length: n }, (_, i) => frame(i));
const files = {
  'hostile_keyframes_one_instant.webm': live([vp9(1)], many(3000, () => ({ track: 1, ms: 0, key: true, bytes: 1 }))),
  'hostile_keyframes_30ms.webm': live([vp9(1)], many(3000, (i) => ({ track: 1, ms: 30 * i, key: true, bytes: 1 }))),
  'hostile_big_audio_little_video.webm': live([vp9(1), opus(2)], many(5, (i) => (i === 0
    ? { track: 1, ms: 0, key: true, bytes: 100 } : { track: 2, ms: 20 * i, key: true, bytes: 256 << 10 }))),
  'hostile_17_tracks.webm': live(many(17, (i) => opus(i + 1)), many(10, (i) => ({ track: 1, ms: 20 * i, key: true, bytes: 3 }))),
};
for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
