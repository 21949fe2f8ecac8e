#!/usr/bin/env node
// Ingest benchmark: the same tus load against recorder-server and against the reference
// @tus/server, in one run (the machine is shared and noisy, so only same-run figures compare).
//
// Scenarios (sizes adjustable for a quick look):
//   streaming   --recordings 1000 recordings, each with its own connection, append a --chunk-kb 40
//               chunk once a second for --seconds 30, starts spread over the first second.
//               Goal: 0 failures, p99 acknowledgement latency <= 50 ms (ours, with fdatasync).
//   throughput  --uploads 64 uploads append 256 KB chunks back to back for --burst-seconds 20.
//               Goal: ours >= 3x the reference in MB/s.
//   live        ours only: --recordings recordings stream a real live WebM (ffmpeg, a Cluster a
//               second) for --seconds, first with nobody watching, then with --viewers 10 HR live
//               views of recording 0 (GET /api/v1/hr/recordings/{id}/live), on one server.
//               Goal: the same p99 acknowledgement latency in both phases.
//   transcribing ours only: the streaming load on one server, first idle, then while it transcribes
//               an interview of --transcribe-minutes 30 of real speech (the LibriVox clips of
//               tests/media with pauses, in a WebM uploaded just before) with the built-in engine.
//               Goals: the same p99 <= 50 ms while it transcribes, and the interview transcribed
//               (ready -> transcript stored) in under a third of its length.
// Prints a table with latencies, server CPU and peak RSS, and the ratios ours/reference.
//
//   node bench/ingest/load.mjs [--recordings 1000] [--seconds 30] [--chunk-kb 40]
//        [--uploads 64] [--burst-seconds 20] [--viewers 10] [--transcribe-minutes 30]
//        [--only streaming|throughput|live|transcribing]
//        [--server-arg=--keep-alive-seconds=1 ...]   (extra flags for recorder-server)
//        [--postgres]   (also recorder-server with its index on a throw-away PostgreSQL 15 cluster,
//                        durable like the SQLite one: the cost of the shared index per chunk)
//        [--cluster]    (also 1, 2 and 3 recorder-servers behind nginx sharing PostgreSQL and an S3
//                        server, toolchains/cluster.sh: every chunk an object plus an index row;
//                        CPU is the nodes' sum, without nginx, PostgreSQL and S3)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: opt } = parseArgs({
  options: {
    recordings: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    'chunk-kb': { type: 'string', default: '40' },
    uploads: { type: 'string', default: '64' },
    'burst-seconds': { type: 'string', default: '20' },
    viewers: { type: 'string', default: '10' },
    'transcribe-minutes': { type: 'string', default: '30' },
    only: { type: 'string' },
    server: { type: 'string', default: path.join(repoDir, 'build/native/server/recorder-server') },
    'server-arg': { type: 'string', multiple: true, default: [] },
    postgres: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
  },
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function request(url, { method, headers = {}, body, agent }) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request(url, { method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, ms: performance.now() - started }));
    });
    req.on('error', (error) => resolve({ status: 0, error, ms: performance.now() - started }));
    req.end(body);
  });
}

// CPU seconds (user + system) and peak RSS (MiB) of a process, from /proc.
function processUsage(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds: ticks / 100, peakRssMb: hwm ? Number(hwm[1]) / 1024 : NaN };
}

async function waitForHttp(url, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const r = await request(url, { method: 'OPTIONS', headers: { 'Tus-Resumable': '1.0.0' } });
    if (r.status > 0) return;
    await sleep(50);
  }
  throw new Error(`${url} did not answer`);
}

// A target is a running server: how to start it, where its tus endpoint is, how to get
// credentials for one recording.
async function startOurs(extraArgs = [], name = 'recorder-server (fdatasync)') {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-ours-'));
  const apiKey = 'bench-api-key-0123456789';
  // Every simulated recorder connects from 127.0.0.1: no per-address connection limit.
  const child = spawn(opt.server, ['--listen', `127.0.0.1:${port}`, '--data', dir, '--api-key', apiKey,
    '--log-level', 'warn', '--max-connections-per-address', '0', ...extraArgs, ...opt['server-arg']],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/files/`, child);
  return { ...(await targetAt(base, apiKey)), name, child, pids: [child.pid], dir, apiKey };
}

// A recorder-server (or a load balancer in front of several) at `base`: its tus endpoint, and
// upload credentials for one recording through the host API.
async function targetAt(base, apiKey) {
  return {
    tusUrl: `${base}/files/`,
    async credentials(i) {
      const r = await new Promise((resolve, reject) => {
        const req = http.request(`${base}/api/v1/sessions`, { method: 'POST', headers: {
          Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (d) => { text += d; });
          res.on('end', () => (res.statusCode === 201 ? resolve(JSON.parse(text))
            : reject(new Error(`session: HTTP ${res.statusCode} ${text}`))));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ candidate_name: `Bench Candidate ${i}` }));
      });
      return { Authorization: `Bearer ${r.upload_token}`, sessionId: r.session_id };
    },
  };
}

async function startReference() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-ref-'));
  const child = spawn(process.execPath, [path.join(repoDir, 'bench/ingest/reference-server.mjs'),
    '--port', String(port), '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/files`, child);
  return { name: '@tus/server FileStore (no fsync)', child, pids: [child.pid], dir, tusUrl: `${base}/files`,
    credentials: async () => ({}) };
}

