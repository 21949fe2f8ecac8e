// The recorder's hand-written tus client (web/recorder/tus-client.js) and the Uploader that drives
// it (web/recorder/uploader.js), under node, no browser:
//   - against @tus/server (the reference server, in process): creation with deferred length,
//     PATCH chunks, HEAD to resume from another client, the final PATCH that sets Upload-Length,
//     an empty final PATCH, a stale offset (409);
//   - against a scripted server: how every answer maps to the recorder's errors (transient or not);
//   - the Uploader over the real ChunkStore (in-memory IndexedDB) and @tus/server behind a proxy
//     that loses answers and fails requests: a lost answer costs one 409 and a HEAD, never a byte
//     sent twice into the file; transient failures are retried; a refusal ends the upload.
// Run: node --test tests/js/tus_client.test.mjs
import { faultyProxy, listen, scriptedServer } from './lib/recorder-node.mjs';

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';

import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

import { ChunkStore } from '../../web/recorder/chunk-store.js';
import { ServerUnreachableError, UploadRejectedError } from '../../web/recorder/errors.js';
import { Retry } from '../../web/recorder/retry.js';
import { OffsetConflict, TusClient, encodeMetadata } from '../../web/recorder/tus-client.js';
import { Uploader, isGone } from '../../web/recorder/uploader.js';
import { tempDir } from './lib/media.mjs';

const TOKEN = 'upload-token-for-tests';

