#!/usr/bin/env node
// Browser recording benchmark, per browser engine (tests/js/lib/engines.mjs: Chromium, Firefox ESR,
// WebKitGTK): our recorder (WASM VP9/Opus in a Web Worker, chunks kept in IndexedDB and streamed
// over tus) against that browser's own MediaRecorder at the same bitrates, in one run, in the same
// setup: the same page (the server's /index.html, cross-origin isolated like the interview page),
// the same camera and microphone, both uploading to the same recorder-server. Cameras: Chromium's
// fake camera plays a 640x480 30 fps y4m made from tests/media/FourPeople_1280x720_60.mp4 (and
// tests/media/speech_orig_16k.wav at 48 kHz); Firefox's and WebKit's are synthetic 640x480 30 fps.
//
//   ours       createRecorder() camera 640x480@30 + microphone, default bitrates (250 + 64 kbps),
//              on the paths the browser picks (reported in the table)
//   reference  MediaRecorder with the first type the browser records of VP9/Opus WebM, VP8/Opus
//              WebM, WebM, MP4, at the same bitrates, timeslice 1000 ms; every chunk is PATCHed to
//              a tus upload on the same server as it arrives (the recorder module's own tus
//              client, no local storage). Output figures need WebM (the server finalizes WebM).
//
// Measured per run, over a fixed window of --seconds (default 20) that starts --warmup seconds
// (default 3) after recording started:
//   browser CPU   utime+stime of every process of the browser (its process tree, from
//                 /proc/<pid>/stat: Chromium's or Firefox's, or WebKitWebDriver's with MiniBrowser
//                 and its web, network and GPU processes; Xvfb apart) over the window, as % of one
//                 core; the server's CPU apart
//   dropped       ours: frames dropped by the encoder core + skipped before it (stats events),
//                 in the window
//   first ack     ms from the start call to the server's acknowledgement of the first PATCH
//                 carrying media (a WebM Cluster). Start is called --ready-seconds (default 3) after
//                 the devices were opened, as after the interview page's device check (our
//                 recorder starts its encoder then, so start() does not wait for the WASM core)
//   output        frames per second and kbps of the file the server finalized
//   RSS           resident memory of the browser's processes, summed as PSS (each process's share
//                 of its resident pages, /proc/<pid>/smaps_rollup: the many processes' shared pages
//                 count once, which a plain RSS sum would not), sampled every 500 ms from the start
//                 call to the stop: the peak, and at the window's end
// Runs alternate (ours, reference, reference, ours, ...) --repeat times each (default 2) per browser;
// the table shows every run and the medians per browser, then the ratios ours/reference; the last
// line is JSON.
//
//   node bench/browser/record.mjs [--browsers chromium,firefox,webkit] [--seconds 20] [--warmup 3]
//                                 [--ready-seconds 3] [--repeat 2]
// Needs build/native (recorder-server) and web/gen (toolchains/build.sh native wasm-simd wasm-plain).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';

import {
  createSession, finalizedFiles, sleep, startServer,
} from '../../tests/js/lib/browser.mjs';
import { ENGINES, launchEngine } from '../../tests/js/lib/engines.mjs';
import { makeWav, makeY4m } from '../../tests/js/lib/media.mjs';
import { allProcesses, browserRoot, cpuSeconds, treePss, treeTicks } from '../../tests/js/lib/procs.mjs';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    'ready-seconds': { type: 'string', default: '3' },
    repeat: { type: 'string', default: '2' },
    browsers: { type: 'string', default: ENGINES.join(',') },
  },
});
const BROWSERS = opt.browsers.split(',');
const WINDOW_S = Number(opt.seconds);
const WARMUP_S = Number(opt.warmup);
const REPEAT = Math.max(1, Number(opt.repeat));
const READY_S = Number(opt['ready-seconds']);
const VIDEO_KBPS = 250;  // the recorder's defaults (web/recorder/index.js)
const AUDIO_KBPS = 64;

const media = {
  video: makeY4m('FourPeople_1280x720_60.mp4', 'fps=30,scale=640:480', 'fourpeople_640x480_30.y4m'),
  audio: makeWav('speech_orig_16k.wav', 'speech_48k_mono.wav'),
};