// The same server with its index in PostgreSQL (fsync on, as a real deployment runs it).
async function startOursOnPostgres() {
  const script = path.join(repoDir, 'tests/services/postgres.sh');
  const cluster = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-pg-'));
  execFileSync(script, ['start', cluster, 'durable'], { stdio: 'inherit' });
  const url = fs.readFileSync(path.join(cluster, 'env'), 'utf8').match(/^RECORDER_TEST_POSTGRES=(.*)$/m)[1];
  const target = await startOurs(['--index', url], 'recorder-server, PostgreSQL index (fdatasync)');
  target.cleanup = () => execFileSync(script, ['stop', cluster], { stdio: 'inherit' });
  return target;
}

// `nodes` recorder-servers behind nginx on PostgreSQL + S3 (toolchains/cluster.sh).
function startCluster(nodes) {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-cluster-'));
    const script = path.join(repoDir, 'toolchains/cluster.sh');
    execFileSync(script, ['start', dir, String(nodes), '--', '--log-level', 'warn', ...opt['server-arg']], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, RECORDER_SERVER_BIN: opt.server, RECORDER_CLUSTER_PORT: '0' },
    });
    const env = Object.fromEntries(fs.readFileSync(path.join(dir, 'env'), 'utf8').trim().split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    const pids = Array.from({ length: nodes }, (_, n) => Number(env[`NODE_${n + 1}_PID`]));
    const target = await targetAt(env.URL, env.RECORDER_API_KEY);
    return { ...target, name: `${nodes} node${nodes > 1 ? 's' : ''} behind nginx, PostgreSQL + S3 (shared spool)`,
      pids, dir, stop: () => execFileSync(script, ['stop', dir], { stdio: 'inherit' }) };
  };
}

async function stopTarget(target) {
  if (target.child) {
    target.child.kill('SIGTERM');
    await new Promise((r) => (target.child.exitCode !== null ? r() : target.child.once('exit', r)));
  }
  target.stop?.();
  fs.rmSync(target.dir, { recursive: true, force: true });
  target.cleanup?.();
}

const metadata = `kind ${Buffer.from('camera').toString('base64')},filename ${Buffer.from('bench.webm').toString('base64')}`;

async function createUpload(target, auth, agent) {
  const r = await request(target.tusUrl, { method: 'POST', agent, headers: { ...auth,
    'Tus-Resumable': '1.0.0', 'Upload-Defer-Length': '1', 'Upload-Metadata': metadata } });
  if (r.status !== 201) throw new Error(`create: HTTP ${r.status} ${r.error ?? ''}`);
  return new URL(r.headers.location, target.tusUrl).href;
}

function patch(url, offset, body, auth, agent) {
  return request(url, { method: 'PATCH', agent, body, headers: { ...auth, 'Tus-Resumable': '1.0.0',
    'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset),
    'Content-Length': String(body.length) } });
}

// Creates `count` uploads, `parallel` at a time, each with its own keep-alive connection.
async function createUploads(target, count, parallel = 32) {
  const uploads = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const { sessionId, ...headers } = await target.credentials(i);
      uploads[i] = { url: await createUpload(target, headers, agent), auth: headers, agent, offset: 0, sessionId };
    }
  }));
  return uploads;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// Runs `send(upload, tally)` for every upload at once while measuring the server process, and