// @tus/server with its FileStore in a fresh folder, on a free port.
async function startTusServer() {
  const directory = tempDir('tus-server-');
  const tus = new Server({ path: '/files', datastore: new FileStore({ directory }) });
  const server = http.createServer((req, res) => tus.handle(req, res));
  const url = await listen(server);
  return {
    url, directory,
    // The bytes and the metadata @tus/server stored for the upload at `uploadUrl`.
    file: (uploadUrl) => fs.readFileSync(`${directory}/${idOf(uploadUrl)}`),
    info: (uploadUrl) => JSON.parse(fs.readFileSync(`${directory}/${idOf(uploadUrl)}.json`, 'utf8')),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

const idOf = (uploadUrl) => new URL(uploadUrl).pathname.split('/').pop();

test('against @tus/server: create with deferred length, PATCH chunks, HEAD from a new client, final PATCH with Upload-Length', async () => {
  const tus = await startTusServer();
  try {
    const data = randomBytes(300_000);
    const chunks = [data.subarray(0, 100_000), data.subarray(100_000, 250_000), data.subarray(250_000)];
    const client = new TusClient({ endpoint: `${tus.url}/files/`, token: TOKEN });
    const url = await client.create({ kind: 'camera', filename: 'camera-part1.webm', candidate: 'Zoë Ødegård',
      part: 1, continuation_of: null });
    assert.ok(url.startsWith(`${tus.url}/files/`), url);
    assert.deepEqual(await client.head(url), { offset: 0, length: null });

    let offset = await client.patch(url, 0, chunks[0]);
    assert.equal(offset, 100_000);
    offset = await client.patch(url, offset, chunks[1]);
    assert.equal(offset, 250_000);

    // A page opened later resumes from the server's offset; the length is still deferred.
    const resumed = new TusClient({ endpoint: `${tus.url}/files/`, token: TOKEN });
    assert.deepEqual(await resumed.head(url), { offset: 250_000, length: null });
    offset = await resumed.patch(url, 250_000, chunks[2], { finalLength: data.length });
    assert.equal(offset, data.length);
    assert.deepEqual(await resumed.head(url), { offset: data.length, length: data.length });

    assert.ok(tus.file(url).equals(data), 'the stored file is the bytes sent, in order');
    // Metadata as UTF-8 in base64; null values are left out.
    assert.deepEqual(tus.info(url).metadata,
      { kind: 'camera', filename: 'camera-part1.webm', candidate: 'Zoë Ødegård', part: '1' });
  } finally {
    await tus.close();
  }
});

test('against @tus/server: an empty final PATCH declares the length of an upload whose bytes are all there', async () => {
  const tus = await startTusServer();
  try {
    const data = randomBytes(50_000);
    const client = new TusClient({ endpoint: `${tus.url}/files/`, token: TOKEN });
    const url = await client.create({ kind: 'screen' });
    assert.equal(await client.patch(url, 0, data), data.length);
    assert.equal(await client.patch(url, data.length, new ArrayBuffer(0), { finalLength: data.length }), data.length);
    assert.deepEqual(await client.head(url), { offset: data.length, length: data.length });
    assert.ok(tus.file(url).equals(data));
  } finally {
    await tus.close();
  }
});

test('against @tus/server: a PATCH at a stale offset is a transient OffsetConflict, and nothing is written', async () => {
  const tus = await startTusServer();
  try {
    const client = new TusClient({ endpoint: `${tus.url}/files/`, token: TOKEN });
    const url = await client.create({ kind: 'camera' });
    await client.patch(url, 0, Buffer.from('first chunk'));
    const err = await client.patch(url, 0, Buffer.from('first chunk again')).then(() => null, (e) => e);
    assert.ok(err instanceof OffsetConflict, `got ${err}`);
    assert.equal(err.transient, true);
    assert.deepEqual(await client.head(url), { offset: 11, length: null });
    assert.equal(tus.file(url).toString(), 'first chunk');

    const gone = await client.head(`${tus.url}/files/no-such-upload`).then(() => null, (e) => e);
    assert.ok(gone instanceof UploadRejectedError && gone.status === 404 && isGone(gone), `got ${gone}`);
  } finally {
    await tus.close();
  }
});

test('the requests carry tus 1.0.0, the bearer token, Upload-Metadata in base64 and a SHA-1 Upload-Checksum', async () => {
  const server = await scriptedServer(({ method }) => (method === 'POST'
    ? { status: 201, headers: { Location: '/files/abc' } }
    : { status: 204, headers: { 'Upload-Offset': '5' } }));
  try {
    const client = new TusClient({ endpoint: `${server.url}/files/`, token: TOKEN });
    const url = await client.create({ kind: 'camera', name: 'Zoë', skipped: undefined, none: null });
    assert.equal(url, `${server.url}/files/abc`, 'a relative Location resolves against the endpoint');
    assert.equal(await client.patch(url, 0, Buffer.from('hello')), 5);
    const [create, patch] = server.requests;
    for (const r of [create, patch]) {
      assert.equal(r.headers['tus-resumable'], '1.0.0');
      assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
    }
    assert.equal(create.headers['upload-defer-length'], '1');
    assert.equal(create.headers['upload-metadata'], `kind ${b64('camera')},name ${b64('Zoë')}`);
    assert.equal(encodeMetadata({ a: 1, b: null }), `a ${b64('1')}`);
    assert.equal(patch.headers['upload-offset'], '0');
    assert.equal(patch.headers['content-type'], 'application/offset+octet-stream');
    assert.equal(patch.headers['upload-checksum'], `sha1 ${createHash('sha1').update('hello').digest('base64')}`);
    assert.equal(patch.body.toString(), 'hello');
  } finally {
    await server.close();
  }
});

const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');

// What each answer becomes: the uploader retries the transient ones and gives up on the others.
test('error mapping: no answer, 5xx, 429, 408 and 460 are transient; 409 to a PATCH is an OffsetConflict; other 4xx are refusals', async () => {
  let reply;
  const server = await scriptedServer(() => reply);
  try {
    const client = new TusClient({ endpoint: `${server.url}/files/`, token: TOKEN });
    const outcome = async (r) => {
      reply = r;
      const err = await client.patch(`${server.url}/files/x`, 0, Buffer.from('x')).then(() => null, (e) => e);
      assert.ok(err, `${JSON.stringify(r)} must fail`);
      return { type: err.constructor.name, transient: err.transient === true, status: err.status, serverCode: err.serverCode };
    };
    const transient = { type: 'ServerUnreachableError', transient: true, status: undefined, serverCode: undefined };
    assert.deepEqual(await outcome('drop'), transient);
    for (const status of [500, 502, 503, 429, 408, 460]) {
      assert.deepEqual(await outcome({ status, json: { error: 'x', message: 'y' } }), transient, `HTTP ${status}`);
    }
    assert.deepEqual(await outcome({ status: 409, json: { error: 'offset_mismatch', message: 'no' } }),
      { type: 'OffsetConflict', transient: true, status: undefined, serverCode: undefined });
    for (const [status, code] of [[400, 'invalid_upload_offset'], [403, 'foreign_upload'], [404, 'upload_not_found'],
      [410, 'upload_expired'], [413, 'upload_too_large']]) {
      assert.deepEqual(await outcome({ status, json: { error: code, message: 'refused' } }),
        { type: 'UploadRejectedError', transient: false, status, serverCode: code }, `HTTP ${status}`);
    }
    // Without a JSON body (HEAD answers have none) the code is made from the status.
    assert.deepEqual(await outcome({ status: 401 }),
      { type: 'UploadRejectedError', transient: false, status: 401, serverCode: 'http_401' });

    // A creation has no offset to conflict with: its 409 (the interview ended) is a refusal.
    reply = { status: 409, json: { error: 'session_ended', message: 'the interview has ended' } };
    const ended = await client.create({ kind: 'camera' }).then(() => null, (e) => e);
    assert.ok(ended instanceof UploadRejectedError && ended.serverCode === 'session_ended' && !ended.transient, `got ${ended}`);
    assert.match(ended.message, /interview has already ended/);

    reply = { status: 201 };  // a creation without Location
    const err = await client.create({ kind: 'camera' }).then(() => null, (e) => e);
    assert.ok(err instanceof UploadRejectedError && err.serverCode === 'no_location', `got ${err}`);
  } finally {
    await server.close();
  }
});

// ---- the Uploader over the real ChunkStore ----

let dbCount = 0;

// A stored recording of `chunks` (the first is the WebM header), stopped: its upload is to be
// created, filled and completed.
async function storedRecording(chunks) {
  const store = await ChunkStore.open(`tus-client-test-${++dbCount}`);
  const id = `rec-${dbCount}`;
  await store.addRecording({ id, sessionId: 'session-1', kind: 'camera', part: 1, continuationOf: null, uploadUrl: null,
    state: 'recording', storedChunks: 0, storedBytes: 0, zeroMs: null, startMs: null, endMs: null, createdAt: Date.now() });
  for (const [i, chunk] of chunks.entries()) {
    await store.appendChunk(id, i, chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength),
      { endMs: 1000 * (i + 1), startMs: 1000, zeroMs: 0 });
  }
  await store.updateRecording(id, { state: 'stopped' });
  return { store, id };
}

function startUploader(store, id, endpoint) {
  const transients = [];
  const uploader = new Uploader({ store, tus: new TusClient({ endpoint, token: TOKEN }), recordingId: id,
    onProgress: () => {}, onTransient: (err) => transients.push(err) });
  uploader.retry = new Retry({ baseMs: 20, maxMs: 100 });  // the run loop reads it only after a failure
  uploader.finish();
  return { uploader, transients };
}

// uploader.done, or a failure after `ms`: then the uploader is closed, so that a run loop that
// never ends (a regression) fails the test instead of keeping the process alive.
function finished(uploader, ms = 10_000) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      uploader.close();
      reject(new Error(`the upload did not finish within ${ms} ms`));
    }, ms);
  });
  return Promise.race([uploader.done, deadline]).finally(() => clearTimeout(timer));
}

