// The page's handle on one encoder Web Worker (web/gen/recorder-worker.js, which owns the WASM
// module and picks its variant: threads+SIMD when the page is cross-origin isolated, plain
// otherwise). Speaks the worker's message protocol (see the header of that file) and nothing else.
//
// Video backpressure: the worker acknowledges every video message ('videoDone'), so
// `videoInFlight` counts frames handed over but not yet encoded. Frame sources drop frames
// instead of queueing more than a few (a camera has only a handful of capture buffers, and a
// growing queue means growing memory and latency).
import { EncoderFailedError, StalledError } from './errors.js';

/** @typedef {import('../../wasm/worker-protocol.js').ToWorker} ToWorker */
/** @typedef {import('../../wasm/worker-protocol.js').FromWorker} FromWorker */
/** @typedef {import('../../wasm/recorder-core.js').ChunkInfo} ChunkInfo */
/** @typedef {import('../../wasm/recorder-core.js').CoreStats} CoreStats */
/**
 * @typedef {{ onChunk: (info: ChunkInfo, data: ArrayBuffer) => void, onStats: (stats: CoreStats | null) => void,
 *   onFailure: (err: EncoderFailedError | StalledError) => void, onRejected: (code: string, message: string) => void }} Callbacks
 */

const WORKER_URL = new URL('../gen/recorder-worker.js', import.meta.url);

// A Worker runs only a script of the page's origin. A page of another origin (a site embedding
// this module from the recorder server) gets a blob: worker that imports the script by its
// absolute URL; the worker resolves its other files against `recorderScriptUrl`.
// Returns {worker, revoke}: revoke() frees the bootstrap's blob: URL (a no-op for a same-origin
// worker); it is called once the worker runs and again, harmlessly, at terminate().
/** @param {URL} url @returns {{ worker: Worker, revoke: () => void }} */
function startWorker(url) {
  if (url.origin === location.origin) return { worker: new Worker(url), revoke: () => {} };
  const bootstrap = `self.recorderScriptUrl = ${JSON.stringify(url.href)};\n` +
    `importScripts(self.recorderScriptUrl);\n`;
  const blobUrl = URL.createObjectURL(new Blob([bootstrap], { type: 'text/javascript' }));
  const worker = new Worker(blobUrl);
  // Revoked once the worker runs (it answers 'ready' or fails), not before: the worker's script
  // may be fetched after the constructor returns.
  const revoke = () => URL.revokeObjectURL(blobUrl);
  worker.addEventListener('message', revoke, { once: true });
  worker.addEventListener('error', revoke, { once: true });
  return { worker, revoke };
}

// Core errors that reject one input and leave the encoder usable (see shared/recorder/recorder.h).
const RECOVERABLE = new Set(['InvalidArgument', 'Unsupported']);
// Firefox (ESR 153) sometimes never returns from creating a Worker inside a Worker: the encoder
// worker then hangs while the core creates its threads (issue 13; about 1 start in 10 after a
// reload on a busy machine). Creating them takes milliseconds, so a worker that has not done so
// within `threadsMs` is started again, up to this many times, before the core counts as stalled;
// after a pause, since the hang comes with Workers going away (a reload, a closed interview).
const THREAD_RESTARTS = 3;
const RESTART_PAUSE_MS = 500;