// sums up acknowledged chunks, latencies, failures, CPU and memory.
async function measure(target, uploads, chunkBytes, send) {
  const usage = () => target.pids.map(processUsage).reduce((a, b) => ({ cpuSeconds: a.cpuSeconds + b.cpuSeconds,
    peakRssMb: Math.max(a.peakRssMb, b.peakRssMb) }));
  const before = usage();
  const clientBefore = process.cpuUsage();
  const tally = { latencies: [], failures: 0, late: 0, statuses: {} };
  const t0 = performance.now();
  await Promise.all(uploads.map((u, i) => send(u, i, tally)));
  const wall = (performance.now() - t0) / 1000;
  const after = usage();
  const client = process.cpuUsage(clientBefore);
  uploads.forEach((u) => u.agent.destroy());
  const sorted = tally.latencies.sort((a, b) => a - b);
  return { accepted: sorted.length, failures: tally.failures, failedStatuses: tally.statuses, late: tally.late,
    p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1),
    cpuPercent: (100 * (after.cpuSeconds - before.cpuSeconds)) / wall, peakRssMb: after.peakRssMb,
    clientCpuPercent: (client.user + client.system) / 1e4 / wall,
    mbPerSecond: (sorted.length * chunkBytes) / 1e6 / wall };
}

async function appendChunk(u, chunk, tally) {
  const r = await patch(u.url, u.offset, chunk, u.auth, u.agent);
  if (r.status === 204) {
    u.offset += chunk.length;
    tally.latencies.push(r.ms);
  } else {
    tally.failures++;
    tally.statuses[r.status] = (tally.statuses[r.status] ?? 0) + 1;
  }
}

async function streaming(target) {
  const recordings = Number(opt.recordings);
  const seconds = Number(opt.seconds);
  const chunk = Buffer.alloc(Number(opt['chunk-kb']) * 1000, 7);
  const uploads = await createUploads(target, recordings);
  const t0 = performance.now() + 100;
  return measure(target, uploads, chunk.length, async (u, i, tally) => {
    const phase = (i / recordings) * 1000;
    for (let k = 0; k < seconds; k++) {
      const wait = t0 + phase + k * 1000 - performance.now();
      if (wait > 0) await sleep(wait); else if (k > 0) tally.late++;
      await appendChunk(u, chunk, tally);
    }
  });
}

async function throughput(target) {
  const chunk = Buffer.alloc(256 * 1024, 9);
  const uploads = await createUploads(target, Number(opt.uploads));
  const end = performance.now() + Number(opt['burst-seconds']) * 1000;
  return measure(target, uploads, chunk.length, async (u, i, tally) => {
    while (performance.now() < end) await appendChunk(u, chunk, tally);
  });
}

// A live WebM of `seconds` as the recorder sends it: the header, then one Cluster (a second, each
// starting on a keyframe) per chunk. Made with ffmpeg from the test clips.
function liveChunks(seconds) {
  const file = path.join(os.tmpdir(), `ingest-live-${process.pid}.webm`);
  const media = path.join(repoDir, 'tests/media');
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-stream_loop', '-1', '-i', `${media}/akiyo_cif.mp4`,
    '-stream_loop', '-1', '-i', `${media}/speech_orig_16k.wav`, '-t', String(seconds), '-c:v', 'libvpx-vp9',
    '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '250k', '-g', '30', '-c:a', 'libopus', '-f', 'webm',
    '-live', '1', '-cluster_time_limit', '2000', file]);
  const bytes = fs.readFileSync(file);
  fs.rmSync(file);
  // A Cluster: its ID, a size, then the Cluster's Timestamp ID (0xE7).
  const starts = [];
  for (let at = bytes.indexOf(CLUSTER_ID); at !== -1; at = bytes.indexOf(CLUSTER_ID, at + 1)) {
    const sizeLength = Math.clz32(bytes[at + 4]) - 23;
    if (sizeLength >= 1 && sizeLength <= 8 && bytes[at + 4 + sizeLength] === 0xE7) starts.push(at);
  }
  return [0, ...starts].map((start, i, all) => bytes.subarray(start, all[i + 1] ?? bytes.length));
}
const CLUSTER_ID = Buffer.from([0x1F, 0x43, 0xB6, 0x75]);

// Watches recording `id` live until stop(); counts the bytes it gets.
function startViewer(base, id, cookie) {
  const viewer = { bytes: 0, status: 0 };
  const req = http.get(`${base}/api/v1/hr/recordings/${id}/live`, { headers: { Cookie: cookie } }, (res) => {
    viewer.status = res.statusCode;
    res.on('data', (d) => { viewer.bytes += d.length; });
  });
  req.on('error', () => {});
  viewer.stop = () => req.destroy();
  return viewer;
}

