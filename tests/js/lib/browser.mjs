// Browser test harness: a real recorder-server on a free port with a temporary data folder, a
// session created with the API key, and headless Chromium (Debian's, driven by playwright-core)
// with fake camera/microphone fed from the test clips.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { ffprobeJson, makeWav, makeY4m, repoDir, tempDir } from './media.mjs';

export const API_KEY = 'test-api-key-0123456789';

// The recorder-server binary: $RECORDER_SERVER_BIN, else the first build that has one.
export function serverBinary() {
  const candidates = [process.env.RECORDER_SERVER_BIN,
    process.env.RECORDER_BUILD_DIR && path.join(process.env.RECORDER_BUILD_DIR, 'server/recorder-server'),
    path.join(repoDir, 'build/native/server/recorder-server')];
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) throw new Error('recorder-server is not built (set RECORDER_SERVER_BIN)');
  return found;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// Starts recorder-server serving web/; resolves once /healthz answers. `port` and `dataDir` may
// be given to restart a server on the same address and data; `args`: more server flags.
export async function startServer({ port, dataDir, args = [] } = {}) {
  port ??= await freePort();
  dataDir ??= tempDir('recorder-data-');
  const logFile = path.join(dataDir, '..', `${path.basename(dataDir)}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(serverBinary(), ['--listen', `127.0.0.1:${port}`, '--data', dataDir,
    '--web', path.join(repoDir, 'web'), '--api-key', API_KEY, '--job-poll-ms', '200', ...args],
  { stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`recorder-server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('recorder-server did not become healthy');
    await sleep(100);
  }
  return {
    url, port, dataDir, logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      fs.closeSync(log);
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
    // Deletes the data folder and the log (after a passing test; failures keep them).
    remove() {
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(logFile, { force: true });
    },
  };
}

export async function createSession(server, candidateName = 'Jane Doe') {
  const res = await fetch(`${server.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ candidate_name: candidateName, candidate_email: 'jane@example.com', job: 'engineer' }),
  });
  if (res.status !== 201) throw new Error(`session creation: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

export function interviewUrl(server, session, extra = '') {
  return `${server.url}/interview.html#session=${encodeURIComponent(session.session_id)}` +
    `&token=${encodeURIComponent(session.upload_token)}${extra}`;
}

// The fake devices' media, made once and cached under build/test-media.
export function fakeMedia() {
  return {
    video: makeY4m('akiyo_cif.mp4', 'fps=30', 'akiyo_cif_30.y4m'),
    audio: makeWav('speech_orig_16k.wav', 'speech_48k_mono.wav'),
  };
}

// Headless Chromium with a fresh profile. Options:
//   grant: true    camera/microphone/screen allowed without a prompt (--use-fake-ui-for-media-stream)
//   devices: true  fake camera and microphone from the test clips
//   args           more Chromium flags
export async function launchBrowser({ grant = true, devices = true, args = [] } = {}) {
  const media = fakeMedia();
  const profile = tempDir('recorder-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      ...(devices ? ['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${media.video}`,
        `--use-file-for-fake-audio-capture=${media.audio}`] : []),
      ...(grant ? ['--use-fake-ui-for-media-stream'] : []),
      ...args,
    ],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('dialog', (dialog) => dialog.accept());  // "leave page?" on reload
  const logs = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  return {
    context, page, logs,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Clicks through the page to the recording state (device check, consent, start).
export async function startInterview(page) {
  await page.click('#check');
  await page.waitForFunction(() => window.interviewPage.state === 'ready', null, { timeout: 20_000 });
  if (!(await page.isChecked('#consent'))) await page.check('#consent');
  await page.click('#start');
  await page.waitForFunction(() => window.interviewPage.state === 'recording', null, { timeout: 20_000 });
}

export function pageState(page) {
  return page.evaluate(() => window.interviewPage.state);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The recordings finalized for a candidate: DATA/<Candidate_Folder>/interview_*.webm.
export function recordingFiles(dataDir) {
  const out = [];
  for (const entry of fs.readdirSync(dataDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(dataDir, entry.name))) {
      if (/^interview_.*\.webm$/.test(f)) out.push(path.join(dataDir, entry.name, f));
    }
  }
  return out.sort();
}

// The finalized recordings: waits until `count` files exist and each has a duration.
export async function finalizedFiles(dataDir, count, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const files = recordingFiles(dataDir);
    const probes = files.map((f) => ffprobeJson(f, ['-show_format', '-show_streams']));
    if (files.length >= count && probes.every((p) => Number(p.format.duration) > 0)) {
      return files.map((file, i) => ({ file, probe: probes[i], duration: Number(probes[i].format.duration) }));
    }
    if (Date.now() > deadline) throw new Error(`expected ${count} finalized recordings, have ${files.join(', ')}`);
    await sleep(300);
  }
}

// What the server's index holds, as SQL text (schema-agnostic lookups by value).
export function indexDump(dataDir) {
  return execFileSync('sqlite3', [path.join(dataDir, '.recorder', 'index.sqlite3'), '.dump'], { encoding: 'utf8' });
}
