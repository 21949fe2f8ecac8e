// Browser APIs the recorder uses where they exist and that TypeScript's DOM library does not
// declare yet (tsc only; see tsconfig.json).

/** Chromium's MediaStreamTrackProcessor (mediacapture-transform): a track's frames as a stream. */
declare class MediaStreamTrackProcessor {
  constructor(init: { track: MediaStreamTrack; maxBufferSize?: number });
  readonly readable: ReadableStream<VideoFrame>;
}