async function liveScenario() {
  const { createAccount, hrLogin } = await import('../../tests/js/lib/hr.mjs');
  const recordings = Number(opt.recordings);
  const seconds = Number(opt.seconds);
  const chunks = liveChunks(seconds);
  const meanBytes = chunks.reduce((a, c) => a + c.length, 0) / chunks.length;
  const target = await startOurs();
  const out = [];
  try {
    const base = new URL(target.tusUrl).origin;
    await createAccount(target.dir, 'bench', 'bench password 1', 'reviewer');
    const hr = await hrLogin({ url: base }, 'bench', 'bench password 1');
    for (const count of [0, Number(opt.viewers)]) {
      const uploads = await createUploads(target, recordings);
      const viewers = [];
      const t0 = performance.now() + 100;
      const result = await measure(target, uploads, meanBytes, async (u, i, tally) => {
        const phase = (i / recordings) * 1000;
        for (let k = 0; k < chunks.length; k++) {
          const wait = t0 + phase + k * 1000 - performance.now();
          if (wait > 0) await sleep(wait); else if (k > 0) tally.late++;
          await appendChunk(u, chunks[k], tally);
          if (i === 0 && k === 1 && count > 0) {  // the header and a first Cluster are there: watch
            const session = await hr.json(`/api/v1/hr/sessions/${u.sessionId}`);
            for (let v = 0; v < count; v++) viewers.push(startViewer(base, session.recordings[0].id, hr.cookie));
          }
        }
      });
      viewers.forEach((v) => v.stop());
      const watched = viewers.length ? Math.min(...viewers.map((v) => v.bytes)) : 0;
      if (viewers.some((v) => v.status !== 200)) throw new Error(`a live view answered ${viewers.map((v) => v.status)}`);
      out.push({ scenario: 'live', server: `ours, ${count} live viewers of recording 0` +
        (count ? ` (each got ${(watched / 1e6).toFixed(1)} MB)` : ''), ...result });
    }
  } finally {
    await stopTarget(target);
  }
  return out;
}

// A WebM of `minutes` of real read speech (Opus) over a small still video, the LibriVox clips in
// turn with half-second pauses, as a long interview; cached under build/test-media.
function interviewWebm(minutes) {
  const file = path.join(repoDir, 'build/test-media', `interview_${minutes}min.webm`);
  if (fs.existsSync(file)) return fs.readFileSync(file);
  const clips = ['0870', '0880', '0890', '0920', '0930'].map((n) =>
    path.join(repoDir, `tests/media/librivox/sense_and_sensibility_01_austen_64kb-${n}.wav`));
  const list = path.join(os.tmpdir(), `interview-${process.pid}.txt`);
  const pause = path.join(os.tmpdir(), `pause-${process.pid}.wav`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '0.5', pause]);
  fs.writeFileSync(list, clips.flatMap((c) => [`file '${c}'`, `file '${pause}'`]).join('\n'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '-1', '-f', 'concat', '-safe', '0', '-i', list,
    '-f', 'lavfi', '-i', 'color=gray:size=160x120:rate=2', '-t', String(minutes * 60), '-c:a', 'libopus', '-b:a', '32k',
    '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-b:v', '20k', '-f', 'webm', file]);
  fs.rmSync(list);
  fs.rmSync(pause);
  return fs.readFileSync(file);
}

// The recording's transcribe stage, as the host API shows it.
async function transcribeStage(base, apiKey, sessionId) {
  const res = await fetch(`${base}/api/v1/sessions/${sessionId}`, { headers: { Authorization: `Bearer ${apiKey}` } });
  return (await res.json()).recordings[0]?.pipeline?.stages.find((s) => s.stage === 'transcribe');
}

async function transcribingScenario() {
  const minutes = Number(opt['transcribe-minutes']);
  const webm = interviewWebm(minutes);
  const target = await startOurs(['--transcriber', 'pocketsphinx'], 'ours');
  const out = [];
  try {
    out.push({ scenario: 'transcribing', server: 'ours, idle', ...(await streaming(target)) });
    const base = new URL(target.tusUrl).origin;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { sessionId, ...auth } = await target.credentials('interview');
    const url = await createUpload(target, auth, agent);
    const step = 4 << 20;
    for (let at = 0; at < webm.length; at += step) {
      const last = at + step >= webm.length;
      const r = await patch(url, at, webm.subarray(at, at + step), { ...auth, ...(last ? { 'Upload-Length': String(webm.length) } : {}) }, agent);
      if (r.status !== 204) throw new Error(`interview upload: HTTP ${r.status}`);
    }
    agent.destroy();
    const uploaded = performance.now();
    let stage;
    while ((stage = await transcribeStage(base, target.apiKey, sessionId))?.status !== 'processing') {
      if (stage?.status === 'completed' || stage?.status === 'failed') throw new Error(`transcribed before the load: ${stage.status}`);
      await sleep(200);
    }
    const started = performance.now();
    out.push({ scenario: 'transcribing', server: `ours, transcribing ${minutes} min of speech`, ...(await streaming(target)) });
    while ((stage = await transcribeStage(base, target.apiKey, sessionId))?.status === 'processing') await sleep(1000);
    if (stage?.status !== 'completed') throw new Error(`transcription: ${JSON.stringify(stage)}`);
    const seconds = (performance.now() - started) / 1000;
    out.transcription = { minutes, seconds, fromUpload: (performance.now() - uploaded) / 1000 };
  } finally {
    await stopTarget(target);
  }
  return out;
}

