// "Watch live": a recording still being received, played with Media Source Extensions from
// GET /api/v1/hr/recordings/{id}/live (the WebM header, the Clusters from the last keyframe, then
// each new Cluster once the server acknowledged it; server/ingest/live_view.h). The player stays
// near the live edge, keeps about a minute of media buffered whatever the interview's length, and
// says when nothing new arrives (the candidate is offline) and when the recording has ended.
import { liveUrl } from './api.js';

/** @typedef {'connecting' | 'live' | 'offline' | 'ended' | 'failed'} LiveState */

// No new bytes for this long: the candidate's uploads stopped (offline, or the page closed).
const OFFLINE_AFTER_MS = 4000;
// Further than this behind the newest buffered picture, the player jumps to LIVE_EDGE_S before it.
const MAX_BEHIND_S = 2.5;
const LIVE_EDGE_S = 0.5;
// Media kept buffered behind the playhead; older media is removed (a long interview's memory).
const KEEP_S = 60;

export class LivePlayer {
  /**
   * @param {HTMLVideoElement} video
   * @param {(state: LiveState, detail?: string) => void} onState
   */
  constructor(video, onState) {
    this.video = video;
    this.onState = onState;
    /** @type {AbortController | null} */
    this.abort = null;
    /** @type {import('./api.js').Recording | null} */
    this.recording = null;
    this.lastDataAt = 0;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    /** @type {LiveState | null} */
    this.state = null;
  }

  /** Plays `recording` live until it ends or stop(). @param {import('./api.js').Recording} recording */
  async start(recording) {
    this.stop();
    const abort = new AbortController();
    this.abort = abort;
    this.recording = recording;
    const type = recording.kind === 'audio' ? 'audio/webm; codecs="opus"' : 'video/webm; codecs="vp9,opus"';
    if (typeof MediaSource !== 'function' || !MediaSource.isTypeSupported(type)) {
      this.setState('failed', 'This browser cannot play a live recording (no Media Source Extensions for WebM).');
      return;
    }
    this.setState('connecting');
    const source = new MediaSource();
    this.video.src = URL.createObjectURL(source);
    await new Promise((resolve) => source.addEventListener('sourceopen', resolve, { once: true }));
    URL.revokeObjectURL(this.video.src);
    if (abort.signal.aborted) return;
    const buffer = source.addSourceBuffer(type);
    try {
      const response = await fetch(liveUrl(recording.id), { signal: abort.signal, credentials: 'same-origin' });
      if (!response.ok || !response.body) {
        const body = await response.json().catch(() => null);
        if (body?.error === 'recording_not_live') this.setState('ended');
        else this.setState('failed', body?.message ?? `the server answered ${response.status}`);
        return;
      }
      this.lastDataAt = performance.now();
      this.timer = setInterval(() => this.watch(), 1000);
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await update(buffer, () => buffer.appendBuffer(value));
        this.lastDataAt = performance.now();
        await this.follow(buffer);
      }
      if (source.readyState === 'open') source.endOfStream();
      this.setState('ended');
    } catch (err) {
      if (!abort.signal.aborted) this.setState('failed', /** @type {Error} */ (err).message);
    } finally {
      clearInterval(this.timer);
    }
  }

  // Keeps the playhead near the live edge and the buffer to KEEP_S behind it.
  /** @param {SourceBuffer} buffer */
  async follow(buffer) {
    const ranges = buffer.buffered;
    if (!ranges.length) return;
    const start = ranges.start(0);
    const end = ranges.end(ranges.length - 1);
    if (this.video.currentTime < start || end - this.video.currentTime > MAX_BEHIND_S) {
      this.video.currentTime = Math.max(start, end - LIVE_EDGE_S);
    }
    if (this.video.paused) this.video.play().catch(() => {});
    if (this.video.currentTime - start > KEEP_S + 10) {
      await update(buffer, () => buffer.remove(start, this.video.currentTime - KEEP_S));
    }
    this.setState('live');
  }

  watch() {
    const quietMs = performance.now() - this.lastDataAt;
    if (quietMs > OFFLINE_AFTER_MS) this.setState('offline', `${Math.round(quietMs / 1000)}`);
  }

  /** @param {LiveState} state @param {string} [detail] */
  setState(state, detail) {
    if (state === this.state && state !== 'offline') return;
    this.state = state;
    this.onState(state, detail);
  }

  /** The session-clock seconds on screen (the recording's own time plus where it starts); null when idle. */
  sessionTime() {
    if (!this.recording || !this.video.getAttribute('src')) return null;
    return this.video.currentTime + (this.recording.start_ms ?? 0) / 1000;
  }

  stop() {
    this.abort?.abort();
    this.abort = null;
    clearInterval(this.timer);
    this.recording = null;
    this.state = null;
    if (this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
  }
}

// Runs one SourceBuffer operation and waits for it to finish.
/** @param {SourceBuffer} buffer @param {() => void} operation @returns {Promise<void>} */
function update(buffer, operation) {
  return new Promise((resolve, reject) => {
    const done = () => {
      buffer.removeEventListener('error', failed);
      resolve();
    };
    const failed = () => {
      buffer.removeEventListener('updateend', done);
      reject(new Error('the live recording could not be decoded'));
    };
    buffer.addEventListener('updateend', done, { once: true });
    buffer.addEventListener('error', failed, { once: true });
    operation();
  });
}
