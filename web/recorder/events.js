// Markers and client events: stored in the durable store first, then sent in batches to
//   POST {server}/api/v1/sessions/{session_id}/events   (Bearer upload token)
//   {events: [{id, type, label, data, recording_time_ms, upload_url?, wall_time}]} -> 201
// and deleted once the server answered 201. Event ids are client UUIDs, so a batch whose answer
// was lost can be sent again without duplicates. upload_url is filled in at send time from the
// recording the event belongs to (its upload may be created after the event).
//
// Failures: no network / 5xx -> retried with backoff (reported like upload failures); 404 or 405
// (a server without the events endpoint) -> kept and retried slowly; other 4xx -> the batch is
// dropped with a console warning (it can never succeed and must not block later events).
import { ServerUnreachableError } from './errors.js';
import { Retry } from './retry.js';

const BATCH = 50;
const UNAVAILABLE_RETRY_MS = 30_000;

export class EventSender {
  constructor({ store, sessionId, endpoint, token, onTransient }) {
    Object.assign(this, { store, sessionId, endpoint, token, onTransient });
    this.retry = new Retry();
    this.pending = 0;
    this.idle = true;
    this.unavailable = false;  // the last answer was 404/405: a server without the endpoint
    this.closed = false;
    this.woken = false;
    this.wakeUp = null;
    this.idleWaiters = [];
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

  // Resolves true when every stored event was sent, false after `timeoutMs` or at once when the
  // server has no events endpoint (waiting cannot help).
  flushed(timeoutMs) {
    if (this.idle) return Promise.resolve(true);
    if (this.unavailable) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push((sent = true) => { clearTimeout(timer); resolve(sent); });
    });
  }

  async run() {
    while (!this.closed) {
      const events = await this.store.nextEvents(this.sessionId, BATCH);
      this.pending = events.length;
      if (events.length === 0) {
        this.idle = true;
        this.idleWaiters.splice(0).forEach((resolve) => resolve());
        await this.sleep(Infinity);
        continue;
      }
      this.idle = false;
      let waitMs = 0;
      try {
        const body = [];
        for (const e of events) body.push(await this.withUploadUrl(e));
        if (body.includes(null)) {  // an upload is not created yet: it will be shortly
          await this.sleep(1000);
          continue;
        }
        const res = await this.post(body);
        this.unavailable = res.status === 404 || res.status === 405;
        if (res.status === 201 || res.status === 200) {
          await this.store.deleteEvents(events.map((e) => e.id));
          this.retry.succeeded();
        } else if (this.unavailable) {
          console.warn('recorder: the server has no events endpoint yet; markers stay queued');
          this.idleWaiters.splice(0).forEach((resolve) => resolve(false));
          waitMs = UNAVAILABLE_RETRY_MS;
        } else if (res.status >= 500 || res.status === 429 || res.status === 408) {
          throw new Error(`HTTP ${res.status}`);
        } else {
          console.warn(`recorder: ${events.length} events rejected with HTTP ${res.status}; dropped`,
            await res.text().catch(() => ''));
          await this.store.deleteEvents(events.map((e) => e.id));
        }
      } catch (err) {
        this.onTransient(Object.assign(new ServerUnreachableError(err), { transient: true }));
        await this.retry.wait();
      }
      if (waitMs) await this.sleep(waitMs);
    }
  }

  // The event with the upload URL of its recording; null while that upload is still to be
  // created. A recording that ended without an upload (nothing recorded) gives no URL.
  async withUploadUrl(record) {
    const event = { ...record.event };
    if (record.recordingId) {
      const rec = await this.store.getRecording(record.recordingId);
      if (rec?.uploadUrl) event.upload_url = rec.uploadUrl;
      else if (rec && rec.state !== 'complete') return null;
    }
    return event;
  }

  post(events) {
    return fetch(this.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ events }),
      cache: 'no-store',
      signal: AbortSignal.timeout(30_000),
    });
  }

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
      const timer = ms === Infinity ? null : setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
