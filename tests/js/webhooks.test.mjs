// Webhooks to the host's pipeline, end to end: the real server sends signed events for a real
// recording (finalized, transcribed by PocketSphinx) to a receiver in this test, which verifies
// every attempt with the npm `standardwebhooks` package, as a host would. The receiver times out,
// fails, answers 410 Gone and is down across a restart of the server; each message still arrives,
// always with the same webhook-id, and a wrong secret fails verification. Admins read the delivery
// log on the HR page (headless Chromium) and send a failed delivery again.
// Run: node --test tests/js/webhooks.test.mjs   (RECORDER_SERVER_BIN overrides the binary)
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';

import fs from 'node:fs';
import path from 'node:path';

import Ajv2020 from 'ajv/dist/2020.js';
import { Webhook } from 'standardwebhooks';

import { API_KEY, freePort, launchBrowser, sleep, startServer } from './lib/browser.mjs';
import { createAccount, hrLogin, speechRecording, tusUpload } from './lib/hr.mjs';
import { repoDir } from './lib/media.mjs';

// Every event body must match its schema in the OpenAPI document's webhooks.
const doc = JSON.parse(fs.readFileSync(path.join(repoDir, 'web/openapi.json'), 'utf8'));
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
ajv.addVocabulary(['components']);
ajv.addSchema({ $id: 'api', components: doc.components }, undefined, undefined, false);
function assertDocumented(message) {
  const schema = doc.webhooks[message.type]?.post.requestBody.content['application/json'].schema;
  assert.ok(schema, `${message.type} is in the document's webhooks`);
  const validate = ajv.getSchema(`api${schema.$ref}`);
  assert.ok(validate(message), `${message.type}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(message)}`);
}

const SECRET = `whsec_${Buffer.from('a signing key of 32 bytes, test!').toString('base64')}`;
const ADMIN = { username: 'hr-admin', password: 'correct horse battery staple' };

// A receiver on `port`: keeps every attempt ({id, type, headers, body, verified, answered}),
// verified under `secret`, and answers each with what `answer(attempt number of this id, message)`
// says: a status, or 'hang'.
async function startReceiver(port, answer, secret = SECRET) {
  const attempts = [];
  const hanging = new Set();
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      const headers = { 'webhook-id': req.headers['webhook-id'], 'webhook-timestamp': req.headers['webhook-timestamp'],
        'webhook-signature': req.headers['webhook-signature'] };
      let verified;
      try {
        verified = new Webhook(secret).verify(body, headers);
      } catch (err) {
        verified = { error: err.message };
      }
      const id = headers['webhook-id'];
      const n = attempts.filter((a) => a.id === id).length + 1;
      const reply = answer(n, verified);
      attempts.push({ id, type: verified?.type, headers, body, verified, answered: reply });
      if (reply === 'hang') {
        hanging.add(res);  // answered when the receiver closes, long after the sender gave up
        return;
      }
      res.writeHead(reply).end();
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    attempts,
    close: () => new Promise((resolve) => {
      for (const res of hanging) res.destroy();
      server.close(resolve);
      server.closeAllConnections();
    }),
  };
}

// Polls until `probe` gives a value that is not null.
async function until(probe, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function createSession(server, name) {
  const res = await fetch(`${server.url}/api/v1/sessions`, { method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ candidate_name: name }) });
  assert.equal(res.status, 201);
  return res.json();
}

const brokenUpload = [Buffer.from('not a webm file '.repeat(64))];

