// The interview scenario in every engine the tests run (lib/engines.mjs): Chromium, Firefox ESR and
// WebKitGTK, each against its own real recorder-server: 30 s with questions, 10 s offline and a
// reload mid-interview, then the end. What the server finalized must be whole (every chunk the
// page stored arrived once, the uploads complete at the stored size), seekable, with audio, with
// durations that add up, and the picture must be the camera's (PSNR against Chromium's clip; frame
// rate for the synthetic cameras of Firefox and WebKit). Each engine's paths are asserted, so a
// change that silently drops a browser to a slower path fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  alignedPsnrY, assertArrived, assertDecodes, assertSeekable, audioMeanDb, createSession, fakeMedia, finalizedFiles, interviewUrl,
  pageState, progress, recordings, serverUpload, sessionEvents, sleep, startInterview, startServer, storedChunkCount, until, untilState,
} from './lib/browser.mjs';
import { ENGINES, keepStoredChunks, launchEngine } from './lib/engines.mjs';

const T = { timeout: 180_000 };
// A failure known and not yet fixed, per engine: the test runs and reports, but as TODO.
const KNOWN = {
  // In 2 of the last 3 full runs a WebKit part's video stopped at a question marker (the click on
  // "Next", which asks for a keyframe) while its sound went on to the end: the recorder reports
  // it (client event camera_stalled, with its frame counters, which say whether frames stopped
  // coming or were dropped), the cause is open (#13).
  webkit: 'WebKit: a part\'s video sometimes stops at a question marker, the sound goes on (#13)',
};

// What each engine must pick (web/recorder/capabilities.js). WebKit's isolated pages have no
// SharedArrayBuffer, so it gets the plain core; only Chromium has MediaStreamTrackProcessor.
const PATHS = {
  chromium: { core: 'simd', video: 'track-processor', audio: 'audio-worklet' },
  firefox: { core: 'simd', video: 'video-frame', audio: 'audio-worklet' },
  webkit: { core: 'plain', video: 'video-frame', audio: 'audio-worklet' },
};
// Floors for the recorded frame rate of a 30 fps camera on this 2-core machine shared with the
// server and other tests: the single-threaded plain core of WebKit skips more frames (measured here:
// 11 to 24 fps in WebKit, 30 in Firefox).
const MIN_FPS = { chromium: 20, firefox: 20, webkit: 8 };
// How long after start() the first media may come (a marker made at start lies that much before
// its file's first frame): WebKit's first frames from the <video> element come about 350 ms late.
const FIRST_MEDIA_MS = { chromium: 100, firefox: 100, webkit: 600 };

