// The durable local queue, in IndexedDB. Contract:
//   - a chunk is stored (transaction complete, durability 'strict') before anyone may send it;
//   - a chunk is deleted only after the server acknowledged its bytes (ackChunk);
//   - what the uploads need once storage is full only deletes (ackChunk, settleRecording's first
//     step): IndexedDB refuses writes over the origin's quota, never deletes, so what was stored
//     still uploads;
//   - a recording's record holds what a new page needs to resume: its upload URL, the bytes
//     stored and acknowledged, and whether the encoder finished it.
// Nothing here keeps chunk data in memory: readers get one chunk at a time.
//
// Stores:
//   sessions    {sessionId, server, zeroMs, parts, last, updatedAt}
//               parts: recordings created so far; last: {kind: id of its latest recording}
//   recordings  {id, sessionId, kind, part, continuationOf, uploadUrl, state, storedChunks,
//                storedBytes, zeroMs, startMs, endMs, createdAt}
//               acknowledged bytes are not counted: they end where the oldest stored chunk
//               begins (ackedBytes())
//               state: 'recording' (encoder running) | 'stopped' (all chunks stored, upload
//               still to finish) | 'complete' (the server has every byte and the final length)
//               | 'failed' (the server lost the upload; its chunks were dropped). Complete and
//               failed are settled: they hold no chunks and are pruned by the next page.
//   chunks      {recordingId, index, offset, data: ArrayBuffer, storedAt}   key [recordingId, index]
//   events      {id, sessionId, recordingId, event, storedAt}    markers waiting to be sent
// Failures: QuotaExceededError becomes StorageFullError; an unusable database (private mode,
// blocked site data) becomes StorageUnavailableError.
import { StorageFullError, StorageUnavailableError } from './errors.js';

/**
 * @typedef {{ sessionId: string, server: string, zeroMs: number | null, parts: number,
 *   last: Record<string, string>, updatedAt?: number }} SessionRecord
 */

const DB_NAME = 'interview-recorder';
const DB_VERSION = 1;

export class ChunkStore {
  static async open(name = DB_NAME) {
    let db;
    try {
      db = await request(indexedDB.open(name, DB_VERSION), (req) => {
        req.onupgradeneeded = () => {
          const d = req.result;
          d.createObjectStore('sessions', { keyPath: 'sessionId' });
          d.createObjectStore('recordings', { keyPath: 'id' }).createIndex('sessionId', 'sessionId');
          d.createObjectStore('chunks', { keyPath: ['recordingId', 'index'] });
          d.createObjectStore('events', { keyPath: 'id' }).createIndex('sessionId', 'sessionId');
        };
      });
    } catch (err) {
      throw new StorageUnavailableError(err);
    }
    return new ChunkStore(db);
  }

  constructor(db) {
    this.db = db;
  }

  close() {
    this.db.close();
  }

  getSession(sessionId) {
    return this.run(['sessions'], 'readonly', (s) => get(s.sessions, sessionId));
  }

  putSession(session) {
    return this.run(['sessions'], 'readwrite', (s) => void s.sessions.put({ ...session, updatedAt: Date.now() }));
  }

  addRecording(recording) {
    return this.run(['recordings'], 'readwrite', (s) => void s.recordings.add(recording));
  }

  getRecording(id) {
    return this.run(['recordings'], 'readonly', (s) => get(s.recordings, id));
  }

  // Applies `patch` to a stored recording and returns the result.
  updateRecording(id, patch) {
    return this.run(['recordings'], 'readwrite', async (s) => {
      const rec = { ...(await get(s.recordings, id)), ...patch };
      s.recordings.put(rec);
      return rec;
    });
  }

  // Settles a recording ('complete' or 'failed' in `patch`): deletes its remaining chunks, then
  // stores the new state. Returns the updated recording. With the quota exhausted the state may
  // not be stored: the recording is then returned settled anyway, and a later page, finding it
  // unsettled without chunks, settles it again from the server's answer.
  async settleRecording(id, patch) {
    await this.run(['chunks'], 'readwrite', (s) => void s.chunks.delete(IDBKeyRange.bound([id, 0], [id, Infinity])));
    try {
      return await this.updateRecording(id, patch);
    } catch (err) {
      if (!(err instanceof StorageFullError)) throw err;
      return { ...(await this.getRecording(id)), ...patch };
    }
  }

  // Bytes of the recording the server acknowledged: those before its oldest stored chunk.
  async ackedBytes(rec) {
    if (isSettled(rec)) return rec.storedBytes;
    return (await this.firstChunk(rec.id))?.offset ?? rec.storedBytes;
  }

