// Drains one recording's chunks from the durable store into its tus upload, oldest first, one
// PATCH per chunk, and completes the upload once the recording is stopped and every stored byte
// is acknowledged. One Uploader per recording; it holds at most one chunk in memory.
//
// Contract with the store (chunk-store.js): chunks are read only after they were stored; a chunk
// is deleted only after the server's Upload-Offset covers it. The server's offset is the truth:
// it is read with HEAD when unknown (first run after a reload, after a 409 or a lost response),
// and chunks it already covers are acknowledged without being sent again.
//
// Failures: transient ones (no network, 5xx, 409) are retried forever with backoff (retry.js)
// and reported through onTransient; anything else rejects `done` (the caller reports it;
// isGone() tells the refusals after which the stored chunks can never be uploaded).
import { isSettled } from './chunk-store.js';
import { isoTime } from './clock.js';
import { UploadRejectedError } from './errors.js';
import { Retry, isTransient } from './retry.js';
import { OffsetConflict } from './tus-client.js';

// PATCHes whose goodput capacityKbps() looks at: about two seconds of media.
const RECENT_SENDS = 2;

export class Uploader {
  // onProgress(): after every acknowledgement or change of health; onTransient(err): a failure
  // that will be retried.
  /**
   * @param {{ store: import('./chunk-store.js').ChunkStore, tus: import('./tus-client.js').TusClient,
   *   recordingId: string, onProgress: () => void, onTransient: (err: Error) => void }} options
   */
  constructor({ store, tus, recordingId, onProgress, onTransient }) {
    this.store = store;
    this.tus = tus;
    this.recordingId = recordingId;
    this.onProgress = onProgress;
    this.onTransient = onTransient;
    this.retry = new Retry();
    this.ackedBytes = 0;
    this.storedBytes = 0;      // the recording's bytes stored so far: kept up to date by the owner
    /** @type {number | null} */
    this.waitingSince = null;  // storedAt (ms) of the oldest chunk not yet acknowledged
    /** @type {Error | null} */
    this.lastError = null;     // the transient error being retried, null when healthy
    this.woken = false;
    /** @type {(() => void) | null} */
    this.wakeUp = null;
    this.closed = false;
    this.finishing = false;
    this.abort = new AbortController();
    /** @type {{ bytes: number, ms: number }[]} */
    this.recentSends = [];     // the last PATCHes with a body: what capacityKbps() is made of
    this.done = this.run();
  }

  // The lower goodput of the last PATCHes (kbps, i.e. bits per ms), null before the first: the
  // uplink's rate while it is the bottleneck (see uplink.js). The lower one, so that a link that
  // just turned slow is seen as slow at its first slow PATCH.
  /** @returns {number | null} */
  capacityKbps() {
    if (!this.recentSends.length) return null;
    return Math.min(...this.recentSends.map((s) => (s.bytes * 8) / Math.max(1, s.ms)));
  }

  // New data was stored or the recording stopped.
  wake() {
    this.woken = true;
    this.wakeUp?.();
  }

  // The recording stopped and every chunk is stored: complete the upload. The owner also stores
  // the state 'stopped', but with the quota exhausted that write fails; this one cannot.
  finish() {
    this.finishing = true;
    this.wake();
  }

  // Stops work without completing (page teardown); what is stored stays for the next page.
  close() {
    this.closed = true;
    this.abort.abort();
    this.wake();
  }

