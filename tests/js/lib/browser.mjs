// Browser test harness: a real recorder-server on a free port with a temporary data folder, a
// session created with the API key, and headless Chromium (Debian's, driven by playwright-core)
// with fake camera/microphone fed from the test clips.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { ffprobeJson, makeWav, makeY4m, readY4m, repoDir, tempDir } from './media.mjs';

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
    // kill -9: no shutdown, as a crash or a power cut of the process.
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      fs.closeSync(log);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
    // Deletes the data folder and the log (after a passing test; failures keep them).
    remove() {
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(logFile, { force: true });
    },
  };
}

// `questions`: the host's [{id, text, max_seconds?}], if any.
export async function createSession(server, candidateName = 'Jane Doe', questions = undefined) {
  const res = await fetch(`${server.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ candidate_name: candidateName, candidate_email: 'jane@example.com', job: 'engineer', questions }),
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

// The flags every test Chromium runs with (launchBrowser, and bench/browser/soak.mjs, which starts
// Chromium itself): headless, quiet, and the fake devices and permission prompt.
export function chromiumFlags({ grant = true, devices = true, media = fakeMedia() } = {}) {
  return [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
    ...(devices ? ['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${media.video}`,
      `--use-file-for-fake-audio-capture=${media.audio}`] : []),
    ...(grant ? ['--use-fake-ui-for-media-stream'] : []),
  ];
}

// Headless Chromium with a fresh profile. Options:
//   grant: true    camera/microphone/screen allowed without a prompt (--use-fake-ui-for-media-stream)
//   devices: true  fake camera and microphone from the test clips
//   args           more Chromium flags
//   profile        a profile folder to use and keep (a browser restart relaunches with it);
//                  default: a fresh one, deleted by close()
//   mute: true     Playwright's --mute-audio; it also silences a captured tab's audio
//   video          the fake camera's y4m (default: fakeMedia().video)
export async function launchBrowser({ grant = true, devices = true, args = [], profile, mute = true, video } = {}) {
  const media = { ...fakeMedia(), ...(video ? { video } : {}) };
  const keepProfile = Boolean(profile);
  profile ??= tempDir('recorder-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    ignoreDefaultArgs: mute ? [] : ['--mute-audio'],
    args: [...chromiumFlags({ grant, devices, media }), ...args],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('dialog', (dialog) => dialog.accept());  // "leave page?" on reload
  const logs = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  return {
    context, page, logs, profile,
    async close() {
      await context.close().catch(() => {});  // already gone after kill()
      if (!keepProfile) fs.rmSync(profile, { recursive: true, force: true });
    },
    // Ends Chromium at once, as a crash or a power cut would: SIGKILL to the browser process this
    // test started (our child running with this profile). No page gets pagehide or beforeunload.
    async kill() {
      const pid = childWithArg(`--user-data-dir=${profile}`);
      process.kill(pid, 'SIGKILL');
      await new Promise((resolve) => context.once('close', resolve));
    },
  };
}

// The pid of this process's child whose command line holds `arg`.
function childWithArg(arg) {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(arg)) return Number(name);
    } catch {
      // exited meanwhile
    }
  }
  throw new Error(`no child process with ${arg}`);
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

// Runs `body` with a server, a session and a browser, and always cleans up; on failure the
// page's console is printed to help the diagnosis. `options`: launchBrowser's, `server`:
// startServer's, and `questions`: the session's.
export async function withSetup(options, body) {
  const server = await startServer(options.server);
  const session = await createSession(server, 'Jane Doe', options.questions);
  const browser = await launchBrowser(options);
  try {
    await body({ server, session, browser, page: browser.page });
    server.remove();
  } catch (err) {
    console.log(`--- page console ---\n${browser.logs.slice(-40).join('\n')}\n` +
      `--- server data ${server.dataDir}, log ${server.logFile}`);
    throw err;
  } finally {
    await browser.close();
    await server.stop();
  }
}

export function until(page, predicate, arg, timeout = 30_000) {
  return page.waitForFunction(predicate, arg, { timeout, polling: 250 });
}

export function untilState(page, state, timeout = 30_000) {
  return until(page, (s) => window.interviewPage?.state === s, state, timeout);
}

export const progress = (page) => page.evaluate(() => window.interviewPage.recorder.progress());
export const recordings = (page) => page.evaluate(() => window.interviewPage.recorder.recordings());

