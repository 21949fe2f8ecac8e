// The candidate page's features and the failures a candidate can meet, each made to happen for
// real in headless Chromium against a real recorder-server, with the message the page shows.
// Setup as in browser_recorder.test.mjs (lib/browser.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  API_KEY, assertArrived, audioMeanDb, captureStoredChunks, finalizedFiles, interviewUrl, progress, recordings, sleep, startInterview,
  until, untilState, withSetup,
} from './lib/browser.mjs';

const T = { timeout: 120_000 };

// The recorder's error events, as {code, fatal}, in window.recorderErrors.
function collectErrors(page) {
  return page.evaluate(() => {
    window.recorderErrors = [];
    window.interviewPage.recorder.addEventListener('error', ({ detail: { error } }) =>
      window.recorderErrors.push({ code: error.code, fatal: error.fatal }));
  });
}

const fatalCodes = (page) => page.evaluate(() => window.recorderErrors.filter((e) => e.fatal).map((e) => e.code));

test('the page: invalid link, device check with a moving level meter, Start only after consent, SIMD core, elapsed ' +
  'time, flush bar to 100 %, done screen that stays done', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    await page.goto(`${server.url}/interview.html#session=${session.session_id}`);
    await untilState(page, 'invalid-link');
    assert.match(await page.textContent('section[data-state="invalid-link"]'), /This link is incomplete/);

    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto('about:blank');  // the link differs in its fragment only: load it anew
    await page.goto(interviewUrl(server, session));
    await untilState(page, 'welcome');
    await page.click('#check');
    await untilState(page, 'ready');
    // The level meter follows the fake microphone's speech.
    const levels = [];
    for (let i = 0; i < 20; i++) {
      levels.push(await page.evaluate(() => parseFloat(document.getElementById('meter-bar').style.width) || 0));
      await sleep(100);
    }
    assert.ok(Math.max(...levels) >= 10 && new Set(levels).size >= 4, `meter levels ${levels.join(' ')}`);
    assert.equal(await page.isVisible('#preview'), true);
    assert.equal(await page.isDisabled('#start'), true, 'Start waits for consent');
    await page.check('#consent');
    assert.equal(await page.isDisabled('#start'), false);
    await page.click('#start');
    await untilState(page, 'recording');

    // The interview page is cross-origin isolated, so the encoder runs the threads + SIMD core.
    assert.equal(await page.evaluate(() => window.crossOriginIsolated), true);
    assert.ok(requests.some((u) => u.endsWith('/gen/recorder-core-simd.wasm')), 'the SIMD core was loaded');
    assert.ok(!requests.some((u) => u.includes('recorder-core-plain')), 'the plain core was not');

    assert.equal(await page.isVisible('#indicator'), true);
    const elapsed = async () => {
      const [m, s] = (await page.textContent('#elapsed')).split(':').map(Number);
      return m * 60 + s;
    };
    await sleep(1200);
    const first = await elapsed();
    await sleep(3000);
    const second = await elapsed();
    assert.ok(second - first >= 2 && second - first <= 4, `elapsed ${first} s, then ${second} s`);

    // The flush bar as it stands when the recorder reports everything saved.
    await page.evaluate(() => window.interviewPage.recorder.addEventListener('state', ({ detail }) => {
      if (detail.state === 'stopped') window.flushAtStop = document.getElementById('flush').value;
    }));
    await page.click('#end');
    await untilState(page, 'done', 45_000);
    assert.equal(await page.evaluate(() => window.flushAtStop), 1);
    assert.match(await page.textContent('#flush-text'), /Saved (\d+ kB|[\d.]+ MB) of \1\./);
    assert.match(await page.textContent('section[data-state="done"]'), /Thank you!.*saved/s);
    assert.equal(await page.isVisible('#indicator'), false);
    await page.reload();
    await untilState(page, 'done');
    // The page told the server that the interview ended; once the recording is processed, the
    // session is completed.
    const status = async () => (await fetch(`${server.url}/api/v1/sessions/${session.session_id}`,
      { headers: { Authorization: `Bearer ${API_KEY}` } })).json();
    assert.ok((await status()).ended_at > 0, 'the session ended');
    for (const deadline = Date.now() + 60_000; (await status()).completed_at === null; await sleep(250)) {
      assert.ok(Date.now() < deadline, 'the session completes');
    }
    // Another browser (none of this one's storage) opening the link learns from the server that
    // the interview ended, and records nothing more.
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await untilState(page, 'done');
  });
});

