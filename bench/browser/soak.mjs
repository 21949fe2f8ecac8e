#!/usr/bin/env node
// Memory over a long interview (issue 17, part 4): headless Chromium records the interview page
// (fake camera: the tests' akiyo CIF clip at 30 fps; fake microphone: their speech clip) for --minutes, and
// every --every seconds, after a garbage collection of the page and the encoder worker, prints:
//   PSS of every Chromium process, in total and per kind (browser, renderer, gpu-process, network,
//   storage, audio, ...: tests/js/lib/procs.mjs pssByKind)
//   the page's JS heap and its ArrayBuffers, the encoder worker's JS heap and ArrayBuffers, the
//   WASM memory, the chunks waiting in IndexedDB, the origin's storage usage (as the page's
//   navigator.storage.estimate() reports it, and the profile's IndexedDB files), DOM nodes
// then the growth per minute of each (least squares over the samples after --warmup seconds), the
// recorded duration the server finalized, and a JSON line. Chromium is driven over its DevTools
// pipe with no domain but Performance enabled (see PipeChromium): what a candidate's browser spends.
//
//   node bench/browser/soak.mjs [--minutes 60] [--every 60] [--warmup 180]
// Needs build/native (recorder-server) and web/gen (toolchains/build.sh native wasm-simd).
// The test command runs a short form (tests/js/browser_durability.test.mjs: 100 s, every 10 s),
// which asserts that the heaps, the WASM memory and the stored chunks stay flat.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import {
  chromiumFlags, countStoredChunks, createSession, finalizedFiles, interviewUrl, sleep, startServer,
} from '../../tests/js/lib/browser.mjs';
import { tempDir } from '../../tests/js/lib/media.mjs';
import { pssByKind } from '../../tests/js/lib/procs.mjs';

// Chromium driven over its own DevTools pipe (--remote-debugging-pipe), not Playwright: with
// Playwright attached the renderer grows by about 2.8 MB a minute after the first two minutes,
// which a candidate's browser does not spend (flat over the bare pipe; see the README's
// Benchmarks). This client enables no domain but Performance.
class PipeChromium {
  constructor(profile) {
    this.profile = profile;
    this.child = spawn('/usr/bin/chromium', [
      ...chromiumFlags(), '--mute-audio', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    this.nextId = 0;
    this.waiting = new Map();
    /** @type {Map<string, string>} sessionId -> url of the page's workers */
    this.workers = new Map();
    let text = '';
    this.child.stdio[4].on('data', (data) => {
      text += data;
      let end;
      while ((end = text.indexOf('\0')) >= 0) {
        this.receive(JSON.parse(text.slice(0, end)));
        text = text.slice(end + 1);
      }
    });
  }

  receive(msg) {
    if (msg.method === 'Target.attachedToTarget' && msg.params.targetInfo.type === 'worker') {
      this.workers.set(msg.params.sessionId, msg.params.targetInfo.url);
    }
    const pending = this.waiting.get(msg.id);
    if (!pending) return;
    this.waiting.delete(msg.id);
    if (msg.error) pending.reject(new Error(`${pending.method}: ${msg.error.message}`));
    else pending.resolve(msg.result);
  }

  send(method, params = {}, sessionId = undefined) {
    const id = ++this.nextId;
    this.child.stdio[3].write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject, method }));
  }

  // Opens `url` in a new tab; resolves with its session id once it is attached.
  async open(url) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    await this.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, sessionId);
    await this.send('Page.navigate', { url }, sessionId);
    return sessionId;
  }

  // The value of `expression` (awaited) in a session's page or worker, as a user gesture would run it.
  async evaluate(sessionId, expression) {
    const { result, exceptionDetails } = await this.send('Runtime.evaluate',
      { expression, awaitPromise: true, returnByValue: true, userGesture: true }, sessionId);
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  }

  async until(sessionId, expression, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.evaluate(sessionId, expression).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${expression}`);
      await sleep(250);
    }
  }

  async close() {
    await this.send('Browser.close').catch(() => {});
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once('exit', resolve));
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

const pageState = (state) => `window.interviewPage?.state === '${state}'`;
const click = (id) => `document.getElementById('${id}').click(), true`;

// One sample, bytes: {t, pss: {total, <kind>...}, pageHeap, pageBuffers, workerHeap, workerBuffers,
// wasm, chunks, storage, nodes}.
async function sample(t, { chromium, page, worker }) {
  await chromium.send('HeapProfiler.collectGarbage', {}, page);
  await chromium.send('HeapProfiler.collectGarbage', {}, worker);
  const { metrics } = await chromium.send('Performance.getMetrics', {}, page);
  const metric = (name) => metrics.find((m) => m.name === name)?.value ?? 0;
  const pageHeap = await chromium.send('Runtime.getHeapUsage', {}, page);
  const workerHeap = await chromium.send('Runtime.getHeapUsage', {}, worker);
  const kinds = pssByKind(chromium.child.pid);
  return {
    t,
    pss: { total: Object.values(kinds).reduce((a, b) => a + b, 0), ...kinds },
    pageHeap: metric('JSHeapUsedSize'),
    // ArrayBuffers (chunks, samples) live outside the JS heap, in its backing storage.
    pageBuffers: pageHeap.backingStorageSize,
    workerHeap: workerHeap.usedSize,
    workerBuffers: workerHeap.backingStorageSize,
    wasm: await chromium.evaluate(worker, 'driver.module.HEAPU8.buffer.byteLength'),
    chunks: await chromium.evaluate(page, `(${countStoredChunks})()`),
    storage: await chromium.evaluate(page, 'navigator.storage.estimate().then((e) => e.usage ?? 0)'),
    idbFiles: folderBytes(path.join(chromium.profile, 'Default', 'IndexedDB')),
    nodes: metric('Nodes'),
  };
}

// Bytes of the files below `dir` (0 if it does not exist).
function folderBytes(dir) {
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return bytes;
}

const mb = (x) => (x / 1e6).toFixed(1);

function describeSample(s) {
  const kinds = Object.entries(s.pss).filter(([k]) => k !== 'total').sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${mb(v)}`).join(', ');
  return `${String(s.t).padStart(5)} s  PSS ${mb(s.pss.total)} MB (${kinds})  page ${mb(s.pageHeap)} + ${mb(s.pageBuffers)} MB, ` +
    `worker ${mb(s.workerHeap)} + ${mb(s.workerBuffers)} MB, WASM ${mb(s.wasm)} MB, ${s.chunks} chunks, ` +
    `storage ${mb(s.storage)} MB (IndexedDB files ${mb(s.idbFiles)} MB), ${s.nodes} nodes`;
}

