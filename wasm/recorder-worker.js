// The Web Worker that owns the recorder-core WASM module. A classic worker: emscripten 3.1.6's
// threads load their main script with importScripts.
//
// Messages in (handled strictly in order):
//   {type: 'init', config, variant?, debug?}
//                                      variant 'simd' | 'plain'; default: simd when the page is
//                                      cross-origin isolated, has SharedArrayBuffer (WebKit's
//                                      isolated pages do not) and validates SIMD128.
//                                      debug.videoDelayMs (tests only): wait that long before
//                                      each video frame, to simulate a device too slow to encode;
//                                      debug.holdThreads (tests only): hang where Firefox does
//   {type: 'video', frame}             a VideoFrame (transferred; closed here)
//   {type: 'video', format, width, height, data, layout?, timestampUs}
//                                      raw planes (ArrayBuffer/Uint8Array; I420 packed by default)
//   {type: 'audio', samples, timestampUs}   interleaved Float32Array
//   {type: 'keyframe'} | {type: 'bitrate', kbps} | {type: 'stop'}
// Messages out:
//   {type: 'started'}                  first, as soon as this script runs (the page's deadline
//                                      for starting the worker ends here)
//   {type: 'threads', started}         around the creation of the core's threads (false before,
//                                      true after): Firefox sometimes never returns from creating
//                                      a Worker inside a Worker, and the page restarts this worker
//   {type: 'ready', variant, maxThreads}
//   {type: 'chunk', info, data}        data: ArrayBuffer, transferred
//   {type: 'videoDone'}                after every 'video' message, handled or failed: lets the
//                                      sender bound the frames in flight (camera buffers are few)
//   {type: 'stats', stats}             after every chunk
//   {type: 'error', code, message, during}   the message that failed is named in `during`
//   {type: 'stopped', stats}
//
// Loading: `new Worker(url)` where url is this script when the page has the same origin as the
// module's files. A page of another origin (a host platform embedding web/recorder/ from the
// recorder server) cannot start a Worker from a cross-origin URL, so it starts a blob: worker that
// sets `self.recorderScriptUrl` to this script's absolute URL and importScripts it (see
// web/recorder/encoder.js); every file is then resolved against that URL, and the core's pthread
// workers are started the same way. The server sends Cross-Origin-Resource-Policy: cross-origin
// for these files, which importScripts from another origin needs.
'use strict';
/** @typedef {import('./worker-protocol.js').FromWorker} FromWorker */

// Every message to the page goes through here, so that tsc checks it against the protocol.
/** @param {FromWorker} msg @param {Transferable[]} [transfer] */
function post(msg, transfer = []) {
  self.postMessage(msg, transfer);
}

post({ type: 'started' });
const SCRIPT_URL = self.recorderScriptUrl || self.location.href;
importScripts(new URL('recorder-driver.js', SCRIPT_URL).href);

// The smallest module that uses a SIMD128 instruction (i8x16.splat); valid only where SIMD is.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** @param {Variant | undefined} requested @returns {Variant} */
function pickVariant(requested) {
  if (requested) return requested;
  const simd = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  const threads = self.crossOriginIsolated && typeof SharedArrayBuffer === 'function';
  return threads && simd ? 'simd' : 'plain';
}

/** @typedef {import('./worker-protocol.js').ToWorker} ToWorker */
/** @typedef {import('./worker-protocol.js').Variant} Variant */

/** @type {InstanceType<typeof RecorderDriver> | null} */
let driver = null;
/** @type {Promise<void>} */
let queue = Promise.resolve();
let videoDelayMs = 0;

/** @param {import('./recorder-core.js').ChunkInfo} info @param {Uint8Array} bytes */
function sendChunk(info, bytes) {
  post({ type: 'chunk', info, data: /** @type {ArrayBuffer} */ (bytes.buffer) }, [bytes.buffer]);
  post({ type: 'stats', stats: driver ? driver.stats() : null });
}

/** @param {ToWorker} msg */
async function handle(msg) {
  switch (msg.type) {
    case 'init': {
      if (driver) throw new RecorderError('FailedPrecondition', 'init was already called');
      const variant = pickVariant(msg.variant);
      const script = new URL(`recorder-core-${variant}.js`, SCRIPT_URL).href;
      importScripts(script);
      // The factory creates the threads (PTHREAD_POOL_SIZE Workers) before it returns its promise.
      post({ type: 'threads', started: false });
      if (msg.debug && msg.debug.holdThreads) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      const loading = createRecorderCore({
        mainScriptUrlOrBlob: script,
        locateFile: locateFile,
      });
      post({ type: 'threads', started: true });
      const module = await loading;
      const video = msg.config.video;
      if (video && !video.threads) {
        video.threads = chooseThreads(video.width, video.height, self.navigator.hardwareConcurrency,
          module.maxThreads);
      }
      driver = new RecorderDriver(module, msg.config, sendChunk);
      videoDelayMs = (msg.debug && msg.debug.videoDelayMs) || 0;
      post({ type: 'ready', variant, maxThreads: module.maxThreads });
      return;
    }
    case 'video': {
      const driver = requireDriver();
      if (videoDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, videoDelayMs));
      if (msg.frame) {
        try {
          await driver.addVideoFrame(msg.frame);
        } finally {
          msg.frame.close();
        }
      } else {
        const data = msg.data instanceof Uint8Array ? msg.data : new Uint8Array(msg.data);
        driver.addVideoBytes(msg.format || 'I420', msg.width, msg.height, data,
          msg.layout || i420Layout(msg.width, msg.height), msg.timestampUs);
      }
      return;
    }
    case 'audio':
      requireDriver().addAudio(msg.samples, msg.timestampUs);
      return;
    case 'keyframe':
      requireDriver().requestKeyframe();
      return;
    case 'bitrate':
      requireDriver().setVideoBitrate(msg.kbps);
      return;
    case 'stop':
      requireDriver().stop();
      post({ type: 'stopped', stats: requireDriver().stats() });
      return;
    default:
      throw new RecorderError('InvalidArgument', `unknown message type ${/** @type {any} */ (msg).type}`);
  }
}

// Where the core finds its files. A pthread worker script of another origin (see "Loading") is
// started through a same-origin blob: bootstrap that imports it: one blob: URL per script, made
// once and reused for every pthread worker (emscripten asks again for each new one); it is freed
// with this worker, like every blob: URL a worker makes.
/** @type {Map<string, string>} */
const bootstraps = new Map();
/** @param {string} file @returns {string} */
function locateFile(file) {
  const url = new URL(file, SCRIPT_URL);
  if (!file.endsWith('.worker.js') || url.origin === self.location.origin) return url.href;
  if (!bootstraps.has(url.href)) {
    bootstraps.set(url.href, URL.createObjectURL(new Blob([`importScripts(${JSON.stringify(url.href)});`],
      { type: 'text/javascript' })));
  }
  return /** @type {string} */ (bootstraps.get(url.href));
}

function requireDriver() {
  if (!driver) throw new RecorderError('FailedPrecondition', 'init was not called');
  return driver;
}

/** @param {MessageEvent<ToWorker>} event */
self.onmessage = (event) => {
  const msg = event.data;
  queue = queue.then(() => handle(msg)).catch((err) => {
    if (msg && msg.type === 'video' && msg.frame) msg.frame.close();
    post({ type: 'error', code: err.code || 'Internal', message: String(err.message || err), during: msg && msg.type });
  }).then(() => {
    if (msg && msg.type === 'video') post({ type: 'videoDone' });
  });
};