const scenarios = { streaming, throughput };
const rows = [];
if (opt.only === 'live') rows.push(...await liveScenario());
let transcription = null;
if (opt.only === 'transcribing') {
  const result = await transcribingScenario();
  rows.push(...result);
  transcription = result.transcription;
}
for (const [name, run] of Object.entries(scenarios)) {
  if (opt.only && opt.only !== name) continue;
  const starts = [startOurs, startReference, ...(opt.postgres ? [startOursOnPostgres] : []),
    ...(opt.cluster ? [1, 2, 3].map(startCluster) : [])];
  for (const start of starts) {
    const target = await start();
    try {
      rows.push({ scenario: name, server: target.name, ...(await run(target)) });
    } finally {
      await stopTarget(target);
    }
  }
}

const f = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '–');
console.log(`streaming: ${opt.recordings} recordings x ${opt['chunk-kb']} KB/s for ${opt.seconds} s; ` +
  `throughput: ${opt.uploads} uploads x 256 KB back to back for ${opt['burst-seconds']} s`);
console.log('| scenario | server | accepted | failed | late sends | p50 ms | p99 ms | max ms | CPU % | peak RSS MB | MB/s | client CPU % |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.scenario} | ${r.server} | ${r.accepted} | ${r.failures} | ${r.late} | ${f(r.p50)} | ` +
    `${f(r.p99)} | ${f(r.max)} | ${f(r.cpuPercent, 0)} | ${f(r.peakRssMb, 0)} | ${f(r.mbPerSecond)} | ` +
    `${f(r.clientCpuPercent, 0)} |`);
}
const [unwatched, watched] = rows.filter((r) => r.scenario === 'live');
if (unwatched && watched) console.log(`live: p99 with ${opt.viewers} viewers / without ${f(watched.p99 / unwatched.p99, 2)}`);
const [idle, busy] = rows.filter((r) => r.scenario === 'transcribing');
if (idle && busy && transcription) {
  console.log(`transcribing: p99 while transcribing / idle ${f(busy.p99 / idle.p99, 2)} (goal: p99 <= 50 ms); ` +
    `${transcription.minutes} min of speech transcribed in ${f(transcription.seconds / 60)} min from its start ` +
    `(${f(transcription.fromUpload / 60)} min from the end of its upload; real-time factor ` +
    `${f(transcription.seconds / 60 / transcription.minutes, 2)}; goal: under ${f(transcription.minutes / 3)} min)`);
}
for (const name of Object.keys(scenarios)) {
  const [ours, ref] = rows.filter((r) => r.scenario === name);
  const onPostgres = rows.find((r) => r.scenario === name && r.server.includes('PostgreSQL index'));
  if (!ours || !ref) continue;
  console.log(`${name}: p99 ours/reference ${f(ours.p99 / ref.p99, 2)}, ` +
    `MB/s ours/reference ${f(ours.mbPerSecond / ref.mbPerSecond, 2)}`);
  if (onPostgres) {
    console.log(`${name}: p99 PostgreSQL/SQLite index ${f(onPostgres.p99 / ours.p99, 2)}, ` +
      `CPU % PostgreSQL/SQLite index ${f(onPostgres.cpuPercent / ours.cpuPercent, 2)} (the server process only)`);
  }
  for (const r of rows.filter((x) => x.scenario === name && x.server.includes('behind nginx'))) {
    console.log(`${name}: ${r.server}: p99 ${f(r.p99 / ours.p99, 2)}x and CPU ${f(r.cpuPercent / ours.cpuPercent, 2)}x ` +
      'the embedded default');
  }
}
console.log(JSON.stringify(rows));
