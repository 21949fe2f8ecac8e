// The HR results page (web/hr/) in headless Chromium against a real recorder-server: an admin made
// with `recorder-server admin create`, a session with a ~21 s camera recording (VP9+Opus) and a
// screen recording encoded by the WASM core under node and uploaded over tus, and three markers.
// The page finds the session, plays both videos in sync, jumps to markers, downloads the camera
// file (byte-identical to the finalized file), deletes the session (files gone, API 404), shows
// the audit log and erases another candidate with both their sessions (folder and index rows
// gone). Another test covers signing in: 401 without a login, wrong passwords, throttling, a
// reviewer's view and logging out.
// Run: node --test tests/js/hr_page.test.mjs   (RECORDER_SERVER_BIN overrides the binary)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { indexDump, launchBrowser, recordingFiles, sleep, startServer } from './lib/browser.mjs';
import {
  createAccount, createHostSession, encodeRecording, hrLogin, postMarkers, tusUpload, waitForReady,
} from './lib/hr.mjs';
import { makeWav, makeY4m } from './lib/media.mjs';

const T = { timeout: 300_000 };
const ADMIN = { username: 'hr-admin', password: 'correct horse battery staple' };
const REVIEWER = { username: 'hr-reviewer', password: 'another long passphrase' };
// The host's questions: the timeline names them (a long one cut inside the page, whole in the
// tooltip); a marker of no question keeps its label.
const QUESTIONS = [
  { id: 'intro', text: 'Introduce yourself.' },
  { id: 'design', text: `Design a link shortener. ${'Explain the storage, the cache and what fails first. '.repeat(4)}` },
];
const MARKERS = [
  { label: 'question_1_start', ms: 3000, data: { question: 1, question_id: 'intro', edge: 'start' } },
  { label: 'question_2_start', ms: 8000, data: { question: 2, question_id: 'design', edge: 'start' } },
  { label: 'a_very_long_marker_label_that_would_leave_the_page_at_the_right_edge', ms: 20_500 },
];

// Runs `body` with a server and a browser, always cleans up; on failure prints the page's console
// and keeps the server's data and log for a look.
async function withServerAndBrowser(body) {
  const server = await startServer();
  let browser;
  try {
    await body(server, async () => {
      browser = await launchBrowser({ devices: false });
      return browser.page;
    });
    server.remove();
  } catch (err) {
    console.log(`--- page console ---\n${browser?.logs.slice(-40).join('\n') ?? '(no browser)'}\n` +
      `--- server data ${server.dataDir}, log ${server.logFile}`);
    throw err;
  } finally {
    await browser?.close();
    await server.stop();
  }
}

const visible = (page, selector, timeout = 15_000) => page.waitForSelector(selector, { state: 'visible', timeout });

// The value `probe` resolves to once it is not null, polled every 250 ms.
async function pollUntil(probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`not reached in ${timeoutMs} ms: ${probe}`);
    await sleep(250);
  }
}

// The session's transcript once every stage of its recordings completed and the camera has one.
const waitForTranscript = (api, id) => pollUntil(async () => {
  const session = await api.json(`/api/v1/hr/sessions/${id}`);
  if (!session.recordings.every((r) => r.pipeline?.status === 'completed')) return null;
  const transcript = await api.json(`/api/v1/hr/sessions/${id}/transcript`);
  return transcript.recordings.find((r) => r.kind === 'camera')?.transcript ? transcript : null;
});