// MB per minute: the least-squares slope of `value(sample)` over `samples`.
export function growthPerMinute(samples, value) {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((a, s) => a + s.t, 0) / n;
  const my = samples.reduce((a, s) => a + value(s), 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mx) * (value(s) - my);
    den += (s.t - mx) ** 2;
  }
  return (num / den) * 60 / 1e6;
}

// Records `seconds` and samples every `everySeconds`; `log(line)` gets each sample as it comes.
// Resolves with {samples, duration (s, of the finalized file), growth: {series: MB/min after
// `warmupSeconds`}}.
export async function soak({ seconds, everySeconds, warmupSeconds, log = console.log }) {
  const server = await startServer();
  const session = await createSession(server);
  const chromium = new PipeChromium(tempDir('recorder-soak-'));
  let page = null;
  try {
    page = await chromium.open(interviewUrl(server, session));
    await chromium.send('Performance.enable', {}, page);
    await chromium.until(page, pageState('welcome'), 30_000);
    await chromium.evaluate(page, click('check'));
    await chromium.until(page, pageState('ready'), 30_000);
    await chromium.evaluate(page, "document.getElementById('consent').checked || document.getElementById('consent').click(), true");
    await chromium.evaluate(page, click('start'));
    await chromium.until(page, pageState('recording'), 30_000);
    const worker = [...chromium.workers].find(([, url]) => url.endsWith('/gen/recorder-worker.js'))?.[0];
    if (!worker) throw new Error(`no encoder worker among ${[...chromium.workers.values()].join(', ')}`);
    const startedAt = Date.now();
    const samples = [];
    for (let t = everySeconds; t <= seconds; t += everySeconds) {
      await sleep(startedAt + t * 1000 - Date.now());
      samples.push(await sample(t, { chromium, page, worker }));
      log(describeSample(samples.at(-1)));
    }
    await chromium.evaluate(page, click('end'));
    await chromium.until(page, pageState('done'), 60_000);
    const [file] = await finalizedFiles(server.dataDir, 1, 60_000);
    const settled = samples.filter((s) => s.t >= warmupSeconds);
    const series = {
      pss: (s) => s.pss.total,
      // Every kind of process seen (Chromium starts some while it runs).
      ...Object.fromEntries([...new Set(samples.flatMap((s) => Object.keys(s.pss)))].filter((k) => k !== 'total')
        .map((k) => [`pss.${k}`, (s) => s.pss[k] ?? 0])),
      ...Object.fromEntries(['pageHeap', 'pageBuffers', 'workerHeap', 'workerBuffers', 'wasm', 'storage', 'idbFiles']
        .map((k) => [k, (s) => s[k]])),
    };
    const growth = Object.fromEntries(Object.entries(series).map(([k, f]) => [k, growthPerMinute(settled, f)]));
    server.remove();
    return { samples, duration: file.duration, growth };
  } catch (err) {
    const state = page ? await chromium.evaluate(page, 'window.interviewPage?.state').catch((e) => e.message) : 'no page';
    console.log(`--- page state ${state}; server data ${server.dataDir}`);
    throw err;
  } finally {
    await chromium.close();
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: opt } = parseArgs({
    options: { minutes: { type: 'string', default: '60' }, every: { type: 'string', default: '60' }, warmup: { type: 'string', default: '180' } },
  });
  const seconds = Math.round(Number(opt.minutes) * 60);
  console.log(`soak: ${opt.minutes} min of recording in headless Chromium, a sample every ${opt.every} s`);
  const result = await soak({ seconds, everySeconds: Number(opt.every), warmupSeconds: Number(opt.warmup) });
  console.log(`recorded: ${result.duration.toFixed(2)} s finalized for ${seconds} s`);
  console.log(`growth per minute after ${opt.warmup} s:`);
  for (const [k, v] of Object.entries(result.growth)) console.log(`  ${k.padEnd(18)} ${v >= 0 ? '+' : ''}${v.toFixed(3)} MB/min`);
  console.log(JSON.stringify({ seconds, duration: result.duration, growthMbPerMinute: result.growth, last: result.samples.at(-1) }));
}
