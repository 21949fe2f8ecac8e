// Types of the interview recorder ES module (web/recorder/index.js).

export type RecorderState =
  | 'idle' | 'preparing' | 'ready' | 'recording' | 'stopping' | 'stopped' | 'interrupted' | 'failed';

export interface VideoOptions {
  /** Wished capture size; the encoder uses the size the device actually delivers. */
  width?: number;
  height?: number;
  fps?: number;
  /** CBR target of the VP9 encoder. */
  kbps?: number;
  /** Follow the uplink (default true): while uploads fall behind, the video bitrate and then its
   *  frame rate are lowered (never the sound), and raised back once the uplink keeps up; each
   *  change is a 'video_quality' client event, the first one a 'slow_uplink' warning. */
  adaptive?: boolean;
  /** libvpx threads (only with the threads+SIMD build, i.e. a cross-origin isolated page);
   *  default: chosen from the track size and navigator.hardwareConcurrency. */
  threads?: number;
}

export interface RecorderOptions {
  /** Origin of the ingest server; default: the page's origin. */
  server?: string;
  sessionId: string;
  uploadToken: string;
  /** Default: camera and microphone, no screen. */
  tracks?: { camera?: boolean; microphone?: boolean; screen?: boolean };
  /** Camera video; default 640x480, 30 fps, 250 kbps. */
  video?: VideoOptions;
  /** Screen video; default up to 1920x1080, 15 fps, 2500 kbps. */
  screenVideo?: VideoOptions;
  /** Opus bitrate; default 64 kbps. */
  audio?: { kbps?: number };
  /** Tests only: the encoder worker waits this long before each video frame; shorter deadlines. */
  debug?: { videoDelayMs?: number; deadlines?: Partial<Deadlines>; hangThreads?: number };
}

/** How long each step may take (ms) before StalledError; defaults in index.js. */
export interface Deadlines {
  workerMs: number; coreMs: number; devicesMs: number; audioMs: number; firstFrameMs: number; firstAckMs: number;
  /** Not a StalledStep: past it the encoder worker is started again (encoder.js, THREAD_RESTARTS). */
  threadsMs: number;
}

/** The path each part of the recorder takes in this browser (capabilities.js). */
export interface RecorderPaths {
  /** 'simd': threads + SIMD128 core (cross-origin isolated page with SharedArrayBuffer); 'plain': one thread. */
  core: 'simd' | 'plain';
  /** VideoFrames from MediaStreamTrackProcessor, VideoFrames made from a <video> element, or RGBA from a canvas. */
  video: 'track-processor' | 'video-frame' | 'canvas';
  audio: 'audio-worklet';
}

export interface RecorderProgress {
  /** Media bytes the server acknowledged / stored locally, over this page's uploads. */
  ackedBytes: number;
  storedBytes: number;
  pendingBytes: number;
  /** Age of the oldest chunk, marker or client event not yet acknowledged; 0 when everything is saved. */
  waitingSeconds: number;
  /** A network failure is being retried (offline, server unreachable), for media or markers. */
  retrying: boolean;
  online: boolean;
  /** Markers and client events not yet acknowledged (stored in this browser until they are). */
  pendingEvents: number;
}

/** Encoder statistics of one recording, after every chunk (about once a second). */
export interface EncoderStats {
  videoFramesIn: number;
  videoFramesEncoded: number;
  /** Dropped by the encoder core (too slow even at its fastest setting). */
  videoFramesDropped: number;
  /** Dropped before the encoder because too many frames were waiting for it. */
  videoFramesSkipped: number;
  keyframes: number;
  audioPacketsEncoded: number;
  audioPacketsDropped: number;
  chunksOut: number;
  bytesOut: number;
  mediaSeconds: number;
  achievedKbps: number;
  videoKbps: number;
  meanEncodeMs: number;
  currentSpeed: number;
  /** The paths this recording took (also sent as the session's client event 'recorder_paths'). */
  paths: RecorderPaths;
  /** The uplink as last seen (null before the first look, or without adaptive video): the step
   *  in effect (0 = the host's settings), its video kbps and fps, the backlog in seconds of media
   *  and the measured upload capacity (kbps, null before the first upload). */
  uplink: { step: number; videoKbps: number; fps: number; backlogSeconds: number; capacityKbps: number | null } | null;
}

export interface RecordingInfo {
  id: string;
  kind: 'camera' | 'screen' | 'audio';
  /** 1, 2, ... across the session; a part after a reload or an interruption continues the previous one. */
  part: number;
  /** 'failed': the server lost the upload (expired, deleted) before this browser could finish it. */
  state: 'recording' | 'stopped' | 'complete' | 'failed';
  uploadUrl: string | null;
  /** Session-clock times (ms since the epoch) of the file's time zero and of its last stored media. */
  startMs: number | null;
  endMs: number | null;
  storedChunks: number;
  storedBytes: number;
  ackedBytes: number;
  /** id of the recording of the same kind this part continues. */
  continuationOf: string | null;
}

export interface MarkerEvent {
  id: string;
  type: 'marker' | 'client_event';
  label: string;
  data: Record<string, unknown>;
  recording_time_ms: number;
  wall_time: string;
}

export type ErrorCode =
  | 'permission_denied' | 'permission_revoked' | 'device_not_found' | 'device_in_use' | 'device_lost'
  | 'screen_share_denied' | 'screen_share_ended' | 'unsupported_browser' | 'server_unreachable'
  | 'upload_rejected' | 'upload_lost' | 'marker_rejected' | 'session_in_use' | 'storage_full'
  | 'storage_slow' | 'storage_unavailable' | 'encoder_behind' | 'camera_stalled' | 'slow_uplink' | 'encoder_failed'
  | 'step_stalled'
  | 'invalid_use' | 'internal';

