// Drives a loaded recorder-core WASM module: the one place that knows how pixels and samples are
// handed to the bindings (wasm/bindings.cc). A classic script, so the Web Worker can importScripts
// it and node can require it; it defines RecorderDriver, RecorderError and i420Layout.
'use strict';
(function (root) {
  // Mirrors recorder::PixelFormat. VideoFrame's X formats carry no alpha; the core ignores it.
  const PIXEL_FORMATS = { I420: 0, NV12: 1, RGBA: 2, RGBX: 2, BGRA: 3, BGRX: 3 };

  // An error from the core, with the core's StatusCode name (InvalidArgument, Unsupported, ...).
  class RecorderError extends Error {
    constructor(code, message) {
      super(`${code}: ${message}`);
      this.name = 'RecorderError';
      this.code = code;
    }
  }

  function check(result) {
    if (result !== null) throw new RecorderError(result.code, result.message);
  }

  // The plane layout of a tightly packed I420 frame.
  function i420Layout(width, height) {
    const chromaW = (width + 1) >> 1;
    const chromaH = (height + 1) >> 1;
    return [
      { offset: 0, stride: width },
      { offset: width * height, stride: chromaW },
      { offset: width * height + chromaW * chromaH, stride: chromaW },
    ];
  }

  class RecorderDriver {
    // `config`: { video?: {width, height, fps, kbps, keyframeIntervalMs, speed, adaptiveSpeed,
    // threads, content: 'camera'|'screen'}, audio?: {sampleRate, channels, kbps},
    // chunkDurationMs }. onChunk(info, bytes: Uint8Array) gets each chunk as its own buffer.
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
    addVideoBytes(format, width, height, data, layout, timestampUs) {
      const at = this.recorder.videoBuffer(data.byteLength);
      this.module.HEAPU8.set(data, at);
      this.pushVideo(format, width, height, layout, timestampUs);
    }

    // Copies a WebCodecs VideoFrame straight into the WASM heap (its only copy) and encodes it.
    // The caller still owns the frame and closes it.
    async addVideoFrame(frame) {
      const size = frame.allocationSize();
      const at = this.recorder.videoBuffer(size);
      // Read HEAPU8 after videoBuffer: a growing heap replaces the view.
      const layout = await frame.copyTo(this.module.HEAPU8.subarray(at, at + size));
      this.pushVideo(frame.format, frame.codedWidth, frame.codedHeight, layout, frame.timestamp);
    }

    pushVideo(format, width, height, layout, timestampUs) {
      if (!(format in PIXEL_FORMATS)) {
        throw new RecorderError('Unsupported', `pixel format ${format}`);
      }
      check(this.recorder.addVideoFrame(PIXEL_FORMATS[format], width, height,
        layout.map((p) => p.offset), layout.map((p) => p.stride), timestampUs));
    }

    // `samples`: interleaved Float32Array; `timestampUs`: capture time of its first sample.
    addAudio(samples, timestampUs) {
      const at = this.recorder.audioBuffer(samples.length);
      this.module.HEAPF32.set(samples, at >> 2);
      check(this.recorder.addAudio(samples.length / this.channels, timestampUs));
    }

    requestKeyframe() { check(this.recorder.requestKeyframe()); }
    stop() { check(this.recorder.stop()); }
    stats() { return this.recorder.stats(); }
    close() { this.recorder.delete(); }
  }

  root.RecorderDriver = RecorderDriver;
  root.RecorderError = RecorderError;
  root.i420Layout = i420Layout;
  if (typeof module === 'object' && module.exports) {
    module.exports = { RecorderDriver, RecorderError, i420Layout };
  }
})(typeof self !== 'undefined' ? self : globalThis);
