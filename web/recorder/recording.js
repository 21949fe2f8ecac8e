// One recording: the tracks of one MediaStream (camera + microphone, or screen + its audio)
// encoded by one worker into one WebM, stored chunk by chunk, uploaded as one tus upload.
// Lifecycle: create() (stored record, uploader waiting) -> open() (encoder ready) ->
// begin() (sources running) -> startAtMs set (media recorded from then on) ->
// stop() (sources end, encoder flushed, every chunk stored, record 'stopped'); the Uploader keeps
// draining after that; `uploader.done` resolves when the server has the whole file.
//
// Time: media is stamped in µs since the session's zero, so every recording of the session shares
// one clock; nothing captured before `startAtMs` is sent, so recordings begun together start
// together. The record's startMs is the session-clock time of the file's time zero (the first
// media handed to the encoder).
import { nowMs, toStreamUs } from './clock.js';
import { Encoder } from './encoder.js';
import { CameraStalledError, EncoderBehindError, RecorderError, StalledError, StorageFullError, StorageTooSlowError } from './errors.js';
import { startAudioSource } from './audio-source.js';
import { startFrameSource } from './frame-source.js';
import { Uploader } from './uploader.js';
import { UplinkController } from './uplink.js';

// "Encoder behind" is reported when this many frames were dropped since the last report, at most
// once per BEHIND_REPORT_MS.
const BEHIND_FRAMES = 5;
const BEHIND_REPORT_MS = 10_000;
const WARM_UP_SECONDS = 3;
// Stream seconds (the sound goes on) without a new video frame after which the camera is reported
// stalled: the file would otherwise hold a still picture, or none, without anyone knowing.
const CAMERA_STALL_SECONDS = 3;
// Chunks (about a second each) that may wait for IndexedDB; one more fails the recording with
// StorageTooSlowError instead of holding ever more media in memory.
const MAX_WAITING_WRITES = 4;
// How often the backlog and the uplink's capacity are looked at (uplink.js).
const UPLINK_TICK_MS = 1000;

/**
 * @typedef {{ onProgress: () => void, onStats: (kind: string, stats: object) => void, onWarning: (err: Error) => void,
 *   onFailure: (err: Error) => void, onTransient: (err: Error) => void,
 *   onUplink: (kind: string, change: UplinkChange) => void, onNote: (label: string, data: Record<string, unknown>) => void }} Hooks
 * @typedef {import('./uplink.js').UplinkStep & { backlogSeconds: number, capacityKbps: number | null }} UplinkChange
 * @typedef {{ store: import('./chunk-store.js').ChunkStore, tus: import('./tus-client.js').TusClient,
 *   session: { sessionId: string, zeroMs: number | null }, kind: 'camera' | 'screen' | 'audio', part: number,
 *   continuationOf: string | null, stream: MediaStream, video: import('./index.js').VideoOptions,
 *   audio: { kbps?: number }, debug?: { videoDelayMs?: number, hangThreads?: number }, hooks: Hooks,
 *   paths: import('./index.js').RecorderPaths, deadlines: import('./index.js').Deadlines }} RecordingOptions
 */

export class Recording {
  // `hooks`: onProgress(), onStats(kind, stats), onWarning(err), onFailure(err), onTransient(err),
  // onUplink(kind, change), onNote(label, data) (a client event for HR and support).
  // `paths`: capabilities.js choosePaths(); `deadlines`: the recorder's DEADLINES (ms).
  /** @param {RecordingOptions} options */
  constructor({ store, tus, session, kind, part, continuationOf, stream, video, audio, debug, hooks, paths, deadlines }) {
    this.store = store;
    this.tus = tus;
    this.session = session;
    this.kind = kind;
    this.part = part;
    this.continuationOf = continuationOf;
    this.stream = stream;
    this.video = video;
    this.audio = audio;
    this.debug = debug;
    this.hooks = hooks;
    this.paths = paths;
    this.deadlines = deadlines;
    this.id = newId();
    this.storedBytes = 0;
    /** @type {number | null} */
    this.startMs = null;
    this.startAtMs = Infinity;
    this.sources = [];
    this.writes = Promise.resolve();  // the chunk writes in order; `waitingWrites` of them pending
    this.waitingWrites = 0;
    this.failure = null;
    this.clientDropped = 0;
    this.reportedDropped = 0;
    this.lastBehindReport = -Infinity;
    this.videoFrames = { count: 0, atSeconds: 0, stallReported: false };
    this.stats = null;
    this.mediaFrom = null;   // upload offset where the first chunk with media begins
    this.firstEncoded = false;  // the encoder reported its first video frame (audio packet if no video)
    this.watchTimers = [];
    /** @type {{ end: number, endMs: number }[]} */
    this.unacked = [];       // stored media chunks the server has not acknowledged: byte end, media end
    /** @type {number | null} */
    this.ackedEndMs = null;  // media end of the last acknowledged chunk
    /** @type {UplinkController | null} */
    this.uplink = null;      // with video, unless the host turned it off (video.adaptive false)
    /** @type {UplinkChange | null} */
    this.uplinkState = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.uplinkTimer = undefined;
    /** @type {ReturnType<typeof startFrameSource> | null} */
    this.videoSource = null;
  }