test('screen sharing denied: the page explains that the interview needs the screen', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    // Headless Chromium has no picker to cancel, and its fake UI denies the camera with the
    // screen; a Permissions-Policy without display-capture makes Chromium refuse the screen alone,
    // with the NotAllowedError a cancelled picker or blocked site setting gives.
    await page.route('**/interview.html', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'permissions-policy': 'display-capture=()' } });
    });
    await page.goto(interviewUrl(server, session, '&screen=1'));
    await page.click('#check');
    await untilState(page, 'blocked');
    assert.match(await page.textContent('#blocked-message'), /Screen sharing was not allowed.*choose a screen or window/);
  });
});

// A tab titled "Shared tab" that plays a tone; Chromium picks it for getDisplayMedia.
const TAB_CAPTURE = { grant: false, mute: false, args: ['--auto-select-tab-capture-source-by-title=Shared tab'] };
async function openSharedTab(context) {
  const tab = await context.newPage();
  await tab.setContent(`<title>Shared tab</title><p>Shared tab</p><script>
    // Tab capture sends a frame when the tab repaints: keep it changing.
    let n = 0;
    setInterval(() => { document.body.style.background = n++ % 2 ? '#c33' : '#3c3'; }, 100);
    const context = new AudioContext();
    const tone = new OscillatorNode(context, { frequency: 440 });
    tone.connect(new GainNode(context, { gain: 0.5 })).connect(context.destination);
    tone.start();
  </script>`);
  return tab;
}

// Records the camera and a shared tab until the tab is closed (which ends its capture).
async function recordSharedTab({ server, session, page }) {
  const origin = new URL(server.url).origin;
  await page.context().grantPermissions(['camera', 'microphone'], { origin });
  const tab = await openSharedTab(page.context());
  await page.bringToFront();
  await page.goto(interviewUrl(server, session, '&screen=1'));
  await startInterview(page);
  await collectErrors(page);
  const screen = await page.evaluate(() => {
    const s = window.interviewPage.recorder.streams.screen;
    s.getVideoTracks()[0].addEventListener('ended', () => { window.screenEndedEvent = true; });
    return { video: s.getVideoTracks().length, audio: s.getAudioTracks().length, surface: s.getVideoTracks()[0].getSettings().displaySurface };
  });
  assert.deepEqual(screen, { video: 1, audio: 1, surface: 'browser' });
  await sleep(5000);
  await tab.close();
  await untilState(page, 'interrupted', 15_000);
  const files = await finalizedFiles(server.dataDir, 2, 45_000);
  return files.find((f) => f.file.endsWith('_screen.webm'));
}

test('a shared tab: the _screen file carries the tab\'s sound; closing the tab ends the share, whose ended event ' +
  'pauses the recording with a message', T, async () => {
  await withSetup(TAB_CAPTURE, async ({ server, session, page }) => {
    const screen = await recordSharedTab({ server, session, page });
    assert.equal(await page.evaluate(() => window.screenEndedEvent), true, 'the track fired ended');
    assert.match(await page.textContent('#interrupted-message'), /Screen sharing stopped.*everything so far is saved/);
    assert.deepEqual(await fatalCodes(page), ['screen_share_ended']);
    assert.deepEqual(screen.probe.streams.map((s) => s.codec_name).sort(), ['opus', 'vp9']);
    assert.ok(screen.duration > 3, `screen ${screen.duration} s`);
    const db = audioMeanDb(screen.file);
    assert.ok(db > -30, `the tab's tone is in the screen file: mean ${db} dB`);
  });
});

