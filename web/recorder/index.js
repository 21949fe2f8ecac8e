// The interview recorder: camera + microphone (and optionally the screen) encoded to VP9/Opus
// WebM in Web Workers, kept in IndexedDB chunk by chunk and streamed to the ingest server over
// tus while the interview runs. Holds no UI: a page drives it and listens to its events.
// Types: index.d.ts. Embedding: README.md in this folder.
//
// States ('state' event):
//   idle -> preparing -> ready -> recording -> stopping -> stopped
//   recording -> interrupted   a device was lost or its permission revoked; what was recorded is
//                              flushed and keeps uploading; start() again continues the session
//                              as a new recording (part N+1 on the same clock)
//   any -> failed              encoder crash, storage full, upload refused; stored data still
//                              uploads; stop() waits for it
//   idle -> stopping -> stopped   stop() without recording: finishes what an earlier page of the
//                              session left (uploads and markers), without opening devices
// Events: 'state' {state, previous}, 'progress' (see progress()), 'stats' {kind, stats},
// 'error' {error: RecorderError}. Non-fatal errors (error.fatal false) are warnings: the
// recorder keeps going.
//
// Durability: every chunk is stored before it is sent and deleted only once acknowledged. A page
// opened again for the same session (reload, browser restart) finds what was not acknowledged in
// prepare(), uploads it, completes those uploads, and start() continues with a new part whose
// Upload-Metadata names the part it continues (continuation_of = its recording_id). Stored markers
// are unfinished work too. One page at a time works on a session: it holds the session's Web Lock
// (a second tab gets SessionInUseError instead of taking over the first one's recordings).
import { startAudioEngine } from './audio-source.js';
import { choosePaths, missingFeatures, withDeadline } from './capabilities.js';
import { deviceName, openCamera, openScreen, stopStream, watchStream } from './capture.js';
import { ChunkStore, isSettled } from './chunk-store.js';
import { isoTime, nowMs } from './clock.js';
import {
  CameraStalledError, InvalidUseError, MarkerRejectedError, RecorderError, SessionInUseError, SlowUplinkError, StalledError,
  UnsupportedBrowserError, UploadLostError,
} from './errors.js';
import { EventSender, checkedEvent } from './events.js';
import { Recording, newId, startEncoder } from './recording.js';
import { Retry, isTransientStatus } from './retry.js';
import { TusClient } from './tus-client.js';
import { Uploader, isGone } from './uploader.js';

export * from './errors.js';

// The interview defaults: camera 640x480 at 250 kbps, microphone 64 kbps, screen 2.5 Mbps.
// No `threads`: the worker picks them from the track size and the machine (chooseThreads).
const DEFAULTS = {
  video: { width: 640, height: 480, fps: 30, kbps: 250 },
  screenVideo: { width: 1920, height: 1080, fps: 15, kbps: 2500 },
  // The single-threaded plain core (WebKit: no SharedArrayBuffer) encodes 1080p screens at about a
  // frame a second on 2 cores; 720p at 5 fps it keeps up with (tests/js/browser_engines.test.mjs).
  plainScreenVideo: { width: 1280, height: 720, fps: 5, kbps: 1200 },
  audio: { kbps: 64 },
};
// How long each step may take before the candidate is told (StalledError, README "Deadlines"):
// starting the encoder worker, loading the WASM core, opening the devices (a permission prompt
// waits for the candidate: generous), starting the audio engine, the encoder's first frame after
// start(), and the server's first acknowledgement of media after start() (a warning only).
/** @type {import('./index.js').Deadlines} */
const DEADLINES = { workerMs: 10_000, coreMs: 30_000, devicesMs: 60_000, audioMs: 5_000, firstFrameMs: 10_000,
  firstAckMs: 30_000, threadsMs: 5_000 };
// Tries of stop()'s end signal (endSession) while the network fails, ~15 s in all.
const END_ATTEMPTS = 5;
// Sessions of this browser with nothing left to send are forgotten after this long.
const SESSION_KEEP_MS = 30 * 24 * 3600 * 1000;

// The declared API (index.d.ts) is the contract: in JSDoc, import('./index.js') names the
// declarations (TypeScript prefers index.d.ts to index.js), so tsc checks this module against
// them; tests/types/recorder-api.ts checks the error classes.
/** @typedef {import('./index.js').RecorderState} RecorderState */

// (The declared addEventListener overloads only narrow EventTarget's, which Recorder inherits.)
/**
 * @param {import('./index.js').RecorderOptions} options
 * @returns {Omit<import('./index.js').Recorder, 'addEventListener' | 'removeEventListener'>}
 */