test('webhooks: signed, retried with one webhook-id through timeouts, errors, 410 and a receiver down across a restart', { timeout: 240_000 }, async () => {
  const receiverPort = await freePort();
  const port = await freePort();
  const args = ['--webhook-url', `http://127.0.0.1:${receiverPort}/hooks`, '--webhook-secret', SECRET,
    '--webhook-retry-seconds', '1', '--webhook-timeout-seconds', '2'];
  let server = await startServer({ port, args });
  const dataDir = server.dataDir;
  // recording.ready: the first attempt hangs past the timeout, the second gets a 500; the rest go
  // through at once. A 410 for recording.failed fails that delivery for good.
  let receiver = await startReceiver(receiverPort, (n, message) => {
    if (message?.type === 'recording.ready') return n === 1 ? 'hang' : n === 2 ? 500 : 204;
    if (message?.type === 'recording.failed') return 410;
    return 204;
  });
  try {
    await createAccount(dataDir, ADMIN.username, ADMIN.password, 'admin');
    const session = await createSession(server, 'Ada Lovelace');
    await tusUpload(server, session, speechRecording(), { kind: 'camera' });
    const delivered = (type) => receiver.attempts.find((a) => a.type === type && a.answered === 204);
    const ready = await until(() => delivered('recording.ready'), 'recording.ready');
    const transcribed = await until(() => delivered('transcript.completed'), 'transcript.completed');

    // Every attempt is signed for the secret and carries the message's one id.
    for (const a of receiver.attempts) {
      assert.ok(!a.verified?.error, `verified: ${JSON.stringify(a.verified)}`);
      assertDocumented(a.verified);
    }
    const readyAttempts = receiver.attempts.filter((a) => a.type === 'recording.ready');
    assert.deepEqual(readyAttempts.map((a) => a.answered), ['hang', 500, 204]);
    assert.equal(new Set(readyAttempts.map((a) => a.id)).size, 1, 'one webhook-id for every attempt');
    assert.equal(new Set(readyAttempts.map((a) => a.body)).size, 1, 'the same bytes every time');
    assert.throws(() => new Webhook(`whsec_${Buffer.from('another key of 32 bytes, wrong!!').toString('base64')}`)
      .verify(ready.body, ready.headers), /signature/i);
    assert.throws(() => new Webhook(SECRET).verify(ready.body.replace('camera', 'screen'), ready.headers));
    const recordingId = ready.verified.data.recording_id;
    assert.deepEqual(ready.verified.data, { session_id: session.session_id, recording_id: recordingId, kind: 'camera',
      duration_ms: ready.verified.data.duration_ms, bytes: ready.verified.data.bytes, incomplete: false });
    assert.ok(ready.verified.data.duration_ms > 5000, 'the duration of the finalized file');
    assert.match(ready.verified.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(transcribed.verified.data.recording_id, recordingId);
    assert.equal(transcribed.verified.data.engine, 'pocketsphinx');
    assert.ok(transcribed.verified.data.words > 0, 'PocketSphinx heard words');
    assert.equal(receiver.attempts.filter((a) => a.type === 'transcript.completed').length, 1);

    // The candidate ends the interview: session.completed, once, with each recording's outcome;
    // a new upload is refused from then on.
    assert.equal(receiver.attempts.filter((a) => a.type === 'session.completed').length, 0, 'not before the end');
    const end = await fetch(`${server.url}/api/v1/sessions/${session.session_id}/end`, { method: 'POST',
      headers: { Authorization: `Bearer ${session.upload_token}` } });
    assert.equal(end.status, 204);
    const completed = await until(() => delivered('session.completed'), 'session.completed');
    assert.deepEqual(completed.verified.data, { session_id: session.session_id, ended_by: 'candidate',
      ended_at: completed.verified.data.ended_at, recordings: [{ recording_id: recordingId, kind: 'camera',
        status: 'ready', duration_ms: ready.verified.data.duration_ms, incomplete: false, transcript: true }] });
    assert.ok(Math.abs(completed.verified.data.ended_at - Date.now() / 1000) < 60, 'ended now');
    const late = await fetch(new URL(session.tus_endpoint, server.url), { method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${session.upload_token}`, 'Upload-Length': '10' } });
    assert.equal(late.status, 409);
    assert.equal((await late.json()).error, 'session_ended');
    await sleep(1500);  // a few sweeps later: still one
    assert.equal(receiver.attempts.filter((a) => a.type === 'session.completed').length, 1);
    // One log line sums the recording's pipeline up.
    assert.match(fs.readFileSync(server.logFile, 'utf8'), new RegExp(`recording ${recordingId} pipeline completed: \\d+ s from ` +
      'upload start to ready, \\d+ s from ready to transcript; transcribed by pocketsphinx: \\d+\\.\\d s of audio, \\d+ ' +
      'segments, [1-9]\\d* words in \\d+\\.\\d s \\(real-time factor \\d\\.\\d\\d\\)'));

    // 410 Gone: that delivery fails for good; the admin log says so and sends it again.
    const admin = await hrLogin(server, ADMIN.username, ADMIN.password);
    const broken = await createSession(server, 'Bob Builder');
    await tusUpload(server, broken, brokenUpload, { kind: 'camera' });
    const deliveries = async () => (await admin.json('/api/v1/hr/webhooks')).deliveries;
    const gone = await until(async () => (await deliveries()).find((d) => d.type === 'recording.failed' &&
      d.status === 'failed'), 'the 410 delivery failing');
    assert.equal(gone.last_error, 'HTTP 410: the receiver says the endpoint is gone');
    assert.equal(gone.attempts, 1, 'not retried');
    assert.equal((await deliveries()).find((d) => d.type === 'recording.ready').status, 'delivered');
    const readyLog = (await deliveries()).find((d) => d.type === 'recording.ready');
    assert.equal(readyLog.attempts, 3);
    assert.equal(readyLog.event_id, ready.id);
    receiver.attempts.length = 0;
    await receiver.close();
    receiver = await startReceiver(receiverPort, () => 204);
    // On the HR page's delivery log: the failed delivery, with its answer, and a button to send it again.
    const browser = await launchBrowser({ devices: false });
    try {
      const { page } = browser;
      await page.goto(`${server.url}/hr/#webhooks`);
      await page.fill('#login-username', ADMIN.username);
      await page.fill('#login-password', ADMIN.password);
      await page.click('#login-submit');
      const row = `#deliveries tr[data-delivery-id="${gone.id}"]`;
      await page.waitForSelector(`${row}[data-status="failed"]`, { timeout: 15_000 });
      assert.match(await page.textContent(row), /recording\.failed.*HTTP 410/s);
      assert.match(await page.textContent('#deliveries'), /recording\.ready[\s\S]*Delivered/);
      await page.click(`${row} button.resend`);
      await page.waitForFunction(() => /is sent again/.test(document.querySelector('#message').textContent));
    } finally {
      await browser.close();
    }
    const again = await until(() => delivered('recording.failed'), 'the resent recording.failed');
    assert.equal(again.id, gone.event_id, 'resent with its webhook-id');
    assert.match(again.verified.data.failure_reason, /.+/);
    assertDocumented(again.verified);
    assert.equal((await admin.request('POST', `/api/v1/hr/webhooks/${gone.id}/resend`)).status, 409);
    assert.equal((await admin.request('POST', '/api/v1/hr/webhooks/999999/resend')).status, 404);

    // /metrics counts each stage's runs by outcome and the queue's jobs by kind and state.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const metric = (name) => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(metric('recorder_job_runs_total{kind="finalize",outcome="done"}'), 1, metrics);
    assert.equal(metric('recorder_job_runs_total{kind="finalize",outcome="failed"}'), 1);
    assert.equal(metric('recorder_job_runs_total{kind="transcribe",outcome="done"}'), 1);
    assert.equal(metric('recorder_job_runs_total{kind="webhook",outcome="retry"}'), 2, 'the timeout and the 500');
    assert.equal(metric('recorder_job_runs_total{kind="webhook",outcome="failed"}'), 1, 'the 410');
    assert.ok(metric('recorder_job_runs_total{kind="webhook",outcome="done"}') >= 3);
    assert.ok(metric('recorder_job_run_seconds_sum{kind="transcribe"}') > 0);
    assert.equal(metric('recorder_jobs_failed{kind="finalize"}'), 1, 'the broken upload');
    assert.equal(metric('recorder_jobs_failed{kind="webhook"}'), 0, 'the failed delivery was sent again');

    // The receiver is down; the server restarts meanwhile; the message arrives once the receiver is back.
    await receiver.close();
    const third = await createSession(server, 'Carol Danvers');
    await tusUpload(server, third, brokenUpload, { kind: 'camera' });
    const failing = await until(async () => (await deliveries()).find((d) => d.type === 'recording.failed' &&
      d.id !== gone.id && d.attempts >= 1 && d.last_error), 'a failed attempt to the receiver that is down');
    assert.match(failing.last_error, /^no answer: /);
    assert.equal(failing.status, 'queued');
    await server.stop();
    receiver = await startReceiver(receiverPort, () => 204);
    server = await startServer({ port, dataDir, args });
    const arrived = await until(() => receiver.attempts.find((a) => a.id === failing.event_id), 'delivery after the restart');
    assert.ok(!arrived.verified?.error);
    assert.equal(arrived.verified.data.session_id, third.session_id);
    const audit = (await (await hrLogin(server, ADMIN.username, ADMIN.password)).json('/api/v1/hr/audit?limit=100')).entries;
    assert.equal(audit.filter((e) => e.action === 'resend_webhook').length, 1);
    server.remove();
  } finally {
    await receiver.close();
    await server.stop();
  }
});

test('webhooks registered through the API: signed with the secret it returned, only the types asked for, none once deleted', { timeout: 120_000 }, async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const server = await startServer();
  const receivers = [];
  try {
    const api = (method, path, body) => fetch(`${server.url}${path}`, { method, body: body && JSON.stringify(body),
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' } });
    const a = await (await api('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${portA}/a`,
      events: ['recording.ready', 'session.completed'] })).json();
    const b = await (await api('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${portB}/b`, secret: SECRET })).json();
    assert.notEqual(a.secret, SECRET, 'a secret made by the server');
    const receiverA = await startReceiver(portA, () => 204, a.secret);
    const receiverB = await startReceiver(portB, () => 204);
    receivers.push(receiverA, receiverB);
    const got = (receiver, type) => receiver.attempts.find((x) => x.type === type && x.answered === 204);

    const session = await createSession(server, 'Grace Hopper');
    await tusUpload(server, session, speechRecording(), { kind: 'camera' });
    const readyA = await until(() => got(receiverA, 'recording.ready'), 'recording.ready at a');
    await until(() => got(receiverB, 'transcript.completed'), 'transcript.completed at b');
    assert.throws(() => new Webhook(SECRET).verify(readyA.body, readyA.headers), /signature/i, 'signed with a\'s own secret');

    // b is deleted: the session's completion goes to a alone.
    assert.equal((await api('DELETE', `/api/v1/webhooks/${b.id}`)).status, 204);
    const end = await fetch(`${server.url}/api/v1/sessions/${session.session_id}/end`, { method: 'POST',
      headers: { Authorization: `Bearer ${session.upload_token}` } });
    assert.equal(end.status, 204);
    const completed = await until(() => got(receiverA, 'session.completed'), 'session.completed at a');
    assert.equal(completed.verified.data.session_id, session.session_id);
    await sleep(1500);
    assert.equal(got(receiverB, 'session.completed'), undefined, 'nothing for the deleted endpoint');
    assert.equal(got(receiverA, 'transcript.completed'), undefined, 'a takes two types only');
    for (const x of [...receiverA.attempts, ...receiverB.attempts]) {
      assert.ok(!x.verified?.error, `verified: ${JSON.stringify(x.verified)}`);
      assertDocumented(x.verified);
    }
    assert.deepEqual((await (await api('GET', '/api/v1/webhooks')).json()).webhooks,
      [{ id: a.id, url: a.url, events: a.events, created_at: a.created_at }], 'listed without secrets');
    server.remove();
  } finally {
    for (const r of receivers) await r.close();
    await server.stop();
  }
});

test('kill -9 during the transcription: after the restart one transcript is stored and transcript.completed arrives with one webhook-id', { timeout: 120_000 }, async () => {
  const receiverPort = await freePort();
  const port = await freePort();
  const args = ['--webhook-url', `http://127.0.0.1:${receiverPort}/hooks`, '--webhook-secret', SECRET];
  let server = await startServer({ port, args });
  const receiver = await startReceiver(receiverPort, () => 204);
  try {
    const session = await createSession(server, 'Katherine Johnson');
    await tusUpload(server, session, speechRecording(), { kind: 'camera' });
    const stage = async (name) => {
      const res = await fetch(`${server.url}/api/v1/sessions/${session.session_id}`, { headers: { Authorization: `Bearer ${API_KEY}` } });
      return (await res.json()).recordings[0]?.pipeline?.stages.find((s) => s.stage === name);
    };
    await until(async () => ((await stage('transcribe'))?.status === 'processing' ? true : null), 'the transcription running', 60_000);
    await server.kill();
    server = await startServer({ port, dataDir: server.dataDir, args });
    const transcribed = await until(async () => ((await stage('transcribe'))?.status === 'completed' ? stage('transcribe') : null),
      'the transcription after the restart');
    assert.equal(transcribed.attempts, 2, 'the killed run and the one after the restart');
    const transcript = await (await fetch(`${server.url}/api/v1/sessions/${session.session_id}/transcript`,
      { headers: { Authorization: `Bearer ${API_KEY}` } })).json();
    const segments = transcript.recordings[0].transcript.segments;
    assert.ok(segments.length > 0, 'PocketSphinx heard the speech');
    for (let i = 1; i < segments.length; i++) assert.ok(segments[i].start_ms >= segments[i - 1].end_ms, 'one transcript, not two interleaved');
    const completed = await until(() => receiver.attempts.find((a) => a.type === 'transcript.completed'), 'transcript.completed');
    await sleep(1000);
    const all = receiver.attempts.filter((a) => a.type === 'transcript.completed');
    assert.equal(new Set(all.map((a) => a.id)).size, 1, 'one webhook-id');
    assert.ok(!completed.verified?.error);
    assert.equal(completed.verified.data.segments, segments.length);
    server.remove();
  } finally {
    await receiver.close();
    await server.stop();
  }
});