function serverPid(server) {
  // startServer's child: the one recorder-server child of this process serving server.dataDir.
  for (const [pid, s] of allProcesses()) {
    if (s.ppid !== process.pid) continue;
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes('recorder-server') && cmd.includes(server.dataDir)) return pid;
  }
  throw new Error('recorder-server process not found');
}

// ---- in the page ----

// Timestamps every PATCH the page sends to /files/ and whether its body held a WebM Cluster.
function instrumentPage() {
  const CLUSTER = [0x1f, 0x43, 0xb6, 0x75];
  const hasCluster = (buffer) => {
    const b = new Uint8Array(buffer);
    for (let i = 0; i + 3 < b.length; i++) {
      if (b[i] === CLUSTER[0] && b[i + 1] === CLUSTER[1] && b[i + 2] === CLUSTER[2] && b[i + 3] === CLUSTER[3]) return true;
    }
    return false;
  };
  if (window.bench) return;  // WebKit runs init scripts after each load: once is enough
  window.bench = { patches: [], startAt: null, stats: [] };
  const original = window.fetch;
  window.fetch = async (url, init = {}) => {
    const res = await original(url, init);
    if (init.method === 'PATCH' && String(url).includes('/files/')) {
      const body = init.body ?? new ArrayBuffer(0);
      // A WebM chunk with media holds a Cluster; another container's second chunk on has media.
      const webm = !window.bench.mimeType || window.bench.mimeType.includes('webm');
      window.bench.patches.push({ at: performance.now(), status: res.status, bytes: body.byteLength,
        media: res.ok && (webm ? hasCluster(body.buffer ?? body) : window.bench.patches.length > 0) });
    }
    return res;
  };
}

async function prepareOurs(page, server, session) {
  await page.evaluate(async ({ server, session }) => {
    const { createRecorder } = await import('/recorder/index.js');
    const recorder = createRecorder({ server, sessionId: session.session_id, uploadToken: session.upload_token });
    recorder.addEventListener('stats', (e) => window.bench.stats.push({ at: performance.now(), ...e.detail.stats }));
    recorder.addEventListener('error', (e) => console.warn(`recorder ${e.detail.error.code}: ${e.detail.error.detail || e.detail.error.message}`));
    await recorder.prepare();
    window.bench.recorder = recorder;
    window.bench.paths = recorder.paths;
  }, { server, session });
}

async function startOurs(page) {
  await page.evaluate(async () => {
    window.bench.startAt = performance.now();
    await window.bench.recorder.start();
  });
}

async function stopOurs(page) {
  await page.evaluate(() => window.bench.recorder.stop());
}

async function prepareReference(page, server, session) {
  await page.evaluate(async ({ server, session, videoKbps, audioKbps }) => {
    const { TusClient } = await import('/recorder/tus-client.js');
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    const mimeType = ['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm', 'video/mp4']
      .find((t) => typeof MediaRecorder === 'function' && MediaRecorder.isTypeSupported(t));
    if (!mimeType) throw new Error('MediaRecorder records none of the types tried');
    window.bench.mimeType = mimeType;
    const tus = new TusClient({ endpoint: new URL('/files/', server).href, token: session.upload_token });
    const ref = { stream, tus, url: null, offset: 0, queue: Promise.resolve(), ended: null };
    ref.recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: videoKbps * 1000,
      audioBitsPerSecond: audioKbps * 1000 });
    // Chunks go out in order, one PATCH each, as they arrive; the last one declares the length.
    const send = (blob, last) => {
      ref.queue = ref.queue.then(async () => {
        const body = await blob.arrayBuffer();
        if (!ref.url) {
          ref.url = await tus.create({ kind: 'camera', filename: 'mediarecorder.webm', part: 1, start_ms: 0 });
        }
        ref.offset = await tus.patch(ref.url, ref.offset, body, last ? { finalLength: ref.offset + body.byteLength } : {});
      });
    };
    ref.recorder.ondataavailable = (e) => {
      if (e.data.size > 0 || ref.recorder.state === 'inactive') send(e.data, ref.recorder.state === 'inactive');
    };
    ref.ended = new Promise((resolve) => { ref.recorder.onstop = resolve; });
    window.bench.reference = ref;
  }, { server, session, videoKbps: VIDEO_KBPS, audioKbps: AUDIO_KBPS });
}

