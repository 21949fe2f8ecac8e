// The recorder's event queue (web/recorder/events.js: markers and client events stored in the
// ChunkStore, then sent in batches) and its backoff (web/recorder/retry.js), under node, no
// browser: the real ChunkStore over an in-memory IndexedDB, and a scripted HTTP server in the
// place of POST /api/v1/sessions/{id}/events.
// Run: node --test tests/js/event_queue.test.mjs
import { faultyProxy, scriptedServer, until } from './lib/recorder-node.mjs';

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ChunkStore } from '../../web/recorder/chunk-store.js';
import { MarkerRejectedError, ServerUnreachableError, UploadRejectedError } from '../../web/recorder/errors.js';
import { EventSender, MAX_DATA_BYTES, MAX_LABEL_BYTES, checkedEvent } from '../../web/recorder/events.js';
import { Retry } from '../../web/recorder/retry.js';
import { API_KEY, createSession, startServer } from './lib/browser.mjs';

const SESSION = 'session-1';
const TOKEN = 'upload-token-for-tests';
const UPLOAD_URL = 'http://127.0.0.1:9/files/upload-1';
let dbCount = 0;

// A store holding a recording (with its upload URL unless `uploadUrl` says otherwise) and one
// stored marker per label, in that order; a sender started on it against a server answering with
// `answer`. Returns what the tests look at; `stop()` ends both.
async function start(labels, answer, { uploadUrl = UPLOAD_URL } = {}) {
  const store = await ChunkStore.open(`event-queue-test-${++dbCount}`);
  await store.addRecording({ id: 'rec-1', sessionId: SESSION, kind: 'camera', part: 1, continuationOf: null, uploadUrl,
    state: 'recording', storedChunks: 0, storedBytes: 0, zeroMs: 0, startMs: 0, endMs: null, createdAt: Date.now() });
  for (const [i, label] of labels.entries()) {
    const event = { id: `event-${i}`, type: 'marker', label, data: { i }, recording_time_ms: 1000 * i,
      wall_time: new Date(1000 * i).toISOString() };
    await store.addEvent({ id: event.id, sessionId: SESSION, recordingId: 'rec-1', event, storedAt: i });
  }
  const server = await scriptedServer(answer);
  const transients = [];
  const rejections = [];
  const sender = new EventSender({ store, sessionId: SESSION, token: TOKEN,
    endpoint: `${server.url}/api/v1/sessions/${SESSION}/events`,
    onTransient: (err) => transients.push(err), onRejected: (err) => rejections.push(err) });
  sender.retry = new Retry({ baseMs: 20, maxMs: 100 });  // the run loop reads it only after a failure
  return {
    store, server, sender, transients, rejections,
    // The events of each request, as [label, upload_url] pairs.
    batches: () => server.requests.map((r) => JSON.parse(r.body).events.map((e) => [e.label, e.upload_url ?? null])),
    stop: async () => {
      sender.close();
      await sender.done;
      await server.close();
      store.close();
    },
  };
}

const labelsOf = (request) => JSON.parse(request.body).events.map((e) => e.label);

test('stored events go out in one batch with their recording\'s upload URL, and are deleted once the server answered 201', async () => {
  const q = await start(['q1_start', 'q1_end', 'q2_start'], () => ({ status: 201, json: { stored: 3 } }));
  try {
    assert.equal(await q.sender.drained(), true);
    assert.deepEqual(q.batches(), [[['q1_start', UPLOAD_URL], ['q1_end', UPLOAD_URL], ['q2_start', UPLOAD_URL]]]);
    const [request] = q.server.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, `/api/v1/sessions/${SESSION}/events`);
    assert.equal(request.headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(JSON.parse(request.body).events[1], { id: 'event-1', type: 'marker', label: 'q1_end', data: { i: 1 },
      recording_time_ms: 1000, wall_time: '1970-01-01T00:00:01.000Z', upload_url: UPLOAD_URL });
    assert.equal(await q.store.countEvents(SESSION), 0);
    assert.equal(q.sender.pending, 0);
    assert.deepEqual([q.transients, q.rejections], [[], []]);
  } finally {
    await q.stop();
  }
});