export function createRecorder(options) {
  return new Recorder(options);
}

// What a previous page left for this session in this browser: null if nothing, else the
// session's time zero, how many of its recordings still wait for the server and how many of its
// markers and client events.
/** @param {string} sessionId @returns {ReturnType<typeof import('./index.js').findUnfinished>} */
export async function findUnfinished(sessionId) {
  const store = await ChunkStore.open();
  try {
    const session = await store.getSession(sessionId);
    if (!session?.zeroMs) return null;
    const recordings = await store.recordingsOf(sessionId);
    return { zeroMs: session.zeroMs, parts: session.parts,
      unfinished: recordings.filter((r) => !isSettled(r)).length, events: await store.countEvents(sessionId) };
  } finally {
    store.close();
  }
}

export class Recorder extends EventTarget {
  /** @param {import('./index.js').RecorderOptions} options */
  constructor(options) {
    super();
    const { server = location.origin, sessionId, uploadToken, tracks = {}, debug } = options ?? {};
    if (typeof sessionId !== 'string' || !sessionId) throw new InvalidUseError('sessionId is required');
    if (typeof uploadToken !== 'string' || !uploadToken) throw new InvalidUseError('uploadToken is required');
    this.sessionId = sessionId;
    this.server = new URL(server, location.href);
    this.token = uploadToken;
    this.tracks = { camera: tracks.camera ?? true, microphone: tracks.microphone ?? true, screen: tracks.screen ?? false };
    if (!this.tracks.camera && !this.tracks.microphone) throw new InvalidUseError('record the camera, the microphone or both');
    this.video = { ...DEFAULTS.video, ...options.video };
    this.paths = choosePaths();  // which path each part takes in this browser (capabilities.js)
    this.screenVideo = { ...(this.paths.core === 'plain' ? DEFAULTS.plainScreenVideo : DEFAULTS.screenVideo),
      ...options.screenVideo };
    this.audio = { ...DEFAULTS.audio, ...options.audio };
    this.debug = debug;  // tests only: {videoDelayMs} slows the encoder worker down; {deadlines} shortens them;
    // {hangThreads} makes that many encoder workers in a row hang as Firefox's sometimes do
    this.deadlines = { ...DEADLINES, ...debug?.deadlines };
    this.pathsNoted = false;
    /** @type {RecorderState} */
    this.state = 'idle';
    /** @type {{ camera: MediaStream | null, screen: MediaStream | null }} */
    this.streams = { camera: null, screen: null };
    /** @type {Recording[]} */
    this.live = [];             // Recordings of the current part
    /** @type {Set<Uploader>} */
    this.uploaders = new Set(); // the uploads this page works on, live and resumed, until they settle
    this.finished = { acked: 0, stored: 0 };  // bytes of this page's uploads that completed
    /** @type {Error | null} */
    this.refusal = null;        // the first upload (or token) the server refused: stop() rejects with it
    /** @type {(() => void) | null} */
    this.unlock = null;         // releases the session's Web Lock
    /** @type {(() => void)[]} */
    this.unwatch = [];
    this.unreachable = false;   // a transient network failure is being retried
    this.slowUplink = false;    // a recording's video is lighter than the host's settings (uplink.js)
    // session, store, tus and sender are null until openStore(), which every method that uses
    // them runs first (the types say what they are from then on).
    /** @type {import('./chunk-store.js').SessionRecord} */
    this.session = /** @type {any} */ (null);
    /** @type {ChunkStore} */
    this.store = /** @type {any} */ (null);
    /** @type {TusClient} */
    this.tus = /** @type {any} */ (null);
    /** @type {EventSender} */
    this.sender = /** @type {any} */ (null);
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.progressTimer = undefined;
    /** @type {Map<string, ReturnType<typeof startEncoder>>} */
    this.warm = new Map();      // kind -> encoder started in prepare(), adopted by start()
  }

  // The session clock's zero (ms since the epoch), once the session's first recording started.
  get sessionStartMs() {
    return this.session?.zeroMs ?? null;
  }

