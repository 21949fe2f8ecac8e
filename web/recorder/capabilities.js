// What this browser can do, decided once per page: the path each part of the recorder takes, and
// what is missing for recording at all. The recorder reports the paths in its stats and as the
// session's client event 'recorder_paths', so HR and support see what a candidate's browser did.
//
//   core   'simd'   threads + SIMD128 WASM core: needs a cross-origin isolated page, a
//                   SharedArrayBuffer (WebKit has crossOriginIsolated but no SharedArrayBuffer)
//                   and SIMD128
//          'plain'  one thread, no SIMD: any WebAssembly
//   video  'track-processor'  MediaStreamTrackProcessor's VideoFrames (Chromium)
//          'video-frame'      VideoFrames made from a <video> element (Firefox, Safari)
//          'canvas'           RGBA read from a canvas (no VideoFrame)
//   audio  'audio-worklet'    an AudioContext at 48 kHz with an AudioWorklet tap (every engine)
// Test hooks may delete globals before the page loads: everything is read when called.

// The smallest module that uses a SIMD128 instruction (i8x16.splat); valid only where SIMD is.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** @returns {import('./index.js').RecorderPaths} */
export function choosePaths() {
  const simd = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  const threads = self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  /** @type {import('./index.js').RecorderPaths['video']} */
  let video = 'canvas';
  if (typeof MediaStreamTrackProcessor === 'function') video = 'track-processor';
  else if (typeof VideoFrame === 'function') video = 'video-frame';
  return { core: threads && simd ? 'simd' : 'plain', video, audio: 'audio-worklet' };
}

/**
 * What this browser lacks for recording `tracks`; empty if nothing.
 * @param {{camera?: boolean, microphone?: boolean, screen?: boolean}} tracks
 * @returns {string[]}
 */
export function missingFeatures(tracks) {
  const missing = [];
  const need = (ok, name) => { if (!ok) missing.push(name); };
  need(typeof WebAssembly === 'object', 'WebAssembly');
  need(typeof Worker === 'function', 'Web Workers');
  need(typeof indexedDB === 'object' && indexedDB !== null, 'IndexedDB');
  need(typeof fetch === 'function', 'fetch');
  need(Boolean(navigator.mediaDevices?.getUserMedia), 'camera access (getUserMedia)');
  if (tracks.screen) need(Boolean(navigator.mediaDevices?.getDisplayMedia), 'screen sharing (getDisplayMedia)');
  if (tracks.microphone) {
    need(typeof AudioContext === 'function', 'Web Audio');
    need(typeof AudioWorkletNode === 'function', 'AudioWorklet');
  }
  if (tracks.camera || tracks.screen) {
    need(typeof VideoFrame === 'function' || typeof OffscreenCanvas === 'function' || typeof document === 'object',
      'a way to read video frames');
  }
  return missing;
}

/**
 * Settles like `promise`, or rejects with makeError() after `ms` (the timer is cleared either way).
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {() => Error} makeError
 * @returns {Promise<T>}
 */
export function withDeadline(promise, ms, makeError) {
  let timer;
  const deadline = new Promise((_, reject) => { timer = setTimeout(() => reject(makeError()), ms); });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
