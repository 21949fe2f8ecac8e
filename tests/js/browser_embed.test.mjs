// Cross-origin embedding: a host platform's page, served from another origin than the recorder
// server, imports the recorder ES module from the recorder server by its absolute URL (as a site
// embeds a vendor's SDK) and records to that server. What must work across origins: the module
// import and the audio worklet (CORS), the encoder Web Worker (a blob: bootstrap, since a Worker
// cannot start from another origin's URL) and, on a cross-origin isolated page, the WASM core's
// pthread workers (importScripts, which needs Cross-Origin-Resource-Policy: cross-origin), tus and
// the events endpoint (CORS with preflights; the server allows only the host's origin).
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';

import {
  assertArrived, captureStoredChunks, finalizedFiles, freePort, indexDump, sleep, withSetup,
} from './lib/browser.mjs';

const T = { timeout: 120_000 };

// The host platform's page: its own markup and code, the recorder imported from the server.
function hostPage(serverUrl, session) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Acme Careers: video interview</title></head>
<body>
  <h1>Acme Careers</h1>
  <button id="start" type="button">Start</button>
  <button id="end" type="button">Finish</button>
  <p id="message" role="status"></p>
  <script type="module">
    import { createRecorder } from '${serverUrl}/recorder/index.js';
    const recorder = createRecorder({ server: '${serverUrl}', sessionId: '${session.session_id}',
      uploadToken: '${session.upload_token}' });
    const host = window.host = { recorder, errors: [], states: [], stats: null, done: false, failure: null };
    recorder.addEventListener('state', (e) => host.states.push(e.detail.state));
    recorder.addEventListener('stats', (e) => { host.stats = e.detail.stats; });
    recorder.addEventListener('error', (e) => {
      const { code, fatal, detail, message } = e.detail.error;
      host.errors.push({ code, fatal, detail: detail || message });
      document.getElementById('message').textContent = e.detail.error.message;
    });
    document.getElementById('start').onclick = async () => {
      try {
        await recorder.start();
        await recorder.mark('question_1_start', { question: 1 });
      } catch (err) {
        host.failure = String(err.detail || err.message);
      }
    };
    document.getElementById('end').onclick = async () => {
      try {
        await recorder.mark('question_1_end', { question: 1 });
        await recorder.stop();
        host.done = true;
      } catch (err) {
        host.failure = String(err.detail || err.message);
      }
    };
  </script>
</body>
</html>`;
}

// The host platform's web server on `port`: one page, optionally cross-origin isolated.
async function startHost(port, page, { isolated }) {
  const server = http.createServer((req, res) => {
    if (req.url !== '/interview') {
      res.writeHead(404).end();
      return;
    }
    const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };
    if (isolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    res.writeHead(200, headers).end(page);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  // close() alone would wait for the browser's idle keep-alive connections to time out.
  const close = () => new Promise((resolve) => {
    server.close(resolve);
    server.closeAllConnections();
  });
  return { url: `http://127.0.0.1:${port}`, close };
}

async function recordFromOtherOrigin({ isolated }) {
  // The host page's origin is known before the server starts: the server allows only it.
  const hostPort = await freePort();
  const hostOrigin = `http://127.0.0.1:${hostPort}`;
  await withSetup({ server: { args: ['--allowed-origins', hostOrigin] } }, async ({ server, session, browser, page }) => {
    const fetched = [];
    browser.context.on('request', (r) => fetched.push(r.url()));
    const host = await startHost(hostPort, hostPage(server.url, session), { isolated });
    try {
      await recordOnHost({ server, session, page, host, isolated, fetched });
    } finally {
      await host.close();
    }
  });
}

// Records from the host page (served by `host`) and checks what arrived.
async function recordOnHost({ server, session, page, host, isolated, fetched }) {
  const stored = await captureStoredChunks(page);
  assert.notEqual(new URL(host.url).origin, new URL(server.url).origin);
  await page.goto(`${host.url}/interview`);
  await page.waitForFunction(() => window.host, null, { timeout: 15_000 });
  assert.equal(await page.evaluate(() => window.crossOriginIsolated), isolated);
  await page.click('#start');
  await page.waitForFunction(() => window.host.states.includes('recording') || window.host.failure,
    null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => window.host.failure), null);
  await sleep(5000);
  await page.click('#end');
  await page.waitForFunction(() => window.host.done || window.host.failure, null, { timeout: 45_000, polling: 250 });
  const result = await page.evaluate(() => ({ failure: window.host.failure, errors: window.host.errors,
    stats: window.host.stats, progress: window.host.recorder.progress() }));
  const [rec] = await page.evaluate(() => window.host.recorder.recordings());
  assert.equal(result.failure, null);
  // Warnings may come (a busy machine makes the single-threaded core skip frames); failures may not.
  assert.deepEqual(result.errors.filter((e) => e.fatal || e.code !== 'encoder_behind'), []);
  // The worker encodes (how many frames depends on the machine's load: the plain core is slow).
  assert.ok(result.stats?.videoFramesEncoded > 10, `frames encoded: ${result.stats?.videoFramesEncoded}`);
  assert.equal(result.progress.pendingEvents, 0, 'markers acknowledged through CORS');

  // The core variant the worker chose: threads + SIMD only where the host page is isolated.
  const variant = isolated ? 'simd' : 'plain';
  assert.ok(fetched.some((u) => u === `${server.url}/gen/recorder-core-${variant}.wasm`),
    `the ${variant} core was loaded from the server: ${fetched.filter((u) => u.includes('/gen/')).join(', ')}`);

  const [file] = await finalizedFiles(server.dataDir, 1);
  assert.deepEqual(file.probe.streams.map((s) => s.codec_name).sort(), ['opus', 'vp9']);
  assert.ok(file.duration > 3.5, `recorded ${file.duration} s`);
  await assertArrived(stored, rec, file.file, session.upload_token);  // in the host origin's IndexedDB
  const dump = indexDump(server.dataDir);
  for (const label of ['question_1_start', 'question_1_end']) assert.ok(dump.includes(label), `${label} in the index`);

  // Another origin than the allowed one gets no CORS grant.
  const denied = await fetch(`${server.url}/files/`, { method: 'OPTIONS',
    headers: { Origin: 'http://127.0.0.1:1', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(denied.headers.get('access-control-allow-origin'), null);
}

test('a host page of another origin imports the recorder from the server and records to it', T,
  () => recordFromOtherOrigin({ isolated: false }));

test('the same from a cross-origin isolated host page: threads + SIMD core with its pthread workers', T,
  () => recordFromOtherOrigin({ isolated: true }));
