// HR watches an interview while it is recorded ("Watch live", web/hr/live.js from
// GET /api/v1/hr/recordings/{id}/live): the candidate records in one headless Chromium, the
// reviewer watches in another.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { indexDump, interviewUrl, launchBrowser, sleep, startInterview, until, withSetup } from './lib/browser.mjs';
import { createAccount } from './lib/hr.mjs';

const PASSWORD = 'reviewer password 1';
const QUESTIONS = [{ id: 'intro', text: 'Introduce yourself.' }, { id: 'project', text: 'A project you are proud of.' }];
// The goal: the reviewer sees the candidate at most this far behind.
const MAX_LAG_S = 3;

const liveState = (viewer) => viewer.evaluate(() => document.querySelector('#live-status')?.getAttribute('data-state'));
const untilLive = (viewer, state, timeout) =>
  until(viewer, (s) => document.querySelector('#live-status')?.getAttribute('data-state') === s, state, timeout);

test(`HR watches an interview live, camera and screen: under ${MAX_LAG_S} s behind, markers as they come, told when ` +
  'the candidate is offline and when the recording ends', { timeout: 150_000 }, async () => {
  await withSetup({ questions: QUESTIONS, args: ['--auto-select-desktop-capture-source=Entire screen'] },
    async ({ server, session, page }) => {
    await createAccount(server.dataDir, 'rita', PASSWORD, 'reviewer');
    const hr = await launchBrowser({ devices: false });
    const viewer = hr.page;
    try {
      await page.goto(interviewUrl(server, session, '&screen=1'));
      await startInterview(page);
      await sleep(3000);

      await viewer.goto(`${server.url}/hr/#live/${encodeURIComponent(session.session_id)}`);
      await viewer.fill('#login-username', 'rita');
      await viewer.fill('#login-password', PASSWORD);
      await viewer.click('#login-submit');
      await untilLive(viewer, 'live', 20_000);
      // The shared screen plays beside the camera.
      await until(viewer, () => document.querySelector('#live-screen-status')?.getAttribute('data-state') === 'live', null,
        20_000);

      // How far behind: the candidate's recording time against the session time on the
      // reviewer's screen, read back to back, over a few seconds of playing.
      const lags = [];
      for (let i = 0; i < 6; i++) {
        await sleep(1000);
        const candidate = await page.evaluate(() => (Date.now() - window.interviewPage.recorder.sessionStartMs) / 1000);
        const shown = await viewer.evaluate(() => window.hrPage.live.sessionTime());
        lags.push(candidate - shown);
      }
      console.log(`the reviewer is ${lags.map((l) => l.toFixed(2)).join(', ')} s behind the candidate`);
      assert.ok(lags.every((l) => l > -0.5 && l <= MAX_LAG_S), `lags ${lags.map((l) => l.toFixed(2)).join(', ')} s`);

      // A marker the candidate makes appears on the reviewer's timeline.
      const markers = () => viewer.evaluate(() => document.querySelectorAll('#timeline .marker').length);
      const before = await markers();
      await page.click('#next');
      await until(viewer, (n) => document.querySelectorAll('#timeline .marker').length > n, before, 10_000);

      // The candidate goes offline for 5 s: the reviewer is told, then the picture comes back.
      await page.context().setOffline(true);
      await untilLive(viewer, 'offline', 10_000);
      assert.match(await viewer.textContent('#live-status'), /may be offline/);
      await sleep(1000);
      await page.context().setOffline(false);
      await untilLive(viewer, 'live', 20_000);

      await page.click('#end');
      await until(page, () => window.interviewPage.state === 'done', null, 45_000);
      await untilLive(viewer, 'ended', 30_000);
      assert.match(await viewer.textContent('#live-status'), /recording has ended/);
      assert.equal(await liveState(viewer), 'ended');

      assert.match(indexDump(server.dataDir), /'hr:rita','watch_live','recording:\d+'/, 'watching live is audited');
    } finally {
      await hr.close();
    }
  });
});
