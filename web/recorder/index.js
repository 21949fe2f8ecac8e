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
// Events: 'state' {state, previous}, 'progress' (see progress()), 'stats' {kind, stats},
// 'error' {error: RecorderError}. Non-fatal errors (error.fatal false) are warnings: the
// recorder keeps going.
//
// Durability: every chunk is stored before it is sent and deleted only once acknowledged. A page
// opened again for the same session (reload, browser restart) finds what was not acknowledged in
// prepare(), uploads it, completes those uploads, and start() continues with a new part whose
// Upload-Metadata names the part it continues (continuation_of = its recording_id).
import { deviceName, openCamera, openScreen, stopStream, watchStream } from './capture.js';
import { ChunkStore } from './chunk-store.js';
import { isoTime, nowMs } from './clock.js';
import { InvalidUseError, RecorderError } from './errors.js';
import { EventSender } from './events.js';
import { Recording, newId, startEncoder } from './recording.js';
import { TusClient } from './tus-client.js';
import { Uploader } from './uploader.js';

export * from './errors.js';

// The interview defaults: camera 640x480 at 250 kbps, microphone 64 kbps, screen 2.5 Mbps.
// No `threads`: the worker picks them from the track size and the machine (chooseThreads).
const DEFAULTS = {
  video: { width: 640, height: 480, fps: 30, kbps: 250 },
  screenVideo: { width: 1920, height: 1080, fps: 15, kbps: 2500 },
  audio: { kbps: 64 },
};
// How long stop() waits for markers after the media is acknowledged; undelivered ones stay
// stored and go out from the next page of the same session.
const EVENTS_FLUSH_MS = 10_000;

export function createRecorder(options) {
  return new Recorder(options);
}

// What a previous page left for this session in this browser: null if nothing, else the
// session's time zero and how many of its recordings still wait for the server.
export async function findUnfinished(sessionId) {
  const store = await ChunkStore.open();
  try {
    const session = await store.getSession(sessionId);
    if (!session?.zeroMs) return null;
    const recordings = await store.recordingsOf(sessionId);
    return { zeroMs: session.zeroMs, parts: session.parts,
      unfinished: recordings.filter((r) => r.state !== 'complete').length };
  } finally {
    store.close();
  }
}

