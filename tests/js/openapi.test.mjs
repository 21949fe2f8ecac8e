// The host API's OpenAPI 3.1 document (web/openapi.json, served at /openapi.json) against the
// running server: every response the test provokes (successes, each documented error, every
// processing state a poll sees, the transcript as JSON and WebVTT) must be documented for its
// route, method and status and match its schema, whose objects allow no undocumented property;
// and every documented operation must have answered with its success status. So a field, a status
// or a route added to the code without the document fails here, and so does one the code dropped.
// Run: node --test tests/js/openapi.test.mjs   (RECORDER_SERVER_BIN overrides the binary)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import Ajv2020 from 'ajv/dist/2020.js';

import { API_KEY, sleep, startServer } from './lib/browser.mjs';
import { speechRecording, tusUpload } from './lib/hr.mjs';
import { repoDir } from './lib/media.mjs';

const doc = JSON.parse(fs.readFileSync(path.join(repoDir, 'web/openapi.json'), 'utf8'));

// The document's schemas, compiled by reference into it.
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
ajv.addVocabulary(['components']);  // the document's part that holds the schemas
ajv.addSchema({ $id: 'api', components: doc.components }, undefined, undefined, false);

// The documented operation for a concrete path ('/api/v1/sessions/abc' -> '/api/v1/sessions/{session_id}').
function operationOf(method, urlPath) {
  for (const [template, item] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(urlPath) && item[method]) return { template, operation: item[method] };
  }
  return null;
}

// The validator of a documented response's schema: its reference into the document, into 'api'.
function validatorFor(schema) {
  const validate = ajv.getSchema(`api${schema.$ref}`);
  assert.ok(validate, `no schema ${schema.$ref}`);
  return validate;
}

/** Every response checked, as "METHOD template status", to show what the run covered. */
const seen = new Set();

