// Markers and client events: stored in the durable store first, then sent in batches to
//   POST {server}/api/v1/sessions/{session_id}/events   (Bearer upload token)
//   {events: [{id, type, label, data, recording_time_ms, upload_url?, wall_time}]} -> 201
// and deleted once the server answered 201. Event ids are client UUIDs, so a batch whose answer
// was lost can be sent again without duplicates. upload_url is filled in at send time from the
// recording the event belongs to (its upload may be created after the event).
//
// Stored events are unfinished work like stored chunks: a page of the same session opened later
// sends what an earlier one could not.
//
// Answers:
//   no answer, 5xx, 408, 429   retried with backoff (reported through onTransient, like uploads)
//   404 not_found, 405         a server without the events endpoint: kept, retried slowly
//   401, 403                   the upload token is refused (expired, revoked): onRejected(err), the
//                              events stay stored and this sender stops
//   400 for a batch            its events are sent one by one, so that only an event the server
//                              refuses on its own is dropped (onRejected(MarkerRejectedError))
//   404 upload_not_found       the event names an upload the server does not know (any more): it
//                              is sent again without upload_url (its session time still places it)
import { InvalidUseError, MarkerRejectedError, ServerUnreachableError, UploadRejectedError } from './errors.js';
import { isSettled } from './chunk-store.js';
import { Retry, isTransientStatus } from './retry.js';
import { errorBody } from './tus-client.js';

const BATCH = 50;
const UNAVAILABLE_RETRY_MS = 30_000;
// The server's limits for one event: mark() refuses more (checkedEvent). The server's copy is in
// ParseEvents, the parser of the events route (kMaxText, kMaxDataBytes; today server/http_api.cc).
export const MAX_LABEL_BYTES = 200;
export const MAX_DATA_BYTES = 16 * 1024;

/** @typedef {import('./chunk-store.js').ChunkStore} ChunkStore */
/** @typedef {import('./index.js').MarkerEvent & { upload_url?: string }} WireEvent  an event as POSTed */

export class EventSender {
  // onTransient(err): a failure that will be retried; onRejected(err): an event dropped
  // (MarkerRejectedError) or the token refused (UploadRejectedError, fatal).
  /**
   * @param {{ store: ChunkStore, sessionId: string, endpoint: string, token: string,
   *   onTransient: (err: Error) => void, onRejected: (err: MarkerRejectedError | UploadRejectedError) => void }} options
   */
  constructor({ store, sessionId, endpoint, token, onTransient, onRejected }) {
    this.store = store;
    this.sessionId = sessionId;
    this.endpoint = endpoint;
    this.token = token;
    this.onTransient = onTransient;
    this.onRejected = onRejected;
    this.retry = new Retry();
    this.pending = 0;            // events stored and not yet acknowledged
    /** @type {number | null} */
    this.waitingSince = null;    // storedAt (ms) of the oldest of them
    /** @type {Error | null} */
    this.lastError = null;       // the transient error being retried, null when healthy
    this.idle = false;           // true once the store held no event (the run loop checks first)
    this.unavailable = false;    // the last answer was 404/405: a server without the endpoint
    /** @type {UploadRejectedError | null} */
    this.rejected = null;        // the token was refused: nothing more is sent
    this.closed = false;
    this.woken = false;
    /** @type {(() => void) | null} */
    this.wakeUp = null;
    /** @type {((drained: boolean) => void)[]} */
    this.drainWaiters = [];
    this.done = this.run();
  }

  wake() {
    this.idle = false;
    this.woken = true;
    this.wakeUp?.();
  }

  close() {
    this.closed = true;
    this.wake();
  }

