// What survives what, in headless Chromium against a real recorder-server: markers the server
// could not take before the end, events the server refuses, uploads it lost, IndexedDB leftovers,
// a browser killed mid-interview, a second tab on the same session, slow storage, and memory over
// a long recording. Setup as in browser_recorder.test.mjs (lib/browser.mjs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import { soak } from '../../bench/browser/soak.mjs';
import {
  assertArrived, captureStoredChunks, createSession, finalizedFiles, indexDump, interviewUrl, launchBrowser,
  recordings, sessionEvents, sleep, startInterview, startServer, storedChunkCount, until, untilState,
  withSetup,
} from './lib/browser.mjs';
import { createAccount, hrLogin } from './lib/hr.mjs';
import { tempDir } from './lib/media.mjs';

const T = { timeout: 150_000 };
const QUESTION_1_AND_2 = ['question_1_start', 'question_1_end', 'question_2_start', 'question_2_end'];

// The events endpoint answers 503 while `blocked.on` (a server whose database is unavailable).
async function blockEvents(page) {
  const blocked = { on: true, refused: 0 };
  await page.route('**/api/v1/sessions/*/events', (route) => {
    if (!blocked.on) return route.continue();
    blocked.refused += 1;
    return route.fulfill({ status: 503, contentType: 'application/json',
      body: '{"error":"unavailable","message":"the database or the data folder is not usable"}' });
  });
  return blocked;
}

// The recorder's error events, as {code, fatal, message}, in window.recorderErrors.
function collectErrors(page) {
  return page.evaluate(() => {
    window.recorderErrors = [];
    window.interviewPage.recorder.addEventListener('error', ({ detail: { error } }) =>
      window.recorderErrors.push({ code: error.code, fatal: error.fatal, message: error.message, detail: error.detail }));
  });
}

const errorCodes = (page) => page.evaluate(() => window.recorderErrors.map((e) => e.code));

// A second visit of the link: the old page closes (as a closed tab) and a new one opens it.
async function revisit(browser, page, server, session) {
  await page.close({ runBeforeUnload: false });
  const next = await browser.context.newPage();
  next.on('dialog', (dialog) => dialog.accept());
  next.on('console', (m) => browser.logs.push(`[${m.type()}] ${m.text()}`));
  await next.goto(interviewUrl(server, session));
  return next;
}

test('markers the server cannot take by the end keep the page on "finishing" with their count, and the next ' +
  'visit delivers them', T, async () => {
  await withSetup({}, async ({ server, session, browser, page }) => {
    const blocked = await blockEvents(page);
    await page.goto(interviewUrl(server, session, '&questions=2'));
    await startInterview(page);
    await sleep(2000);
    await page.click('#next');
    await sleep(2000);
    await page.click('#end');
    // Longer than any fixed wait for markers: the media is saved, the markers are not, and the
    // page says so instead of claiming it is done. Five: the four markers and the page's client
    // event 'recorder_paths'.
    await until(page, () => /5 markers waiting to upload/.test(document.getElementById('flush-text').textContent), null, 20_000);
    await sleep(15_000);
    assert.equal(await page.evaluate(() => window.interviewPage.state), 'finishing');
    assert.match(await page.textContent('#flush-text'), /5 markers waiting to upload/);
    assert.equal(await page.evaluate(() => document.getElementById('flush').value), 1, 'the media is saved');
    assert.ok(blocked.refused >= 3, `${blocked.refused} refused POSTs`);
    assert.deepEqual(sessionEvents(server.dataDir), [], 'no marker reached the server yet');
    await finalizedFiles(server.dataDir, 1);

    // The candidate closes the tab and opens the link again: the page finishes the markers.
    const next = await revisit(browser, page, server, session);
    await untilState(next, 'done', 30_000);
    const delivered = sessionEvents(server.dataDir);
    assert.deepEqual(delivered.filter((e) => e.type === 'marker').map((e) => e.label), QUESTION_1_AND_2);
    assert.ok(delivered.some((e) => e.label === 'recorder_paths'), 'the client event arrived too');
  });
});