test('retries: no answer, 503, 429 and 408 are retried with backoff and reported as transient, until the server takes the batch', async () => {
  const answers = ['drop', { status: 503, json: { error: 'unavailable', message: 'busy' } }, { status: 429 }, { status: 408 }];
  const q = await start(['q1_start', 'q1_end'], () => answers.shift() ?? { status: 201 });
  try {
    assert.equal(await q.sender.drained(), true);
    assert.equal(q.server.requests.length, 5);
    assert.equal(q.transients.length, 4);
    assert.ok(q.transients.every((e) => e instanceof ServerUnreachableError && e.transient === true && !e.fatal));
    assert.match(q.transients[1].detail, /HTTP 503 unavailable: busy/);
    assert.equal(q.sender.lastError, null, 'healthy again');
    assert.equal(q.sender.retry.attempt, 0, 'the backoff starts over after a success');
    assert.equal(await q.store.countEvents(SESSION), 0);
    assert.deepEqual(q.rejections, []);
  } finally {
    await q.stop();
  }
});

test('idempotent resend: a batch whose answer was lost is sent again with the same event ids, and stays stored until the 201', async () => {
  const storedAtResend = [];
  let requests = 0;
  const q = await start(['q1_start', 'q1_end', 'q2_start'], async () => {
    if (++requests === 1) return 'drop';  // the server got it; the answer is lost
    storedAtResend.push(await q.store.countEvents(SESSION));
    return { status: 201 };
  });
  try {
    assert.equal(await q.sender.drained(), true);
    const [first, second] = q.server.requests.map((r) => JSON.parse(r.body).events);
    assert.equal(q.server.requests.length, 2);
    assert.deepEqual(second, first, 'the same events, ids included: the server stores each id once');
    assert.deepEqual(first.map((e) => e.id), ['event-0', 'event-1', 'event-2']);
    assert.deepEqual(storedAtResend, [3], 'nothing was deleted on the lost answer');
    assert.equal(await q.store.countEvents(SESSION), 0);
  } finally {
    await q.stop();
  }
});

test('a refused batch is resent one by one: only the event the server refuses on its own is dropped (MarkerRejectedError)', async () => {
  const accepted = [];
  const q = await start(['q1_start', 'bad', 'q2_start'], ({ body }) => {
    const labels = JSON.parse(body).events.map((e) => e.label);
    if (labels.includes('bad')) return { status: 400, json: { error: 'invalid_events', message: 'label is bad' } };
    accepted.push(...labels);
    return { status: 201 };
  });
  try {
    assert.equal(await q.sender.drained(), true);
    assert.deepEqual(q.server.requests.map(labelsOf), [['q1_start', 'bad', 'q2_start'], ['q1_start'], ['bad'], ['q2_start']]);
    assert.deepEqual(accepted, ['q1_start', 'q2_start']);
    assert.equal(q.rejections.length, 1);
    const [rejected] = q.rejections;
    assert.ok(rejected instanceof MarkerRejectedError, `got ${rejected}`);
    assert.deepEqual([rejected.label, rejected.status, rejected.serverCode, rejected.fatal], ['bad', 400, 'invalid_events', false]);
    assert.equal(await q.store.countEvents(SESSION), 0, 'the refused event is dropped, the others were acknowledged');
  } finally {
    await q.stop();
  }
});

test('404 upload_not_found: the event is sent again without upload_url (its session time still places it)', async () => {
  const q = await start(['q1_start'], ({ body }) => (JSON.parse(body).events[0].upload_url
    ? { status: 404, json: { error: 'upload_not_found', message: 'no such upload' } } : { status: 201 }));
  try {
    assert.equal(await q.sender.drained(), true);
    assert.deepEqual(q.batches(), [[['q1_start', UPLOAD_URL]], [['q1_start', null]]]);
    assert.deepEqual([q.transients, q.rejections], [[], []]);
  } finally {
    await q.stop();
  }
});

