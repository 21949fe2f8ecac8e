// Three recorder-servers behind nginx, sharing a PostgreSQL index and an S3 bucket
// (toolchains/cluster.sh; server/README.md, "Several servers: the shared spool"), with a candidate
// in headless Chromium recording through the load balancer. Mid-interview the node that took the
// most chunks is killed (SIGKILL); the page's uploads go on through the balancer to the others,
// one of them finalizes the recording into the bucket, and an HR reviewer downloads it whole.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  assertArrived, assertDecodes, assertSeekable, captureStoredChunks, interviewUrl, launchBrowser, pageState, recordings,
  serverBinary, sleep, startInterview, until,
} from './lib/browser.mjs';
import { createAccount, hrLogin } from './lib/hr.mjs';
import { ffprobeJson, repoDir, tempDir } from './lib/media.mjs';

const T = { timeout: 240_000 };
const script = path.join(repoDir, 'toolchains/cluster.sh');
const dir = tempDir('recorder-cluster-');
/** @type {Record<string, string>} */
let env = {};
let passed = false;

// DIR/env of cluster.sh (URL, RECORDER_API_KEY, RECORDER_INDEX, NODES, NODE_n_PORT/PID/DATA).
function readEnv(file) {
  return Object.fromEntries(fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

before(() => {
  // No transcription (it would only take CPU from the two cores); jobs polled often, so the
  // finalize starts soon after the last PATCH. RECORDER_SERVER_BIN: no set-up or build.
  try {
    execFileSync(script, ['start', dir, '3', '--', '--transcriber', 'none', '--job-poll-ms', '200'], {
      env: { ...process.env, RECORDER_SERVER_BIN: serverBinary(), RECORDER_CLUSTER_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 180_000,
    });
  } catch (err) {
    throw new Error(`cluster.sh start failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: err });
  }
  env = readEnv(path.join(dir, 'env'));
});

after(() => {
  execFileSync(script, ['stop', dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  // A failing run keeps the logs (nodes, nginx, services) for the diagnosis.
  if (passed) fs.rmSync(dir, { recursive: true, force: true });
});

const nodes = () => Array.from({ length: Number(env.NODES) }, (_, i) => ({
  name: `node-${i + 1}`, url: `http://127.0.0.1:${env[`NODE_${i + 1}_PORT`]}`, pid: Number(env[`NODE_${i + 1}_PID`]),
  data: env[`NODE_${i + 1}_DATA`],
}));

// One series of a node's Prometheus metrics, e.g. metric(node, 'recorder_finalize_total', '{outcome="ready"}');
// 0 when absent.
async function metric(node, name, labels = '') {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

// Acknowledged PATCHes per node (the count of the ack-time histogram).
const acks = (node) => metric(node, 'recorder_chunk_ack_seconds_count');

// Every file under `root` whose name matches `pattern`.
function filesUnder(root, pattern) {
  return fs.readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && pattern.test(e.name)).map((e) => path.join(e.parentPath, e.name));
}

// Running or stopped, not gone (a zombie left to an init that does not reap counts as gone).
function isAlive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

// The bucket's objects (key and size), listed with curl's SigV4 signing and cluster's S3 keys.
function bucketObjects() {
  const s3 = readEnv(path.join(dir, 's3', 'env'));
  const netrc = path.join(dir, 'netrc');
  fs.writeFileSync(netrc, `machine 127.0.0.1 login ${s3.AWS_ACCESS_KEY_ID} password ${s3.AWS_SECRET_ACCESS_KEY}\n`,
    { mode: 0o600 });
  const xml = execFileSync('curl', ['-sf', '--aws-sigv4', `aws:amz:${s3.S3_REGION}:s3`, '--netrc-file', netrc,
    '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', `${s3.S3_ENDPOINT}/${s3.S3_BUCKET}?list-type=2&max-keys=1000`],
  { encoding: 'utf8' });
  fs.rmSync(netrc);
  return [...xml.matchAll(/<Contents>.*?<Key>([^<]*)<\/Key>.*?<Size>(\d+)<\/Size>.*?<\/Contents>/gs)]
    .map(([, key, size]) => ({ key, size: Number(size) }));
}

test('three nodes behind nginx: the node that took the most chunks is killed mid-interview, the recording goes ' +
  'on through the others, is finalized into the bucket and downloads whole', T, async () => {
  const lb = { url: env.URL };
  const all = nodes();
  const key = env.RECORDER_API_KEY;
  const host = (method, route, body) => fetch(`${lb.url}${route}`, {
    method, headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const created = await host('POST', '/api/v1/sessions', { candidate_name: 'Jane Doe', job: 'engineer' });
  assert.equal(created.status, 201, await created.clone().text());
  const session = await created.json();

  const browser = await launchBrowser();
  const { page } = browser;
  try {
    const stored = await captureStoredChunks(page);
    // The upload's requests that failed (5xx), and the PATCHes still waiting for an answer.
    const failed = [];
    const pending = new Map();
    page.on('request', (r) => { if (r.method() === 'PATCH') pending.set(r, Date.now()); });
    page.on('requestfinished', (r) => pending.delete(r));
    page.on('requestfailed', (r) => pending.delete(r));
    page.on('response', (r) => {
      if (r.url().includes('/files/') && r.status() >= 500) failed.push(`${r.request().method()} ${r.status()}`);
    });
    await page.goto(interviewUrl(lb, session));
    await startInterview(page);
    await sleep(6000);

    // Round robin spread the PATCHes over the nodes; the one that took the most dies.
    const before = await Promise.all(all.map(acks));
    assert.ok(before.filter((n) => n > 0).length >= 2, `PATCHes per node ${before}: spread over the nodes`);
    const victim = all[before.indexOf(Math.max(...before))];
    const survivors = all.filter((n) => n !== victim);
    // It dies holding a PATCH: stopped (SIGSTOP) until the page's PATCH has waited 2.5 s for an
    // answer (an acknowledgement takes a few hundred ms; round robin sends the stopped node one of
    // the next few), then killed. nginx does not send that PATCH elsewhere (it was sent and is
    // not idempotent) but answers 502; the page asks HEAD, through nginx, of a live node, which
    // knows the upload's offset from the shared index, and resumes from there.
    process.kill(victim.pid, 'SIGSTOP');
    const stopped = Date.now();
    while (![...pending.values()].some((t) => Date.now() - t > 2500)) {
      assert.ok(Date.now() - stopped < 30_000, `no PATCH reached the stopped ${victim.name} within 30 s`);
      await sleep(100);
    }
    process.kill(victim.pid, 'SIGKILL');
    for (let i = 0; isAlive(victim.pid) && i < 50; i++) await sleep(100);
    assert.equal(isAlive(victim.pid), false, `${victim.name} is dead`);
    const survivorsBefore = await Promise.all(survivors.map(acks));

    await sleep(4000);
    assert.equal(await pageState(page), 'recording', 'the page records on');
    const survivorsAfter = await Promise.all(survivors.map(acks));
    assert.ok(survivorsAfter.reduce((a, b) => a + b) > survivorsBefore.reduce((a, b) => a + b),
      `the survivors acknowledged more PATCHes after the death: ${survivorsBefore} -> ${survivorsAfter}`);
    assert.ok(failed.includes('PATCH 502'), `the PATCH held by the dead node answered 502: ${failed}`);
    await page.click('#end');
    await until(page, () => window.interviewPage.state === 'done', null, 90_000);
    const [rec, ...more] = await recordings(page);
    assert.equal(more.length, 0, 'one recording (camera and microphone)');

    // Ready, through the host API on the balancer, and its finalize job done (a recording is
    // ready before the job has deleted the spool's chunks); finalized by a survivor.
    let detail;
    for (const deadline = Date.now() + 90_000; ;) {
      const res = await host('GET', `/api/v1/sessions/${session.session_id}`);
      assert.equal(res.status, 200);
      detail = await res.json();
      const settled = (r) => r.status === 'failed' || (r.status === 'ready' && r.pipeline?.status === 'completed');
      if (detail.recordings.length && detail.recordings.every(settled)) break;
      assert.ok(Date.now() < deadline, `not ready in 90 s: ${JSON.stringify(detail.recordings)}`);
      await sleep(500);
    }
    assert.deepEqual(detail.recordings.map((r) => [r.kind, r.status, r.incomplete]), [['camera', 'ready', false]],
      JSON.stringify(detail.recordings));
    const finalized = await Promise.all(survivors.map((n) => metric(n, 'recorder_finalize_total', '{outcome="ready"}')));
    assert.equal(finalized.reduce((a, b) => a + b), 1, `finalized once, by a survivor: ${finalized}`);

    // The recording is an object in the bucket; the chunks' objects are gone, and no node's data
    // folder holds a copy.
    const objects = bucketObjects();
    const webm = objects.filter((o) => o.key.endsWith('.webm') && !o.key.startsWith('.spool/'));
    assert.equal(webm.length, 1, `one recording in the bucket: ${JSON.stringify(objects)}`);
    assert.equal(webm[0].size, detail.recordings[0].bytes, 'the object is the recording');
    assert.deepEqual(objects.filter((o) => o.key.startsWith('.spool/')), [], 'the spool\'s chunks are deleted');
    for (const node of all) assert.deepEqual(filesUnder(node.data, /\.(webm|part)$/), [], `${node.name}: no media`);

    // An HR admin (made in the shared index) signs in through the balancer and downloads it.
    await createAccount(survivors[0].data, 'hr-admin', 'correct horse battery', 'admin', env.RECORDER_INDEX);
    const hr = await hrLogin(lb, 'hr-admin', 'correct horse battery');
    const download = await hr.request('GET', `/api/v1/hr/recordings/${detail.recordings[0].id}/download`);
    assert.equal(download.status, 200);
    const file = path.join(dir, 'downloaded.webm');
    fs.writeFileSync(file, Buffer.from(await download.arrayBuffer()));
    assert.equal(fs.statSync(file).size, detail.recordings[0].bytes);

    // Every chunk the page stored is in it, once, in order; the upload is complete at their size
    // (HEAD through the balancer); seekable; every frame decodes.
    await assertArrived(stored, rec, file, session.upload_token);
    assertSeekable(file, Number(ffprobeJson(file, ['-show_format']).format.duration));
    assert.ok(assertDecodes(file) > 0);
    console.log(`cluster: PATCHes per node before the kill ${before} (${victim.name} killed), survivors after ` +
      `${survivorsAfter}; the upload's requests that failed: ${failed}`);
    passed = true;
  } catch (err) {
    console.log(`--- page console ---\n${browser.logs.slice(-40).join('\n')}\n--- cluster logs in ${dir}`);
    throw err;
  } finally {
    await browser.close();
  }
});