export class Encoder {
  // onChunk(info, data: ArrayBuffer) for each chunk, in order; onStats(stats) after each chunk;
  // onFailure(EncoderFailedError or StalledError) once if the encoder dies; onRejected(code,
  // message) for a single input the core refused.
  // The callbacks may also be given later with bind() (an encoder started ahead of its recording).
  // Deadlines (ms): `workerMs` for the worker's script to run (its 'started' message), `coreMs`
  // for init() to load the WASM core; past either the encoder fails with StalledError.
  // `threadsMs` for the core to create its threads, past which the worker is started again (see
  // THREAD_RESTARTS; `restarts` counts them).
  /**
   * @param {Partial<Callbacks>} [callbacks]
   * @param {{ workerMs?: number, coreMs?: number, threadsMs?: number }} [deadlines]
   */
  constructor({ onChunk, onStats, onFailure, onRejected } = {}, { workerMs = 10_000, coreMs = 30_000, threadsMs = 5_000 } = {}) {
    const none = () => {};
    this.callbacks = { onChunk: onChunk ?? none, onStats: onStats ?? none, onFailure: onFailure ?? none,
      onRejected: onRejected ?? none };
    this.videoInFlight = 0;
    /** @type {EncoderFailedError | StalledError | null} */
    this.failed = null;
    /** @type {{ type: 'ready' | 'stopped', resolve: (msg: any) => void, reject: (err: Error) => void } | null} */
    this.pending = null;  // {type, resolve, reject} awaiting 'ready' or 'stopped'
    this.workerMs = workerMs;
    this.coreMs = coreMs;
    this.threadsMs = threadsMs;
    this.restarts = 0;
    /** @type {Extract<ToWorker, { type: 'init' }> | null} */
    this.initMessage = null;  // sent again to a restarted worker
    this.hangThreads = 0;     // tests: this many workers in a row hang creating their threads
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.threadsTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.started = false;
    const { worker, revoke } = this.spawn();
    this.worker = worker;
    this.revokeBootstrap = revoke;
  }

  // Starts the worker (again, after restart()); the caller keeps what it returns.
  spawn() {
    this.started = false;
    const { worker, revoke } = startWorker(WORKER_URL);
    worker.onmessage = (event) => this.onMessage(event.data);
    worker.onerror = (event) =>
      this.fail(new EncoderFailedError('WorkerError', event.message || 'the worker failed to load'));
    this.timer = setTimeout(() => this.stall('worker', this.workerMs), this.workerMs);
    return { worker, revoke };
  }

  // The worker hung creating the core's threads: a fresh one, given the same 'init'.
  restart() {
    if (this.restarts >= THREAD_RESTARTS) {
      this.stall('core', this.threadsMs);
      return;
    }
    this.terminate();
    this.restarts += 1;
    this.timer = setTimeout(() => {
      const { worker, revoke } = this.spawn();
      this.worker = worker;
      this.revokeBootstrap = revoke;
      if (this.pending?.type === 'ready') this.sendInit();
    }, RESTART_PAUSE_MS);
  }

  sendInit() {
    const msg = /** @type {Extract<ToWorker, { type: 'init' }>} */ (this.initMessage);
    this.post(this.restarts < this.hangThreads ? { ...msg, debug: { ...msg.debug, holdThreads: true } } : msg);
  }

  /** @param {Callbacks} callbacks */
  bind({ onChunk, onStats, onFailure, onRejected }) {
    this.callbacks = { onChunk, onStats, onFailure, onRejected };
  }

  // `config`: the core's config (video/audio/chunkDurationMs, see wasm/recorder-driver.js).
  // Resolves with the worker's 'ready' message ({variant, maxThreads}).
  /**
   * @param {import('../../wasm/recorder-core.js').CoreConfig} config
   * @param {{ variant?: import('../../wasm/worker-protocol.js').Variant,
   *   debug?: { videoDelayMs?: number, hangThreads?: number } }} [options]
   * @returns {Promise<import('../../wasm/worker-protocol.js').Ready>}
   */
  init(config, { variant, debug } = {}) {
    if (this.failed) return Promise.reject(this.failed);
    this.hangThreads = debug?.hangThreads ?? 0;
    this.initMessage = { type: 'init', config, variant, debug: debug && { videoDelayMs: debug.videoDelayMs } };
    return this.expect('ready', () => this.sendInit());
  }

  // Every message to the worker goes through here, so that tsc checks it against the protocol.
  /** @param {ToWorker} msg @param {Transferable[]} [transfer] */
  post(msg, transfer = []) {
    this.worker.postMessage(msg, transfer);
  }