export class Recorder extends EventTarget {
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
    this.screenVideo = { ...DEFAULTS.screenVideo, ...options.screenVideo };
    this.audio = { ...DEFAULTS.audio, ...options.audio };
    this.debug = debug;  // tests only: {videoDelayMs} slows the encoder worker down
    this.state = 'idle';
    this.streams = { camera: null, screen: null };
    this.live = [];             // Recordings of the current part
    this.uploaders = new Set(); // every upload this page works on, live and resumed
    this.unwatch = [];
    this.unreachable = false;   // a transient network failure is being retried
    this.session = null;
    this.store = null;
    this.progressTimer = null;
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
    try {
      if (!this.store) await this.openStore();
      this.streams.camera = await openCamera(this.tracks, this.video);
      if (this.tracks.screen) this.streams.screen = await openScreen(this.screenVideo);
      this.watchDevices();
      this.warmUp();
      this.setState('ready');
    } catch (err) {
      this.releaseDevices();
      this.setState(previous);
      throw this.report(err);
    }
  }

  // Starts recording (preparing first if needed). Resolves once media flows.
  async start() {
    if (this.state === 'idle' || this.state === 'interrupted') await this.prepare();
    if (this.state !== 'ready') throw new InvalidUseError(`start() in state ${this.state}`);
    const previousParts = await this.store.recordingsOf(this.sessionId);
    this.live = this.wanted().map(([kind, stream, video]) => new Recording({
      store: this.store, tus: this.tus, session: this.session, kind, part: ++this.session.parts,
      continuationOf: lastOfKind(previousParts, kind)?.id ?? null, stream, video, audio: this.audio,
      debug: this.debug, hooks: this.hooks(),
    }));
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
    for (const rec of this.live) rec.startAtMs = startAtMs;
    this.setState('recording');
  }

  // Stores a marker (type 'marker') or a client event (type 'client_event') at the current
  // recording time; it is sent to the server with retries. Resolves with the event once stored.
  async mark(label, data = {}, { type = 'marker' } = {}) {
    if (!this.session?.zeroMs) throw new InvalidUseError('mark() before start()');
    if (typeof label !== 'string' || !label) throw new InvalidUseError('a marker needs a label');
    const now = nowMs();
    const event = { id: newId(), type, label, data, recording_time_ms: Math.round(now - this.session.zeroMs),
      wall_time: isoTime(now) };
    const recordingId = this.live[0]?.id ?? null;
    await this.store.addEvent({ id: event.id, sessionId: this.sessionId, recordingId, event, storedAt: Date.now() });
    this.sender.wake();
    return event;
  }

  // Ends the interview: stops recording, releases the devices and resolves when the server has
  // acknowledged every byte and completed every upload (also those resumed from an earlier page).
  // Rejects with the error if an upload was refused.
  async stop() {
    if (this.state === 'stopped') return;
    if (this.state === 'idle' || this.state === 'preparing' || this.state === 'stopping') {
      throw new InvalidUseError(`stop() in state ${this.state}`);
    }
    this.setState('stopping');
    await this.endPart();
    this.releaseDevices();
    const results = await Promise.allSettled([...this.uploaders].map((u) => u.done));
    const refused = results.find((r) => r.status === 'rejected');
    await this.sender.flushed(EVENTS_FLUSH_MS);
    this.emitProgress();
    clearInterval(this.progressTimer);
    this.setState(refused ? 'failed' : 'stopped');
    if (refused) throw refused.reason;
  }

  // A snapshot for the 'progress' event:
  //   ackedBytes / storedBytes / pendingBytes   media bytes of this page's uploads
  //   waitingSeconds   age of the oldest chunk the server has not acknowledged (0: all saved)
  //   retrying         a network failure is being retried (offline or server unreachable)
  //   online           navigator.onLine;   pendingEvents   markers not yet sent
  progress() {
    let acked = 0;
    let stored = 0;
    let oldest = null;
    let retrying = false;
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

  // The session's recordings as stored in this browser (for diagnostics and tests).
  async recordings() {
    const all = await this.store.recordingsOf(this.sessionId);
    return all.sort((a, b) => a.part - b.part).map(({ id, kind, part, state, uploadUrl, startMs, endMs,
      storedChunks, storedBytes, ackedBytes, continuationOf }) => ({ id, kind, part, state, uploadUrl,
      startMs, endMs, storedChunks, storedBytes, ackedBytes, continuationOf }));
  }

  // ---- internals ----

  async openStore() {
    this.store = await ChunkStore.open();
    this.tus = new TusClient({ endpoint: new URL('/files/', this.server).href, token: this.token });
    this.session = await this.store.getSession(this.sessionId) ??
      { sessionId: this.sessionId, server: this.server.href, zeroMs: null, parts: 0 };
    // Recordings a previous page left: their encoder is gone, so what is stored is all there is.
    for (const rec of await this.store.recordingsOf(this.sessionId)) {
      if (rec.state === 'complete') continue;
      if (rec.state === 'recording') await this.store.updateRecording(rec.id, { state: 'stopped' });
      const uploader = new Uploader({ store: this.store, tus: this.tus, recordingId: rec.id,
        onProgress: () => this.emitProgress(), onTransient: (err) => this.onTransient(err) });
      uploader.storedBytes = rec.storedBytes;
      this.track(uploader);
    }
    this.sender = new EventSender({ store: this.store, sessionId: this.sessionId, token: this.token,
      endpoint: new URL(`/api/v1/sessions/${encodeURIComponent(this.sessionId)}/events`, this.server).href,
      onTransient: (err) => this.onTransient(err) });
    this.progressTimer = setInterval(() => this.emitProgress(), 1000);
  }

  track(uploader) {
    this.uploaders.add(uploader);
    uploader.done.catch((err) => this.fail(err));
  }

  hooks() {
    return {
      onProgress: () => this.emitProgress(),
      onStats: (kind, stats) => this.dispatchEvent(new CustomEvent('stats', { detail: { kind, stats } })),
      onWarning: (err) => this.report(err),
      onFailure: (err) => this.fail(err),
      onTransient: (err) => this.onTransient(err),
    };
  }

  // The recordings a start() makes: [kind, stream, video options].
  wanted() {
    const wanted = [[this.tracks.camera ? 'camera' : 'audio', this.streams.camera, this.video]];
    if (this.streams.screen) wanted.push(['screen', this.streams.screen, this.screenVideo]);
    return wanted;
  }

  // Starts the encoders while the candidate checks the devices, so that start() records at once.
  warmUp() {
    this.coolDown();
    for (const [kind, stream, video] of this.wanted()) {
      this.warm.set(kind, startEncoder(kind, stream, video, this.audio, this.debug));
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
    if (this.state === 'stopping') this.setState('interrupted');
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

function lastOfKind(recordings, kind) {
  return recordings.filter((r) => r.kind === kind).sort((a, b) => b.part - a.part)[0];
}