// Part 1 ends with the reload: a chunk committed in the last milliseconds before it reaches the
// server (the next page uploads it from IndexedDB), but its copy may not reach the test (Firefox
// drops the page's last callbacks). So for that part the copies the test saw must be the file's
// beginning, packet for packet, the upload complete at the size the recorder stored, and what the
// test did not see at most the last 3 s (240 packets of 30 fps video and 50/s Opus).
async function assertArrivedBeforeReload(chunks, rec, file, token) {
  const indexes = [...chunks.keys()].sort((a, b) => a - b);
  assert.deepEqual(indexes, indexes.map((_, i) => i), 'chunks seen in order from 0, without gaps');
  const live = `${file}.seen.webm`;
  fs.writeFileSync(live, Buffer.concat(indexes.map((i) => chunks.get(i))));
  const packets = (f) => execFileSync('ffmpeg', ['-v', 'error', '-i', f, '-map', '0', '-c', 'copy', '-f', 'framemd5', '-'],
    { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter((l) => l && !l.startsWith('#'));
  const seen = packets(live);
  fs.rmSync(live);
  const arrived = packets(file);
  assert.deepEqual(arrived.slice(0, seen.length), seen, 'the chunks seen stored arrived, bit for bit, once');
  assert.ok(arrived.length - seen.length <= 240, `${arrived.length - seen.length} packets arrived after the last one seen`);
  assert.deepEqual(await serverUpload(rec.uploadUrl, token), { offset: rec.storedBytes, length: rec.storedBytes },
    'the upload is complete at the size the recorder stored');
}

function pathsOf(data) {
  const { core, video, audio } = JSON.parse(data);
  return { core, video, audio };
}

for (const engine of ENGINES) {
  describe(engine, () => {
    let browser;
    before(async () => { browser = await launchEngine(engine); });
    after(async () => { await browser?.close(); });

    test(`${engine}: camera+microphone, 30 s with questions, 10 s offline and a reload arrive whole, finalized, ` +
      'seekable, with audio and the camera\'s picture, the three questions\' markers in the index, the paths reported',
    { ...T, todo: KNOWN[engine] ?? false }, async () => {
      const server = await startServer();
      const session = await createSession(server);
      const base = await browser.urlFor(server);
      const page = await browser.newPage();
      try {
        const evidence = await keepStoredChunks(page);
        await page.goto(interviewUrl({ url: base }, session, '&debugSlowEncoderMs=150'));
        await untilState(page, 'welcome');
        // The token moved from the address (history, bookmarks, screen shares) to sessionStorage: the
        // reload below resumes with it. A test hook in a link does nothing.
        const hash = await page.evaluate(() => location.hash);
        assert.ok(!hash.includes('token') && !hash.includes(session.upload_token), `address after load: ${hash}`);
        assert.ok(hash.includes(`session=${session.session_id}`), hash);
        assert.equal(await page.evaluate(() => window.interviewPage.recorder.debug), undefined);
        await startInterview(page);
        const startedAt = Date.now();
        await sleep(4000);
        await page.click('#next');  // question 2

        // Offline for ~10 s: recording goes on, chunks wait in IndexedDB, the page says so.
        await page.setOffline(true);
        await sleep(10_000);
        const offline = await progress(page);
        assert.ok(offline.pendingBytes > 0, 'chunks wait while offline');
        assert.ok(offline.waitingSeconds >= 5, `waiting ${offline.waitingSeconds} s`);
        assert.match(await page.textContent('#health'), /\d+ s waiting to upload/);
        assert.match(await page.textContent('#warning'), /Cannot reach the server/);
        assert.equal(await pageState(page), 'recording');
        await page.setOffline(false);
        await until(page, () => document.getElementById('health').textContent === 'All saved', null, 20_000);

        // Reload mid-interview: the next page finishes part 1 from IndexedDB and records part 2.
        await sleep(3000);
        const beforeReload = Date.now();
        await page.reload();
        await page.waitForFunction(() => window.interviewPage?.state === 'welcome', null, { timeout: 15_000 });
        assert.equal(await page.isVisible('#resumed-note'), true);
        await startInterview(page);
        const resumedAt = Date.now();
        await sleep(6000);
        await page.click('#next');  // question 3
        await sleep(5000);
        await page.click('#end');
        await until(page, () => window.interviewPage.state === 'done', null, 45_000);
        const endedAt = Date.now();

        const recs = await recordings(page);
        const stored = await evidence.read();
        assert.equal(recs.length, 2);
        assert.deepEqual(recs.map((r) => [r.kind, r.part, r.state]), [['camera', 1, 'complete'], ['camera', 2, 'complete']]);
        assert.equal(recs[1].continuationOf, recs[0].id);
        assert.equal(await storedChunkCount(page), 0, 'no chunk left in IndexedDB');

        const files = await finalizedFiles(server.dataDir, 2);
        assert.match(files[0].file, /Jane_Doe\/interview_video_\d{8}_\d{6}(_\d+)?\.webm$/);
        for (const [i, f] of files.entries()) {
          const kinds = f.probe.streams.map((s) => s.codec_name).sort();
          assert.deepEqual(kinds, ['opus', 'vp9'], `${f.file} has video and audio`);
          assertSeekable(f.file, f.duration);
          // Every chunk stored locally arrived, once: the file's frames are the stored chunks' frames.
          if (i === 0) await assertArrivedBeforeReload(stored.get(recs[0].id), recs[0], f.file, session.upload_token);
          else await assertArrived(stored, recs[i], f.file, session.upload_token);
          assert.ok(audioMeanDb(f.file) > -45, `${f.file}: the microphone is audible (${audioMeanDb(f.file)} dB)`);
        }

        // Durations: the files cover what each page recorded (session clock), and together the
        // recorded time of the interview minus the reload gap.
        const recorded = recs.map((r) => (r.endMs - r.startMs) / 1000);
        const sumFiles = files.reduce((s, f) => s + f.duration, 0);
        const sumRecorded = recorded.reduce((s, x) => s + x, 0);
        assert.ok(Math.abs(sumFiles - sumRecorded) <= 0.5, `files ${sumFiles} s vs recorded ${sumRecorded} s`);
        // Part 1 ran from start to the reload, less what a reload loses (web/recorder/README.md): the
        // chunk the encoder was assembling (at most 1 s) and the frames still being encoded and stored.
        const part1Wall = (beforeReload - startedAt) / 1000;
        console.log(`part 1: ${files[0].duration.toFixed(2)} s recorded of ${part1Wall.toFixed(2)} s before the reload`);
        assert.ok(files[0].duration > part1Wall - 1.5 && files[0].duration < part1Wall + 0.5,
          `part 1 ${files[0].duration} s, wall ${part1Wall} s`);
        const part2Wall = (endedAt - resumedAt) / 1000;
        assert.ok(files[1].duration > 9 && files[1].duration < part2Wall + 0.5, `part 2 ${files[1].duration} s`);
        assert.ok(sumFiles > 26, `recorded ${sumFiles} s in total`);

        // The picture: Chromium's fake camera plays a known clip, so the files must match it; the
        // other engines' fake cameras are synthetic, so their files must hold frames at a rate that
        // fits their path (frames counted as packets, against the file's duration).
        for (const f of files) {
          // Every frame decodes. In WebKit, whose video falls behind its audio, one run in two
          // did not before the core stopped dropping frames it had encoded (shared/recorder).
          const frames = assertDecodes(f.file);
          if (engine === 'chromium') {
            const { psnr } = alignedPsnrY(f.file, fakeMedia().video);
            console.log(`${engine} ${path.basename(f.file)}: ${f.duration.toFixed(2)} s, ${frames} frames, aligned PSNR-Y ${psnr.toFixed(2)} dB`);
            assert.ok(psnr >= 26, `aligned PSNR-Y ${psnr} dB`);
          } else {
            console.log(`${engine} ${path.basename(f.file)}: ${f.duration.toFixed(2)} s, ${frames} frames`);
          }
          assert.ok(frames >= MIN_FPS[engine] * f.duration, `${frames} frames in ${f.duration} s (at least ${MIN_FPS[engine]} fps)`);
        }

        // The path this browser took, in the recorder's stats and in the session's client events.
        assert.deepEqual(await page.evaluate(() => window.interviewPage.recorder.paths), PATHS[engine]);
        const noted = sessionEvents(server.dataDir).filter((e) => e.label === 'recorder_paths');
        assert.equal(noted.length, 2, 'one recorder_paths event per page (two pages: the reload)');
        for (const e of noted) assert.deepEqual(pathsOf(e.data), PATHS[engine]);

        // The three questions' markers are in the server's index, once each, in order, at the times
        // they were clicked, and attached to the upload that was recording then.
        assert.equal((await progress(page)).pendingEvents, 0, 'every marker acknowledged');
        const zeroMs = await page.evaluate(() => window.interviewPage.recorder.sessionStartMs);
        const events = sessionEvents(server.dataDir);
        const markers = events.filter((e) => e.type === 'marker');
        assert.deepEqual(markers.map((e) => e.label), ['question_1_start', 'question_1_end', 'question_2_start',
          'question_2_end', 'question_3_start', 'question_3_end']);
        assert.ok(events.some((e) => e.type === 'client_event' && e.label === 'resumed'), 'the reload is in the index');
        const at = Object.fromEntries(markers.map((e) => [e.label, e]));
        assert.ok(at.question_1_start.recording_time_ms < 1000, `question 1 at ${at.question_1_start.recording_time_ms} ms`);
        assert.ok(Math.abs(at.question_2_start.recording_time_ms - 4000) < 1500, `question 2 at ${at.question_2_start.recording_time_ms} ms`);
        const uploadId = (r) => r.uploadUrl.slice(r.uploadUrl.lastIndexOf('/') + 1);
        for (const [label, rec] of [['question_1_start', recs[0]], ['question_2_start', recs[0]], ['question_3_start', recs[1]],
          ['question_3_end', recs[1]]]) {
          const e = at[label];
          assert.equal(e.upload_id, uploadId(rec), `${label} belongs to part ${rec.part}`);
          assert.ok(e.recording_time_ms >= rec.startMs - zeroMs - FIRST_MEDIA_MS[engine] && e.recording_time_ms <= rec.endMs - zeroMs + 1500,
            `${label} at ${e.recording_time_ms} ms lies in part ${rec.part} (${rec.startMs - zeroMs}..${rec.endMs - zeroMs} ms)`);
        }
        server.remove();
      } catch (err) {
        console.log(`--- ${engine} console ---\n${browser.logs.slice(-40).join('\n')}\n--- server data ${server.dataDir}`);
        throw err;
      } finally {
        await page.close().catch(() => {});
        await server.stop();
      }
    });

    // Screen sharing where the engine shares a screen headless: WebKit's mock display (Chromium's
    // is tested in browser_recorder.test.mjs; headless Firefox has no screen to share: NotFoundError).
    if (engine === 'webkit') {
      test(`${engine}: screen and camera record together into two finalized files`, T, async () => {
        const server = await startServer();
        const session = await createSession(server);
        const page = await browser.newPage();
        try {
          await page.goto(interviewUrl({ url: await browser.urlFor(server) }, session, '&screen=1'));
          await untilState(page, 'welcome');
          await startInterview(page);
          await sleep(8000);
          await page.click('#end');
          await untilState(page, 'done', 60_000);
          const recs = await recordings(page);
          assert.deepEqual(recs.map((r) => r.kind).sort(), ['camera', 'screen']);
          const files = await finalizedFiles(server.dataDir, 2, 30_000);
          const screen = files.find((f) => f.file.endsWith('_screen.webm'));
          assert.ok(screen, files.map((f) => f.file).join(', '));
          const frames = assertDecodes(screen.file);
          console.log(`${engine} screen: ${screen.duration.toFixed(2)} s, ${frames} frames`);
          // A static mock screen and the single-threaded core beside the camera on 2 busy cores:
          // measured 7 to 16 frames in 8 s here, so the floor only says the screen was recorded.
          assert.ok(screen.duration > 5 && frames >= 4, `screen ${screen.duration} s, ${frames} frames`);
          server.remove();
        } catch (err) {
          console.log(`--- ${engine} console ---\n${browser.logs.slice(-40).join('\n')}\n--- server data ${server.dataDir}`);
          throw err;
        } finally {
          await page.close().catch(() => {});
          await server.stop();
        }
      });
    }
  });
}