// The page's "m:ss" (web/hr/dom.js).
const formatTime = (ms) => `${Math.floor(ms / 60_000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;

async function signIn(page, { username, password }) {
  await visible(page, '#login-username');
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
}

// The state of the two players, read in one go.
function players(page) {
  return page.evaluate(() => {
    const [camera, screen] = ['#camera', '#screen'].map((s) => document.querySelector(s));
    return { camera: camera.currentTime, screen: screen.currentTime, cameraPaused: camera.paused,
      screenPaused: screen.paused, seeking: camera.seeking || screen.seeking };
  });
}

// Waits until the screen is within 0.5 s of the camera (it follows seeks asynchronously).
async function screenFollows(page, what) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const p = await players(page);
    if (!p.seeking && Math.abs(p.screen - p.camera) < 0.5) return p;
    if (Date.now() > deadline) assert.fail(`${what}: the screen is at ${p.screen} s, the camera at ${p.camera} s`);
    await sleep(100);
  }
}

test('HR page: find a session, play camera and screen in sync, jump to markers, download, delete, audit, erase a candidate', T, async () => {
  // Encoding first (the slow part), outside the server's lifetime.
  const camera = await encodeRecording({ y4m: makeY4m('akiyo_cif.mp4', 'fps=30', 'akiyo_cif_30.y4m'),
    wav: makeWav('speech_orig_16k.wav', 'speech_48k_mono.wav'), seconds: 21, kbps: 200 });
  const screen = await encodeRecording({ y4m: makeY4m('vtc1nw_422_cif.mp4', 'fps=10,format=yuv420p', 'vtc1nw_cif_10.y4m'),
    seconds: 21, kbps: 300, content: 'screen' });

  await withServerAndBrowser(async (server, openBrowser) => {
    // The account is created while the server runs, in the same SQLite file.
    assert.match(await createAccount(server.dataDir, ADMIN.username, ADMIN.password, 'admin'), /created admin/);
    const session = await createHostSession(server,
      { name: 'Ada Lovelace', email: 'ada@example.com', job: 'analyst', questions: QUESTIONS });
    const bob = await createHostSession(server, { name: 'Bob Builder', email: 'bob@example.com', job: 'engineer' });
    const cameraUrl = await tusUpload(server, session, camera, { kind: 'camera' });
    // Bob's upload is not a WebM: its finalize fails (the retry below).
    await tusUpload(server, bob, [Buffer.from('not a webm file '.repeat(64))], { kind: 'camera' });
    await tusUpload(server, session, screen, { kind: 'screen' });
    await postMarkers(server, session, MARKERS.map((m) => ({ ...m, uploadUrl: cameraUrl })));

    const api = await hrLogin(server, ADMIN.username, ADMIN.password);
    assert.equal(api.role, 'admin');
    const id = session.session_id;
    await waitForReady(api, { session_id: id, candidate_name: 'Ada Lovelace' }, ['camera', 'screen']);
    // The camera's speech is transcribed by PocketSphinx once it is ready; the page shows the
    // transcript it finds when the session opens.
    const transcript = await waitForTranscript(api, id);
    const ready = await api.json(`/api/v1/hr/sessions/${id}`);
    assert.deepEqual(ready.markers.map((m) => [m.label, m.recording_time_ms]), MARKERS.map((m) => [m.label, m.ms]));
    const files = recordingFiles(server.dataDir);
    assert.equal(files.length, 2, `two finalized files: ${files}`);
    const cameraFile = files.find((f) => !f.endsWith('_screen.webm'));

    // The screen recording's download name (the page's own download is the camera's, below).
    const cameraId = ready.recordings.find((r) => r.kind === 'camera').id;
    const screenId = ready.recordings.find((r) => r.kind === 'screen').id;
    const screenDownload = await api.request('GET', `/api/v1/hr/recordings/${screenId}/download`);
    assert.equal(screenDownload.status, 200);
    assert.match(screenDownload.headers.get('content-disposition') ?? '',
      new RegExp(`attachment; *filename="interview_${id}_screen\\.webm"`));
    assert.ok(Buffer.from(await screenDownload.arrayBuffer()).equals(fs.readFileSync(files.find((f) => f !== cameraFile))));

    // What the audit log holds before the page's turn (this client's view and download above).
    // Views and deletions name the session; downloads the recording (its id, or the session's).
    const namesCamera = new RegExp(`(^|[^\\w.])${cameraId}($|[^\\w.])`);
    const names = (action, text) => text.includes(id) || (action === 'download' && namesCamera.test(text));
    const count = (entries, action) => entries.filter((e) => e.action === action && names(action, e.text)).length;
    const before = (await api.json('/api/v1/hr/audit?limit=1000')).entries.map((e) => ({
      action: e.action, text: `${e.target} ${JSON.stringify(e.detail)}` }));

    const page = await openBrowser();
    await page.goto(`${server.url}/hr/`);
    await signIn(page, ADMIN);
    await visible(page, '#list-view');
    assert.equal(await page.isVisible('#audit'), true, 'admins see the audit log link');

    // Search by part of the name, case-insensitively: only Ada's session is left.
    await page.waitForFunction(() => document.querySelectorAll('[data-session-id]').length === 2);
    await page.fill('#search', 'LOVEL');
    await page.waitForFunction(() => document.querySelectorAll('[data-session-id]').length === 1);
    const row = await page.textContent('#sessions');
    assert.match(row, /Ada Lovelace/);
    assert.match(row, /analyst/);
    assert.match(row, /Ready/);
    assert.match(row, /0:2[01]/, 'the duration');
    await page.click(`[data-session-id="${id}"]`);
    await visible(page, '#detail-view');
    assert.match(await page.textContent('#recordings'), /Camera[\s\S]*Ready[\s\S]*0:2[01][\s\S]*Screen/);

    // Markers: "Q1: <question> · 0:03" etc. along the bar, placed by time (a button's time is its
    // left edge, or its right edge when it grows leftwards), every one inside the page.
    const markers = await page.$$eval('[data-marker-index]', (els) => els.map((e) => {
      const box = e.getBoundingClientRect();
      return { text: e.textContent, title: e.title, left: box.left, right: box.right,
        at: e.classList.contains('leftwards') ? box.right : box.left, page: document.documentElement.clientWidth };
    }));
    assert.deepEqual(markers.map((m) => m.text), [`Q1: ${QUESTIONS[0].text} · 0:03`,
      `Q2: ${QUESTIONS[1].text.trim()} · 0:08`, `${MARKERS[2].label} · 0:20`]);
    assert.equal(markers[1].title, `Question 2: ${QUESTIONS[1].text.trim()}`);
    assert.ok(markers[0].at < markers[1].at && markers[1].at < markers[2].at, `placed by time: ${JSON.stringify(markers)}`);
    for (const m of markers) assert.ok(m.left >= 0 && m.right <= m.page, `inside the page: ${JSON.stringify(m)}`);

    // Play, then seek the camera to 10 s: it lands there and keeps playing; the screen follows.
    await page.waitForFunction(() => document.querySelector('#camera').readyState >= 1 &&
      document.querySelector('#screen').readyState >= 1, null, { timeout: 15_000 });
    await page.evaluate(() => document.querySelector('#camera').play());
    await page.waitForFunction(() => document.querySelector('#camera').currentTime > 0.5, null, { timeout: 15_000 });
    assert.equal((await players(page)).screenPaused, false, 'the screen plays along');
    const seeked = await page.evaluate(() => new Promise((resolve) => {
      const video = document.querySelector('#camera');
      video.addEventListener('seeked', () => resolve(video.currentTime), { once: true });
      video.currentTime = 10;
    }));
    assert.ok(Math.abs(seeked - 10) < 0.5, `camera at ${seeked} s after seeking to 10 s`);
    const advance = await page.evaluate(() => new Promise((resolve) => {
      const video = document.querySelector('#camera');
      const start = video.currentTime;
      let frames = 0;
      const count = () => { frames++; video.requestVideoFrameCallback(count); };
      video.requestVideoFrameCallback(count);
      setTimeout(() => resolve({ start, end: video.currentTime, frames }), 1500);
    }));
    assert.ok(advance.end - advance.start > 0.5, `playing after the seek: ${advance.start} -> ${advance.end} s`);
    assert.ok(advance.frames >= 5, `${advance.frames} frames presented in 1.5 s`);
    const synced = await screenFollows(page, 'after seeking to 10 s');
    assert.ok(synced.camera >= 10 && synced.camera < 14, `camera at ${synced.camera} s`);
    assert.equal(synced.screenPaused, false);

    // Pause drives both; the second marker seeks both to 8 s.
    await page.evaluate(() => document.querySelector('#camera').pause());
    await page.waitForFunction(() => document.querySelector('#screen').paused);
    await page.click('[data-marker-index="1"]');
    await page.waitForFunction(() => Math.abs(document.querySelector('#camera').currentTime - 8) < 0.5);
    const atMarker = await screenFollows(page, 'after the Q2 marker');
    assert.ok(Math.abs(atMarker.camera - 8) < 0.5, `camera at ${atMarker.camera} s`);

    // Processing: every stage of both recordings completed.
    const processing = await page.$$eval('#recordings tr', (rows) => rows.map((r) => [...r.querySelectorAll('[data-stage]')]
      .map((s) => `${s.dataset.stage}=${s.dataset.status}`).join(' ')));
    assert.deepEqual(processing, ['finalize=completed transcribe=completed', 'finalize=completed transcribe=completed']);
    assert.match(await page.textContent('#recordings'), /Finalize: Completed[\s\S]*Transcribe: Completed/);

    // The transcript panel: the API's segments of the camera, on the session clock, under the
    // question each falls in; the captions track of the camera carries the same lines.
    const segments = transcript.recordings.find((r) => r.kind === 'camera').transcript.segments.filter((s) => s.text.trim());
    assert.ok(segments.length >= 2, `segments: ${JSON.stringify(segments)}`);
    const lines = await page.$$eval('#transcript .line', (els) => els.map((e) => e.textContent));
    assert.deepEqual(lines, segments.map((s) => `${formatTime(s.start_ms)} ${s.text}`));
    const headings = await page.$$eval('#transcript h4', (els) => els.map((e) => e.textContent));
    assert.ok(headings.includes(`Q2: ${QUESTIONS[1].text.trim()}`), `answer headings: ${headings}`);
    // Each answer downloads as its own WebM (cut by the server; tests/js/browser_recorder checks the cut).
    const [clipDownload] = await Promise.all([page.waitForEvent('download'), page.click('#transcript a.clip[data-question="2"]')]);
    assert.equal(clipDownload.suggestedFilename(), `interview_${id}_q2.webm`);
    const clipProbe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,format_name',
      '-of', 'json', await clipDownload.path()], { encoding: 'utf8' })).format;
    assert.match(clipProbe.format_name, /webm/);
    assert.ok(Number(clipProbe.duration) > 5, `the answer runs from its keyframe to the end: ${clipProbe.duration} s`);
    await page.waitForFunction(() => document.querySelector('#camera').textTracks[0]?.cues?.length > 0, null,
      { timeout: 10_000 });
    const cues = await page.evaluate(() => [...document.querySelector('#camera').textTracks[0].cues]
      .map((c) => ({ start: c.startTime, text: c.text })));
    assert.deepEqual(cues.map((c) => c.text), segments.map((s) => s.text));
    assert.deepEqual(cues.map((c) => Math.round(c.start * 1000)), segments.map((s) => s.start_ms));
    // A click on a line plays from there and highlights it.
    const last = segments.length - 1;
    await page.click(`#transcript .line >> nth=${last}`);
    await page.waitForFunction((t) => Math.abs(document.querySelector('#camera').currentTime - t) < 0.3,
      segments[last].start_ms / 1000, { timeout: 5000 });
    await page.waitForFunction((n) => document.querySelectorAll('#transcript .line')[n].getAttribute('aria-current') === 'true',
      last, { timeout: 5000 });
    assert.equal(await page.$$eval('#transcript .line[aria-current]', (els) => els.length), 1);

    // Search what was said: a word of the transcript lists the lines that hold it, with the
    // candidate, the question and the time; a hit opens the player there (±1 s).
    const word = segments[last].words.map((w) => w.text).find((w) => /^[a-z]{4,}$/.test(w));
    assert.ok(word, `a word to search for in ${segments[last].text}`);
    const starts = segments.filter((s) => s.words.some((w) => w.text === word)).map((s) => s.start_ms / 1000);
    await page.click('#list-link');
    await visible(page, '#list-view');
    await page.fill('#said', word.toUpperCase());
    await page.click('#said-submit');
    await visible(page, '#said-results');
    const hits = await page.$$eval('#said-hits tr', (rows) => rows.map((r) => ({ cells: [...r.cells].map((c) => c.textContent),
      href: r.querySelector('a')?.getAttribute('href') })));
    assert.equal(hits.length, starts.length, `hits for ${word}: ${JSON.stringify(hits)}`);
    for (const hit of hits) {
      assert.equal(hit.cells[0], 'Ada Lovelace');
      assert.match(hit.cells[1], /^(Q[12]: .+|–)$/);
      assert.ok(hit.cells[3].split(' ').includes(word), hit.cells[3]);
    }
    const hitS = Number(/\/at\/([\d.]+)$/.exec(hits[0].href)?.[1]);
    assert.ok(starts.includes(hitS), `the hit's time ${hitS} s is a line's start: ${starts}`);
    await page.click('#said-hits a >> nth=0');
    await visible(page, '#detail-view');
    await page.waitForFunction((t) => document.querySelector('#camera').readyState >= 1 &&
      Math.abs(document.querySelector('#camera').currentTime - t) <= 1, hitS, { timeout: 10_000 });
    // Opened again, the camera still has one captions track, showing.
    assert.deepEqual(await page.evaluate(() => [...document.querySelector('#camera').textTracks]
      .map((t) => t.mode)), ['showing']);

    // Download: the finalized file, byte for byte, named after the session.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-camera')]);
    assert.equal(download.suggestedFilename(), `interview_${id}.webm`);
    const downloaded = fs.readFileSync(await download.path());
    assert.ok(downloaded.equals(fs.readFileSync(cameraFile)), `downloaded ${downloaded.length} bytes = ${cameraFile}`);

    // Delete with a confirm step: the result is shown, the session leaves the list, the files the disk.
    await page.click('#delete-session');
    await visible(page, '#delete-confirm');
    assert.equal(recordingFiles(server.dataDir).length, 2, 'nothing deleted before confirming');
    await page.click('#delete-confirm');
    await visible(page, '#list-view');
    await page.waitForFunction(() => /deleted/.test(document.querySelector('#message').textContent));
    await page.waitForFunction((sid) => !document.querySelector(`[data-session-id="${sid}"]`) &&
      document.querySelectorAll('[data-session-id]').length === 0, id);  // the search still says LOVEL
    assert.deepEqual(recordingFiles(server.dataDir), [], 'the recordings are gone from disk');
    assert.equal(fs.readdirSync(server.dataDir).filter((d) => d.startsWith('Ada')).flatMap((d) =>
      fs.readdirSync(path.join(server.dataDir, d))).length, 0, 'nothing of the candidate is left');
    const gone = await api.request('GET', `/api/v1/hr/sessions/${id}`);
    assert.equal(gone.status, 404);
    assert.equal((await gone.json()).error, 'session_not_found');

    // The audit log lists the view, the download and the deletion.
    await page.click('#audit');
    await visible(page, '#audit-view');
    const audit = await page.$$eval('#audit-entries tr', (rows) => rows.map((r) => ({
      action: r.dataset.action, text: [...r.cells].map((c) => c.textContent).join(' | ') })));
    const actions = JSON.stringify(audit.map((e) => e.action));
    for (const action of ['view', 'download', 'delete_session']) {
      assert.ok(count(audit, action) > count(before, action), `the page's ${action} is in the audit log: ${actions}`);
    }
    assert.ok(audit.some((e) => e.action === 'login'), `logins are audited: ${actions}`);
    assert.ok(audit.some((e) => e.action === 'delete_session' && e.text.includes(ADMIN.username)), 'by whom');

    // A candidate's erasure: two sessions (one recorded, one never used) go with one deletion.
    const grace = { name: 'Grace Hopper', email: 'grace@example.com', job: 'compiler writer' };
    const graceSessions = [await createHostSession(server, grace), await createHostSession(server, grace)];
    await tusUpload(server, graceSessions[0], camera, { kind: 'camera' });
    await waitForReady(api, { session_id: graceSessions[0].session_id, candidate_name: grace.name }, ['camera']);
    const graceFolder = path.dirname(recordingFiles(server.dataDir).find((f) => f.includes('Grace')));
    await page.click('#list-link');
    await visible(page, '#list-view');
    await page.fill('#search', 'hopper');
    await page.waitForFunction(() => document.querySelectorAll('[data-session-id]').length === 2);
    await page.click(`[data-session-id="${graceSessions[0].session_id}"]`);
    await visible(page, '#detail-view');
    await page.click('#delete-candidate');
    await visible(page, '#delete-confirm');
    assert.match(await page.textContent('#delete-question'), /all data of Grace Hopper/i);
    await page.click('#delete-cancel');
    await visible(page, '#delete-candidate');
    assert.ok(fs.existsSync(graceFolder), 'nothing deleted when cancelled');
    await page.click('#delete-candidate');
    await page.click('#delete-confirm');
    await visible(page, '#list-view');
    await page.waitForFunction(() => /All data of Grace Hopper/.test(document.querySelector('#message').textContent));
    await page.waitForFunction(() => document.querySelectorAll('[data-session-id]').length === 0);
    assert.equal(fs.existsSync(graceFolder), false, `${graceFolder} is removed`);
    // Outside the audit log (ids and counts only), the index keeps nothing of her.
    const index = indexDump(server.dataDir).split('\n').filter((line) => !line.startsWith('INSERT INTO audit_log'));
    for (const trace of [grace.name, grace.email, ...graceSessions.map((s) => s.session_id)]) {
      assert.deepEqual(index.filter((line) => line.includes(trace)), [], `the index still holds ${trace}`);
    }
    assert.ok(index.some((line) => line.includes('Bob Builder')), 'the dump is of the live index');
    // Nor does the server's log (at its default level, info) keep the deleted candidates' names.
    const log = fs.readFileSync(server.logFile, 'utf8');
    for (const trace of ['Grace', 'Hopper', grace.email, 'Lovelace', 'ada@example.com']) {
      assert.equal(log.includes(trace), false, `the server log names ${trace}`);
    }
    assert.match(log, new RegExp(`session ${graceSessions[1].session_id} created`), 'the log has ids instead');
    const erasures = (await api.json('/api/v1/hr/audit?limit=1000')).entries.filter((e) => e.action === 'delete_candidate');
    assert.equal(erasures.length, 1);
    assert.equal(erasures[0].detail.sessions, 2);

    // Bob's failed finalize: the stage says why, and the admin's Retry runs it again (it fails
    // again: the bytes are still not a WebM, now after one fresh attempt).
    await page.evaluate((sid) => { location.hash = `session/${sid}`; }, bob.session_id);
    await page.waitForSelector('#recordings [data-stage="finalize"][data-status="failed"]', { timeout: 15_000 });
    assert.match(await page.textContent('#recordings [data-stage="finalize"]'), /Finalize: Failed .+/);
    const bobPath = `/api/v1/hr/sessions/${bob.session_id}`;
    const failedAt = (await api.json(bobPath)).recordings[0].pipeline.stages[0];
    await page.click('#recordings button.retry[data-stage="finalize"]');
    await page.waitForFunction(() => /finalize stage of recording \d+ runs again/.test(document.querySelector('#message').textContent));
    const retried = await pollUntil(async () => {
      const stage = (await api.json(bobPath)).recordings[0].pipeline.stages[0];
      return stage.status === 'failed' && stage.updated_at >= failedAt.updated_at && stage.attempts === 1 ? stage : null;
    });
    assert.match(retried.last_error, /WebM|EBML|Corrupt/i);
    const retries = (await api.json('/api/v1/hr/audit?limit=1000')).entries.filter((e) => e.action === 'retry_stage');
    assert.deepEqual(retries.map((e) => [e.actor, e.detail.stage]), [[`hr:${ADMIN.username}`, 'finalize']]);
  });
});