  // Transfers `frame` (its timestamp is the stream time in µs); the worker closes it.
  /** @param {VideoFrame} frame */
  sendFrame(frame) {
    if (this.failed) {
      frame.close();
      return;
    }
    this.videoInFlight += 1;
    this.post({ type: 'video', frame }, [frame]);
  }

  // Packed RGBA pixels (for browsers without MediaStreamTrackProcessor).
  /** @param {ArrayBuffer} data @param {number} width @param {number} height @param {number} timestampUs */
  sendRgba(data, width, height, timestampUs) {
    if (this.failed) return;
    this.videoInFlight += 1;
    this.post({ type: 'video', format: 'RGBA', width, height, data,
      layout: [{ offset: 0, stride: width * 4 }], timestampUs }, [data]);
  }

  // Interleaved float32 samples at 48 kHz; `timestampUs` is the time of the first sample.
  /** @param {Float32Array} samples @param {number} timestampUs */
  sendAudio(samples, timestampUs) {
    if (this.failed) return;
    this.post({ type: 'audio', samples, timestampUs }, [samples.buffer]);
  }

  requestKeyframe() {
    if (!this.failed) this.post({ type: 'keyframe' });
  }

  // The video CBR target (kbps) from the next frame on; libvpx changes it without a keyframe.
  /** @param {number} kbps */
  setVideoBitrate(kbps) {
    if (!this.failed) this.post({ type: 'bitrate', kbps });
  }

  // Flushes: resolves with the final stats after the last chunk was handed to onChunk.
  stop() {
    if (this.failed) return Promise.reject(this.failed);
    return this.expect('stopped', () => this.post({ type: 'stop' }));
  }

  terminate() {
    clearTimeout(this.timer);
    clearTimeout(this.threadsTimer);
    this.worker.terminate();
    this.revokeBootstrap();  // a worker terminated before it ran never fired 'message' or 'error'
  }

  /** @param {'ready' | 'stopped'} type @param {() => void} send @returns {Promise<any>} */
  expect(type, send) {
    return new Promise((resolve, reject) => {
      this.pending = { type, resolve, reject };
      if (type === 'ready' && this.started) this.timer = setTimeout(() => this.stall('core', this.coreMs), this.coreMs);
      send();
    });
  }

  /** @param {import('./index.js').StalledStep} step @param {number} ms */
  stall(step, ms) {
    this.fail(new StalledError(step, ms));
  }

  /** @param {FromWorker} msg */
  onMessage(msg) {
    switch (msg.type) {
      case 'started':
        // The worker runs; from now on init's answer has the core's deadline.
        this.started = true;
        clearTimeout(this.timer);
        if (this.pending?.type === 'ready') this.timer = setTimeout(() => this.stall('core', this.coreMs), this.coreMs);
        return;
      case 'threads':
        clearTimeout(this.threadsTimer);
        if (!msg.started) this.threadsTimer = setTimeout(() => this.restart(), this.threadsMs);
        return;
      case 'ready':
        clearTimeout(this.timer);
        // falls through
      case 'stopped':
        if (this.pending?.type === msg.type) {
          const { resolve } = this.pending;
          this.pending = null;
          resolve(msg);
        }
        return;
      case 'chunk':
        this.callbacks.onChunk(msg.info, msg.data);
        return;
      case 'stats':
        this.callbacks.onStats(msg.stats);
        return;
      case 'videoDone':
        this.videoInFlight -= 1;
        return;
      case 'error':
        if (RECOVERABLE.has(msg.code) && (msg.during === 'video' || msg.during === 'audio')) {
          this.callbacks.onRejected(msg.code, msg.message);
        } else {
          this.fail(new EncoderFailedError(msg.code, `${msg.message} (during ${msg.during})`));
        }
        return;
      default:
    }
  }

  /** @param {EncoderFailedError | StalledError} error */
  fail(error) {
    if (this.failed) return;
    clearTimeout(this.timer);
    clearTimeout(this.threadsTimer);
    this.failed = error;
    this.pending?.reject(this.failed);
    this.pending = null;
    this.callbacks.onFailure(this.failed);
  }
}
