// tus interop: the real tus-js-client (node) against the built recorder-server binary.
// Run: node --test tests/js/tus_interop.test.mjs   (RECORDER_SERVER_BIN overrides the binary)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tus from 'tus-js-client';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const serverBin = process.env.RECORDER_SERVER_BIN ?? path.join(repo, 'build/native/server/recorder-server');
const media = path.join(repo, 'tests/media');
const apiKey = 'interop-test-key';

let tmp, dataDir, liveWebm, server, port;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// "video=150 audio=251"-like summary of packets per stream.
function packetCounts(file) {
  return execFileSync('ffprobe', ['-v', 'error', '-count_packets', '-show_entries',
    'stream=codec_type,nb_read_packets', '-of', 'csv=p=0', file]).toString().trim();
}

async function newSession(name) {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/sessions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ candidate_name: name }),
  });
  assert.equal(res.status, 201);
  return res.json();
}

// Uploads `data` with tus-js-client; `control(upload, offset)` runs after each acknowledged chunk.
function upload(endpoint, token, data, control = () => {}) {
  return new Promise((resolve, reject) => {
    const u = new tus.Upload(data, {
      endpoint,
      uploadLengthDeferred: true,
      chunkSize: Math.ceil(data.length / 5), // ~1 s of media per PATCH
      headers: { Authorization: `Bearer ${token}` },
      metadata: { kind: 'camera', filename: 'live.webm' },
      retryDelays: [0, 100, 300, 1000, 2000],
      onChunkComplete: (_size, acked) => control(u, acked),
      onSuccess: () => resolve(u),
      onError: reject,
    });
    u.start();
  });
}

// The one finalized .webm in a candidate folder, once its .part is gone.
async function finalFile(folder) {
  const dir = path.join(dataDir, folder);
  let found;
  await waitFor(() => {
    const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    found = names.find((n) => n.endsWith('.webm'));
    return found && !names.some((n) => n.endsWith('.part'));
  }, 30000, `a finalized file in ${dir}`);
  return path.join(dir, found);
}

function assertSameFramesWithDurationAndCues(file) {
  assert.equal(packetCounts(file), packetCounts(liveWebm), 'same packets per stream as the input');
  const info = execFileSync('mkvinfo', ['--all', file]).toString();
  assert.match(info, /\|\+ Cues/);
  assert.match(info, /Duration: 00:00:0[45]/);
  assert.ok(Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of',
    'csv=p=0', file]).toString()) > 4);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tus-interop-'));
  dataDir = path.join(tmp, 'data');
  liveWebm = path.join(tmp, 'live.webm');
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path.join(media, 'akiyo_cif.mp4'), '-i',
    path.join(media, 'speech_orig_16k.wav'), '-t', '5', '-c:v', 'libvpx-vp9', '-deadline', 'realtime',
    '-cpu-used', '8', '-b:v', '300k', '-c:a', 'libopus', '-f', 'webm', '-live', '1', liveWebm]);
  port = await freePort();
  server = spawn(serverBin, ['--listen', `127.0.0.1:${port}`, '--data', dataDir, '--api-key', apiKey,
    '--log-level', 'warn', '--threads', '32'], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitFor(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
    } catch {
      return false;
    }
  }, 10000, 'the server to answer /healthz');
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('deferred-length upload paused and resumed is finalized with the same frames, Duration and Cues', async () => {
  const { upload_token: token, tus_endpoint: endpoint } = await newSession('Pause Resume');
  const data = fs.readFileSync(liveWebm);
  let paused = false;
  await upload(`http://127.0.0.1:${port}${endpoint}`, token, data, (u, acked) => {
    if (paused || acked >= data.length) return;
    paused = true;
    // Pause after the first chunk, resume from HEAD a moment later.
    u.abort().then(() => setTimeout(() => u.start(), 200));
  });
  assert.ok(paused);
  assertSameFramesWithDurationAndCues(await finalFile('Pause_Resume'));
});

test('a connection cut mid-PATCH is retried from the server offset and loses nothing', async () => {
  const { upload_token: token, tus_endpoint: endpoint } = await newSession('Dropped Connection');
  const data = fs.readFileSync(liveWebm);
  // A TCP proxy that cuts both sockets once, in the middle of the second chunk's body.
  const cutAt = Math.ceil(data.length / 5) * 1.5;
  let forwarded = 0;
  let cuts = 0;
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.pipe(client);
    client.on('data', (buf) => {
      if (cuts === 0 && forwarded + buf.length > cutAt) {
        cuts++;
        upstream.write(buf.subarray(0, Math.max(0, cutAt - forwarded)), () => {
          upstream.destroy();
          client.destroy();
        });
        return;
      }
      forwarded += buf.length;
      upstream.write(buf);
    });
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    await upload(`http://127.0.0.1:${proxy.address().port}${endpoint}`, token, data);
  } finally {
    proxy.close();
  }
  assert.equal(cuts, 1, 'the proxy cut one request');
  assertSameFramesWithDurationAndCues(await finalFile('Dropped_Connection'));
});