test('401 and 403: the token is refused, the sender stops with UploadRejectedError and the events stay stored', async () => {
  for (const [status, code] of [[401, 'invalid_upload_token'], [403, 'foreign_session']]) {
    const q = await start(['q1_start', 'q1_end'], () => ({ status, json: { error: code, message: 'refused' } }));
    try {
      assert.equal(await q.sender.drained(), false);
      await q.sender.done;  // the run loop ended by itself
      assert.equal(q.rejections.length, 1);
      assert.ok(q.rejections[0] instanceof UploadRejectedError && q.rejections[0].status === status &&
        q.rejections[0].serverCode === code, `got ${q.rejections[0]}`);
      assert.equal(q.server.requests.length, 1, 'not retried');
      assert.equal(await q.store.countEvents(SESSION), 2, 'kept for a page with a valid token');
    } finally {
      await q.stop();
    }
  }
});

test('a server without the events endpoint (404 not_found, 405): the events are kept and drained() does not wait for them', async () => {
  for (const [status, code] of [[404, 'not_found'], [405, 'method_not_allowed']]) {
    const q = await start(['q1_start', 'q1_end'], () => ({ status, json: { error: code, message: 'no route' } }));
    try {
      assert.equal(await q.sender.drained(), false);
      assert.equal(q.sender.unavailable, true);
      assert.equal(q.sender.pending, 2);
      assert.equal(await q.store.countEvents(SESSION), 2);
      assert.deepEqual([q.transients, q.rejections], [[], []]);
    } finally {
      await q.stop();
    }
  }
});

test('an event waits until its recording\'s upload exists, then goes out with its URL', async () => {
  const q = await start(['q1_start'], () => ({ status: 201 }), { uploadUrl: null });
  try {
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(q.server.requests.length, 0, 'not sent before the upload is created');
    await q.store.updateRecording('rec-1', { uploadUrl: UPLOAD_URL });
    q.sender.wake();
    assert.equal(await q.sender.drained(), true);
    assert.deepEqual(q.batches(), [[['q1_start', UPLOAD_URL]]]);
  } finally {
    await q.stop();
  }
});

test('events stored while the sender is idle are sent once it is woken', async () => {
  const q = await start([], () => ({ status: 201 }));
  try {
    assert.equal(await q.sender.drained(), true);
    await until(() => q.sender.idle, 'the sender to idle');
    const event = { id: 'late', type: 'client_event', label: 'tab_hidden', data: {}, recording_time_ms: 5, wall_time: 'x' };
    await q.store.addEvent({ id: 'late', sessionId: SESSION, recordingId: null, event, storedAt: 1 });
    q.sender.wake();
    await until(() => q.server.requests.length === 1, 'the event to be sent');
    assert.equal(await q.sender.drained(), true);
    assert.deepEqual(q.batches(), [[['tab_hidden', null]]]);
  } finally {
    await q.stop();
  }
});

// ---- against the real server ----

// recorder-server with a session; the server's stored markers of that session.
async function withRecorderServer(body) {
  const server = await startServer();
  try {
    const session = await createSession(server);
    const markers = async () => {
      const res = await fetch(`${server.url}/api/v1/sessions/${session.session_id}`, { headers: { Authorization: `Bearer ${API_KEY}` } });
      return (await res.json()).markers;
    };
    await body(server, session, markers);
    server.remove();
  } finally {
    await server.stop();
  }
}

