// A slow uplink in headless Chromium (DevTools network emulation throttles the page's uploads):
// the recorder lowers the video (web/recorder/uplink.js) so that the backlog stays bounded, loses
// nothing, and climbs back to the host's target once the uplink is released.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

import {
  assertArrived, assertDecodes, assertSeekable, captureStoredChunks, finalizedFiles, interviewUrl, recordings,
  sessionEvents, sleep, startInterview, until, withSetup,
} from './lib/browser.mjs';
import { makeY4m } from './lib/media.mjs';

// The camera records at 600 kbps with the 64 kbps microphone: twice what the throttled uplink
// carries, so without following the uplink the backlog grows by about half a second a second.
const VIDEO_KBPS = 600;
const THROTTLED_KBPS = 300;
const THROTTLE_SECONDS = 30;
// The bound this test holds the recorder to: seconds of media waiting in the browser.
const MAX_BACKLOG_SECONDS = 10;
const RECOVERY_SECONDS = 30;

/** @param {import('playwright-core').CDPSession} cdp @param {number | null} kbps null: no limit */
function limitUplink(cdp, kbps) {
  return cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1,
    uploadThroughput: kbps === null ? -1 : (kbps * 1000) / 8 });
}

// Video payload kbps of `file` over [from, to) seconds of its timeline.
function videoKbps(file, from, to) {
  const lines = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time,size',
    '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim().split('\n');
  let bytes = 0;
  for (const line of lines) {
    const [pts, size] = line.split(',').map(Number);
    if (pts >= from && pts < to) bytes += size;
  }
  return (bytes * 8) / (to - from) / 1000;
}

test(`an uplink throttled to ${THROTTLED_KBPS} kbps for ${THROTTLE_SECONDS} s: the video steps down, the backlog stays under ` +
  `${MAX_BACKLOG_SECONDS} s, nothing is lost, and the target returns within ${RECOVERY_SECONDS} s of the release`,
{ timeout: 150_000 }, async () => {
  // A busy picture (four people talking, not akiyo's newsreader), so that the encoder spends the
  // target it is given and a lower target shows in the file.
  const video = makeY4m('FourPeople_1280x720_60.mp4', 'fps=30,scale=640:480', 'fourpeople_640x480_30.y4m');
  await withSetup({ video }, async ({ server, session, browser, page }) => {
    const stored = await captureStoredChunks(page);
    await page.addInitScript((kbps) => { window.interviewTestHooks = { video: { kbps } }; }, VIDEO_KBPS);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    // The recorder's view of the uplink after every chunk, on the page's clock.
    const startedAt = await page.evaluate(() => {
      window.uplinkTrace = [];
      // What the page is told (its warning box shows the latest; a busy machine may add others).
      window.recorderWarnings = [];
      window.interviewPage.recorder?.addEventListener('error', (e) => {
        const { error } = /** @type {CustomEvent} */ (e).detail;
        window.recorderWarnings.push({ code: error.code, message: error.message });
      });
      window.interviewPage.recorder?.addEventListener('stats', (e) => {
        const { kind, stats } = /** @type {CustomEvent} */ (e).detail;
        if (kind === 'camera' && stats.uplink) window.uplinkTrace.push({ at: performance.now(), ...stats.uplink });
      });
      return performance.now();
    });
    await sleep(5000);
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Network.enable');
    const throttledAt = await page.evaluate(() => performance.now());
    await limitUplink(cdp, THROTTLED_KBPS);
    await until(page, () => window.recorderWarnings.some((w) => w.code === 'slow_uplink'), null, 20_000);
    const notices = await page.evaluate(() => window.recorderWarnings.filter((w) => w.code === 'slow_uplink'));
    assert.match(notices[0].message, /connection is slow.*Nothing is lost/s);
    await sleep(throttledAt + THROTTLE_SECONDS * 1000 - await page.evaluate(() => performance.now()));
    const releasedAt = await page.evaluate(() => performance.now());
    await limitUplink(cdp, null);
    await until(page, () => window.uplinkTrace.at(-1)?.step === 0, null, RECOVERY_SECONDS * 1000);
    const backAt = await page.evaluate(() => performance.now());
    await sleep(1500);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 60_000);

    /** @type {{ at: number, step: number, videoKbps: number, fps: number, backlogSeconds: number, capacityKbps: number | null }[]} */
    const trace = await page.evaluate(() => window.uplinkTrace);
    const worst = Math.max(...trace.map((s) => s.backlogSeconds));
    const lightest = trace.reduce((a, s) => (s.videoKbps < a.videoKbps ? s : a));
    const changes = sessionEvents(server.dataDir).filter((e) => e.label === 'video_quality').map((e) => JSON.parse(e.data));
    console.log(`backlog peaked at ${worst.toFixed(1)} s; lightest step ${lightest.step} (${lightest.videoKbps} kbps, ` +
      `${lightest.fps} fps); back at the target ${((backAt - releasedAt) / 1000).toFixed(1)} s after the release; changes: ` +
      changes.map((c) => `step ${c.step} ${c.videoKbps} kbps ${c.fps} fps (backlog ${c.backlogSeconds} s, ` +
        `uplink ${c.capacityKbps} kbps)`).join('; '));
    assert.ok(worst < MAX_BACKLOG_SECONDS, `the backlog peaked at ${worst.toFixed(1)} s of media`);
    assert.ok(lightest.videoKbps < THROTTLED_KBPS - 64, `the video went down to ${lightest.videoKbps} kbps`);
    assert.ok(changes.length >= 2 && changes[0].step > 0 && changes.at(-1).step === 0,
      'HR sees the steps down and the return to the target as events of the session');
    const told = await page.evaluate(() => window.recorderWarnings.filter((w) => w.code === 'slow_uplink').length);
    assert.equal(told, 1, 'the candidate is told once for the one slow spell');

    // Nothing lost: the file holds every stored chunk, bit for bit, and decodes throughout.
    const [file] = await finalizedFiles(server.dataDir, 1);
    const [rec] = await recordings(page);
    await assertArrived(stored, rec, file.file, session.upload_token);
    assertDecodes(file.file);
    assertSeekable(file.file, file.duration);
    const recordedSeconds = (rec.endMs - rec.startMs) / 1000;
    assert.ok(Math.abs(file.duration - recordedSeconds) < 1.5, `${file.duration} s stored of ${recordedSeconds} s recorded`);
    // The lighter video is in the file: the throttled stretch (its first seconds aside, when the
    // steps are taken) fits what the link carries beside the sound. (Compared with the link, not
    // with the seconds before: on a busy machine the encoder may spend less than its target while
    // the recording starts, and that window is short.)
    const startSeconds = (throttledAt - startedAt) / 1000;
    const before = videoKbps(file.file, 1.5, 4.5);
    const during = videoKbps(file.file, startSeconds + 10, startSeconds + THROTTLE_SECONDS);
    console.log(`video in the file: ${before.toFixed(0)} kbps before, ${during.toFixed(0)} kbps while throttled`);
    assert.ok(during < THROTTLED_KBPS - 64, `${during.toFixed(0)} kbps while throttled, ${before.toFixed(0)} before`);
  });
});