export class RecorderError extends Error {
  readonly code: ErrorCode;
  /** false: a warning, recording goes on. true: the current recording ended. */
  readonly fatal: boolean;
  /** Technical detail for logs (the message is for the candidate). */
  readonly detail?: string;
}
export class PermissionDeniedError extends RecorderError {}
export class PermissionRevokedError extends RecorderError {}
export class DeviceNotFoundError extends RecorderError {}
export class DeviceInUseError extends RecorderError {}
export class DeviceLostError extends RecorderError {}
export class ScreenShareDeniedError extends RecorderError {}
export class ScreenShareEndedError extends RecorderError {}
export class UnsupportedBrowserError extends RecorderError {}
export class ServerUnreachableError extends RecorderError {}
export class UploadRejectedError extends RecorderError {
  readonly status: number;
  readonly serverCode?: string;
}
/** Not fatal: an upload an earlier page left is gone from the server (404, 410); its chunks are dropped. */
export class UploadLostError extends RecorderError {
  readonly status: number;
  readonly serverCode?: string;
}
/** Not fatal: the server refused one marker for good; it is dropped, the others are kept. */
export class MarkerRejectedError extends RecorderError {
  readonly label: string;
  readonly status: number;
  readonly serverCode?: string;
}
/** Another tab or window of this browser works on the same session (prepare(), stop()). */
export class SessionInUseError extends RecorderError {}
export class StorageFullError extends RecorderError {}
/** IndexedDB stores chunks more slowly than they are made: recording stopped rather than queue them in memory. */
export class StorageTooSlowError extends RecorderError {}
export class StorageUnavailableError extends RecorderError {}
export class EncoderBehindError extends RecorderError {
  readonly dropped: number;
}
/** A camera (or shared screen) whose frames stopped while its track stays live: a warning. */
export class CameraStalledError extends RecorderError {
  readonly kind: string;
  readonly seconds: number;
  /** The video counters when the stall was reported: frames in, skipped, dropped, encoded. */
  readonly frames: { in: number; skipped: number; dropped: number; encoded: number };
}
/** The uplink is slower than the recording: the video is lighter until it keeps up (a notice). */
export class SlowUplinkError extends RecorderError {
  readonly videoKbps: number;
}
export class EncoderFailedError extends RecorderError {}
/** The steps with a deadline (Deadlines). */
export type StalledStep = 'worker' | 'core' | 'devices' | 'audio' | 'first_frame' | 'first_ack';
/** A step missed its deadline (sent as the session's client event 'step_stalled'). Fatal except
 *  'first_ack' (the chunks wait on this computer and keep uploading). */
export class StalledError extends RecorderError {
  readonly step: StalledStep;
  readonly ms: number;
}
/** Named to the candidate whenever this browser cannot record. */
export const SUPPORTED_BROWSERS: string;
export class InvalidUseError extends RecorderError {}

export interface RecorderEventMap {
  state: CustomEvent<{ state: RecorderState; previous: RecorderState }>;
  progress: CustomEvent<RecorderProgress>;
  stats: CustomEvent<{ kind: RecordingInfo['kind']; stats: EncoderStats }>;
  error: CustomEvent<{ error: RecorderError }>;
}

export class Recorder extends EventTarget {
  readonly state: RecorderState;
  /** The open devices (for a preview); null when released. */
  readonly streams: { camera: MediaStream | null; screen: MediaStream | null };
  /** The path each part takes in this browser. */
  readonly paths: RecorderPaths;
  /** The session clock's zero (ms since the epoch) once recording started, also after a reload. */
  readonly sessionStartMs: number | null;
  /** Opens storage (resuming uploads and markers a previous page left; asks for persistent storage;
   *  takes the session's Web Lock, else SessionInUseError) and the devices, and starts the
   *  encoders (so that start() records at once); checks that the browser has what recording needs
   *  (else UnsupportedBrowserError) and that its audio engine runs (else StalledError 'audio').
   *  Call from a user gesture. */
  prepare(): Promise<void>;
  /** Starts recording (prepares first if needed); from 'interrupted' it records a new part. */
  start(): Promise<void>;
  /** Stores a marker or client event at the current recording time (strictly later than the
   *  page's previous mark, by 1 ms where two fall in the same millisecond); it is sent with retries.
   *  `keyframe`: every recording's next video frame is a keyframe starting a new chunk, so the
   *  files can be cut at this marker without re-encoding (a question's start).
   *  Throws InvalidUseError for what the server would refuse: a label of more than 200 bytes
   *  (UTF-8), data that is not a JSON object or is over 16 KiB as JSON. */
  mark(label: string, data?: Record<string, unknown>,
    options?: { type?: 'marker' | 'client_event', keyframe?: boolean }): Promise<MarkerEvent>;
  /** Stops and resolves when the server acknowledged every byte and every marker and completed
   *  every upload, waiting through network failures; rejects if an upload or the token was refused.
   *  From 'idle' it only finishes what an earlier page of the session left. Resolves with markers
   *  pending only when the server has no events endpoint (see progress().pendingEvents). */
  stop(): Promise<void>;
  progress(): RecorderProgress;
  /** This page's recordings and those earlier pages left unfinished (settled ones are pruned). */
  recordings(): Promise<RecordingInfo[]>;
  addEventListener<K extends keyof RecorderEventMap>(type: K,
    listener: (event: RecorderEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof RecorderEventMap>(type: K,
    listener: (event: RecorderEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
}

export function createRecorder(options: RecorderOptions): Recorder;

/** What an earlier page left in this browser for the session: recordings still to upload
 *  (`unfinished`) and markers still to send (`events`); null if the session never recorded here. */
export function findUnfinished(sessionId: string): Promise<{ zeroMs: number; parts: number; unfinished: number; events: number } | null>;