async function startReference(page) {
  await page.evaluate(() => {
    window.bench.startAt = performance.now();
    window.bench.reference.recorder.start(1000);
  });
}

async function stopReference(page) {
  await page.evaluate(async () => {
    const ref = window.bench.reference;
    ref.recorder.stop();
    await ref.ended;
    await ref.queue;
    ref.stream.getTracks().forEach((t) => t.stop());
  });
}

// ---- one run ----

async function run(engine, kind) {
  const server = await startServer();
  const session = await createSession(server);
  const excluded = new Set([serverPid(server)]);
  const browser = await launchEngine(engine, { devices: false, args: ['--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${media.video}`, `--use-file-for-fake-audio-capture=${media.audio}`] });
  try {
    const page = await browser.newPage();
    const base = await browser.urlFor(server);
    const browserPid = browserRoot(engine, excluded);
    await page.addInitScript(instrumentPage);
    await page.goto(`${base}/index.html`);
    const ours = kind === 'ours';
    await (ours ? prepareOurs : prepareReference)(page, base, session);
    await sleep(READY_S * 1000);  // the candidate on the device check, before pressing start
    const rss = { peak: 0, end: 0 };
    const rssTimer = setInterval(() => { rss.peak = Math.max(rss.peak, treePss(browserPid)); }, 500).unref();
    await (ours ? startOurs : startReference)(page);
    await sleep(WARMUP_S * 1000);
    const statsBefore = await page.evaluate(() => window.bench.stats.at(-1) ?? null);
    const cpu0 = { browser: treeTicks(browserPid), server: treeTicks(excluded.values().next().value) };
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const cpu1 = { browser: treeTicks(browserPid), server: treeTicks(excluded.values().next().value) };
    const elapsed = (performance.now() - t0) / 1000;
    const statsAfter = await page.evaluate(() => window.bench.stats.at(-1) ?? null);
    rss.end = treePss(browserPid);
    await (ours ? stopOurs : stopReference)(page);
    clearInterval(rssTimer);
    rss.peak = Math.max(rss.peak, rss.end, treePss(browserPid));
    const { patches, startAt, paths, mimeType } = await page.evaluate(() => ({ patches: window.bench.patches,
      startAt: window.bench.startAt, paths: window.bench.paths ?? null, mimeType: window.bench.mimeType ?? null }));
    const firstMedia = patches.find((p) => p.media);
    const dropped = (s) => (s ? s.videoFramesDropped + s.videoFramesSkipped : 0);
    const result = {
      engine, kind,
      variant: ours ? `${paths.core} core, ${paths.video}` : mimeType.replace('video/', ''),
      browserCpuPct: (100 * cpuSeconds(cpu0.browser, cpu1.browser)) / elapsed,
      serverCpuPct: (100 * cpuSeconds(cpu0.server, cpu1.server)) / elapsed,
      droppedFrames: ours ? dropped(statsAfter) - dropped(statsBefore) : null,
      framesIn: ours && statsAfter ? statsAfter.videoFramesIn - (statsBefore?.videoFramesIn ?? 0) : null,
      firstAckMs: firstMedia ? firstMedia.at - startAt : null,
      outputSeconds: null, outputFps: null, outputKbps: null, size: null, codecs: null,
      peakRssMb: rss.peak / 1e6,
      endRssMb: rss.end / 1e6,
    };
    if (ours || mimeType.includes('webm')) {
      const [file] = await finalizedFiles(server.dataDir, 1, 60_000);
      const video = file.probe.streams.find((s) => s.codec_type === 'video');
      const frames = Number(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets',
        '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file.file], { encoding: 'utf8' }).trim());
      Object.assign(result, { outputSeconds: file.duration, outputFps: frames / file.duration,
        outputKbps: (fs.statSync(file.file).size * 8) / file.duration / 1000, size: `${video.width}x${video.height}`,
        codecs: file.probe.streams.map((s) => s.codec_name).sort().join('+') });
    }
    server.remove();
    return result;
  } catch (err) {
    console.error(`--- ${engine} ${kind}: page console ---\n${browser.logs.slice(-30).join('\n')}\n--- server log ${server.logFile}`);
    throw err;
  } finally {
    await browser.close();
    await server.stop();
  }
}

// ---- main ----

const order = [];
for (let i = 0; i < REPEAT; i++) order.push(...(i % 2 === 0 ? ['ours', 'reference'] : ['reference', 'ours']));
const rows = [];
for (const engine of BROWSERS) {
  for (const kind of order) {
    let r;
    try {
      r = await run(engine, kind);
    } catch (err) {
      r = { engine, kind, failed: String(err.message).split('\n')[0] };
    }
    rows.push(r);
    process.stderr.write(`${engine} ${kind}: ${r.failed ?? `browser CPU ${r.browserCpuPct.toFixed(1)} %, first ack ${r.firstAckMs?.toFixed(0)} ms`}\n`);
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const KEYS = ['browserCpuPct', 'serverCpuPct', 'droppedFrames', 'framesIn', 'firstAckMs', 'outputFps', 'outputKbps', 'outputSeconds',
  'peakRssMb', 'endRssMb'];
const summary = {};
for (const engine of BROWSERS) {
  summary[engine] = {};
  for (const kind of ['ours', 'reference']) {
    const mine = rows.filter((r) => r.engine === engine && r.kind === kind && !r.failed);
    if (!mine.length) continue;
    const s = { engine, kind, variant: mine[0].variant, runs: mine.length };
    for (const key of KEYS) s[key] = median(mine.map((r) => r[key]));
    summary[engine][kind] = s;
  }
}

console.log(`camera 640x480@30 + microphone, ${VIDEO_KBPS}+${AUDIO_KBPS} kbps, ${WINDOW_S} s window after ${WARMUP_S} s, ` +
  `${os.availableParallelism()} cores, headless browsers without GPU (WebKit under Xvfb)`);
console.log('| run | browser | recorder | browser CPU % of a core | server CPU % | frames dropped (ours) | first ack ms | output fps | ' +
  'output kbps | output s | browser RSS MB peak / end |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const line = (name, r) => {
  if (r.failed) return console.log(`| ${name} | ${r.engine} | ${r.kind === 'ours' ? 'ours' : 'MediaRecorder'} | failed: ${r.failed} ||||||||`);
  return console.log(`| ${name} | ${r.engine} | ${r.kind === 'ours' ? 'ours' : 'MediaRecorder'} (${r.variant}) | ${f(r.browserCpuPct)} | ` +
    `${f(r.serverCpuPct)} | ${r.droppedFrames ?? '–'}${r.framesIn ? ` of ${r.framesIn}` : ''} | ${f(r.firstAckMs, 0)} | ${f(r.outputFps)} | ` +
    `${f(r.outputKbps, 0)} | ${f(r.outputSeconds)} | ${f(r.peakRssMb, 0)} / ${f(r.endRssMb, 0)} |`);
};
rows.forEach((r, i) => line(i + 1, r));
const ratios = {};
for (const engine of BROWSERS) {
  const { ours, reference } = summary[engine];
  for (const s of [ours, reference]) if (s) line('median', s);
  if (!ours || !reference) continue;
  const ratio = (key) => (reference[key] ? ours[key] / reference[key] : null);
  ratios[engine] = { browserCpu: ratio('browserCpuPct'), firstAck: ratio('firstAckMs'), outputFps: ratio('outputFps'),
    outputKbps: ratio('outputKbps') };
}
for (const [engine, r] of Object.entries(ratios)) {
  console.log(`${engine}: ours/MediaRecorder: browser CPU ${f(r.browserCpu, 2)}, first ack ${f(r.firstAck, 2)}, ` +
    `output fps ${f(r.outputFps, 2)}, output kbps ${f(r.outputKbps, 2)}`);
}
console.log(JSON.stringify({ windowSeconds: WINDOW_S, warmupSeconds: WARMUP_S, videoKbps: VIDEO_KBPS, audioKbps: AUDIO_KBPS,
  runs: rows, summary, ratios }));
