// The WASM builds of the recorder core (plain and threads+SIMD) under node: quality, bitrate and
// completeness on a real clip, decoded back with ffmpeg; and errors that come back as
// RecorderError instead of crashes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { loadCore, RecorderDriver, RecorderError, i420Layout } from '../../wasm/node.mjs';
import { ffprobeJson, makeY4m, makeWav, psnrY, repoDir, tempDir } from './lib/media.mjs';

const encodeScript = path.join(repoDir, 'bench/encode/encode-wasm.mjs');

function encode(args) {
  const out = execFileSync(process.execPath, [encodeScript, ...args], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

for (const [variant, threads] of [['plain', 1], ['simd', 2]]) {
  test(`wasm ${variant} encodes FourPeople 640x480 at 250 kbps with PSNR-Y >= 35.5 dB, ` +
    'bitrate within 10 % and every frame', { timeout: 300_000 }, () => {
    const clip = makeY4m('FourPeople_1280x720_60.mp4', 'fps=30,scale=640:480', 'fourpeople_640x480_30.y4m');
    const out = path.join(tempDir('wasm-encode-'), 'out.webm');
    const result = encode(['--in', clip, '--out', out, '--kbps', '250', '--variant', variant,
      '--threads', String(threads)]);
    assert.equal(result.frames, 301);
    assert.equal(result.dropped, 0);
    const probe = ffprobeJson(out, ['-count_frames', '-show_streams']);
    assert.equal(probe.streams[0].codec_name, 'vp9');
    assert.equal(Number(probe.streams[0].nb_read_frames), 301);
    assert.ok(Math.abs(result.kbps - 250) / 250 <= 0.10, `achieved ${result.kbps} kbps`);
    const psnr = psnrY(out, clip);
    assert.ok(psnr >= 35.5, `PSNR-Y ${psnr} dB`);
  });
}

test('wasm plain records camera and microphone into one WebM with VP9 and Opus', { timeout: 300_000 }, () => {
  const clip = makeY4m('akiyo_cif.mp4', 'fps=30', 'akiyo_cif_30.y4m');
  const wav = makeWav('speech_orig_16k.wav', 'speech_48k_mono.wav');
  const out = path.join(tempDir('wasm-av-'), 'out.webm');
  encode(['--in', clip, '--wav', wav, '--out', out, '--kbps', '200', '--variant', 'plain']);
  const probe = ffprobeJson(out, ['-show_streams']);
  assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ['opus', 'vp9']);
  // The whole file decodes without an error.
  execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', out, '-f', 'null', '-']);
});

test('wasm core returns RecorderError for invalid use and keeps working', async () => {
  const module = await loadCore('plain');
  const chunks = [];
  const driver = new RecorderDriver(module, { video: { width: 64, height: 48, kbps: 100 } },
    (info, bytes) => chunks.push(bytes));
  const frame = new Uint8Array(64 * 48 * 3 / 2);
  const layout = i420Layout(64, 48);

  assert.throws(() => driver.addVideoBytes('I420', 32, 48, frame, layout, 0),
    (e) => e instanceof RecorderError && e.code === 'InvalidArgument');
  assert.throws(() => driver.addVideoBytes('YUYV', 64, 48, frame, layout, 0),
    (e) => e instanceof RecorderError && e.code === 'Unsupported');
  const outside = [{ offset: frame.length, stride: 64 }, layout[1], layout[2]];
  assert.throws(() => driver.addVideoBytes('I420', 64, 48, frame, outside, 0),
    (e) => e instanceof RecorderError && e.code === 'InvalidArgument');
  assert.throws(() => driver.addAudio(new Float32Array(960), 0),
    (e) => e instanceof RecorderError);

  driver.addVideoBytes('I420', 64, 48, frame, layout, 1000);
  assert.throws(() => driver.addVideoBytes('I420', 64, 48, frame, layout, 1000),
    (e) => e instanceof RecorderError && e.code === 'InvalidArgument', 'same timestamp twice');
  driver.addVideoBytes('I420', 64, 48, frame, layout, 34_000);
  driver.stop();
  assert.throws(() => driver.stop(), (e) => e.code === 'FailedPrecondition');
  assert.throws(() => driver.addVideoBytes('I420', 64, 48, frame, layout, 68_000),
    (e) => e.code === 'FailedPrecondition');
  assert.equal(driver.stats().videoFramesEncoded, 2);
  driver.close();

  const file = path.join(tempDir('wasm-err-'), 'out.webm');
  fs.writeFileSync(file, Buffer.concat(chunks));
  const probe = ffprobeJson(file, ['-count_frames', '-show_streams']);
  assert.equal(Number(probe.streams[0].nb_read_frames), 2);

  assert.throws(() => new RecorderDriver(module, { video: { width: 5, height: 48 } }, () => {}),
    (e) => e instanceof RecorderError && e.code === 'InvalidArgument');
});
