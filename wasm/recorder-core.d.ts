// The JS API of the recorder-core WASM module (wasm/bindings.cc, built by wasm/CMakeLists.txt as
// recorder-core-<variant>.js with the factory createRecorderCore), as recorder-driver.js uses it.

/** The core's configuration (recorder::RecorderConfig; wasm/bindings.cc reads these fields). */
export interface CoreConfig {
  video?: {
    width: number;
    height: number;
    fps?: number;
    kbps?: number;
    keyframeIntervalMs?: number;
    speed?: number;
    adaptiveSpeed?: boolean;
    /** libvpx threads; the worker chooses them (chooseThreads) when not set. */
    threads?: number;
    content?: 'camera' | 'screen';
  };
  audio?: { sampleRate?: number; channels?: number; kbps?: number };
  chunkDurationMs?: number;
}

/** One chunk of the live WebM stream: the header (index 0), then one Cluster per chunk. */
export interface ChunkInfo {
  index: number;
  isHeader: boolean;
  startsWithKeyframe: boolean;
  firstTimestampUs: number;
  lastTimestampUs: number;
}

/** recorder::Stats of the core. */
export interface CoreStats {
  videoFramesIn: number;
  videoFramesEncoded: number;
  videoFramesDropped: number;
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
}

/** Where a plane starts in a frame's bytes, and its row length in bytes. */
export interface PlaneLayout {
  offset: number;
  stride: number;
}

/** A failed call: the core's StatusCode name (InvalidArgument, Unsupported, ...) and message. */
export interface CoreError {
  code: string;
  message: string;
}

/** recorder::Recorder behind embind; calls answer null on success. Free it with delete(). */
export interface CoreRecorder {
  init(config: CoreConfig): CoreError | null;
  /** A buffer of `bytes` in the WASM heap for the next video frame; returns its address. */
  videoBuffer(bytes: number): number;
  /** A buffer of `floats` samples in the WASM heap for the next audio block; returns its address. */
  audioBuffer(floats: number): number;
  /** Encodes the frame in the video buffer: `format` is recorder::PixelFormat, planes at the offsets. */
  addVideoFrame(format: number, width: number, height: number, offsets: number[], strides: number[],
    timestampUs: number): CoreError | null;
  /** Encodes `frames` frames of the audio buffer (interleaved). */
  addAudio(frames: number, timestampUs: number): CoreError | null;
  requestKeyframe(): CoreError | null;
  /** The video CBR target from the next frame on, without a keyframe. */
  setVideoBitrate(kbps: number): CoreError | null;
  stop(): CoreError | null;
  stats(): CoreStats;
  delete(): void;
}

export interface CoreModule {
  /** `onChunk` gets each chunk's info and a view into the heap (copy it before returning). */
  Recorder: new (onChunk: (info: ChunkInfo, bytes: Uint8Array) => void) => CoreRecorder;
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  /** 1 for the plain variant, the pthread pool size for the simd one. */
  maxThreads: number;
}

/** Emscripten's factory (MODULARIZE) with the options the worker and node pass. */
export type CreateRecorderCore = (options?: {
  mainScriptUrlOrBlob?: string;
  locateFile?: (file: string, prefix: string) => string;
}) => Promise<CoreModule>;
