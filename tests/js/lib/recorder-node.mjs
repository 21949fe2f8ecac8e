// Runs modules of web/recorder/ under node for unit tests, without a browser: an in-memory
// IndexedDB (fake-indexeddb) behind the real ChunkStore, `self` as the browser's global scope
// (retry.js listens for 'online' on it, tus-client.js takes WebCrypto from it), and small HTTP
// servers whose answers a test scripts. Import this before the modules under test.
import 'fake-indexeddb/auto';
import http from 'node:http';

if (typeof globalThis.self === 'undefined') {
  const scope = new EventTarget();
  globalThis.self = globalThis;
  globalThis.addEventListener = scope.addEventListener.bind(scope);
  globalThis.removeEventListener = scope.removeEventListener.bind(scope);
  globalThis.dispatchEvent = scope.dispatchEvent.bind(scope);
}

// An HTTP server on a free port of 127.0.0.1. `answer(request)` gets {method, url, headers, body:
// Buffer} and returns the response {status, headers?, json?} or 'drop': the connection is closed
// without an answer (what a client sees when the network fails after the server got the request).
// `requests` lists every request, in order.
export async function scriptedServer(answer) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const request = { method: req.method, url: req.url, headers: req.headers, body };
    requests.push(request);
    const reply = await answer(request);
    if (reply === 'drop') {
      req.socket.destroy();
      return;
    }
    const payload = reply.json === undefined ? '' : JSON.stringify(reply.json);
    res.writeHead(reply.status, { ...(payload ? { 'Content-Type': 'application/json' } : {}), ...reply.headers });
    res.end(payload);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

// A proxy in front of `target` (an http://host:port origin). `fault(request)` (method, url,
// headers; no body) may return 'drop-answer': the request reaches the target, which acts on it,
// but its answer is thrown away and the client's connection closed (a response lost on the way
// back); or a response {status, json?} given instead of asking the target at all. `requests`
// lists what passed, each with the status the client got (null when it got none).
export async function faultyProxy(target, fault = () => null) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, url: req.url, headers: req.headers, status: null };
    requests.push(entry);
    const action = fault(entry);
    if (action && action !== 'drop-answer') {
      req.resume();
      entry.status = action.status;
      res.writeHead(action.status, action.json ? { 'Content-Type': 'application/json' } : {});
      res.end(action.json ? JSON.stringify(action.json) : '');
      return;
    }
    const upstream = http.request(new URL(req.url, target), { method: req.method, headers: req.headers }, (up) => {
      if (action === 'drop-answer') {
        up.resume();
        up.on('end', () => req.socket.destroy());
        return;
      }
      entry.status = up.statusCode;
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

export async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

// Resolves once `predicate()` is true (polled), or rejects after `timeoutMs`.
export async function until(predicate, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
