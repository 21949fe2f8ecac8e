// Helpers for the HR results page tests: accounts made with the server's `admin create`
// sub-command, recordings encoded with the WASM core under node and uploaded over tus (no
// candidate page involved) or made by ffmpeg, markers through the host events API, and a logged-in
// HR API client.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadCore, RecorderDriver, i420Layout } from '../../../wasm/node.mjs';
import { API_KEY, serverBinary, sleep } from './browser.mjs';
import { mediaDir, readWav, readY4m } from './media.mjs';

// `recorder-server admin create --data DIR [--index URL] --username NAME --role ROLE`, password on
// stdin. Resolves to the command's output; rejects when it exits with anything but 0.
export function createAccount(dataDir, username, password, role = 'admin', index = undefined) {
  return new Promise((resolve, reject) => {
    const child = spawn(serverBinary(), ['admin', 'create', '--data', dataDir, ...(index ? ['--index', index] : []),
      '--username', username, '--role', role], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output.trim())
      : reject(new Error(`admin create ${username} exited with ${code}: ${output.trim()}`))));
    child.stdin.end(`${password}\n`);
  });
}

// A session made with the host API; the candidate's name, e-mail and job are the caller's.
export async function createHostSession(server, { name, email, job, questions }) {
  const res = await fetch(`${server.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ candidate_name: name, candidate_email: email, job, questions }),
  });
  if (res.status !== 201) throw new Error(`session creation: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

// Encodes `seconds` of a y4m clip (looped if shorter) at `fps`, with the WAV's audio (looped) if
// given, with the plain WASM core (its threads-free build lets node exit). Resolves to the
// recorder's chunks (Buffers, in order): a live WebM as the candidate page would upload it.
export async function encodeRecording({ y4m, wav, seconds, kbps = 200, content = 'camera' }) {
  const frames = [...readY4m(y4m)];
  const { width, height, fps } = frames[0];
  const audio = wav ? readWav(wav) : null;
  const module = await loadCore('plain');
  const chunks = [];
  const driver = new RecorderDriver(module, {
    video: { width, height, fps, kbps, content },
    audio: audio ? { sampleRate: audio.sampleRate, channels: audio.channels } : null,
    chunkDurationMs: 1000,
  }, (info, bytes) => chunks.push(Buffer.from(bytes)));
  try {
    const layout = i420Layout(width, height);
    const block = 960 * (audio?.channels ?? 1);  // 20 ms at 48 kHz
    let audioPos = 0;  // in samples (all channels), unbounded: the clip loops
    const feedAudioUntil = (us) => {
      if (!audio) return;
      for (;;) {
        const t = Math.round((audioPos / audio.channels) * 1e6 / audio.sampleRate);
        if (t > us) return;
        const start = audioPos % (audio.samples.length - (audio.samples.length % block));
        driver.addAudio(audio.samples.subarray(start, start + block), t);
        audioPos += block;
      }
    };
    const count = Math.round(seconds * fps);
    for (let i = 0; i < count; i++) {
      const t = Math.round((i * 1e6) / fps);
      feedAudioUntil(t);
      driver.addVideoBytes('I420', width, height, frames[i % frames.length].data, layout, t);
    }
    feedAudioUntil((count * 1e6) / fps);
    driver.stop();
  } finally {
    driver.close();
  }
  return chunks;
}

// Uploads `chunks` as one recording over tus with plain fetch: creation with a deferred length,
// one PATCH per `perPatch` chunks, the last one declaring Upload-Length. Resolves to the upload URL.
export async function tusUpload(server, session, chunks, { kind = 'camera', perPatch = 5 } = {}) {
  const auth = { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${session.upload_token}` };
  const meta = { kind, filename: `${kind}-part1.webm`, recording_id: randomUUID(), part: '1', start_ms: '0' };
  const created = await fetch(new URL(session.tus_endpoint, server.url), {
    method: 'POST',
    headers: { ...auth, 'Upload-Defer-Length': '1',
      'Upload-Metadata': Object.entries(meta).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(',') },
  });
  assert.equal(created.status, 201, `tus creation: ${await created.text()}`);
  const url = new URL(created.headers.get('Location'), new URL(session.tus_endpoint, server.url)).href;
  const total = chunks.reduce((n, c) => n + c.length, 0);
  let offset = 0;
  for (let i = 0; i < chunks.length; i += perPatch) {
    const body = Buffer.concat(chunks.slice(i, i + perPatch));
    const last = i + perPatch >= chunks.length;
    const res = await fetch(url, {
      method: 'PATCH',
      headers: { ...auth, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset),
        ...(last ? { 'Upload-Length': String(total) } : {}) },
      body,
    });
    assert.equal(res.status, 204, `PATCH at ${offset}: HTTP ${res.status} ${await res.text()}`);
    offset += body.length;
    assert.equal(Number(res.headers.get('Upload-Offset')), offset);
  }
  return url;
}

// Markers through the host events API (upload token). `markers`: [{label, ms, uploadUrl?}].
export async function postMarkers(server, session, markers) {
  const events = markers.map(({ label, ms, uploadUrl, data }) => ({
    id: randomUUID(), type: 'marker', label, recording_time_ms: ms, data: data ?? { question: label },
    ...(uploadUrl ? { upload_url: uploadUrl } : {}),
  }));
  const res = await fetch(`${server.url}/api/v1/sessions/${encodeURIComponent(session.session_id)}/events`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${session.upload_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  assert.equal(res.status, 201, `events: HTTP ${res.status} ${await res.text()}`);
}

// An HR API client with its own session cookie and CSRF token (as the page would hold them).
export async function hrLogin(server, username, password) {
  const res = await fetch(`${server.url}/api/v1/hr/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `login: HTTP ${res.status} ${text}`);
  const cookie = (res.headers.getSetCookie?.() ?? [res.headers.get('set-cookie')])
    .map((c) => c?.split(';')[0]).find((c) => c?.startsWith('recorder_hr='));
  assert.ok(cookie, 'login sets the recorder_hr cookie');
  const me = JSON.parse(text);
  return {
    ...me,
    cookie,
    // Resolves to the fetch Response; `body` (object) is sent as JSON.
    request(method, path, body) {
      return fetch(`${server.url}${path}`, {
        method,
        headers: { Cookie: cookie, 'X-CSRF-Token': me.csrf_token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    },
    async json(path) {
      const r = await this.request('GET', path);
      const t = await r.text();
      assert.equal(r.status, 200, `GET ${path}: HTTP ${r.status} ${t}`);
      return JSON.parse(t);
    },
  };
}

// Waits until the session's recordings of `kinds` are all ready, polling the session list (which,
// unlike the session details, is not audited as a view). Resolves to the session's details.
export async function waitForReady(client, session, kinds, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  const list = `/api/v1/hr/sessions?q=${encodeURIComponent(session.candidate_name)}&limit=100`;
  for (;;) {
    const found = (await client.json(list)).sessions.find((s) => s.session_id === session.session_id);
    const ready = found && kinds.every((k) => found.recordings.some((r) => r.kind === k && r.status === 'ready'));
    if (ready) return client.json(`/api/v1/hr/sessions/${encodeURIComponent(session.session_id)}`);
    if (Date.now() > deadline) {
      throw new Error(`recordings not ready: ${JSON.stringify(found?.recordings.map((r) => [r.kind, r.status, r.failure_reason]))}`);
    }
    await sleep(250);
  }
}

// A 6-second VP9/Opus WebM with real speech (ffmpeg), as chunks for tus.
export function speechRecording() {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-')), 'speech.webm');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15',
    '-i', path.join(mediaDir, 'speech_orig_16k.wav'), '-t', '6', '-c:v', 'libvpx-vp9', '-deadline', 'realtime',
    '-b:v', '200k', '-c:a', 'libopus', '-ar', '48000', '-f', 'webm', file]);
  const bytes = fs.readFileSync(file);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return [bytes.subarray(0, 20_000), bytes.subarray(20_000)];
}