test('against recorder-server: the event limits are the server\'s: what checkedEvent refuses the server refuses, and the rest it stores', async () => {
  await withRecorderServer(async (server, session) => {
    const dataOf = (jsonBytes) => ({ text: 'x'.repeat(jsonBytes - '{"text":""}'.length) });
    const cases = [
      ['a label of the most bytes', 'é'.repeat(MAX_LABEL_BYTES / 2), {}],
      ['a label one byte over', `${'é'.repeat(MAX_LABEL_BYTES / 2)}x`, {}],
      ['data of the most bytes', 'q1', dataOf(MAX_DATA_BYTES)],
      ['data one byte over', 'q1', dataOf(MAX_DATA_BYTES + 1)],
      ['data not an object', 'q1', [1, 2]],
      ['an empty label', '', {}],
    ];
    for (const [i, [what, label, data]] of cases.entries()) {
      let client = 'stored';
      try {
        checkedEvent(label, data, 'marker');
      } catch (err) {
        client = err.code;
      }
      const res = await fetch(`${server.url}/api/v1/sessions/${session.session_id}/events`, {
        method: 'POST', headers: { Authorization: `Bearer ${session.upload_token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ events: [{ id: `limit-${i}`, type: 'marker', label, data, recording_time_ms: i }] }),
      });
      const serverVerdict = res.status === 201 ? 'stored' : `HTTP ${res.status}`;
      assert.deepEqual([what, client, serverVerdict], [what, ...(client === 'stored' ? ['stored', 'stored'] : ['invalid_use', 'HTTP 400'])]);
    }
  });
});

test('against recorder-server: a batch resent after its answer was lost is stored once', async () => {
  await withRecorderServer(async (server, session, markers) => {
    let posts = 0;
    const proxy = await faultyProxy(server.url, ({ method }) => (method === 'POST' && ++posts === 1 ? 'drop-answer' : null));
    const store = await ChunkStore.open(`event-queue-test-${++dbCount}`);
    const sender = new EventSender({ store, sessionId: session.session_id, token: session.upload_token,
      endpoint: `${proxy.url}/api/v1/sessions/${session.session_id}/events`, onTransient: () => {}, onRejected: () => {} });
    sender.retry = new Retry({ baseMs: 20, maxMs: 100 });
    try {
      for (const [i, label] of ['q1_start', 'q1_end', 'q2_start'].entries()) {
        const event = { id: `event-${i}`, type: 'marker', label, data: {}, recording_time_ms: 1000 * i, wall_time: 'x' };
        await store.addEvent({ id: event.id, sessionId: session.session_id, recordingId: null, event, storedAt: i });
      }
      sender.wake();
      await until(async () => (await store.countEvents(session.session_id)) === 0, 'the events to be acknowledged');
      assert.equal(posts, 2, 'sent twice: the first answer was lost');
      assert.deepEqual((await markers()).map((m) => [m.label, m.recording_time_ms]),
        [['q1_start', 0], ['q1_end', 1000], ['q2_start', 2000]]);
    } finally {
      sender.close();
      await sender.done;
      await proxy.close();
      store.close();
    }
  });
});

// ---- the backoff ----

// Whether `promise` has settled, after the callbacks already due have run.
async function settled(promise) {
  let done = false;
  promise.then(() => { done = true; });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

test('Retry: each wait is half its ceiling plus a random share of the other half; the ceiling doubles up to the maximum', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  t.mock.method(Math, 'random', () => 0.5);
  const retry = new Retry({ baseMs: 100, maxMs: 500 });
  for (const expected of [75, 150, 300, 375, 375]) {  // ceilings 100, 200, 400, 500, 500
    const wait = retry.wait();
    t.mock.timers.tick(expected - 1);
    assert.equal(await settled(wait), false, `still waiting at ${expected - 1} ms`);
    t.mock.timers.tick(1);
    assert.equal(await settled(wait), true, `done at ${expected} ms`);
  }
  assert.equal(retry.attempt, 5);
  retry.succeeded();
  const wait = retry.wait();
  t.mock.timers.tick(75);
  assert.equal(await settled(wait), true, 'after a success the backoff starts over');
});

test('Retry: the browser coming back online, or the abort signal, ends a wait at once', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const retry = new Retry({ baseMs: 10_000, maxMs: 10_000 });
  const online = retry.wait();
  assert.equal(await settled(online), false);
  globalThis.dispatchEvent(new Event('online'));  // `self` of the recorder's modules (lib/recorder-node.mjs)
  assert.equal(await settled(online), true);

  const abort = new AbortController();
  const aborted = retry.wait(abort.signal);
  assert.equal(await settled(aborted), false);
  abort.abort();
  assert.equal(await settled(aborted), true);
});