const chunksOf = (data, size) => Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size));

test('Uploader: a PATCH whose answer was lost is resynced with HEAD after the 409, and no byte is sent twice into the file', async () => {
  const tus = await startTusServer();
  const data = randomBytes(240_000);
  let patches = 0;
  // The second PATCH reaches @tus/server, which appends it; its answer never reaches the client.
  const proxy = await faultyProxy(tus.url, ({ method }) => (method === 'PATCH' && ++patches === 2 ? 'drop-answer' : null));
  try {
    const { store, id } = await storedRecording(chunksOf(data, 40_000));
    const { uploader, transients } = startUploader(store, id, `${proxy.url}/files/`);
    const rec = await finished(uploader);
    assert.equal(rec.state, 'complete');
    assert.equal(await store.countChunks(), 0, 'every chunk was acknowledged and deleted');
    assert.ok(tus.file(rec.uploadUrl).equals(data), 'the server has the recording, byte for byte');

    // The lost answer, the same PATCH again (409: the server is past it), HEAD, then on from there.
    const log = proxy.requests.map((r) => [r.method, r.headers['upload-offset'], r.status ?? 'lost'].filter((x) => x !== undefined).join(' '));
    assert.deepEqual(log.slice(0, 7), ['POST 201', 'PATCH 0 204', 'PATCH 40000 lost', 'PATCH 40000 409', 'HEAD 200',
      'PATCH 80000 204', 'PATCH 120000 204'], log.join('\n'));
    assert.equal(transients.map((e) => e.constructor.name).join(), 'ServerUnreachableError,OffsetConflict');
    assert.equal(uploader.lastError, null, 'healthy again');
    assert.equal(uploader.retry.attempt, 0, 'the backoff starts over after a success');
  } finally {
    await proxy.close();
    await tus.close();
  }
});