test('camera unplugged: the track\'s ended event pauses the recording with a message; what was recorded arrives', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    // The camera track reaches the page through a MediaStreamTrackGenerator fed by the fake
    // camera: window.unplugCamera() ends the feed, and the track ends from its source's side
    // with an 'ended' event, as when a camera is unplugged (a script's track.stop() fires none).
    await page.addInitScript(() => {
      const getUserMedia = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = async function (constraints) {
        const stream = await getUserMedia.call(this, constraints);
        const [camera] = stream.getVideoTracks();
        if (!camera) return stream;
        const track = new MediaStreamTrackGenerator({ kind: 'video' });
        const feed = new AbortController();
        new MediaStreamTrackProcessor({ track: camera }).readable.pipeTo(track.writable, { signal: feed.signal }).catch(() => {});
        track.addEventListener('ended', () => { window.cameraEndedEvent = true; });
        window.unplugCamera = () => {
          feed.abort();
          camera.stop();
        };
        return new MediaStream([track, ...stream.getAudioTracks()]);
      };
    });
    const stored = await captureStoredChunks(page);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await collectErrors(page);
    await sleep(4000);
    await page.evaluate(() => window.unplugCamera());
    await untilState(page, 'interrupted', 15_000);
    assert.equal(await page.evaluate(() => window.cameraEndedEvent), true, 'the track fired ended');
    assert.match(await page.textContent('#interrupted-message'), /Your camera stopped working \(it was unplugged or switched off\)/);
    assert.deepEqual(await fatalCodes(page), ['device_lost']);
    const [file] = await finalizedFiles(server.dataDir, 1, 30_000);
    const [rec] = await recordings(page);
    await assertArrived(stored, rec, file.file, session.upload_token);
    assert.ok(file.duration > 2.5, `recorded ${file.duration} s`);
  });
});

test('storage quota exhausted (the origin\'s quota, through CDP): recording stops with storage_full and a message; ' +
  'what was stored still uploads', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    // A quota of 400 kB (IndexedDB's files grow with every chunk written, also once the chunk is
    // deleted again): a few seconds in, a chunk's write is refused. Chromium applies an override
    // to databases opened after it, so it is set before the page loads.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(server.url).origin, quotaSize: 400_000 });
    const stored = await captureStoredChunks(page);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await collectErrors(page);
    await untilState(page, 'failed', 30_000);
    assert.match(await page.textContent('#failed-message'), /run out of storage space/);
    assert.deepEqual(await fatalCodes(page), ['storage_full']);
    const [file] = await finalizedFiles(server.dataDir, 1, 30_000);
    const [rec] = await recordings(page);
    await assertArrived(stored, rec, file.file, session.upload_token);
    assert.ok(file.duration > 2, `stored part uploaded: ${file.duration} s`);
  });
});

test('ending while offline: the page waits on "finishing" with its message and completes when back online', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    const stored = await captureStoredChunks(page);
    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await sleep(4000);
    await page.context().setOffline(true);
    await sleep(2000);
    await page.click('#end');
    await untilState(page, 'finishing');
    await until(page, () => /Waiting for the connection to come back/.test(document.getElementById('flush-text').textContent), null, 15_000);
    await sleep(5000);
    assert.equal(await page.evaluate(() => window.interviewPage.state), 'finishing');
    assert.ok((await progress(page)).pendingBytes > 0, 'chunks wait');
    await page.context().setOffline(false);
    await untilState(page, 'done', 45_000);
    const [file] = await finalizedFiles(server.dataDir, 1);
    const [rec] = await recordings(page);
    await assertArrived(stored, rec, file.file, session.upload_token);
    assert.ok(file.duration > 5, `recorded ${file.duration} s`);
  });
});
