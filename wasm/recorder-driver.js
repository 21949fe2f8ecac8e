// Drives a loaded recorder-core WASM module: the one place that knows how pixels and samples are
// handed to the bindings (wasm/bindings.cc). A classic script, so the Web Worker can importScripts
// it and node can require it; it defines RecorderDriver, RecorderError, i420Layout and chooseThreads.
'use strict';
(function (root) {
  /** @typedef {import('./recorder-core.js').CoreModule} CoreModule */
  /** @typedef {import('./recorder-core.js').CoreConfig} CoreConfig */
  /** @typedef {import('./recorder-core.js').ChunkInfo} ChunkInfo */
  /** @typedef {import('./recorder-core.js').PlaneLayout} PlaneLayout */

  // Mirrors recorder::PixelFormat. VideoFrame's X formats carry no alpha; the core ignores it.
  /** @type {Record<string, number>} */
  const PIXEL_FORMATS = { I420: 0, NV12: 1, RGBA: 2, RGBX: 2, BGRA: 3, BGRX: 3 };

  // An error from the core, with the core's StatusCode name (InvalidArgument, Unsupported, ...).
  class RecorderError extends Error {
    /** @param {string} code @param {string} message */
    constructor(code, message) {
      super(`${code}: ${message}`);
      this.name = 'RecorderError';
      this.code = code;
    }
  }

  /** @param {import('./recorder-core.js').CoreError | null} result */
  function check(result) {
    if (result !== null) throw new RecorderError(result.code, result.message);
  }

  // The plane layout of a tightly packed I420 frame.
  /** @param {number} width @param {number} height @returns {PlaneLayout[]} */
  function i420Layout(width, height) {
    const chromaW = (width + 1) >> 1;
    const chromaH = (height + 1) >> 1;
    return [
      { offset: 0, stride: width },
      { offset: width * height, stride: chromaW },
      { offset: width * height + chromaW * chromaH, stride: chromaW },
    ];
  }

  // How many libvpx threads to ask for (VideoConfig.threads: row-mt plus tile columns) when
  // encoding a width x height track on a machine with `hardwareConcurrency` logical cores, with a
  // module that allows `maxThreads` (module.maxThreads: 1 for the plain variant, the pthread pool
  // size for the simd one). Returns an integer in 1..maxThreads.
  //   - From 3 cores up, one core is left to the page (capture, compositing, upload); on 2 cores
  //     the encoder is the page's main load and gets both.
  //   - Small frames do not gain from threads: VP9 rows of 64x64 superblocks are the unit of
  //     row-mt, and below about 8 superblock rows the threads mostly wait on each other. So:
  //     under 320x240 one thread, up to 640x480 two, above that up to four.
  // Example: chooseThreads(1280, 720, navigator.hardwareConcurrency, module.maxThreads).
  /** @param {number} width @param {number} height @param {number} hardwareConcurrency @param {number} [maxThreads] */
  function chooseThreads(width, height, hardwareConcurrency, maxThreads = 4) {
    const cores = Math.max(1, Math.floor(Number(hardwareConcurrency) || 1));
    const pixels = Math.max(0, width) * Math.max(0, height);
    let bySize = 4;
    if (pixels < 320 * 240) bySize = 1;
    else if (pixels <= 640 * 480) bySize = 2;
    const spare = cores <= 2 ? cores : cores - 1;
    return Math.max(1, Math.min(bySize, spare, Math.floor(maxThreads) || 1));
  }

  class RecorderDriver {
    // `config`: { video?: {width, height, fps, kbps, keyframeIntervalMs, speed, adaptiveSpeed,
    // threads, content: 'camera'|'screen'}, audio?: {sampleRate, channels, kbps},
    // chunkDurationMs }. onChunk(info, bytes: Uint8Array) gets each chunk as its own buffer.
    /**
     * @param {CoreModule} module
     * @param {CoreConfig} config
     * @param {(info: ChunkInfo, bytes: Uint8Array) => void} onChunk
     */
    constructor(module, config, onChunk) {
      this.module = module;
      this.recorder = new module.Recorder(onChunk);
      this.channels = (config.audio && config.audio.channels) || 1;
      try {
        check(this.recorder.init(config));
      } catch (err) {
        this.recorder.delete();
        throw err;
      }
    }

    // `data` holds the planes at `layout` offsets ([{offset, stride}], as VideoFrame.copyTo gives).
    /**
     * @param {string} format @param {number} width @param {number} height @param {Uint8Array} data
     * @param {PlaneLayout[]} layout @param {number} timestampUs
     */
    addVideoBytes(format, width, height, data, layout, timestampUs) {
      const at = this.recorder.videoBuffer(data.byteLength);
      this.module.HEAPU8.set(data, at);
      this.pushVideo(format, width, height, layout, timestampUs);
    }

    // Copies a WebCodecs VideoFrame straight into the WASM heap (its only copy) and encodes it.
    // The caller still owns the frame and closes it.
    /** @param {VideoFrame} frame */
    async addVideoFrame(frame) {
      const size = frame.allocationSize();
      const at = this.recorder.videoBuffer(size);
      // Read HEAPU8 after videoBuffer: a growing heap replaces the view.
      const layout = await frame.copyTo(this.module.HEAPU8.subarray(at, at + size));
      // copyTo copies the visible rectangle; the coded size may be larger (alignment padding).
      // (visibleRect and format are null only for a closed frame, which copyTo refuses.)
      const { width, height } = /** @type {DOMRectReadOnly} */ (frame.visibleRect);
      this.pushVideo(String(frame.format), width, height, layout, frame.timestamp);
    }

    /**
     * @param {string} format @param {number} width @param {number} height
     * @param {PlaneLayout[]} layout @param {number} timestampUs
     */
    pushVideo(format, width, height, layout, timestampUs) {
      if (!(format in PIXEL_FORMATS)) {
        throw new RecorderError('Unsupported', `pixel format ${format}`);
      }
      check(this.recorder.addVideoFrame(PIXEL_FORMATS[format], width, height,
        layout.map((p) => p.offset), layout.map((p) => p.stride), timestampUs));
    }

    // `samples`: interleaved Float32Array; `timestampUs`: capture time of its first sample.
    /** @param {Float32Array} samples @param {number} timestampUs */
    addAudio(samples, timestampUs) {
      const at = this.recorder.audioBuffer(samples.length);
      this.module.HEAPF32.set(samples, at >> 2);
      check(this.recorder.addAudio(samples.length / this.channels, timestampUs));
    }

    requestKeyframe() { check(this.recorder.requestKeyframe()); }
    /** @param {number} kbps */
    setVideoBitrate(kbps) { check(this.recorder.setVideoBitrate(kbps)); }
    stop() { check(this.recorder.stop()); }
    stats() { return this.recorder.stats(); }
    close() { this.recorder.delete(); }
  }

  root.RecorderDriver = RecorderDriver;
  root.RecorderError = RecorderError;
  root.i420Layout = i420Layout;
  root.chooseThreads = chooseThreads;
  if (typeof module === 'object' && module.exports) {
    module.exports = { RecorderDriver, RecorderError, i420Layout, chooseThreads };
  }
})(typeof self !== 'undefined' ? self : globalThis);