  // Stores the recording's record and starts its uploader (which waits for chunks).
  async create() {
    await this.store.addRecording({
      id: this.id, sessionId: this.session.sessionId, kind: this.kind, part: this.part,
      continuationOf: this.continuationOf, uploadUrl: null, state: 'recording', storedChunks: 0,
      storedBytes: 0, zeroMs: null, startMs: null, endMs: null,
      createdAt: Date.now(),
    });
    /** @type {Uploader} set here, before anything else uses it */
    this.uploader = new Uploader({
      store: this.store, tus: this.tus, recordingId: this.id,
      onProgress: this.hooks.onProgress, onTransient: this.hooks.onTransient,
    });
    this.uploader.storedBytes = 0;
  }

  // Starts the encoder worker, or adopts `warm` (an encoder the recorder started ahead of time
  // for the same stream, see startEncoder) if it came up with the same configuration.
  // REQUIRES: create().
  /** @param {ReturnType<typeof startEncoder> | null} [warm] */
  async open(warm = null) {
    const { config, frameSize } = encoderConfig(this.kind, this.stream, this.video, this.audio);
    this.frameSize = frameSize;
    const callbacks = {
      onChunk: (info, data) => this.onChunk(info, data),
      onStats: (stats) => this.onStats(stats),
      onFailure: (err) => this.fail(err),
      onRejected: (code, message) => console.warn(`recorder: ${this.kind} input rejected: ${code}: ${message}`),
    };
    const adopt = warm && warm.key === encoderKey(config, this.debug) &&
      await warm.ready.then(() => !warm.encoder.failed, () => false);
    if (warm && adopt) {
      warm.encoder.bind(callbacks);
      this.encoder = warm.encoder;
    } else {
      warm?.encoder.terminate();
      // A warm encoder that stalled would stall again: its error is the answer, at once.
      if (warm?.encoder.failed instanceof StalledError) throw warm.encoder.failed;
      this.encoder = new Encoder(callbacks, this.deadlines);
      await this.encoder.init(config, { variant: this.paths.core, debug: this.debug });
    }
    // Support wants to see how often Firefox's hang happens (encoder.js, THREAD_RESTARTS).
    if (this.encoder.restarts) this.hooks.onNote('encoder_restarted', { kind: this.kind, restarts: this.encoder.restarts, reason: 'threads' });
  }

  // Starts the sources. Nothing is recorded until the owner sets `startAtMs` (one instant for
  // every recording of a part, once all of them run).
  async begin() {
    const videoTrack = this.stream.getVideoTracks()[0];
    const audioTrack = this.stream.getAudioTracks()[0];
    if (videoTrack) {
      if (this.video.adaptive !== false) {
        this.uplink = new UplinkController({ videoKbps: this.video.kbps ?? 250, fps: this.video.fps ?? 30,
          audioKbps: audioTrack ? this.audio.kbps ?? 64 : 0 });
      }
      this.sources.push(this.videoSource = startFrameSource(videoTrack, {
        encoder: this.encoder, stamp: (ms) => this.stamp(ms), ...this.frameSize, fps: this.video.fps,
        path: this.paths.video, onDropped: () => { this.clientDropped += 1; },
        onEnded: () => {},  // track loss is reported by the recorder's stream watcher
      }));
    }
    if (audioTrack) {
      this.sources.push(await startAudioSource(audioTrack, { encoder: this.encoder, stamp: (ms) => this.stamp(ms),
        deadlineMs: this.deadlines.audioMs }));
    }
  }

