// No step of the recorder can wait for ever: each test holds one step back for real in Chromium
// and in Firefox (lib/engines.mjs) and checks what the candidate sees (a specific message with a
// way forward), that the host gets the client event 'step_stalled' naming the step, and that the
// page never claims anything was saved. Deadlines are shortened through the page's test hook
// (window.interviewTestHooks.deadlines); the defaults are in web/recorder/index.js.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertSeekable, createSession, finalizedFiles, interviewUrl, progress, recordings, sessionEvents, startInterview, startServer, until,
  untilState,
} from './lib/browser.mjs';
import { launchEngine } from './lib/engines.mjs';

const T = { timeout: 90_000 };

// Each case: what is held back (an init script run before the page's own code), the shortened
// deadline, and where the page stops with which message.
const CASES = [
  {
    step: 'worker', name: 'a worker that never answers',
    hold: () => {
      // Every Worker runs an empty script: it never says 'started'.
      const empty = URL.createObjectURL(new Blob([''], { type: 'text/javascript' }));
      window.Worker = class extends Worker { constructor() { super(empty); } };
    },
    deadlines: { workerMs: 2000 }, at: 'start', message: /could not start in this browser.*try again.*Firefox or Safari/s,
  },
  {
    step: 'core', name: 'a core that never loads',
    hold: () => {
      // The worker runs, but its 'init' never arrives: the core is never loaded.
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (msg, ...rest) {
        if (msg?.type === 'init') return undefined;
        return post.call(this, msg, ...rest);
      };
    },
    deadlines: { coreMs: 3000 }, at: 'start', message: /could not load its video encoder/,
  },
  {
    step: 'core', name: 'encoder workers that hang creating their threads, four in a row',
    // Firefox's hang (encoder.js, THREAD_RESTARTS): the worker is started again three times, then
    // the core counts as stalled.
    hold: () => { window.interviewTestHooks = { hangThreads: 4 }; },
    deadlines: { threadsMs: 1000 }, at: 'start', message: /could not load its video encoder/,
  },
  {
    step: 'devices', name: 'devices that never open',
    hold: () => { MediaDevices.prototype.getUserMedia = () => new Promise(() => {}); },
    deadlines: { devicesMs: 2000 }, at: 'check', message: /camera and microphone did not start/,
  },
  {
    step: 'first_frame', name: 'a camera that never delivers a frame',
    hold: () => {
      // The camera track is replaced by one that never carries a frame: a track generator nobody
      // writes to (Chromium), or the stream of a canvas that is never drawn (Firefox).
      const getUserMedia = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = async function (constraints) {
        const stream = await getUserMedia.call(this, constraints);
        stream.getVideoTracks().forEach((t) => t.stop());
        const silent = typeof MediaStreamTrackGenerator === 'function' ? new MediaStreamTrackGenerator({ kind: 'video' })
          : Object.assign(document.createElement('canvas'), { width: 640, height: 480 }).captureStream(0).getVideoTracks()[0];
        return new MediaStream([silent, ...stream.getAudioTracks()]);
      };
    },
    deadlines: { firstFrameMs: 3000 }, at: 'recording', message: /camera sends no picture/,
  },
  {
    step: 'first_ack', name: 'a server that never acknowledges',
    hold: () => {
      // Every PATCH hangs without an answer (the connection neither fails nor completes).
      const original = window.fetch;
      window.fetch = (url, init = {}) => (init.method === 'PATCH' ? new Promise(() => {}) : original(url, init));
    },
    deadlines: { firstAckMs: 4000 }, at: 'warning', message: /has not reached the server yet.*keep this page open/s,
  },
];

// The 'step_stalled' client events the server stored, as their steps.
function stalledSteps(dataDir) {
  return sessionEvents(dataDir).filter((e) => e.label === 'step_stalled').map((e) => JSON.parse(e.data).step);
}