  async run() {
    /** @type {number | null} */
    let serverOffset = null;
    for (;;) {
      if (this.closed) return null;
      const rec = await this.store.getRecording(this.recordingId);
      if (isSettled(rec)) return rec;
      if (this.finishing && rec.state === 'recording') rec.state = 'stopped';  // see finish()
      try {
        if (!rec.uploadUrl) {
          // The upload is created with the first Cluster (chunk 1): a recording that ends with
          // at most its header holds no media and is not uploaded.
          if (rec.startMs === null || rec.storedChunks < 2) {
            if (rec.state === 'stopped') return await this.completed(rec);
            await this.sleep();
            continue;
          }
          const url = await this.tus.create(uploadMetadata(rec));
          await this.store.updateRecording(rec.id, { uploadUrl: url });
          serverOffset = 0;
          continue;
        }
        if (serverOffset === null) {
          const head = await this.tus.head(rec.uploadUrl);
          if (head.length !== null && head.offset === head.length) return await this.completed(rec);
          serverOffset = head.offset;
        }
        const chunk = await this.store.firstChunk(rec.id);
        this.waitingSince = chunk ? chunk.storedAt : null;
        this.ackedBytes = chunk ? chunk.offset : rec.storedBytes;
        if (chunk) {
          const sent = await this.send(rec, chunk, serverOffset);
          serverOffset = sent.offset;
          if (sent.completed) return await this.completed(rec);
        } else if (rec.state === 'stopped') {
          // Every stored byte is acknowledged (the last chunk went before the stop): declare the
          // length with an empty PATCH.
          await this.tus.patch(rec.uploadUrl, serverOffset, new ArrayBuffer(0), { finalLength: rec.storedBytes });
          return await this.completed(rec);
        } else {
          await this.sleep();
        }
        this.healthy();
      } catch (err) {
        if (err instanceof UploadRejectedError && err.serverCode === 'upload_finished') {
          return await this.completed(rec);  // an earlier final PATCH arrived; its answer did not
        }
        if (!isTransient(err)) throw err;
        if (err instanceof OffsetConflict) serverOffset = null;
        this.lastError = err;
        this.onTransient(err);
        this.onProgress();
        await this.retry.wait(this.abort.signal);
      }
    }
  }

  // Sends what the server lacks of `chunk`. Returns the server's new offset and whether this
  // request completed the upload (the last chunk of a stopped recording carries Upload-Length).
  async send(rec, chunk, serverOffset) {
    const end = chunk.offset + chunk.data.byteLength;
    let completed = false;
    if (serverOffset < end) {
      if (serverOffset < chunk.offset) {
        throw new UploadRejectedError(0, 'upload_gap',
          `the server is at ${serverOffset}, the oldest stored chunk starts at ${chunk.offset}`);
      }
      const body = serverOffset === chunk.offset ? chunk.data : chunk.data.slice(serverOffset - chunk.offset);
      const last = rec.state === 'stopped' && end === rec.storedBytes;
      const began = performance.now();
      serverOffset = await this.tus.patch(rec.uploadUrl, serverOffset, body,
        last ? { finalLength: rec.storedBytes } : {});
      this.recentSends.push({ bytes: body.byteLength, ms: performance.now() - began });
      if (this.recentSends.length > RECENT_SENDS) this.recentSends.shift();
      if (serverOffset < end) return { offset: serverOffset, completed };  // partial: rest next round
      completed = last;
    }
    await this.store.ackChunk(rec.id, chunk.index);
    this.ackedBytes = end;
    return { offset: serverOffset, completed };
  }

  // The server has the whole file (or, without an upload, there was no media to send): the
  // recording is complete and its chunks still stored are deleted, also those whose
  // acknowledgement was lost (HEAD found the upload complete, or the server answered
  // upload_finished).
  async completed(rec) {
    this.waitingSince = null;
    this.healthy();
    this.ackedBytes = rec.storedBytes;
    return this.store.settleRecording(rec.id, { state: 'complete' });
  }

  healthy() {
    if (this.lastError) {
      this.lastError = null;
      this.retry.succeeded();
    }
    this.onProgress();
  }

  /** @returns {Promise<void>} */
  sleep() {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wakeUp = () => {
        this.wakeUp = null;
        this.woken = false;
        resolve();
      };
    });
  }
}

// The server no longer has the upload (404 unknown or terminated, 410 expired) or lacks bytes
// this browser no longer holds: no request to that upload can succeed.
export function isGone(err) {
  return err instanceof UploadRejectedError &&
    (err.status === 404 || err.status === 410 || err.serverCode === 'upload_gap');
}

// Upload-Metadata of a recording. start_ms: session recording time (ms) of the file's time zero;
// every recording of a session shares that clock, so a player can line up camera and screen.
export function uploadMetadata(rec) {
  return {
    kind: rec.kind,
    filename: `${rec.kind}-part${rec.part}.webm`,
    recording_id: rec.id,
    part: rec.part,
    continuation_of: rec.continuationOf,  // recording_id of the part this one continues
    start_ms: Math.round(rec.startMs - rec.zeroMs),
    started_at: isoTime(rec.startMs),
  };
}