test('HR page: 401 without a login, wrong password and throttling messages, reviewer view, logout', T, async () => {
  await withServerAndBrowser(async (server, openBrowser) => {
    const anonymous = await fetch(`${server.url}/api/v1/hr/sessions`);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error, 'login_required');
    await createAccount(server.dataDir, REVIEWER.username, REVIEWER.password, 'reviewer');
    await assert.rejects(createAccount(server.dataDir, REVIEWER.username, REVIEWER.password, 'reviewer'),
      /exited with 1/, 'an existing account is not created again');

    const page = await openBrowser();
    await page.goto(`${server.url}/hr/`);
    await visible(page, '#login-view');
    assert.equal(await page.isVisible('#list-view'), false);
    assert.equal(await page.isVisible('#account'), false);

    // A reviewer sees the list but no audit log and no delete; logging out returns to the form.
    await signIn(page, REVIEWER);
    await visible(page, '#list-view');
    assert.match(await page.textContent('#who'), /hr-reviewer \(reviewer\)/);
    assert.equal(await page.isVisible('#audit'), false);
    // Typed in by hand, the audit log shows the server's refusal.
    const [refused] = await Promise.all([page.waitForResponse((r) => r.url().includes('/api/v1/hr/audit')),
      page.evaluate(() => { location.hash = '#audit'; })]);
    assert.equal(refused.status(), 403);
    const refusal = await refused.json();
    assert.equal(refusal.error, 'admin_only');
    await page.waitForFunction((text) => document.querySelector('#message').textContent.includes(text), refusal.message);
    assert.equal(await page.isVisible('#audit-view'), false);
    await page.click('#logout');
    await visible(page, '#login-view');
    assert.equal((await fetch(`${server.url}/api/v1/hr/sessions`)).status, 401);
    await page.reload();
    await visible(page, '#login-view');

    // A wrong password: the server's message is shown, the form stays.
    const attempt = async () => {
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/v1/hr/login')),
        signIn(page, { username: REVIEWER.username, password: 'wrong password' }),
      ]);
      const body = await response.json();
      await page.waitForFunction((text) => document.querySelector('#login-error').textContent.includes(text),
        body.message);
      return { status: response.status(), retryAfter: response.headers()['retry-after'], body,
        shown: await page.textContent('#login-error') };
    };
    const first = await attempt();
    assert.equal(first.status, 401);
    assert.equal(first.body.error, 'invalid_credentials');
    assert.ok(first.body.message, 'the error has a message');
    assert.equal(await page.isVisible('#login-error'), true);
    assert.equal(await page.isVisible('#list-view'), false);

    // Repeated failures are throttled; the page says so and when to retry.
    let last = first;
    for (let i = 0; i < 30 && last.status !== 429; i++) last = await attempt();
    assert.equal(last.status, 429, 'throttled after repeated failures');
    assert.equal(last.body.error, 'too_many_login_attempts');
    assert.match(last.retryAfter ?? '', /^\d+$/, 'a Retry-After header');
    assert.ok(last.shown.includes(last.retryAfter), `the wait is shown: ${last.shown}`);
  });
});
