// Readers for the raw media that tests and benchmarks feed to the recorder: YUV4MPEG2 video and
// WAV audio, and ffmpeg/ffprobe wrappers to make and check them.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const mediaDir = path.join(repoDir, 'tests/media');
export const cacheDir = path.join(repoDir, 'build/test-media');

// Opens a y4m file (4:2:0 only) and yields { data: Uint8Array (I420), index } frame by frame, so a
// long clip never sits in memory whole. Throws on anything that is not 8-bit 4:2:0 y4m.
export function* readY4m(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(512);
    fs.readSync(fd, head, 0, head.length, 0);
    const headerEnd = head.indexOf(0x0a);
    const header = head.subarray(0, headerEnd).toString('latin1');
    if (!header.startsWith('YUV4MPEG2 ')) throw new Error(`${file}: not a y4m file`);
    const field = (tag) => header.split(' ').find((t) => t.startsWith(tag))?.slice(1);
    const width = Number(field('W'));
    const height = Number(field('H'));
    const [num, den] = (field('F') ?? '30:1').split(':').map(Number);
    const colour = field('C') ?? '420jpeg';
    if (!colour.startsWith('420')) throw new Error(`${file}: colour space ${colour} is not 4:2:0`);
    const frameBytes = width * height + 2 * ((width + 1) >> 1) * ((height + 1) >> 1);
    let pos = headerEnd + 1;
    const frameHead = Buffer.alloc(6);
    for (let index = 0; ; index++) {
      if (fs.readSync(fd, frameHead, 0, 6, pos) < 6) return;
      if (frameHead.toString('latin1') !== 'FRAME\n') {
        throw new Error(`${file}: frame ${index} has parameters or a bad marker`);
      }
      const data = new Uint8Array(frameBytes);
      if (fs.readSync(fd, data, 0, frameBytes, pos + 6) < frameBytes) return;
      pos += 6 + frameBytes;
      yield { data, index, width, height, fps: num / den };
    }
  } finally {
    fs.closeSync(fd);
  }
}

// Reads a PCM s16le WAV file into interleaved float32 samples.
export function readWav(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new Error(`${file}: not a WAV file`);
  }
  let pos = 12;
  let format;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    if (id === 'fmt ') {
      format = { channels: buf.readUInt16LE(pos + 10), sampleRate: buf.readUInt32LE(pos + 12),
        bits: buf.readUInt16LE(pos + 22) };
    } else if (id === 'data') {
      if (!format || format.bits !== 16) throw new Error(`${file}: only 16-bit PCM is read`);
      const count = Math.floor(Math.min(size, buf.length - pos - 8) / 2);
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) samples[i] = buf.readInt16LE(pos + 8 + 2 * i) / 32768;
      return { ...format, samples };
    }
    pos += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

// Makes (once) a y4m from a clip in tests/media with an ffmpeg filter, e.g. 'fps=30,scale=640:480'.
export function makeY4m(clip, filter, name) {
  const out = path.join(cacheDir, name);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${out}.tmp-${process.pid}`;
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', path.join(mediaDir, clip), '-vf', filter,
      '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', tmp]);
    fs.renameSync(tmp, out);
  }
  return out;
}

// Makes (once) a 48 kHz WAV from a clip in tests/media.
export function makeWav(clip, name, channels = 1) {
  const out = path.join(cacheDir, name);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${out}.tmp-${process.pid}.wav`;
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', path.join(mediaDir, clip), '-ar', '48000',
      '-ac', String(channels), '-c:a', 'pcm_s16le', tmp]);
    fs.renameSync(tmp, out);
  }
  return out;
}

// PSNR-Y (dB) of a decoded file against a y4m reference, compared frame by frame in order. Both
// inputs get the same time base first: psnr pairs frames by time, and the inputs differ in theirs.
export function psnrY(decodedFile, referenceY4m) {
  const run = spawnSync('ffmpeg', ['-v', 'info', '-nostats', '-i', decodedFile, '-i', referenceY4m,
    '-lavfi', '[0:v]settb=1/30,setpts=N[a];[1:v]settb=1/30,setpts=N[b];[a][b]psnr', '-f', 'null', '-'], { encoding: 'utf8' });
  const match = /PSNR y:([\d.]+|inf)/.exec(run.stderr);
  if (run.status !== 0 || !match) throw new Error(`ffmpeg psnr failed: ${run.stderr.slice(-500)}`);
  return match[1] === 'inf' ? Infinity : Number(match[1]);
}

export function ffprobeJson(file, extra = []) {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-print_format', 'json', ...extra, file],
    { encoding: 'utf8' }));
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