  // Forgets what no page needs any more: the settled recordings of `sessionId` (except those that
  // stored events still name: their upload URL goes out with the events), and every other session
  // untouched for `keepMs` with nothing left to send, with its settled recordings.
  prune(sessionId, keepMs) {
    return this.run(['sessions', 'recordings', 'events'], 'readwrite', async (s) => {
      const events = await promised(s.events.getAll());
      const named = new Set(events.map((e) => e.recordingId));
      const pending = new Set(events.map((e) => e.sessionId));
      const recordings = await promised(s.recordings.getAll());
      for (const r of recordings) if (!isSettled(r)) pending.add(r.sessionId);
      const stale = new Set();
      for (const session of await promised(s.sessions.getAll())) {
        if (session.sessionId === sessionId || pending.has(session.sessionId)) continue;
        if (Date.now() - (session.updatedAt ?? 0) < keepMs) continue;
        stale.add(session.sessionId);
        s.sessions.delete(session.sessionId);
      }
      for (const r of recordings) {
        if (isSettled(r) && ((r.sessionId === sessionId && !named.has(r.id)) || stale.has(r.sessionId))) s.recordings.delete(r.id);
      }
    });
  }

  // How many chunks wait in the store, over all recordings (diagnostics and tests).
  countChunks() {
    return this.run(['chunks'], 'readonly', (s) => promised(s.chunks.count()));
  }

  recordingsOf(sessionId) {
    return this.run(['recordings'], 'readonly',
      (s) => promised(s.recordings.index('sessionId').getAll(sessionId)));
  }

  // Stores chunk `index` of a recording and advances its counters, in one transaction.
  // REQUIRES: index == the recording's storedChunks (chunks arrive in order, without gaps).
  // `endMs`: session-clock time of the last media in the chunk (null for the header);
  // `startMs` (the recording's start) and `zeroMs` (the session clock's zero) are stored with the
  // first chunk: both are known only once media flows. Returns the updated recording.
  /**
   * @param {string} recordingId @param {number} index @param {ArrayBuffer} data
   * @param {{ endMs?: number | null, startMs?: number | null, zeroMs?: number | null }} [times]
   */
  appendChunk(recordingId, index, data, { endMs = null, startMs = null, zeroMs = null } = {}) {
    return this.run(['recordings', 'chunks'], 'readwrite', async (s) => {
      const rec = await get(s.recordings, recordingId);
      if (!rec || rec.state !== 'recording' || rec.storedChunks !== index) {
        throw new Error(`chunk ${index} of ${recordingId} is out of order (stored ${rec?.storedChunks})`);
      }
      s.chunks.add({ recordingId, index, offset: rec.storedBytes, data, storedAt: Date.now() });
      rec.storedChunks = index + 1;
      rec.storedBytes += data.byteLength;
      if (endMs !== null) rec.endMs = Math.max(rec.endMs ?? endMs, endMs);
      rec.startMs ??= startMs;
      rec.zeroMs ??= zeroMs;
      s.recordings.put(rec);
      return rec;
    }, 'strict');
  }

  // The oldest chunk still waiting for the server, or null.
  firstChunk(recordingId) {
    return this.run(['chunks'], 'readonly', async (s) => {
      const range = IDBKeyRange.bound([recordingId, 0], [recordingId, Infinity]);
      const cursor = await promised(s.chunks.openCursor(range));
      return cursor ? cursor.value : null;
    });
  }

  // The server holds every byte of chunk `index` (and before): forget it.
  ackChunk(recordingId, index) {
    return this.run(['chunks'], 'readwrite', (s) => void s.chunks.delete([recordingId, index]));
  }

  addEvent(record) {
    return this.run(['events'], 'readwrite', (s) => void s.events.put(record));
  }

  // Up to `limit` events of a session (with more waiting, any `limit` of them: each event carries
  // its own times), sorted by the time they were stored.
  async nextEvents(sessionId, limit) {
    const all = await this.run(['events'], 'readonly',
      (s) => promised(s.events.index('sessionId').getAll(sessionId, limit)));
    return all.sort((a, b) => a.storedAt - b.storedAt);
  }

  countEvents(sessionId) {
    return this.run(['events'], 'readonly', (s) => promised(s.events.index('sessionId').count(sessionId)));
  }

  deleteEvents(ids) {
    return this.run(['events'], 'readwrite', (s) => ids.forEach((id) => s.events.delete(id)));
  }

  // Runs `body(stores)` in one transaction and resolves with its result once the transaction
  // has committed. `body` may await IDB requests only (any other await would end the
  // transaction early).
  run(names, mode, body, durability = 'default') {
    return new Promise((resolve, reject) => {
      let tx;
      let result;
      try {
        tx = this.db.transaction(names, mode, { durability });
      } catch (err) {
        reject(mapError(err));
        return;
      }
      const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(mapError(tx.error || failure));
      let failure = null;
      Promise.resolve().then(() => body(stores)).then((value) => { result = value; }, (err) => {
        failure = err;
        try { tx.abort(); } catch { reject(mapError(err)); }
      });
    });
  }
}

export function isSettled(rec) {
  return rec.state === 'complete' || rec.state === 'failed';
}

function mapError(err) {
  if (err?.name === 'QuotaExceededError') return new StorageFullError(err);
  if (err?.name === 'InvalidStateError' || err?.name === 'UnknownError') return new StorageUnavailableError(err);
  return err;
}

function promised(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function request(req, setup) {
  setup(req);
  return promised(req);
}

function get(store, key) {
  return promised(store.get(key));
}