test('Uploader: transient failures (503, 429, no answer) are retried with backoff until the upload completes', async () => {
  const tus = await startTusServer();
  const data = randomBytes(120_000);
  const faults = [{ status: 503, json: { error: 'unavailable', message: 'busy' } }, { status: 429 }, 'drop'];
  let patches = 0;
  const proxy = await faultyProxy(tus.url, ({ method }) => {
    if (method !== 'PATCH' || ++patches < 2 || !faults.length) return null;
    const fault = faults.shift();
    return fault === 'drop' ? 'drop-answer' : fault;
  });
  try {
    const { store, id } = await storedRecording(chunksOf(data, 30_000));
    const { uploader, transients } = startUploader(store, id, `${proxy.url}/files/`);
    const rec = await finished(uploader);
    assert.equal(rec.state, 'complete');
    assert.ok(tus.file(rec.uploadUrl).equals(data));
    assert.deepEqual(transients.map((e) => e.constructor.name),
      ['ServerUnreachableError', 'ServerUnreachableError', 'ServerUnreachableError', 'OffsetConflict']);
    assert.ok(transients.every((e) => e.transient === true && e instanceof Error));
    assert.ok(transients[0] instanceof ServerUnreachableError && /HTTP 503 unavailable/.test(transients[0].detail));
  } finally {
    await proxy.close();
    await tus.close();
  }
});

test('Uploader: a refusal (413) is not retried: done rejects with the UploadRejectedError and the chunks stay stored', async () => {
  const tus = await startTusServer();
  let patches = 0;
  const proxy = await faultyProxy(tus.url, ({ method }) => (method === 'PATCH' && ++patches === 2
    ? { status: 413, json: { error: 'request_too_large', message: 'too big' } } : null));
  try {
    const { store, id } = await storedRecording(chunksOf(randomBytes(90_000), 30_000));
    const { uploader, transients } = startUploader(store, id, `${proxy.url}/files/`);
    const err = await finished(uploader).then(() => null, (e) => e);
    assert.ok(err instanceof UploadRejectedError && err.status === 413 && err.serverCode === 'request_too_large', `got ${err}`);
    assert.equal(isGone(err), false, 'the upload still exists on the server');
    assert.deepEqual(transients, []);
    assert.equal(proxy.requests.filter((r) => r.method === 'PATCH').length, 2, 'not sent again');
    assert.equal(await store.countChunks(), 2, 'the refused chunk and the next stay stored');
  } finally {
    await proxy.close();
    await tus.close();
  }
});

test('Uploader: a recording with no media after its header is completed without an upload', async () => {
  const { store, id } = await storedRecording([Buffer.from('webm header')]);
  const server = await scriptedServer(() => ({ status: 500 }));
  try {
    const { uploader } = startUploader(store, id, `${server.url}/files/`);
    const rec = await finished(uploader);
    assert.equal(rec.state, 'complete');
    assert.equal(rec.uploadUrl, null);
    assert.deepEqual(server.requests, []);
    assert.equal(await store.countChunks(), 0, 'the header chunk is dropped');
  } finally {
    await server.close();
  }
});
