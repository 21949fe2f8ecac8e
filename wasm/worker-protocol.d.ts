// The messages between a page (web/recorder/encoder.js) and the encoder worker
// (wasm/recorder-worker.js). Both sides are type-checked against these types
// (tests/static-checks.sh): a message one side sends and the other does not expect, or a field of
// the wrong type, fails the check.

import type { ChunkInfo, CoreConfig, CoreStats, PlaneLayout } from './recorder-core.js';

export type Variant = 'simd' | 'plain';

/** Page -> worker. Handled strictly in order. */
export type ToWorker =
  | {
      type: 'init';
      config: CoreConfig;
      /** Default: simd when the page is cross-origin isolated and the browser validates SIMD128. */
      variant?: Variant;
      /** Tests only: `videoDelayMs`: wait this long before each video frame (a device too slow to
       *  encode); `holdThreads`: never come back from creating the core's threads (Firefox's hang). */
      debug?: { videoDelayMs?: number; holdThreads?: boolean };
    }
  /** A VideoFrame, transferred; the worker closes it. */
  | { type: 'video'; frame: VideoFrame }
  /** Raw planes (I420 packed unless `format`/`layout` say otherwise). */
  | {
      type: 'video';
      frame?: undefined;
      format?: 'I420' | 'NV12' | 'RGBA' | 'RGBX' | 'BGRA' | 'BGRX';
      width: number;
      height: number;
      data: ArrayBuffer | Uint8Array;
      layout?: PlaneLayout[];
      timestampUs: number;
    }
  /** Interleaved float32 samples; `timestampUs` is the time of the first. */
  | { type: 'audio'; samples: Float32Array; timestampUs: number }
  | { type: 'keyframe' }
  /** The video CBR target (kbps) from the next frame on (no keyframe). */
  | { type: 'bitrate'; kbps: number }
  | { type: 'stop' };

/** The answer to 'init': the core is loaded. */
export type Ready = { type: 'ready'; variant: Variant; maxThreads: number };

/** Worker -> page. */
export type FromWorker =
  /** First, as soon as the worker's script runs (ends the page's deadline for starting the worker). */
  | { type: 'started' }
  /** Around the creation of the core's threads: `started` false just before, true once created.
   *  Firefox sometimes never returns from creating a Worker inside a Worker (issue 13): the page
   *  then starts the worker again. */
  | { type: 'threads'; started: boolean }
  | Ready
  /** `data` is transferred. */
  | { type: 'chunk'; info: ChunkInfo; data: ArrayBuffer }
  /** After every 'video' message, handled or failed: lets the page bound the frames in flight. */
  | { type: 'videoDone' }
  /** After every chunk. */
  | { type: 'stats'; stats: CoreStats | null }
  /** The message that failed is named in `during`. */
  | { type: 'error'; code: string; message: string; during: ToWorker['type'] | undefined }
  | { type: 'stopped'; stats: CoreStats };