test('mark() refuses what the server would; an event the server refuses is dropped alone, with a warning; an event ' +
  'naming an upload the server does not know arrives without it', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    const posts = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/events')) posts.push({ status: r.status(), events: r.request().postDataJSON().events.length });
    });
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await collectErrors(page);
    const outcomes = await page.evaluate(async () => {
      const recorder = window.interviewPage.recorder;
      const cyclic = {};
      cyclic.self = cyclic;
      const cases = [['x'.repeat(201), {}], ['é'.repeat(101), {}], ['', {}], ['ok', [1, 2]], ['ok', null],
        ['ok', { text: 'x'.repeat(16 * 1024) }], ['ok', cyclic], ['ok', {}, { type: 'note' }]];
      const out = [];
      for (const [label, data, options] of cases) {
        out.push(await recorder.mark(label, data, options).then(() => 'stored', (e) => e.code));
      }
      // At the limits: 200 bytes of label (100 two-byte characters), data just under 16 KiB.
      out.push(await recorder.mark('é'.repeat(100), { text: 'x'.repeat(16 * 1024 - 20) }).then(() => 'stored', (e) => e.code));
      return out;
    });
    assert.deepEqual(outcomes, [...Array(8).fill('invalid_use'), 'stored']);

    // Events an earlier version of the page stored: one the server refuses (its label is too
    // long), one naming a recording whose upload the server does not know; then a good one.
    await page.evaluate(async (serverUrl) => {
      const { ChunkStore } = await import('/recorder/chunk-store.js');
      const recorder = window.interviewPage.recorder;
      const store = await ChunkStore.open();
      const event = (id, label) => ({ id, type: 'marker', label, data: {}, recording_time_ms: 1500, wall_time: new Date().toISOString() });
      await store.addRecording({ id: 'gone-recording', sessionId: recorder.sessionId, kind: 'camera', part: 0, state: 'complete',
        uploadUrl: `${serverUrl}/files/00000000000000000000000000000000`, storedChunks: 0, storedBytes: 0 });
      await store.addEvent({ id: 'refused-1', sessionId: recorder.sessionId, recordingId: null, event: event('refused-1', 'y'.repeat(300)), storedAt: Date.now() });
      await store.addEvent({ id: 'orphan-1', sessionId: recorder.sessionId, recordingId: 'gone-recording', event: event('orphan-1', 'orphan_marker'), storedAt: Date.now() + 1 });
      store.close();
      await recorder.mark('after_refused');
    }, server.url);
    await until(page, () => window.recorderErrors.some((e) => e.code === 'marker_rejected'), null, 20_000);
    await until(page, () => /could not be saved/.test(document.getElementById('warning').textContent), null, 5000);
    await until(page, () => window.interviewPage.recorder.progress().pendingEvents === 0, null, 20_000);
    assert.ok(posts.some((p) => p.status === 400 && p.events >= 2), `a batch was refused: ${JSON.stringify(posts)}`);

    const events = sessionEvents(server.dataDir);
    const labels = events.map((e) => e.label);
    for (const label of ['question_1_start', 'after_refused', 'orphan_marker', 'é'.repeat(100)]) {
      assert.ok(labels.includes(label), `${label.slice(0, 20)} is in the index: ${labels.join(', ').slice(0, 300)}`);
    }
    assert.ok(!labels.some((l) => l.startsWith('yyy')), 'the refused event is not');
    assert.equal(events.find((e) => e.label === 'orphan_marker').upload_id, null);
    const errors = (await page.evaluate(() => window.recorderErrors)).filter((e) => e.code !== 'encoder_behind');
    assert.deepEqual(errors.map((e) => [e.code, e.fatal]), [['marker_rejected', false]]);
    assert.equal(await page.evaluate(() => window.interviewPage.state), 'recording');
    await page.click('#end');
    await untilState(page, 'done', 45_000);
  });
});

