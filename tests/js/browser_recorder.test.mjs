// The candidate page and the recorder module in headless Chromium against a real recorder-server:
// the fake camera plays tests/media/akiyo_cif.mp4 (as y4m), the fake microphone plays
// tests/media/speech_orig_16k.wav. Each test starts its own server (temporary data folder) and
// browser (fresh profile), so they are independent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  API_KEY, alignedPsnrY, assertArrived, assertSeekable, captureStoredChunks, createSession, fakeMedia, finalizedFiles, indexDump,
  interviewUrl, launchBrowser, pageState, progress, recordings, sessionEvents, sleep, startInterview, startServer, until,
  withSetup,
} from './lib/browser.mjs';

const T = { timeout: 120_000 };

// The host's questions: the page shows each one's text and time left; the question markers carry
// the question's id; every question after the first starts on a keyframe (the keyframe interval is
// 10 s, longer than the interview), so an answer can be cut there.
const QUESTIONS = [
  { id: 'intro', text: 'Introduce yourself.\nWhere do you work now?', max_seconds: 600 },
  { id: 'project', text: 'Tell us about a project you are proud of.' },
  { id: 'why', text: 'Why this team?', max_seconds: 10 },
];

test('the host\'s questions are shown with their time left; markers carry their ids and start on keyframes', T, async () => {
  await withSetup({ questions: QUESTIONS }, async ({ server, session, page }) => {
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    const shown = () => page.evaluate(() => ({
      title: document.getElementById('question-title').textContent,
      text: document.getElementById('question-text').textContent,
      timer: document.getElementById('question-timer').hidden ? null : document.getElementById('question-timer').textContent,
      next: !document.getElementById('next').hidden,
    }));
    const first = await shown();
    assert.deepEqual({ ...first, timer: null }, { title: 'Question 1 of 3', text: QUESTIONS[0].text, timer: null, next: true });
    assert.match(first.timer, /^(9:5\d|10:00) left for this answer$/);
    await sleep(2000);
    await page.click('#next');
    assert.deepEqual(await shown(), { title: 'Question 2 of 3', text: QUESTIONS[1].text, timer: null, next: true });
    await sleep(1500);
    await page.click('#next');
    const third = await shown();
    assert.equal(third.text, 'Why this team?');
    assert.equal(third.next, false, 'no next question after the last');
    assert.match(third.timer, /^0:(09|10) left for this answer$/);
    // Past the limit (the question's start moved 11 s back): the page asks to finish, and records on.
    await page.evaluate((key) => {
      const saved = JSON.parse(localStorage.getItem(key));
      localStorage.setItem(key, JSON.stringify({ ...saved, questionStartedAt: saved.questionStartedAt - 11_000 }));
    }, `interview:${session.session_id}`);
    await until(page, () => /Time is up/.test(document.getElementById('question-timer').textContent), null, 5000);
    await page.evaluate(() => window.interviewPage.recorder.mark('face_not_detected', { seconds: 2 }, { type: 'client_event' }));
    // Marks made in the same millisecond keep their order on the recording clock.
    const times = await page.evaluate(async () => {
      const r = window.interviewPage.recorder;
      const marks = await Promise.all(['burst_1', 'burst_2', 'burst_3'].map((l) => r.mark(l, {}, { type: 'client_event' })));
      return marks.map((m) => m.recording_time_ms);
    });
    assert.ok(times[0] < times[1] && times[1] < times[2], `burst times ${times}`);
    await sleep(1500);
    assert.equal(await pageState(page), 'recording');
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
    const left = await progress(page);
    assert.equal(left.pendingEvents, 0, 'every event acknowledged by the server (needs the events endpoint)');
    assert.ok(indexDump(server.dataDir).includes('face_not_detected'), 'the client event is in the index');
    const questionMarkers = sessionEvents(server.dataDir).filter((e) => e.label.startsWith('question_'));
    assert.deepEqual(questionMarkers.map((e) => [e.label, JSON.parse(e.data).question_id]), [
      ['question_1_start', 'intro'], ['question_1_end', 'intro'], ['question_2_start', 'project'],
      ['question_2_end', 'project'], ['question_3_start', 'why'], ['question_3_end', 'why'],
    ], 'ordered by recording time, the markers are in the order the page made them');

    const [file] = await finalizedFiles(server.dataDir, 1);
    const keyframesMs = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries',
      'packet=pts_time,flags', '-of', 'csv=p=0', file.file], { encoding: 'utf8' }).trim().split('\n')
      .map((line) => line.split(',')).filter(([, flags]) => flags.startsWith('K')).map(([t]) => Math.round(Number(t) * 1000));
    for (const label of ['question_2_start', 'question_3_start']) {
      const at = questionMarkers.find((e) => e.label === label).recording_time_ms;
      assert.ok(keyframesMs.some((k) => k >= at - 100 && k <= at + 500), `a keyframe at ${label} (${at} ms): ${keyframesMs}`);
    }

    // The answer to question 2 as its own file, cut there without re-encoding: it starts on that
    // keyframe, at 0, and lasts until the question's end (±0.2 s).
    const res = await fetch(`${server.url}/api/v1/sessions/${session.session_id}/answers/2/clip`,
      { headers: { Authorization: `Bearer ${API_KEY}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', new RegExp(`interview_${session.session_id}_q2\\.webm`));
    const clipFile = path.join(server.dataDir, '..', `${path.basename(server.dataDir)}-q2.webm`);
    fs.writeFileSync(clipFile, Buffer.from(await res.arrayBuffer()));
    const [q2Start, q2End] = ['question_2_start', 'question_2_end']
      .map((label) => questionMarkers.find((e) => e.label === label).recording_time_ms);
    const cutAt = keyframesMs.filter((k) => k <= q2Start + 500).pop();
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration',
      '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-read_intervals', '%+#1', '-of', 'json',
      clipFile], { encoding: 'utf8' }));
    fs.rmSync(clipFile);
    assert.deepEqual([Number(probe.packets[0].pts_time), probe.packets[0].flags[0]], [0, 'K'], 'starts on a keyframe at 0');
    const seconds = Number(probe.format.duration);
    assert.ok(Math.abs(seconds - (q2End - cutAt) / 1000) <= 0.2,
      `the clip lasts ${seconds} s; question 2 ran from its keyframe at ${cutAt} ms to ${q2End} ms`);
  });
});

test('markers are queued and retried with the same ids, recording times and upload URL (endpoint stubbed)', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    // The first POST fails with 503; later ones succeed. Every body is kept.
    const posts = [];
    await page.route('**/api/v1/sessions/*/events', async (route) => {
      const body = JSON.parse(route.request().postData());
      posts.push(body.events);
      if (posts.length === 1) return route.fulfill({ status: 503, body: '{"error":"unavailable"}' });
      return route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify({ stored: body.events.length }) });
    });
    await page.goto(interviewUrl(server, session, '&questions=2'));
    await startInterview(page);
    // Without the host's questions, the link's number of them, without text.
    assert.equal(await page.textContent('#question-title'), 'Question 1 of 2');
    assert.equal(await page.isVisible('#question-text'), false);
    await sleep(2500);
    await page.click('#next');
    await page.evaluate(() => window.interviewPage.recorder.mark('face_not_detected', { seconds: 2 }, { type: 'client_event' }));
    await sleep(1500);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
    assert.equal((await progress(page)).pendingEvents, 0);
    const [rec] = await recordings(page);
    // The page's own client event (which paths this browser took) is sent like the others.
    const all = posts.slice(1).flat();
    assert.equal(all.filter((e) => e.label === 'recorder_paths').length, 1, 'recorder_paths acknowledged once');
    const accepted = all.filter((e) => e.label !== 'recorder_paths');
    const byLabel = Object.fromEntries(all.map((e) => [e.label, e]));
    assert.deepEqual(accepted.map((e) => e.label).sort(),
      ['face_not_detected', 'question_1_end', 'question_1_start', 'question_2_end', 'question_2_start']);
    assert.equal(accepted.length, 5, 'each event acknowledged once');
    for (const e of accepted) {
      assert.match(e.id, /^[0-9a-f-]{36}$/);
      assert.equal(e.upload_url, rec.uploadUrl);
      assert.ok(!Number.isNaN(Date.parse(e.wall_time)));
    }
    // The refused batch is sent again with the same ids (idempotent retry).
    for (const e of posts[0]) assert.equal(byLabel[e.label].id, e.id);
    assert.equal(byLabel.face_not_detected.type, 'client_event');
    assert.equal(byLabel.question_1_start.type, 'marker');
    assert.deepEqual(byLabel.question_2_start.data, { question: 2, edge: 'start' });
    const t = (label) => byLabel[label].recording_time_ms;
    assert.ok(t('question_1_start') >= 0 && t('question_1_start') < 1000, `first marker at ${t('question_1_start')} ms`);
    assert.ok(t('question_1_end') - t('question_1_start') >= 2000);
    assert.ok(t('question_2_start') >= t('question_1_end') && t('question_2_end') - t('question_2_start') >= 1000);
  });
});

test('a PATCH whose answer is lost is not stored twice: 409, HEAD, resync, complete file', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    // The third PATCH reaches the server, but the page sees the connection reset.
    let patches = 0;
    await page.route('**/files/*', async (route) => {
      if (route.request().method() === 'PATCH' && ++patches === 3) {
        await route.fetch();
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    const stored = await captureStoredChunks(page);
    const seen = { conflicts: 0, heads: 0 };
    page.on('response', (r) => {
      if (r.status() === 409) seen.conflicts += 1;
      if (r.request().method() === 'HEAD' && r.url().includes('/files/')) seen.heads += 1;
    });
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await sleep(6000);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
    assert.ok(seen.conflicts >= 1 && seen.heads >= 1, `409s ${seen.conflicts}, HEADs ${seen.heads}`);
    const [rec] = await recordings(page);
    const [file] = await finalizedFiles(server.dataDir, 1);
    await assertArrived(stored, rec, file.file, session.upload_token);
    assertSeekable(file.file, file.duration);
    execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file.file, '-f', 'null', '-']);
  });
});

for (const { name, hide, sent } of [
  { name: 'VideoFrames made from a video element', hide: ['MediaStreamTrackProcessor'], sent: 'frame' },
  { name: 'RGBA from an OffscreenCanvas', hide: ['MediaStreamTrackProcessor', 'VideoFrame'], sent: 'rgba' },
]) test(`without ${hide.join(' and ')} the fallback records the camera as ${name}`, T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    await page.addInitScript((names) => {
      for (const n of names) delete window[n];
      // Which kind of video message reaches the encoder worker.
      window.videoMessages = { frame: 0, rgba: 0 };
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (msg, ...rest) {
        if (msg && msg.type === 'video') window.videoMessages[msg.frame ? 'frame' : 'rgba'] += 1;
        return post.call(this, msg, ...rest);
      };
    }, hide);
    await page.goto(interviewUrl(server, session));
    for (const n of hide) assert.equal(await page.evaluate((g) => typeof window[g], n), 'undefined');
    await startInterview(page);
    await sleep(7000);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
    const [file] = await finalizedFiles(server.dataDir, 1);
    assert.deepEqual(file.probe.streams.map((s) => s.codec_name).sort(), ['opus', 'vp9']);
    const { psnr } = alignedPsnrY(file.file, fakeMedia().video, 5);
    assert.ok(psnr >= 26, `aligned PSNR-Y ${psnr} dB`);
    const messages = await page.evaluate(() => window.videoMessages);
    assert.ok(messages[sent] > 100 && messages[sent === 'frame' ? 'rgba' : 'frame'] === 0,
      `video messages ${JSON.stringify(messages)}`);
  });
});

test('screen and camera record together: two finalized files on one clock, starting within 100 ms', T, async () => {
  await withSetup({ args: ['--auto-select-desktop-capture-source=Entire screen'] }, async ({ server, session, page }) => {
    await page.goto(interviewUrl(server, session, '&screen=1'));
    await startInterview(page);
    await sleep(8000);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 60_000);
    const recs = await recordings(page);
    assert.deepEqual(recs.map((r) => r.kind).sort(), ['camera', 'screen']);
    assert.ok(Math.abs(recs[0].startMs - recs[1].startMs) <= 100,
      `starts differ by ${Math.abs(recs[0].startMs - recs[1].startMs)} ms`);
    const files = await finalizedFiles(server.dataDir, 2);
    const screen = files.find((f) => f.file.endsWith('_screen.webm'));
    const camera = files.find((f) => !f.file.endsWith('_screen.webm'));
    assert.ok(screen && camera, files.map((f) => f.file).join(', '));
    assert.ok(screen.probe.streams.some((s) => s.codec_name === 'vp9'), 'the screen file has video');
    // The server kept each upload's start on the session clock (Upload-Metadata start_ms).
    const uploadRows = indexDump(server.dataDir).split('\n').filter((line) => line.startsWith('INSERT INTO uploads'));
    const starts = [...uploadRows.join('\n').matchAll(/start_ms ([A-Za-z0-9+/=]+)/g)]
      .map((m) => Number(Buffer.from(m[1], 'base64').toString()));
    assert.equal(starts.length, 2, 'both uploads carry start_ms');
    assert.ok(Math.abs(starts[0] - starts[1]) <= 100, `server-side starts ${starts.join(', ')} ms`);
    assert.ok(Math.abs(screen.duration - camera.duration) <= 1.5, `screen ${screen.duration} s, camera ${camera.duration} s`);
    assert.ok(camera.duration > 6);
  });
});

test('denied camera permission: the page explains how to allow it', T, async () => {
  await withSetup({ grant: false }, async ({ server, session, page }) => {
    await page.goto(interviewUrl(server, session));
    await page.click('#check');
    await until(page, () => window.interviewPage.state === 'blocked');
    assert.match(await page.textContent('#blocked-message'), /Access to your camera and microphone is blocked.*allow/i);
  });
});

test('no camera: the page says none was found', T, async () => {
  await withSetup({ devices: false }, async ({ server, session, page }) => {
    await page.goto(interviewUrl(server, session));
    await page.click('#check');
    await until(page, () => window.interviewPage.state === 'blocked');
    assert.match(await page.textContent('#blocked-message'), /No camera and microphone was found/);
  });
});

test('server unreachable: recording continues, the page says so, and catches up when the server is back', T, async () => {
  const server = await startServer();
  const session = await createSession(server);
  const browser = await launchBrowser();
  const { page } = browser;
  let restarted = null;
  try {
    const stored = await captureStoredChunks(page);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await sleep(3000);
    await server.stop();
    await until(page, () => /Cannot reach the server/.test(document.getElementById('warning').textContent), null, 20_000);
    await until(page, () => /waiting to upload/.test(document.getElementById('health').textContent), null, 20_000);
    assert.equal(await pageState(page), 'recording');
    restarted = await startServer({ port: server.port, dataDir: server.dataDir });
    await until(page, () => document.getElementById('health').textContent === 'All saved', null, 40_000);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
    const [file] = await finalizedFiles(server.dataDir, 1);
    const [rec] = await recordings(page);
    await assertArrived(stored, rec, file.file, session.upload_token);
    assertSeekable(file.file, file.duration);
  } catch (err) {
    console.log(`--- page console ---\n${browser.logs.slice(-40).join('\n')}`);
    throw err;
  } finally {
    await browser.close();
    await restarted?.stop();
    await server.stop();
  }
});

test('slow encoder: the page warns that frames are skipped and recording goes on', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    await page.addInitScript(() => { window.interviewTestHooks = { slowEncoderMs: 150 }; });
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await until(page, () => /too busy to record smoothly/.test(document.getElementById('warning').textContent), null, 20_000);
    const stats = await page.evaluate(() => new Promise((resolve) => window.interviewPage.recorder
      .addEventListener('stats', (e) => resolve(e.detail.stats), { once: true })));
    assert.ok(stats.videoFramesSkipped > 5, `${stats.videoFramesSkipped} frames skipped`);
    assert.equal(await pageState(page), 'recording');
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
  });
});

test('camera frames stop while the track stays live: the page warns camera_stalled, the session notes it, the ' +
  'sound records on and frames count again when the camera comes back', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    // The camera the page gets is a canvas the test paints (a new frame per paint, none when it
    // stops), with the fake microphone beside it: a camera that hangs without ending its track.
    await page.addInitScript(() => {
      const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (constraints) => {
        const real = await open(constraints);
        if (!real.getVideoTracks().length) return real;
        const canvas = Object.assign(document.createElement('canvas'), { width: 640, height: 480 });
        const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
        let n = 0;
        setInterval(() => {
          if (window.cameraFrozen) return;
          n += 1;
          context.fillStyle = `hsl(${(n * 7) % 360} 60% 50%)`;
          context.fillRect(0, 0, 640, 480);
        }, 33);
        const [track] = canvas.captureStream().getVideoTracks();
        real.getVideoTracks().forEach((t) => t.stop());
        return new MediaStream([track, ...real.getAudioTracks()]);
      };
    });
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await sleep(4000);
    await page.evaluate(() => { window.cameraFrozen = true; });
    await until(page, () => /camera stopped sending pictures/.test(document.getElementById('warning').textContent), null, 15_000);
    assert.equal(await pageState(page), 'recording', 'a stalled camera is a warning, not the end');
    await page.evaluate(() => { window.cameraFrozen = false; });
    await sleep(3000);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
    const [file] = await finalizedFiles(server.dataDir, 1);
    const events = sessionEvents(server.dataDir).filter((e) => e.label === 'camera_stalled');
    assert.equal(events.length, 1, 'one client event for the one stall');
    const data = JSON.parse(events[0].data);
    assert.equal(data.kind, 'camera');
    assert.ok(data.seconds >= 3, `stalled ${data.seconds} s`);
    // The counters say where the frames stopped: here, none came in after the encoded ones.
    assert.ok(data.frames.encoded > 0 && data.frames.in === data.frames.encoded + data.frames.dropped,
      JSON.stringify(data.frames));
    // The sound went on through the stall: the file is one gap in the picture, which came back.
    assert.ok(file.duration > 9, `recorded ${file.duration} s`);
    const times = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time',
      '-of', 'csv=p=0', file.file], { encoding: 'utf8' }).trim().split('\n').map(Number);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(Math.max(...gaps) >= 3, `the longest pause in the picture: ${Math.max(...gaps)} s`);
    assert.ok(times.at(-1) > file.duration - 1.5, `last frame at ${times.at(-1)} s of ${file.duration} s`);
  });
});

test('camera track ended: the page says the camera stopped; continuing records a new part', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await sleep(3000);
    await page.evaluate(() => window.interviewPage.recorder.streams.camera.getVideoTracks()[0].stop());
    await until(page, () => window.interviewPage.state === 'interrupted', null, 15_000);
    assert.match(await page.textContent('#interrupted-message'), /Your camera stopped working/);
    await page.click('#continue');
    await until(page, () => window.interviewPage.state === 'ready', null, 15_000);
    await page.click('#start');
    await until(page, () => window.interviewPage.state === 'recording', null, 15_000);
    await sleep(3000);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
    const recs = await recordings(page);
    assert.deepEqual(recs.map((r) => [r.part, r.state]), [[1, 'complete'], [2, 'complete']]);
    await finalizedFiles(server.dataDir, 2);
  });
});

// Sets the page origin's camera permission as the candidate would in the site settings. One CDP
// session for the whole test: Chromium drops a session's permission overrides when it detaches.
async function setCameraPermission(cdp, server, setting) {
  await cdp.send('Browser.setPermission', { permission: { name: 'camera' }, setting, origin: new URL(server.url).origin });
}

test('camera permission revoked mid-recording: the page says access was turned off, what was recorded is ' +
  'uploaded, allowing it again continues', T, async () => {
  // Real permissions instead of --use-fake-ui-for-media-stream, which would grant any request,
  // also one the site settings block.
  await withSetup({ grant: false }, async ({ server, session, page }) => {
    await page.context().grantPermissions(['camera', 'microphone'], { origin: new URL(server.url).origin });
    const cdp = await page.context().newCDPSession(page);
    const stored = await captureStoredChunks(page);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await sleep(5000);
    await setCameraPermission(cdp, server, 'denied');
    await until(page, () => window.interviewPage.state === 'interrupted', null, 15_000);
    assert.match(await page.textContent('#interrupted-message'),
      /Access to your camera was turned off during the interview.*everything so far is saved.*Allow access again/);
    assert.equal(await page.evaluate(() => window.interviewPage.recorder.streams.camera), null, 'devices released');

    // What was recorded before the revocation is uploaded and finalized while the page waits.
    const [file] = await finalizedFiles(server.dataDir, 1, 30_000);
    const [part1] = await recordings(page);
    assert.equal(part1.state, 'complete');
    await assertArrived(stored, part1, file.file, session.upload_token);
    const recorded = (part1.endMs - part1.startMs) / 1000;
    assert.ok(recorded > 3, `recorded ${recorded} s before the revocation`);
    assert.ok(Math.abs(file.duration - recorded) <= 0.5, `file ${file.duration} s, recorded ${recorded} s`);
    assert.deepEqual(file.probe.streams.map((s) => s.codec_name).sort(), ['opus', 'vp9']);

    // Continuing while access is still blocked explains how to allow it; once allowed, part 2 records.
    await page.click('#continue');
    await until(page, () => window.interviewPage.state === 'blocked', null, 15_000);
    assert.match(await page.textContent('#blocked-message'), /Access to your camera and microphone is blocked/);
    await setCameraPermission(cdp, server, 'granted');
    await page.click('#retry');
    await until(page, () => window.interviewPage.state === 'ready', null, 15_000);
    await page.click('#start');
    await until(page, () => window.interviewPage.state === 'recording', null, 15_000);
    await sleep(3000);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 45_000);
    const recs = await recordings(page);
    assert.deepEqual(recs.map((r) => [r.part, r.state]), [[1, 'complete'], [2, 'complete']]);
    assert.equal(recs[1].continuationOf, recs[0].id);
    await finalizedFiles(server.dataDir, 2);
  });
});