  // Opens storage (resuming what a previous page left) and the devices, and starts the encoders
  // (start() adopts them); the streams are then available in `streams` for a preview. Call from a user gesture (screen sharing and audio
  // need one). On a device error the recorder returns to its previous state and rethrows.
  async prepare() {
    const previous = this.state;
    if (previous !== 'idle' && previous !== 'interrupted') throw new InvalidUseError(`prepare() in state ${previous}`);
    this.setState('preparing');
    // Safari shares a screen only when asked inside the click's own handler: before any await.
    const screen = this.tracks.screen ? openScreen(this.screenVideo) : null;
    screen?.catch(() => {});  // awaited below, or closed if preparing fails first
    try {
      if (!this.store) await this.openStore();
      this.notePaths();
      const missing = missingFeatures(this.tracks);
      if (missing.length) throw new UnsupportedBrowserError(missing.join(', '));
      this.streams.camera = await this.withinDeadline(openCamera(this.tracks, this.video));
      if (screen) this.streams.screen = await this.withinDeadline(screen);
      this.watchDevices();
      this.warmUp();
      // The audio engine must run on this computer before the interview starts (see
      // startAudioEngine): checked here, so that the device check says so.
      if (this.tracks.microphone) (await startAudioEngine(this.deadlines.audioMs)).close().catch(() => {});
      this.setState('ready');
    } catch (err) {
      if (screen && !this.streams.screen) screen.then(stopStream, () => {});
      this.releaseDevices();
      this.setState(previous);
      throw this.report(err);
    }
  }

  // Starts recording (preparing first if needed). Resolves once media flows.
  async start() {
    if (this.state === 'idle' || this.state === 'interrupted') await this.prepare();
    if (this.state !== 'ready') throw new InvalidUseError(`start() in state ${this.state}`);
    this.live = this.wanted().map(([kind, stream, video]) => new Recording({
      store: this.store, tus: this.tus, session: this.session, kind, part: ++this.session.parts,
      continuationOf: this.session.last?.[kind] ?? null, stream, video, audio: this.audio,
      debug: this.debug, hooks: this.hooks(), paths: this.paths, deadlines: this.deadlines,
    }));
    this.session.last = { ...this.session.last, ...Object.fromEntries(this.live.map((r) => [r.kind, r.id])) };
    await this.store.putSession(this.session);
    try {
      for (const rec of this.live) {
        await rec.create();
        this.track(rec.uploader);
        const warm = this.warm.get(rec.kind) ?? null;
        this.warm.delete(rec.kind);
        await rec.open(warm);
      }
      for (const rec of this.live) await rec.begin();
    } catch (err) {
      await this.fail(err);
      throw err;
    }
    // One start time for every recording of the part: they begin together on the shared clock.
    // The session's first start is its clock's zero: recording time 0 is the first file's start.
    const startAtMs = nowMs();
    if (this.session.zeroMs === null) {
      this.session.zeroMs = startAtMs;
      await this.store.putSession(this.session);
    }
    for (const rec of this.live) {
      rec.startAtMs = startAtMs;
      rec.watchFirstMedia();
    }
    this.setState('recording');
  }

  // Stores a marker (type 'marker') or a client event (type 'client_event') at the current
  // recording time; it is sent to the server with retries. Resolves with the event once stored.
  // `keyframe`: the next video frame of every recording is a keyframe starting a new chunk, so
  // the files can be cut at this marker without re-encoding (a question's start).
  // Throws InvalidUseError for what the server would refuse: a label of more than 200 bytes
  // (UTF-8), data that is not a JSON object or is over 16 KiB as JSON.
  /**
   * @param {string} label @param {Record<string, unknown>} [data]
   * @param {{ type?: 'marker' | 'client_event', keyframe?: boolean }} [options]
   * @returns {Promise<import('./index.js').MarkerEvent>}
   */
  async mark(label, data = {}, { type = 'marker', keyframe = false } = {}) {
    if (!this.session?.zeroMs) throw new InvalidUseError('mark() before start()');
    const checked = checkedEvent(label, data, type);
    if (keyframe && this.state === 'recording') for (const rec of this.live) rec.encoder?.requestKeyframe();
    return this.storeEvent(type, label, checked);
  }

  // Stores the event for the sender (which wakes up); `data` was checked (checkedEvent) or made here.
  /**
   * @param {'marker' | 'client_event'} type @param {string} label @param {Record<string, unknown>} data
   * @returns {Promise<import('./index.js').MarkerEvent>}
   */
  async storeEvent(type, label, data) {
    const now = nowMs();
    // Strictly increasing, so that ordering by time keeps the order the page marked in (one click
    // marks question N's end and N+1's start in the same millisecond). Before the session's first
    // start (a client event at the device check) the recording time is 0; wall_time tells.
    const sinceZero = this.session.zeroMs ? Math.round(now - this.session.zeroMs) : 0;
    const recordingTimeMs = Math.max(sinceZero, (this.lastMarkMs ?? -1) + 1);
    this.lastMarkMs = recordingTimeMs;
    const event = { id: newId(), type, label, data, recording_time_ms: recordingTimeMs, wall_time: isoTime(now) };
    const recordingId = this.live[0]?.id ?? null;
    await this.store.addEvent({ id: event.id, sessionId: this.sessionId, recordingId, event, storedAt: Date.now() });
    this.sender.wake();
    return event;
  }