// Runs one case against its own server (the events it gets are this case's only).
async function stallCase(browser, { hold, deadlines, at, message, step }) {
  const server = await startServer();
  const session = await createSession(server);
  const page = await browser.newPage();
  try {
    await page.addInitScript(hold);
    await page.addInitScript((d) => { window.interviewTestHooks = { ...window.interviewTestHooks, deadlines: d }; }, deadlines);
    await page.goto(interviewUrl(server, session));
    await untilState(page, 'welcome');
    if (at === 'check') {
      await page.click('#check');
      await untilState(page, 'blocked', 20_000);
      assert.match(await page.textContent('#blocked-message'), message);
    } else if (at === 'start') {
      await page.click('#check');
      await untilState(page, 'ready', 20_000);
      await page.check('#consent');
      await page.click('#start');
      await untilState(page, 'failed', 20_000);
      assert.match(await page.textContent('#failed-message'), message);
      assert.equal(await page.isVisible('#reload'), true, 'a way forward: try again');
    } else if (at === 'recording') {
      await startInterview(page);
      await untilState(page, 'failed', 20_000);
      assert.match(await page.textContent('#failed-message'), message);
      // Nothing recorded so far is lost: whatever was stored (the microphone's first second,
      // if the encoder emitted it) is uploaded completely.
      await until(page, () => window.interviewPage.recorder.progress().pendingBytes === 0, null, 20_000);
      for (const rec of await recordings(page)) assert.notEqual(rec.state, 'recording', `part ${rec.part} was flushed`);
    } else {
      await startInterview(page);
      await until(page, (re) => new RegExp(re, 's').test(document.getElementById('warning').textContent), message.source, 20_000);
      assert.equal(await page.evaluate(() => window.interviewPage.state), 'recording', 'recording goes on');
      assert.ok((await progress(page)).pendingBytes > 0, 'the chunks wait on this computer');
    }
    assert.doesNotMatch(await page.evaluate(() => document.body.innerText), /Your interview was saved/);
    // The host sees which step stalled.
    const deadline = Date.now() + 15_000;
    while (!stalledSteps(server.dataDir).includes(step) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(stalledSteps(server.dataDir), [step]);
    server.remove();
  } catch (err) {
    // Where the page and its recorder stood (issue 13: Firefox's start sometimes never reaches
    // 'recording' after earlier cases in the same browser, with nothing in the console).
    const where = await page.evaluate(() => {
      const recorder = window.interviewPage?.recorder;
      return { page: window.interviewPage?.state, recorder: recorder?.state, live: recorder?.live?.length ?? null,
        progress: recorder?.progress() };
    }).catch((e) => `unreadable: ${e.message}`);
    console.log(`--- ${browser.engine} console ---\n${browser.logs.slice(-30).join('\n')}\n--- server data ${server.dataDir}\n` +
      `--- state ${JSON.stringify(where)}`);
    throw err;
  } finally {
    await page.close().catch(() => {});
    await server.stop();
  }
}

for (const engine of ['chromium', 'firefox']) {
  describe(`${engine}: stalled steps`, () => {
    let browser;
    before(async () => { browser = await launchEngine(engine); });
    after(async () => { await browser?.close(); });
    for (const c of CASES) {
      test(`${engine}: ${c.name}: past the ${c.step} deadline the page says so and the host gets step_stalled`, T,
        () => stallCase(browser, c));
    }
    test(`${engine}: encoder workers that hang creating their threads twice: started again, the interview records, ` +
      'the host gets encoder_restarted', T, async () => {
      const server = await startServer();
      const session = await createSession(server);
      const page = await browser.newPage();
      try {
        await page.addInitScript(() => { window.interviewTestHooks = { hangThreads: 2, deadlines: { threadsMs: 1000 } }; });
        await page.goto(interviewUrl(server, session));
        await untilState(page, 'welcome');
        try {
          await startInterview(page);
        } catch (err) {
          const where = await page.evaluate(() => JSON.stringify(window.interviewPage.recorder?.live?.map((r) => r.encoder?.restarts)))
            .catch((e) => e.message);
          console.log(`--- ${browser.engine}: restarts ${where}\n${browser.logs.slice(-10).join('\n')}`);
          throw err;
        }
        await new Promise((r) => setTimeout(r, 3000));
        await page.click('#end');
        await untilState(page, 'done', 30_000);
        const [file] = await finalizedFiles(server.dataDir, 1);
        assert.ok(file.duration > 2.5, `${file.duration} s recorded of about 3`);
        assertSeekable(file.file, file.duration);
        const events = sessionEvents(server.dataDir);
        // Two restarts for the two hung workers, or three when Firefox's own hang hit the third
        // worker too (it did in a fresh-clone run: this case follows a page closed while recording).
        const restarted = events.filter((e) => e.label === 'encoder_restarted').map((e) => JSON.parse(e.data));
        assert.equal(restarted.length, 1, JSON.stringify(restarted));
        assert.equal(restarted[0].kind, 'camera');
        assert.equal(restarted[0].reason, 'threads');
        assert.ok(restarted[0].restarts >= 2, `${restarted[0].restarts} restarts`);
        assert.deepEqual(stalledSteps(server.dataDir), []);
        server.remove();
      } finally {
        await page.close().catch(() => {});
        await server.stop();
      }
    });
  });
}

// The hang of issue 13: Firefox's audio engine runs on the sound output's clock, and on a computer
// without a working sound output its AudioContext never starts (resume() stays pending). The
// device check must say so instead of the interview never starting.
test('firefox without a sound output: the device check says the sound processing did not start', T, async () => {
  const browser = await launchEngine('firefox', { soundOutput: false });
  try {
    await stallCase(browser, { step: 'audio', hold: () => {}, deadlines: { audioMs: 3000 }, at: 'check',
      message: /could not start its sound processing.*speaker or headphones/s });
  } finally {
    await browser.close();
  }
});