  // Called once recording began (startAtMs set): the encoder must report its first video frame
  // (audio packet for a recording without video) within deadlines.firstFrameMs (else the
  // recording fails: a camera that delivers no frame records no picture), and the server must acknowledge it within deadlines.firstAckMs (else
  // a warning: the chunks wait on this computer and keep uploading).
  watchFirstMedia() {
    const { firstFrameMs, firstAckMs } = this.deadlines;
    this.watchTimers.push(setTimeout(() => {
      if (!this.firstEncoded && !this.failure) this.fail(new StalledError('first_frame', firstFrameMs));
    }, firstFrameMs));
    this.watchTimers.push(setTimeout(() => {
      const acked = this.mediaFrom !== null && this.uploader.ackedBytes > this.mediaFrom;
      if (!acked && !this.failure) this.hooks.onWarning(new StalledError('first_ack', firstAckMs));
    }, firstAckMs));
    if (this.uplink) this.uplinkTimer = setInterval(() => this.followUplink(), UPLINK_TICK_MS);
  }

  // Seconds of media stored here that the server has not acknowledged yet.
  backlogSeconds() {
    const acked = this.uploader.ackedBytes;
    while (this.unacked.length && this.unacked[0].end <= acked) this.ackedEndMs = /** @type {{ endMs: number }} */ (this.unacked.shift()).endMs;
    const last = this.unacked.at(-1);
    if (!last) return 0;
    return Math.max(0, (last.endMs - (this.ackedEndMs ?? /** @type {number} */ (this.startMs))) / 1000);
  }

  // Lighter or heavier video as the uplink asks (uplink.js); each change goes to the owner, who
  // tells the candidate and notes it for HR.
  followUplink() {
    const uplink = /** @type {UplinkController} */ (this.uplink);
    // While uploads fail (offline, server down) there is no uplink to follow: the backlog grows
    // for another reason, and the recorder says so (server_unreachable).
    if (this.failure || this.startMs === null || this.uploader.lastError) return;
    const backlogSeconds = this.backlogSeconds();
    const capacityKbps = this.uploader.capacityKbps();
    // Nothing is known of the uplink before a PATCH was answered: a server that never answers is
    // the first_ack warning's case, not a slow link.
    if (capacityKbps === null) return;
    const step = uplink.update({ backlogSeconds, capacityKbps, nowMs: nowMs() });
    this.uplinkState = { ...(step ?? uplink.settings()), backlogSeconds, capacityKbps };
    if (!step) return;
    this.encoder?.setVideoBitrate(step.videoKbps);
    this.videoSource?.setMaxFps(step.fps < uplink.target.fps ? step.fps : null);
    this.hooks.onUplink(this.kind, this.uplinkState);
  }

  // Session-clock ms -> stream µs, or null before the recording began. The first stamped media
  // fixes startMs (the worker sees media in the order it is stamped and posted).
  stamp(ms) {
    if (ms < this.startAtMs || this.failure) return null;
    if (this.startMs === null) this.startMs = ms;
    return toStreamUs(ms, this.session.zeroMs);
  }

  /** @param {import('../../wasm/recorder-core.js').ChunkInfo} info @param {ArrayBuffer} data */
  onChunk(info, data) {
    if (this.failure) return;  // after a failed or refused write the stream has a gap: store no more
    if (this.waitingWrites >= MAX_WAITING_WRITES) {
      this.fail(new StorageTooSlowError(this.waitingWrites));
      return;
    }
    this.waitingWrites += 1;
    // A Cluster comes after the first stamped media, which set startMs.
    const endMs = info.isHeader ? null : /** @type {number} */ (this.startMs) + info.lastTimestampUs / 1000;
    this.writes = this.writes.then(async () => {
      if (this.failure) return;
      try {
        const rec = await this.store.appendChunk(this.id, info.index, data,
          { endMs, startMs: this.startMs, zeroMs: this.session.zeroMs });
        if (!info.isHeader && this.mediaFrom === null) this.mediaFrom = this.storedBytes;
        if (!info.isHeader) this.unacked.push({ end: rec.storedBytes, endMs: /** @type {number} */ (endMs) });
        this.storedBytes = rec.storedBytes;
        this.uploader.storedBytes = rec.storedBytes;
        this.uploader.wake();
        this.hooks.onProgress();
      } catch (err) {
        this.fail(err instanceof RecorderError ? err : new StorageFullError(err));
      } finally {
        this.waitingWrites -= 1;
      }
    });
  }

  onStats(stats) {
    this.stats = { ...stats, videoFramesSkipped: this.clientDropped, paths: this.paths, uplink: this.uplinkState };
    this.firstEncoded ||= this.stream.getVideoTracks().length ? stats.videoFramesEncoded > 0 : stats.audioPacketsEncoded > 0;
    this.hooks.onStats(this.kind, this.stats);
    this.watchCamera(stats);
    const dropped = stats.videoFramesDropped + this.clientDropped;
    // The encoder's first seconds (setup, first keyframe) are slow on any machine: not reported.
    if (stats.mediaSeconds < WARM_UP_SECONDS) {
      this.reportedDropped = dropped;
      return;
    }
    if (dropped - this.reportedDropped >= BEHIND_FRAMES && nowMs() - this.lastBehindReport >= BEHIND_REPORT_MS) {
      this.reportedDropped = dropped;
      this.lastBehindReport = nowMs();
      this.hooks.onWarning(new EncoderBehindError(dropped));
    }
  }