// Sends a request and checks its response against the document; returns {status, body, text}.
async function call(server, method, urlPath, { token = API_KEY, body, query = '' } = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${server.url}${urlPath}${query}`, { method: method.toUpperCase(), headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const found = operationOf(method, urlPath);
  assert.ok(found, `${method} ${urlPath} is not in the document`);
  const response = found.operation.responses[String(res.status)];
  assert.ok(response, `${method} ${found.template} answered ${res.status}, which the document does not list: ${text}`);
  seen.add(`${method} ${found.template} ${res.status}`);
  if (res.status === 204) {
    assert.equal(text, '', `${method} ${found.template} 204 has no body`);
    assert.ok(!response.content, `${method} ${found.template} 204 is documented without a body`);
    return { status: res.status, body: null, text };
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0];
  const content = response.content?.[type];
  assert.ok(content, `${method} ${found.template} ${res.status} sent ${type}, which the document does not list`);
  let parsed = text;
  if (type === 'application/json') {
    parsed = JSON.parse(text);
    const validate = validatorFor(content.schema);
    assert.ok(validate(parsed), `${method} ${found.template} ${res.status}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 2000)}`);
  }
  return { status: res.status, body: parsed, text };
}

test('the OpenAPI document is served and matches every response of the host API, successes and errors', { timeout: 180_000 }, async () => {
  const server = await startServer();
  try {
    const served = await fetch(`${server.url}/openapi.json`);
    assert.equal(served.status, 200);
    assert.deepEqual(await served.json(), doc, 'the server serves the document in the repository');
    assert.equal(doc.openapi, '3.1.0');
    for (const name of Object.keys(doc.components.schemas)) ajv.getSchema(`api#/components/schemas/${name}`);

    // Sessions: created (with questions), refused with the reason, without a key.
    const questions = [{ id: 'intro', text: 'Introduce yourself.', max_seconds: 60 }, { id: 'design', text: 'Design a cache.' }];
    const created = await call(server, 'post', '/api/v1/sessions', { body: { candidate_name: 'Ada Lovelace', job: 'analyst', questions } });
    assert.equal(created.status, 201);
    const id = created.body.session_id;
    const other = (await call(server, 'post', '/api/v1/sessions', { body: { candidate_name: 'Bob Builder' } })).body;
    assert.equal((await call(server, 'post', '/api/v1/sessions', { body: { candidate_name: 'X', questions: [{ id: 'a b', text: 'x' }] } })).status, 400);
    assert.equal((await call(server, 'post', '/api/v1/sessions', { body: { candidate_name: 'X' }, token: null })).status, 401);
    assert.equal((await call(server, 'get', '/api/v1/sessions', { query: '?status=nope' })).status, 400);
    assert.equal((await call(server, 'get', '/api/v1/sessions', { token: 'wrong' })).status, 401);
    assert.equal((await call(server, 'get', '/api/v1/sessions/0123456789abcdef0123456789abcdef')).status, 404);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}`, { token: null })).status, 401);

    // Webhook endpoints of the host's pipeline: registered (the secret shown once), listed, deleted.
    const hook = await call(server, 'post', '/api/v1/webhooks', { body: { url: 'https://pipeline.example/hooks', events: ['session.completed'] } });
    assert.equal(hook.status, 201);
    assert.match(hook.body.secret, /^whsec_/);
    assert.equal((await call(server, 'post', '/api/v1/webhooks', { body: { url: 'ftp://pipeline.example' } })).status, 400);
    assert.equal((await call(server, 'post', '/api/v1/webhooks', { body: { url: 'https://x', events: ['nope'] } })).status, 400);
    assert.equal((await call(server, 'post', '/api/v1/webhooks', { body: { url: 'https://x' }, token: null })).status, 401);
    assert.deepEqual((await call(server, 'get', '/api/v1/webhooks')).body.webhooks.map((w) => w.id), [hook.body.id]);
    assert.equal((await call(server, 'get', '/api/v1/webhooks', { token: 'wrong' })).status, 401);
    assert.equal((await call(server, 'delete', `/api/v1/webhooks/${hook.body.id}`)).status, 204);
    assert.equal((await call(server, 'delete', `/api/v1/webhooks/${hook.body.id}`)).status, 404);
    assert.equal((await call(server, 'delete', `/api/v1/webhooks/${hook.body.id}`, { token: null })).status, 401);
    assert.deepEqual((await call(server, 'get', '/api/v1/webhooks')).body.webhooks, []);

    // The interview page's side, with the upload token.
    const token = created.body.upload_token;
    assert.deepEqual((await call(server, 'get', `/api/v1/sessions/${id}/questions`, { token })).body.questions.map((q) => q.id), ['intro', 'design']);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}/questions`, { token: other.upload_token })).status, 403);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}/questions`, { token: null })).status, 401);
    const marker = (ms, n) => ({ id: `q${n}`, type: 'marker', label: `question_${n}_start`, recording_time_ms: ms,
      data: { question: n, question_id: questions[n - 1].id, edge: 'start' } });
    assert.equal((await call(server, 'post', `/api/v1/sessions/${id}/events`, { token, body: { events: [marker(0, 1), marker(3000, 2)] } })).status, 201);
    assert.equal((await call(server, 'post', `/api/v1/sessions/${id}/events`, { token, body: { events: 'none' } })).status, 400);
    assert.equal((await call(server, 'post', `/api/v1/sessions/${id}/events`, { token: other.upload_token, body: { events: [] } })).status, 403);
    assert.equal((await call(server, 'post', `/api/v1/sessions/${id}/events`, { token: null, body: { events: [] } })).status, 401);

    // A recording with speech: every state its processing passes through matches the document.
    await tusUpload(server, created.body, speechRecording(), { kind: 'camera' });
    const statuses = new Set();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const session = (await call(server, 'get', `/api/v1/sessions/${id}`)).body;
      const pipeline = session.recordings[0]?.pipeline;
      if (pipeline) statuses.add(pipeline.status);
      if (pipeline?.status === 'completed' || pipeline?.status === 'failed') break;
      assert.ok(Date.now() < deadline, `still ${JSON.stringify(pipeline)}`);
      await sleep(100);
    }
    assert.ok(statuses.has('completed'), `the pipeline completed: ${[...statuses]}`);

    // The candidate ends the interview: the session completes, and takes no new upload.
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}`)).body.completed_at, null, 'not ended yet');
    assert.equal((await call(server, 'post', `/api/v1/sessions/${id}/end`, { token: other.upload_token })).status, 403);
    assert.equal((await call(server, 'post', `/api/v1/sessions/${id}/end`, { token: null })).status, 401);
    assert.equal((await call(server, 'post', `/api/v1/sessions/${id}/end`, { token })).status, 204);
    assert.equal((await call(server, 'post', `/api/v1/sessions/${id}/end`, { token })).status, 204, 'again: the same');
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}/questions`, { token })).body.ended, true);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${other.session_id}/questions`, { token: other.upload_token })).body.ended, false);
    for (;;) {
      const session = (await call(server, 'get', `/api/v1/sessions/${id}`)).body;
      assert.ok(session.ended_at > 0, 'ended');
      if (session.completed_at !== null) break;
      assert.ok(Date.now() < deadline, 'the session completes');
      await sleep(100);
    }
    assert.equal((await call(server, 'get', '/api/v1/sessions', { query: '?q=ada' })).body.total, 1);

    // The transcript: JSON, WebVTT, one recording's, and the errors.
    const transcript = await call(server, 'get', `/api/v1/sessions/${id}/transcript`);
    assert.ok(transcript.body.recordings[0].transcript.segments.length > 0, 'PocketSphinx heard the speech');
    assert.equal(transcript.body.answers.length, 2);
    const vtt = await call(server, 'get', `/api/v1/sessions/${id}/transcript`, { query: '?format=vtt' });
    assert.match(vtt.text, /^WEBVTT\n/);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}/transcript`, { query: '?format=srt' })).status, 400);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}/transcript`, { query: '?recording=999999' })).status, 404);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${other.session_id}/transcript`, { query: '?format=vtt' })).status, 404);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}/transcript`, { token: null })).status, 401);

    // The answer to question 2 as a WebM of its own; question 3 was never asked.
    const clip = await call(server, 'get', `/api/v1/sessions/${id}/answers/2/clip`);
    assert.equal(clip.status, 200);
    assert.ok(clip.text.length > 1000, 'a clip came');
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}/answers/3/clip`)).status, 404);
    assert.equal((await call(server, 'get', `/api/v1/sessions/${id}/answers/2/clip`, { token: null })).status, 401);

    // Every documented operation answered with its success status at least once.
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const success = Object.keys(operation.responses).find((s) => s.startsWith('2'));
        assert.ok(seen.has(`${method} ${template} ${success}`), `${method} ${template} was never seen answering ${success}`);
      }
    }
    server.remove();
  } finally {
    await server.stop();
  }
});
