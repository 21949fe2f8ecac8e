// Turns a video track into encoder input. Two implementations with one contract:
//   - MediaStreamTrackProcessor (Chromium): VideoFrames, transferred to the worker without a copy;
//   - elsewhere: a <video> element sampled at the nominal rate, as a VideoFrame made from the
//     element where VideoFrame exists (the worker reads its pixels), else drawn into an
//     OffscreenCanvas and sent as RGBA bytes. Timers of a hidden tab are throttled by the
//     browser, so this path records fewer frames while the candidate looks at another tab.
// Contract: frames are stamped on the session clock by `stamp(ms)` (null: before the recording
// started, drop it); timestamps sent are strictly increasing; at most MAX_IN_FLIGHT frames wait
// in the worker (more are dropped and counted by onDropped: the encoder is behind); frames are
// scaled to the encoder's size when the source's size changes (a shared window resized);
// setMaxFps(fps) leaves frames out to send at most that many a second.
// onEnded() is called if the track ends while the source runs.
import { nowMs } from './clock.js';

const MAX_IN_FLIGHT = 3;
// A frame timestamp that disagrees with the clock by more than this is re-anchored.
const MAX_SKEW_MS = 150;
// Frames closer together than this share of 1/maxFps are left out under a frame-rate cap: capture
// jitter must not make a 15 fps cap of a 30 fps camera pass two frames in a row.
const CAP_TOLERANCE = 0.9;

// setMaxFps() of both sources: the least time between two frames sent, in µs (0: no cap).
/** @param {number | null} fps */
function minGapUs(fps) {
  return fps ? (CAP_TOLERANCE * 1e6) / fps : 0;
}

/**
 * @typedef {{ encoder: import('./encoder.js').Encoder, stamp: (ms: number) => number | null, width: number,
 *   height: number, fps?: number, path: import('./index.js').RecorderPaths['video'], onDropped: () => void,
 *   onEnded: () => void }} SourceOptions
 */

// `options.path`: the video path capabilities.js chose ('track-processor', 'video-frame', 'canvas').
/** @param {MediaStreamTrack} track @param {SourceOptions} options */
export function startFrameSource(track, options) {
  return options.path === 'track-processor' ? new ProcessorSource(track, options) : new CanvasSource(track, options);
}

class ProcessorSource {
  /** @param {MediaStreamTrack} track @param {SourceOptions} options */
  constructor(track, { encoder, stamp, width, height, onDropped, onEnded }) {
    this.encoder = encoder;
    this.stamp = stamp;
    this.width = width;
    this.height = height;
    this.onDropped = onDropped;
    this.onEnded = onEnded;
    this.stopped = false;
    this.lastUs = -1;
    this.minGapUs = 0;
    /** @type {OffscreenCanvas | null} */
    this.scaler = null;
    this.reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
    this.loop();
  }

  async loop() {
    /** @type {number | null} */
    let offsetMs = null;  // session-clock ms minus the frame's own timestamp (capture clock)
    for (;;) {
      let result;
      try {
        result = await this.reader.read();
      } catch {
        break;
      }
      if (result.done) break;
      const frame = result.value;
      // The capture timestamps keep the frames' true spacing; they are anchored to the session
      // clock at the first frame and again whenever the two drift apart.
      const now = nowMs();
      let ms = offsetMs === null ? now : frame.timestamp / 1000 + offsetMs;
      if (offsetMs === null || Math.abs(ms - now) > MAX_SKEW_MS) {
        offsetMs = now - frame.timestamp / 1000;
        ms = now;
      }
      this.push(frame, ms);
    }
    if (!this.stopped) this.onEnded();
  }

  /** @param {VideoFrame} frame @param {number} ms */
  push(frame, ms) {
    try {
      const us = this.stamp(ms);
      if (us === null || us - this.lastUs < Math.max(1, this.minGapUs)) return;
      if (this.encoder.videoInFlight >= MAX_IN_FLIGHT) {
        this.onDropped();
        return;
      }
      this.lastUs = us;
      const { width, height } = /** @type {DOMRectReadOnly} */ (frame.visibleRect);  // null only once closed
      if (width === this.width && height === this.height) {
        this.encoder.sendFrame(new VideoFrame(frame, { timestamp: us }));
      } else {
        this.scaler ??= new OffscreenCanvas(this.width, this.height);
        /** @type {OffscreenCanvasRenderingContext2D} */ (this.scaler.getContext('2d')).drawImage(frame, 0, 0, this.width, this.height);
        this.encoder.sendFrame(new VideoFrame(this.scaler, { timestamp: us }));
      }
    } finally {
      frame.close();
    }
  }

  // At most `fps` frames a second reach the encoder (null: every frame), the rest are left out
  // (not counted as dropped: uplink.js chose this).
  /** @param {number | null} fps */
  setMaxFps(fps) {
    this.minGapUs = minGapUs(fps);
  }

  stop() {
    this.stopped = true;
    this.reader.cancel().catch(() => {});
  }
}

class CanvasSource {
  /** @param {MediaStreamTrack} track @param {SourceOptions} options */
  constructor(track, { encoder, stamp, width, height, fps, path, onDropped, onEnded }) {
    this.encoder = encoder;
    this.stamp = stamp;
    this.width = width;
    this.height = height;
    this.onDropped = onDropped;
    this.onEnded = onEnded;
    this.frames = path === 'video-frame';  // else RGBA bytes
    this.stopped = false;
    this.lastUs = -1;
    this.minGapUs = 0;
    this.video = document.createElement('video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = new MediaStream([track]);
    this.video.play().catch(() => {});
    this.canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement('canvas'), { width, height });
    this.context = /** @type {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} */ (
      this.canvas.getContext('2d', { willReadFrequently: true }));
    this.track = track;
    this.timer = setInterval(() => this.tick(), 1000 / (fps || 30));
  }

  tick() {
    if (this.track.readyState === 'ended') {
      this.stop();
      this.onEnded();
      return;
    }
    // WebKit may pause a media element outside the document (seen after a click on the page):
    // its picture then stops while the track is live. Playing it again resumes the frames.
    if (this.video.paused) this.video.play().catch(() => {});
    if (this.video.readyState < 2) return;
    const us = this.stamp(nowMs());
    if (us === null || us - this.lastUs < Math.max(1, this.minGapUs)) return;
    if (this.encoder.videoInFlight >= MAX_IN_FLIGHT) {
      this.onDropped();
      return;
    }
    this.lastUs = us;
    const sameSize = this.video.videoWidth === this.width && this.video.videoHeight === this.height;
    if (this.frames && sameSize) {
      try {
        this.encoder.sendFrame(new VideoFrame(this.video, { timestamp: us }));
        return;
      } catch {
        // No frame from the element itself (an engine may refuse one between two camera
        // frames): this tick goes through the canvas, which draws the element's last picture.
      }
    }
    this.context.drawImage(this.video, 0, 0, this.width, this.height);
    if (this.frames) {
      this.encoder.sendFrame(new VideoFrame(this.canvas, { timestamp: us }));
      return;
    }
    const pixels = this.context.getImageData(0, 0, this.width, this.height).data;
    this.encoder.sendRgba(pixels.buffer, this.width, this.height, us);
  }

  /** @param {number | null} fps see ProcessorSource */
  setMaxFps(fps) {
    this.minGapUs = minGapUs(fps);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    this.video.srcObject = null;
  }
}