  // Resolves true once every stored event was acknowledged, false as soon as waiting cannot help
  // (the server has no events endpoint, or refused the token). Waits through network failures.
  /** @returns {Promise<boolean>} */
  drained() {
    if (this.idle) return Promise.resolve(true);
    if (this.unavailable || this.rejected) return Promise.resolve(false);
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** @param {boolean} drained */
  settle(drained) {
    this.drainWaiters.splice(0).forEach((resolve) => resolve(drained));
  }

  async run() {
    while (!this.closed && !this.rejected) {
      const records = await this.store.nextEvents(this.sessionId, BATCH);
      this.pending = records.length < BATCH ? records.length : await this.store.countEvents(this.sessionId);
      this.waitingSince = records[0]?.storedAt ?? null;
      if (records.length === 0) {
        this.idle = true;
        this.settle(true);
        await this.sleep(Infinity);
        continue;
      }
      this.idle = false;
      let waitMs = 0;
      try {
        const bodies = [];
        for (const r of records) bodies.push(await this.withUploadUrl(r));
        if (bodies.includes(null)) {  // an upload is not created yet: it will be shortly
          await this.sleep(1000);
          continue;
        }
        const unavailable = await this.send(records, bodies);
        this.healthy();
        if (unavailable !== this.unavailable) {
          this.unavailable = unavailable;
          if (unavailable) console.warn('recorder: the server has no events endpoint yet; markers stay queued');
        }
        if (unavailable) {
          this.settle(false);
          waitMs = UNAVAILABLE_RETRY_MS;
        }
      } catch (err) {
        if (err instanceof UploadRejectedError) {
          this.rejected = err;
          this.settle(false);
          this.onRejected(err);
          return;
        }
        this.lastError = err;
        this.onTransient(err);
        await this.retry.wait();
      }
      if (waitMs) await this.sleep(waitMs);
    }
  }

  // Sends `records` (as `bodies`) and settles each one the server answered for. Returns true if
  // the server has no events endpoint; throws UploadRejectedError (token refused) or a transient
  // ServerUnreachableError.
  /** @param {any[]} records  stored event records @param {WireEvent[]} bodies @returns {Promise<boolean>} */
  async send(records, bodies) {
    let res;
    try {
      res = await this.post(bodies);
    } catch (err) {
      throw new ServerUnreachableError(err);
    }
    if (res.ok) {
      await this.store.deleteEvents(records.map((r) => r.id));
      return false;
    }
    const { code, message } = await errorBody(res);
    if (res.status === 401 || res.status === 403) throw new UploadRejectedError(res.status, code, message);
    if (res.status === 405 || (res.status === 404 && code !== 'upload_not_found')) return true;
    if (isTransientStatus(res.status)) throw new ServerUnreachableError(new Error(`HTTP ${res.status} ${code}: ${message}`));
    if (records.length > 1) {
      for (let i = 0; i < records.length; i++) {
        if (await this.send([records[i]], [bodies[i]])) return true;
      }
      return false;
    }
    const [record] = records;
    if (code === 'upload_not_found' && record.recordingId) {
      await this.store.addEvent({ ...record, recordingId: null });  // the next round sends it without upload_url
    } else {
      await this.store.deleteEvents([record.id]);
      this.onRejected(new MarkerRejectedError(record.event.label, res.status, code, message));
    }
    return false;
  }

  healthy() {
    if (this.lastError) {
      this.lastError = null;
      this.retry.succeeded();
    }
  }

  // The event with the upload URL of its recording; null while that upload is still to be
  // created. A recording that ended without an upload (nothing recorded) gives no URL.
  /** @param {any} record @returns {Promise<WireEvent | null>} */
  async withUploadUrl(record) {
    const event = { ...record.event };
    if (record.recordingId) {
      const rec = await this.store.getRecording(record.recordingId);
      if (rec?.uploadUrl) event.upload_url = rec.uploadUrl;
      else if (rec && !isSettled(rec)) return null;
    }
    return event;
  }

  /** @param {WireEvent[]} events */
  post(events) {
    return fetch(this.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ events }),
      cache: 'no-store',
      signal: AbortSignal.timeout(30_000),
    });
  }

  /** @param {number} ms @returns {Promise<void>} */
  sleep(ms) {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.woken = false;
        resolve();
      };
      const timer = ms === Infinity ? undefined : setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

// The event's data as the server will store it (a JSON object), or InvalidUseError for what the
// server would refuse.
/** @param {unknown} label @param {unknown} data @param {unknown} type @returns {Record<string, unknown>} */
export function checkedEvent(label, data, type) {
  if (type !== 'marker' && type !== 'client_event') throw new InvalidUseError("the type must be 'marker' or 'client_event'");
  if (typeof label !== 'string' || !label) throw new InvalidUseError('a marker needs a label');
  if (utf8Bytes(label) > MAX_LABEL_BYTES) throw new InvalidUseError(`a marker label is at most ${MAX_LABEL_BYTES} bytes (UTF-8)`);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new InvalidUseError('marker data must be an object');
  let json;
  try {
    json = JSON.stringify(data);
  } catch (err) {
    throw new InvalidUseError(`marker data must be JSON: ${err.message}`);
  }
  if (utf8Bytes(json) > MAX_DATA_BYTES) throw new InvalidUseError(`marker data is at most ${MAX_DATA_BYTES} bytes as JSON`);
  return JSON.parse(json);
}

/** @param {string} text */
function utf8Bytes(text) {
  return new TextEncoder().encode(text).length;
}