  // Ends the interview: stops recording, releases the devices and resolves when the server has
  // acknowledged every byte and every marker and completed every upload (also what an earlier
  // page of the session left; from 'idle' that is all it does), and then tells the server that the
  // interview ended (the session takes no new recording, and completes once it is processed).
  // Network failures are waited out.
  // Rejects with the error if an upload or the token was refused. Resolves with markers still
  // pending only if the server has no events endpoint (progress().pendingEvents says how many;
  // they keep being retried and stay stored for a later page).
  async stop() {
    if (this.state === 'stopped') return;
    if (this.state === 'preparing' || this.state === 'stopping') throw new InvalidUseError(`stop() in state ${this.state}`);
    const previous = this.state;
    this.setState('stopping');
    if (!this.store) {
      try {
        await this.openStore();
      } catch (err) {
        this.setState(previous);
        throw this.report(err);
      }
    }
    await this.endPart();
    this.releaseDevices();
    await Promise.allSettled([...this.uploaders].map((u) => u.done));
    const drained = await this.sender.drained();
    if (drained && !this.refusal) await this.endSession();
    this.emitProgress();
    if (drained) clearInterval(this.progressTimer);
    this.setState(this.refusal ? 'failed' : 'stopped');
    this.unlock?.();
    if (this.refusal) throw this.refusal;
  }