test('an upload token revoked while markers wait: the page shows that the server refused, not "done"', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    await createAccount(server.dataDir, 'admin', 'correct horse battery');
    const hr = await hrLogin(server, 'admin', 'correct horse battery');
    const blocked = await blockEvents(page);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await collectErrors(page);
    await sleep(3000);
    await page.click('#end');
    await finalizedFiles(server.dataDir, 1, 30_000);
    // HR deletes the candidate's session (its upload token with it) while the markers wait; the
    // server refuses while the recording is still being finalized (409 session_busy).
    for (let attempt = 0; ; attempt++) {
      const deleted = await hr.request('DELETE', `/api/v1/hr/sessions/${session.session_id}`);
      if (deleted.ok) break;
      assert.ok(deleted.status === 409 && attempt < 20, `DELETE session: HTTP ${deleted.status} ${await deleted.text()}`);
      await sleep(500);
    }
    blocked.on = false;
    await untilState(page, 'failed', 60_000);
    assert.match(await page.textContent('#failed-message'), /refused.*the interview link has expired.*contact/);
    const rejected = (await page.evaluate(() => window.recorderErrors)).find((e) => e.code === 'upload_rejected');
    assert.match(rejected.detail, /HTTP 401 invalid_upload_token/);
  });
});

test('IndexedDB leftovers: an upload found complete after a lost answer deletes its last chunk; the next visit ' +
  'prunes the finished recording', T, async () => {
  await withSetup({}, async ({ server, session, browser, page }) => {
    // The last PATCH (it declares Upload-Length) reaches the server; its answer is lost.
    let lost = 0;
    await page.route('**/files/*', async (route) => {
      if (route.request().method() === 'PATCH' && route.request().headers()['upload-length'] && !lost) {
        lost += 1;
        await route.fetch();
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    const stored = await captureStoredChunks(page);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await sleep(4000);
    await page.click('#end');
    await untilState(page, 'done', 45_000);
    assert.equal(lost, 1);
    const [rec] = await recordings(page);
    assert.equal(rec.state, 'complete');
    const [file] = await finalizedFiles(server.dataDir, 1);
    await assertArrived(stored, rec, file.file, session.upload_token);
    assert.equal(await storedChunkCount(page), 0, 'no chunk is left behind');

    const next = await revisit(browser, page, server, session);
    await untilState(next, 'done');
    const left = await next.evaluate(async (sessionId) => {
      const { ChunkStore } = await import('/recorder/chunk-store.js');
      const { createRecorder, findUnfinished } = await import('/recorder/index.js');
      await createRecorder({ sessionId, uploadToken: 'unused' }).stop();  // opens the store: prunes
      const store = await ChunkStore.open();
      try {
        return { recordings: (await store.recordingsOf(sessionId)).length, chunks: await store.countChunks(),
          unfinished: await findUnfinished(sessionId) };
      } finally {
        store.close();
      }
    }, session.session_id);
    assert.deepEqual({ recordings: left.recordings, chunks: left.chunks, unfinished: left.unfinished.unfinished },
      { recordings: 0, chunks: 0, unfinished: 0 });
  });
});

// An upload left by a closed page is lost on the server (`loseIt`) before the link is opened again.
async function earlierUploadLost(loseIt, serverArgs = []) {
  await withSetup({ server: { args: serverArgs } }, async ({ server, session, browser, page }) => {
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await sleep(3000);
    const [part1] = await recordings(page);
    await page.close({ runBeforeUnload: false });
    await loseIt(server, session, part1);

    const next = await browser.context.newPage();
    await next.goto(interviewUrl(server, session));
    await untilState(next, 'welcome');
    await next.click('#check');
    await untilState(next, 'ready');
    await until(next, () => /earlier visit could not be saved/.test(document.getElementById('warning').textContent), null, 15_000);
    await next.check('#consent');
    await next.click('#start');
    await untilState(next, 'recording');
    await sleep(3000);
    await next.click('#end');
    await untilState(next, 'done', 45_000);
    const recs = await recordings(next);
    assert.deepEqual(recs.map((r) => [r.part, r.state]), [[1, 'failed'], [2, 'complete']]);

    // Once said is enough: the next visit has nothing left to do.
    await next.reload();
    await untilState(next, 'done');
    assert.equal(await next.isVisible('#warning'), false);
    assert.equal(await storedChunkCount(next), 0);
  });
}

test('an earlier upload the server expired (410): a clear warning, the new part records, later visits are clean', T,
  () => earlierUploadLost(async (server, session, part1) => {
    // --upload-expiry-seconds 5: the upload expires 5 s after its last PATCH.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(part1.uploadUrl, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${session.upload_token}` } });
      if (res.status === 410) return;
      assert.ok(Date.now() < deadline, `upload still answers HTTP ${res.status}`);
      await sleep(500);
    }
  }, ['--upload-expiry-seconds', '5']));

test('an earlier upload the server no longer has (404, terminated): the same', T,
  () => earlierUploadLost(async (server, session, part1) => {
    const res = await fetch(part1.uploadUrl, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${session.upload_token}` } });
    assert.equal(res.status, 204);
  }));

test('browser killed mid-interview: the link resumes, part 1 arrives with every chunk stored before the crash, part 2 ' +
  'continues it', T, async () => {
  const server = await startServer();
  const session = await createSession(server);
  const profile = tempDir('recorder-profile-');
  let browser = await launchBrowser({ profile });
  try {
    const stored = await captureStoredChunks(browser.page);
    await browser.page.goto(interviewUrl(server, session));
    await startInterview(browser.page);
    await sleep(5000);
    const [part1] = await recordings(browser.page);
    await browser.kill();
    const storedBeforeCrash = stored.get(part1.id).size;
    assert.ok(storedBeforeCrash >= 4, `${storedBeforeCrash} chunks stored before the crash`);

    browser = await launchBrowser({ profile });
    await captureStoredChunks(browser.page, stored);
    const { page } = browser;
    await page.goto(interviewUrl(server, session));
    await untilState(page, 'welcome');
    assert.equal(await page.isVisible('#resumed-note'), true);
    await startInterview(page);
    await sleep(3000);
    await page.click('#end');
    await untilState(page, 'done', 45_000);
    assert.equal(stored.get(part1.id).size, storedBeforeCrash, 'part 1 stored nothing after the crash');

    const recs = await recordings(page);
    assert.deepEqual(recs.map((r) => [r.id === part1.id, r.part, r.state]), [[true, 1, 'complete'], [false, 2, 'complete']]);
    assert.equal(recs[1].continuationOf, part1.id);
    const meta = (key) => [...indexDump(server.dataDir).matchAll(new RegExp(`${key} ([A-Za-z0-9+/=]+)`, 'g'))]
      .map((m) => Buffer.from(m[1], 'base64').toString());
    assert.ok(meta('continuation_of').includes(part1.id), 'the server knows part 2 continues part 1');
    const files = await finalizedFiles(server.dataDir, 2);
    for (const [i, rec] of recs.entries()) await assertArrived(stored, rec, files[i].file, session.upload_token);
    server.remove();
  } catch (err) {
    console.log(`--- page console ---\n${browser.logs.slice(-40).join('\n')}\n--- server log ${server.logFile}`);
    throw err;
  } finally {
    await browser.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

test('a second tab on the same session says so and leaves the first tab recording; once that one ended the ' +
  'interview, it says the interview is done', T, async () => {
  await withSetup({}, async ({ server, session, browser, page }) => {
    const stored = await captureStoredChunks(page);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await collectErrors(page);
    await sleep(2000);
    const second = await browser.context.newPage();
    second.on('dialog', (dialog) => dialog.accept());
    await second.goto(interviewUrl(server, session));
    await untilState(second, 'welcome');
    await second.click('#check');
    await untilState(second, 'elsewhere');
    assert.match(await second.textContent('#elsewhere-message'), /already open in another tab or window/);
    await sleep(3000);
    assert.equal(await page.evaluate(() => window.interviewPage.state), 'recording');
    await page.click('#end');
    await untilState(page, 'done', 45_000);
    // A busy machine may make the encoder skip frames (a warning); no other error may come.
    assert.deepEqual((await errorCodes(page)).filter((c) => c !== 'encoder_behind'), []);
    const recs = await recordings(page);
    assert.deepEqual(recs.map((r) => [r.part, r.state]), [[1, 'complete']]);
    const [file] = await finalizedFiles(server.dataDir, 1);
    await assertArrived(stored, recs[0], file.file, session.upload_token);
    assert.ok(file.duration > 4, `the first tab recorded ${file.duration} s`);

    await second.click('#elsewhere-retry');
    await untilState(second, 'done');
  });
});

test('IndexedDB too slow for the encoder: recording stops with a message instead of queueing chunks in memory', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    // Once window.slowDisk is set, every chunk's transaction stays busy for 3 s (real IndexedDB
    // requests, chained), as a disk that takes 3 s per write would.
    await page.addInitScript(() => {
      const add = IDBObjectStore.prototype.add;
      IDBObjectStore.prototype.add = function (value, ...rest) {
        const request = add.call(this, value, ...rest);
        if (this.name === 'chunks' && window.slowDisk) {
          const until = Date.now() + 3000;
          const busy = () => { if (Date.now() < until) this.count().onsuccess = busy; };
          busy();
        }
        return request;
      };
    });
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await collectErrors(page);
    await sleep(3000);
    await page.evaluate(() => { window.slowDisk = true; });
    await untilState(page, 'failed', 30_000);
    assert.match(await page.textContent('#failed-message'), /cannot save the recording fast enough/);
    assert.deepEqual(await page.evaluate(() => window.recorderErrors.filter((e) => e.fatal).map((e) => e.code)), ['storage_slow']);
    const [file] = await finalizedFiles(server.dataDir, 1, 45_000);
    assert.ok(file.duration > 2, `what was stored uploaded: ${file.duration} s`);
  });
});

// ---- memory ----

// The short form of the soak benchmark (bench/browser/soak.mjs records 60 minutes).
test('memory stays flat: 100 s of recording, page and encoder worker heaps, WASM memory and stored chunks do not grow',
  { timeout: 240_000 }, async () => {
    const { samples, duration } = await soak({ seconds: 100, everySeconds: 10, warmupSeconds: 20 });
    const mb = (x) => (x / 1e6).toFixed(2);
    // After a 20 s warm-up, the rest of the recording (80 s, about 3.2 MB of media) leaves no trend.
    const settled = samples.filter((s) => s.t >= 20);
    const growth = (key) => Math.max(...settled.map((s) => s[key])) - settled[0][key];
    for (const [key, bound] of [['pageHeap', 0.5e6], ['pageBuffers', 1e6], ['workerHeap', 0.25e6], ['workerBuffers', 1e6]]) {
      assert.ok(growth(key) < bound, `${key} grew by ${mb(growth(key))} MB`);
    }
    assert.equal(growth('wasm'), 0, 'WASM memory grew');
    // The renderer's own memory (the page, the worker, media) too: a leak of every chunk's bytes
    // outside the JS heaps would add about 3 MB in these 80 s.
    const renderer = settled.map((s) => s.pss.renderer);
    assert.ok(Math.max(...renderer) - renderer[0] < 2e6, `the renderer grew: ${renderer.map(mb).join(', ')} MB`);
    assert.ok(samples.every((s) => s.chunks <= 3), `chunks stored: ${samples.map((s) => s.chunks).join(', ')}`);
    assert.ok(duration > 99 && duration < 106, `${duration} s finalized for 100 s and the time to end`);
  });