// The server's view of an upload (tus HEAD): {offset, length}.
export async function serverUpload(url, token) {
  const res = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `HEAD ${url}`);
  return { offset: Number(res.headers.get('Upload-Offset')), length: Number(res.headers.get('Upload-Length')) };
}

// The session's markers and client events in the server's index, by recording time.
export function sessionEvents(dataDir) {
  const out = execFileSync('sqlite3', ['-json', path.join(dataDir, '.recorder', 'index.sqlite3'),
    'SELECT type, label, data, recording_time_ms, upload_id FROM session_events ORDER BY recording_time_ms, id'], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

// Keeps a copy of every chunk the page stores in IndexedDB, taken when its transaction commits:
// evidence of what must arrive that does not come from the recorder's own bookkeeping. Works
// across reloads (the init script and the binding stay with the page); pass the same `stored` to
// follow another page (a restarted browser). Returns Map recordingId -> Map chunk index -> Buffer.
export async function captureStoredChunks(page, stored = new Map()) {
  await page.exposeBinding('__chunkStored', (_source, { recordingId, index, data }) => {
    if (!stored.has(recordingId)) stored.set(recordingId, new Map());
    stored.get(recordingId).set(index, Buffer.from(data, 'base64'));
  });
  await page.addInitScript(() => {
    const add = IDBObjectStore.prototype.add;
    IDBObjectStore.prototype.add = function (value, ...rest) {
      const request = add.call(this, value, ...rest);
      if (this.name === 'chunks') {
        const { recordingId, index } = value;
        const bytes = new Uint8Array(value.data.slice(0));
        this.transaction.addEventListener('complete', () => {
          let text = '';
          for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
          window.__chunkStored({ recordingId, index, data: btoa(text) });
        });
      }
      return request;
    };
  });
  return stored;
}

// Checks that the finalized `file` holds exactly the frames of a recording's stored `chunks`
// (Map index -> Buffer from captureStoredChunks: the header, then one Cluster each): the same
// packets bit for bit, with the same timestamps, in the same order, so a chunk lost or sent twice
// fails. Returns the chunks' total size (what the upload's offset must be) and the frame count.
export function assertChunksArrived(chunks, file) {
  const indexes = [...chunks.keys()].sort((a, b) => a - b);
  assert.ok(indexes.length >= 2, `${indexes.length} chunks stored`);
  assert.deepEqual(indexes, indexes.map((_, i) => i), 'chunks stored in order from 0, without gaps');
  const dir = tempDir('stored-chunks-');
  const live = path.join(dir, 'live.webm');
  const bytes = Buffer.concat(indexes.map((i) => chunks.get(i)));
  fs.writeFileSync(live, bytes);
  const frames = (f) => execFileSync('ffmpeg', ['-v', 'error', '-i', f, '-map', '0', '-c', 'copy', '-f', 'framemd5', '-'],
    { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter((l) => l && !l.startsWith('#'));
  const stored = frames(live);
  const arrived = frames(file);
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(arrived.length, stored.length, `${path.basename(file)}: ${arrived.length} frames, ${stored.length} stored`);
  assert.deepEqual(arrived, stored, `${path.basename(file)}: the stored frames, bit for bit`);
  return { bytes: bytes.length, frames: stored.length };
}

// A recording `rec` (from recorder.recordings()) arrived whole: its finalized `file` holds the frames
// of every chunk the page stored for it (`stored` from captureStoredChunks), and the server's
// upload is complete at their total size.
export async function assertArrived(stored, rec, file, token) {
  const chunks = stored.get(rec.id);
  assert.ok(chunks, `chunks of part ${rec.part} were stored`);
  const { bytes } = assertChunksArrived(chunks, file);
  assert.deepEqual(await serverUpload(rec.uploadUrl, token), { offset: bytes, length: bytes },
    'the upload is complete at the stored size');
}

// Chunks left in the page's IndexedDB, over all recordings: run in the page.
export async function countStoredChunks() {
  const { ChunkStore } = await import('/recorder/chunk-store.js');
  const store = await ChunkStore.open();
  try {
    return await store.countChunks();
  } finally {
    store.close();
  }
}

export function storedChunkCount(page) {
  return page.evaluate(countStoredChunks);
}

// Mean volume (dB) of a file's audio track (the fake microphone's speech is far above silence).
export function audioMeanDb(file) {
  const run = execFileSync('sh', ['-c', `ffmpeg -v info -nostats -i "${file}" -map 0:a -af volumedetect -f null - 2>&1`],
    { encoding: 'utf8' });
  return Number(/mean_volume: (-?[\d.]+) dB/.exec(run)?.[1] ?? -Infinity);
}

// Seekable: the file has a Duration and Cues, and decoding can start in the middle.
export function assertSeekable(file, duration) {
  const info = execFileSync('mkvinfo', ['-a', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.match(info, /^\|\+ Cues/m, `${file} has Cues`);
  assert.match(info, /\+ Duration: /, `${file} has a Duration`);
  const out = execFileSync('ffmpeg', ['-v', 'error', '-ss', (duration / 2).toFixed(2), '-i', file, '-frames:v', '1',
    '-f', 'framemd5', '-'], { encoding: 'utf8' });
  assert.match(out, /^0,/m, `${file}: a video frame decodes after seeking to the middle`);
}

// Decodes the whole file, video first then any audio: no decoder error, and every video packet
// gives a frame (a VP9 frame whose reference is missing from the stream fails, or is not output).
// Returns the number of video frames. (framemd5, not the null muxer: that one also complains of
// two frames in the same millisecond, which is no decoding error; passthrough, or ffmpeg drops
// frames it finds too close together from its output.)
export function assertDecodes(file) {
  const run = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-map', '0:v:0', '-map', '0:a?',
    '-fps_mode', 'passthrough', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(run.status, 0, `${file}: ffmpeg failed: ${run.stderr.slice(-500)}`);
  assert.equal(run.stderr, '', `${file} decodes without errors`);
  const frames = run.stdout.split('\n').filter((l) => l.startsWith('0,')).length;
  const packets = Number(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets',
    '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim());
  assert.equal(frames, packets, `${file}: ${frames} of ${packets} video packets decode`);
  return frames;
}

// PSNR-Y of a real-time capture against the looping fake-camera source.
// ffmpeg's psnr filter pairs frames by timestamp, which does not fit here: the fake camera loops
// the 10 s clip from whenever the device was opened, frames are captured on the wall clock, and
// the encoder may drop frames under load. So: the recording is resampled to the source's 30 fps
// (a dropped frame repeats its predecessor), a global offset into the loop is found by least
// squared error on a sparse set of frames, and each decoded frame is then scored against the
// best of the source frames within +-2 of its aligned position (capture jitter, clock drift).
// The remaining error is coding loss plus residual misalignment, hence a loose floor: measured
// here, aligned recordings score about 29 dB and the same recording against the source shifted by
// 40 or 150 frames about 24 dB (the clip is a nearly static newsreader), so the floor of 26 dB
// tells the camera's own pictures from other pictures of the same scene.
export function alignedPsnrY(file, reference, seconds = 8) {
  const src = [...readY4m(reference)].map((f) => f.data.subarray(0, f.width * f.height));
  const { width, height } = readY4m(reference).next().value;
  const size = width * height;
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-t', String(seconds), '-an',
    '-vf', `fps=30,scale=${width}:${height},format=gray`, '-f', 'rawvideo', '-'], { maxBuffer: 1 << 30 });
  const frames = [];
  for (let i = 0; i + size <= raw.length; i += size) frames.push(raw.subarray(i, i + size));
  const mse = (a, b, step = 1) => {
    let sum = 0;
    let n = 0;
    for (let p = 0; p < size; p += step) {
      const d = a[p] - b[p];
      sum += d * d;
      n += 1;
    }
    return sum / n;
  };
  const at = (i) => src[((i % src.length) + src.length) % src.length];
  let best = { offset: 0, error: Infinity };
  for (let offset = 0; offset < src.length; offset++) {
    let error = 0;
    for (let i = 15; i < frames.length; i += 20) error += mse(frames[i], at(i + offset), 7);
    if (error < best.error) best = { offset, error };
  }
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    let m = Infinity;
    for (let d = -2; d <= 2; d++) m = Math.min(m, mse(frames[i], at(i + best.offset + d), 1));
    total += m;
  }
  const meanMse = total / frames.length;
  return { psnr: 10 * Math.log10((255 * 255) / Math.max(meanMse, 1e-9)), frames: frames.length };
}