  // POST /api/v1/sessions/{id}/end, a few times while the network fails. Not a condition of
  // stopping: everything is saved by now, and without the end the server closes the session when
  // its link expires. A server without the route (404) is older than it.
  async endSession() {
    const url = new URL(`/api/v1/sessions/${encodeURIComponent(this.sessionId)}/end`, this.server).href;
    const retry = new Retry();
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${this.token}` },
          cache: 'no-store', signal: AbortSignal.timeout(10_000) });
        if (!isTransientStatus(res.status)) return;  // 2xx, or refused: asking again changes nothing
      } catch {
        // no network: try again
      }
      if (attempt === END_ATTEMPTS) return console.warn('the server was not told that the interview ended');
      await retry.wait();
    }
  }

  // A snapshot for the 'progress' event:
  //   ackedBytes / storedBytes / pendingBytes   media bytes of this page's uploads
  //   waitingSeconds   age of the oldest chunk the server has not acknowledged (0: all saved)
  //   retrying         a network failure is being retried (offline or server unreachable)
  //   online           navigator.onLine;   pendingEvents   markers not yet sent
  progress() {
    let acked = this.finished.acked;
    let stored = this.finished.stored;
    let oldest = this.sender?.waitingSince ?? null;
    let retrying = Boolean(this.sender?.lastError);
    for (const u of this.uploaders) {
      acked += u.ackedBytes;
      stored += u.storedBytes;
      if (u.waitingSince !== null && (oldest === null || u.waitingSince < oldest)) oldest = u.waitingSince;
      retrying ||= u.lastError !== null;
    }
    return {
      ackedBytes: acked, storedBytes: stored, pendingBytes: stored - acked,
      waitingSeconds: oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
      retrying, online: navigator.onLine, pendingEvents: this.sender?.pending ?? 0,
    };
  }

  // The session's recordings as stored in this browser (for diagnostics and tests): this page's
  // and those earlier pages left unfinished (settled ones are pruned when a page opens the store).
  async recordings() {
    const all = (await this.store.recordingsOf(this.sessionId)).sort((a, b) => a.part - b.part);
    const out = [];
    for (const { id, kind, part, state, uploadUrl, startMs, endMs, storedChunks, storedBytes, continuationOf } of all) {
      const ackedBytes = await this.store.ackedBytes({ id, state, storedBytes });
      out.push({ id, kind, part, state, uploadUrl, startMs, endMs, storedChunks, storedBytes, ackedBytes, continuationOf });
    }
    return out;
  }

  // ---- internals ----

  // Settles like `promise` (opening a device), or rejects with StalledError('devices'); a device
  // that opens after the deadline is closed at once.
  /** @param {Promise<MediaStream>} promise @returns {Promise<MediaStream>} */
  async withinDeadline(promise) {
    const ms = this.deadlines.devicesMs;
    try {
      return await withDeadline(promise, ms, () => new StalledError('devices', ms));
    } catch (err) {
      promise.then(stopStream, () => {});
      throw err;
    }
  }

  // A client event for HR and support (the session's events), sent like markers; never throws.
  /** @param {string} label @param {Record<string, unknown>} data */
  note(label, data) {
    if (!this.store || !this.session) return;
    this.storeEvent('client_event', label, data).catch((err) => console.warn(`recorder: ${label} not stored: ${err.message}`));
  }

  // Once per page: which path each part takes in this browser (client event 'recorder_paths').
  notePaths() {
    if (this.pathsNoted) return;
    this.pathsNoted = true;
    this.note('recorder_paths', { ...this.paths, crossOriginIsolated: self.crossOriginIsolated === true,
      cores: navigator.hardwareConcurrency ?? null, userAgent: navigator.userAgent });
  }

  async openStore() {
    await this.lockSession();
    // Asks the browser not to evict the stored chunks under storage pressure; it may say no.
    navigator.storage?.persist?.().catch(() => {});
    this.store = await ChunkStore.open();
    await this.store.prune(this.sessionId, SESSION_KEEP_MS);
    this.tus = new TusClient({ endpoint: new URL('/files/', this.server).href, token: this.token });
    this.session = await this.store.getSession(this.sessionId) ??
      { sessionId: this.sessionId, server: this.server.href, zeroMs: null, parts: 0, last: {} };
    // Recordings a previous page left: their encoder is gone, so what is stored is all there is.
    for (const rec of await this.store.recordingsOf(this.sessionId)) {
      if (isSettled(rec)) continue;
      if (rec.state === 'recording') await this.store.updateRecording(rec.id, { state: 'stopped' });
      const uploader = new Uploader({ store: this.store, tus: this.tus, recordingId: rec.id,
        onProgress: () => this.emitProgress(), onTransient: (err) => this.onTransient(err) });
      uploader.storedBytes = rec.storedBytes;
      this.track(uploader, rec);
    }
    this.sender = new EventSender({ store: this.store, sessionId: this.sessionId, token: this.token,
      endpoint: new URL(`/api/v1/sessions/${encodeURIComponent(this.sessionId)}/events`, this.server).href,
      onTransient: (err) => this.onTransient(err),
      onRejected: (err) => (err instanceof MarkerRejectedError ? this.report(err) : this.refuse(err)) });
    this.progressTimer = setInterval(() => this.emitProgress(), 1000);
  }

  // Holds the session's Web Lock for the life of this page (or until stop() completes): a second
  // tab of the same session would otherwise take the first one's live recordings for leftovers.
  // Browsers without Web Locks go unprotected.
  /** @returns {Promise<void>} */
  lockSession() {
    if (!navigator.locks) return Promise.resolve();
    return new Promise((resolve, reject) => {
      navigator.locks.request(`interview-recorder:${this.sessionId}`, { ifAvailable: true }, (lock) => {
        if (!lock) return reject(new SessionInUseError());
        resolve();
        return /** @type {Promise<void>} */ (new Promise((release) => { this.unlock = release; }));
      }).catch(reject);
    });
  }

  // Follows an upload until it settles, then forgets it (its bytes stay counted in progress()).
  // A resumed upload (`resumed`: its record) the server no longer has cannot ever be completed:
  // its chunks are dropped with a warning, and the interview goes on.
  /** @param {Uploader} uploader @param {{ id: string } | null} [resumed] */
  track(uploader, resumed = null) {
    this.uploaders.add(uploader);
    uploader.done.then(() => {
      this.uploaders.delete(uploader);
      this.finished.acked += uploader.ackedBytes;
      this.finished.stored += uploader.storedBytes;
    }, async (err) => {
      this.uploaders.delete(uploader);
      if (!resumed || !isGone(err)) return this.refuse(err);
      await this.store.settleRecording(resumed.id, { state: 'failed' });
      this.report(new UploadLostError(err));
    });
  }

  refuse(err) {
    this.refusal ??= err;
    return this.fail(err);
  }

  hooks() {
    return {
      onProgress: () => this.emitProgress(),
      onStats: (kind, stats) => this.dispatchEvent(new CustomEvent('stats', { detail: { kind, stats } })),
      onWarning: (err) => this.report(err),
      onFailure: (err) => this.fail(err),
      onTransient: (err) => this.onTransient(err),
      onUplink: (kind, change) => this.followedUplink(kind, change),
      onNote: (label, data) => this.note(label, data),
    };
  }

  // A recording changed its video for the uplink: HR sees every change on the session's
  // timeline; the candidate is told once per slow spell (the first step down), calmly.
  /** @param {string} kind @param {import('./recording.js').UplinkChange} change */
  followedUplink(kind, { step, videoKbps, fps, backlogSeconds, capacityKbps }) {
    this.note('video_quality', { kind, step, videoKbps, fps, backlogSeconds: Math.round(backlogSeconds * 10) / 10,
      capacityKbps: capacityKbps === null ? null : Math.round(capacityKbps) });
    const slow = this.live.some((rec) => rec.uplink && rec.uplink.step > 0);
    if (slow && !this.slowUplink) this.report(new SlowUplinkError(videoKbps, capacityKbps));
    this.slowUplink = slow;
  }

  // The recordings a start() makes: [kind, stream, video options].
  // REQUIRES: the devices are open (prepare()).
  /** @returns {['camera' | 'screen' | 'audio', MediaStream, import('./index.js').VideoOptions][]} */
  wanted() {
    /** @type {['camera' | 'screen' | 'audio', MediaStream, import('./index.js').VideoOptions][]} */
    const wanted = [[this.tracks.camera ? 'camera' : 'audio', /** @type {MediaStream} */ (this.streams.camera), this.video]];
    if (this.streams.screen) wanted.push(['screen', this.streams.screen, this.screenVideo]);
    return wanted;
  }

  // Starts the encoders while the candidate checks the devices, so that start() records at once.
  warmUp() {
    this.coolDown();
    for (const [kind, stream, video] of this.wanted()) {
      this.warm.set(kind, startEncoder(kind, stream, video, this.audio, this.debug, this.paths, this.deadlines));
    }
  }

  coolDown() {
    for (const { encoder } of this.warm.values()) encoder.terminate();
    this.warm.clear();
  }

  watchDevices() {
    const lost = (err) => this.interrupt(err);
    this.unwatch.push(watchStream(this.streams.camera, deviceName(this.tracks), lost));
    if (this.streams.screen) this.unwatch.push(watchStream(this.streams.screen, 'screen', lost));
  }

  releaseDevices() {
    this.coolDown();
    this.unwatch.splice(0).forEach((stop) => stop());
    stopStream(this.streams.camera);
    stopStream(this.streams.screen);
    this.streams = { camera: null, screen: null };
  }

  // Flushes the current part's recordings into the store (their uploads continue).
  async endPart() {
    const live = this.live.splice(0);
    await Promise.all(live.map((rec) => rec.stop().catch((err) => this.report(err))));
  }

  async interrupt(err) {
    if (this.state !== 'recording' && this.state !== 'ready') return;
    this.report(err);
    this.setState('stopping');
    await this.endPart();
    this.releaseDevices();
    // (The awaits may have changed the state since the check above, which tsc cannot know.)
    if (/** @type {RecorderState} */ (this.state) === 'stopping') this.setState('interrupted');
  }

  async fail(err) {
    if (this.state === 'failed') return;
    this.report(err);
    const wasStopping = this.state === 'stopping';
    this.setState('failed');
    if (!wasStopping) {
      await this.endPart();
      this.releaseDevices();
    }
  }

  onTransient(err) {
    if (this.unreachable) return;
    this.unreachable = true;
    this.report(err);
  }

  emitProgress() {
    const progress = this.progress();
    if (!progress.retrying) this.unreachable = false;
    this.dispatchEvent(new CustomEvent('progress', { detail: progress }));
  }

  report(err) {
    const error = err instanceof RecorderError ? err
      : new RecorderError('Something went wrong with the recorder.', { code: 'internal', cause: err, detail: String(err?.message || err) });
    // Stalls and a browser too limited are the host's to see: client events of the session.
    if (error instanceof StalledError) this.note('step_stalled', { step: error.step, ms: error.ms, paths: this.paths });
    if (error instanceof CameraStalledError) this.note('camera_stalled', { kind: error.kind, seconds: error.seconds, frames: error.frames,
      paths: this.paths });
    if (error instanceof UnsupportedBrowserError) this.note('unsupported_browser', { missing: error.detail, paths: this.paths });
    this.dispatchEvent(new CustomEvent('error', { detail: { error } }));
    return error;
  }

  setState(state) {
    const previous = this.state;
    if (state === previous) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, previous } }));
  }
}