  // Reports once per stall a camera whose frames stopped while the stream goes on, and counts
  // again from when they come back.
  watchCamera({ videoFramesIn, videoFramesEncoded, videoFramesDropped, mediaSeconds }) {
    if (!this.stream.getVideoTracks().length) return;
    const seen = this.videoFrames;
    if (videoFramesEncoded !== seen.count) {
      this.videoFrames = { count: videoFramesEncoded, atSeconds: mediaSeconds, stallReported: false };
      return;
    }
    const stalledSeconds = mediaSeconds - seen.atSeconds;
    if (stalledSeconds >= CAMERA_STALL_SECONDS && !seen.stallReported) {
      seen.stallReported = true;
      // Where the frames stopped, for support: at the source (none in), here (skipped: the encoder
      // was behind) or in the encoder (in but dropped).
      const frames = { in: videoFramesIn, skipped: this.clientDropped, dropped: videoFramesDropped,
        encoded: videoFramesEncoded };
      this.hooks.onWarning(new CameraStalledError(this.kind, stalledSeconds, frames));
    }
  }

  fail(err) {
    if (this.failure) return;
    this.failure = err;
    this.hooks.onFailure(err);
  }

  // Ends the recording: sources stop, the encoder flushes, every chunk is stored and the record is
  // marked 'stopped' so the uploader completes the upload. Safe after a failure (stores what it
  // can; the uploader completes what was stored even if the record cannot be updated).
  async stop() {
    this.watchTimers.forEach(clearTimeout);
    clearInterval(this.uplinkTimer);
    this.sources.forEach((s) => s.stop());
    this.sources = [];
    if (!this.uploader) return;  // open() failed before anything was stored
    if (this.encoder && !this.encoder.failed && !this.failure) {
      try {
        this.stats = { ...(await this.encoder.stop()).stats, videoFramesSkipped: this.clientDropped, paths: this.paths,
          uplink: this.uplinkState };
      } catch {
        // the failure was reported through onFailure
      }
    }
    await this.writes;
    this.encoder?.terminate();
    await this.store.updateRecording(this.id, { state: 'stopped' }).catch((err) => this.fail(err));
    this.uploader.storedBytes = this.storedBytes;
    this.uploader.finish();
  }
}

// The core's configuration for recording `stream`, and the frame size the sources scale to.
function encoderConfig(kind, stream, video, audio) {
  const videoTrack = stream.getVideoTracks()[0];
  const audioTrack = stream.getAudioTracks()[0];
  // The encoder takes frames of exactly its configured size: use what the device delivers.
  const settings = videoTrack?.getSettings() ?? {};
  const frameSize = videoTrack && { width: even(settings.width || video.width), height: even(settings.height || video.height) };
  const config = {
    video: videoTrack ? { ...frameSize, fps: video.fps, kbps: video.kbps,
      content: kind === 'screen' ? 'screen' : 'camera', threads: video.threads } : undefined,
    audio: audioTrack ? { sampleRate: 48000, channels: 1, kbps: audio.kbps } : undefined,
    chunkDurationMs: 1000,
  };
  return { config, frameSize };
}

function encoderKey(config, debug) {
  return JSON.stringify({ config, debug: debug ?? null });
}

// Starts an encoder for a stream ahead of its recording (loading and compiling the WASM core and
// starting its threads take a second or more): Recording.open(warm) adopts it. Nothing is encoded
// until then; terminate the encoder if it is not used.
/**
 * @param {RecordingOptions['kind']} kind @param {MediaStream} stream @param {RecordingOptions['video']} video
 * @param {RecordingOptions['audio']} audio @param {RecordingOptions['debug']} debug
 * @param {RecordingOptions['paths']} paths @param {RecordingOptions['deadlines']} deadlines
 */
export function startEncoder(kind, stream, video, audio, debug, paths, deadlines) {
  const { config } = encoderConfig(kind, stream, video, audio);
  const encoder = new Encoder({}, deadlines);
  const ready = encoder.init(config, { variant: paths.core, debug });
  ready.catch(() => {});  // a failed start is handled by open(), which starts a fresh encoder
  return { encoder, ready, key: encoderKey(config, debug) };
}

function even(n) {
  return Math.max(16, Math.round(n / 2) * 2);
}

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
