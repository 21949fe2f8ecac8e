// Every failure the recorder reports, as a named class with a stable `code` (for programs) and a
// `message` written for the candidate (for people). `fatal` says whether recording can go on:
//   fatal false  the recorder keeps recording and keeps retrying; the condition may clear itself
//                (offline, encoder behind). The page shows it as a warning.
//   fatal true   the current recording ended (what was stored still uploads). Device errors leave
//                the recorder 'interrupted' (start() again continues the interview as a new part);
//                the others leave it 'failed'.
// Server error codes (`serverCode`) mirror the ingest server's error table (server/errors.cc).

// tests/types/recorder-api.ts checks these classes against their declarations in index.d.ts.
export class RecorderError extends Error {
  /**
   * @param {string} message
   * @param {{ code?: import('./index.js').ErrorCode, fatal?: boolean, cause?: unknown, detail?: string }} [options]
   */
  constructor(message, { code = 'internal', fatal = true, cause, detail } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.fatal = fatal;
    if (detail) this.detail = detail;  // technical detail for logs, not for the candidate
  }
}

export class PermissionDeniedError extends RecorderError {
  constructor(device, cause) {
    super(`Access to your ${device} is blocked. Click the camera icon in the address bar, allow ` +
      'access, then try again.', { code: 'permission_denied', cause });
  }
}

export class PermissionRevokedError extends RecorderError {
  constructor(device) {
    super(`Access to your ${device} was turned off during the interview. The recording is ` +
      'paused and everything so far is saved. Allow access again, then continue.',
    { code: 'permission_revoked' });
  }
}

export class DeviceNotFoundError extends RecorderError {
  constructor(device, cause) {
    super(`No ${device} was found. Connect one (or check that it is switched on), then try again.`,
      { code: 'device_not_found', cause });
  }
}

export class DeviceInUseError extends RecorderError {
  constructor(device, cause) {
    super(`Your ${device} could not be started. Another application may be using it: close ` +
      'video-call apps and other tabs, then try again.', { code: 'device_in_use', cause });
  }
}

export class DeviceLostError extends RecorderError {
  constructor(device) {
    super(`Your ${device} stopped working (it was unplugged or switched off). The recording is ` +
      'paused and everything so far is saved. Reconnect it, then continue.',
    { code: 'device_lost' });
  }
}

export class ScreenShareDeniedError extends RecorderError {
  constructor(cause) {
    super('Screen sharing was not allowed. This interview needs your screen: choose a screen or ' +
      'window to share, then try again.', { code: 'screen_share_denied', cause });
  }
}

export class ScreenShareEndedError extends RecorderError {
  constructor() {
    super('Screen sharing stopped. The recording is paused and everything so far is saved. ' +
      'Continue to share your screen again.', { code: 'screen_share_ended' });
  }
}

// The browsers the tests prove (README.md, "Browsers"): named to the candidate whenever this one
// cannot record.
export const SUPPORTED_BROWSERS = 'a current version of Chrome, Edge, Firefox or Safari';
const ANOTHER_BROWSER = `open the interview link in ${SUPPORTED_BROWSERS}`;

export class UnsupportedBrowserError extends RecorderError {
  // `what`: the missing feature(s), for the host's logs and the client event.
  /** @param {string} what */
  constructor(what) {
    super(`This browser cannot record the interview (missing: ${what}). Please ${ANOTHER_BROWSER}.`,
      { code: 'unsupported_browser', detail: what });
  }
}

// A step that must finish within its deadline did not (see web/recorder/README.md, "Deadlines").
// `step`: worker | core | devices | audio | first_frame | first_ack. All are fatal except
// first_ack: recording goes on and the chunks wait on this computer. Each message names a way
// forward: try again, another browser, or the company that invited the candidate.
/** @type {Record<import('./index.js').StalledStep, string>} */
const STALLED = {
  worker: 'The recorder could not start in this browser (its background task did not answer).',
  core: 'The recorder could not load its video encoder (the download stalled or the browser did not run it).',
  devices: 'Your camera and microphone did not start. If the browser asks for permission, allow it; close ' +
    'other apps that use the camera.',
  audio: 'This browser could not start its sound processing, so the microphone cannot be recorded. Check ' +
    'that a speaker or headphones are connected and sound is switched on.',
  first_frame: 'Your camera sends no picture, so nothing could be recorded. Check that it is not covered or ' +
    'used by another app.',
  first_ack: 'Your recording has not reached the server yet. It is kept on this computer and keeps ' +
    'uploading: please keep this page open.',
};

export class StalledError extends RecorderError {
  /** @param {import('./index.js').StalledStep} step @param {number} ms the deadline it missed */
  constructor(step, ms) {
    const fatal = step !== 'first_ack';
    const next = fatal ? ` Please try again; if it happens again, ${ANOTHER_BROWSER}, or contact the company that invited you.`
      : ' If this message stays, contact the company that invited you.';
    super(STALLED[step] + next, { code: 'step_stalled', fatal, detail: `${step} took longer than ${ms} ms` });
    this.step = step;
    this.ms = ms;
  }
}

export class ServerUnreachableError extends RecorderError {
  constructor(cause) {
    super('Cannot reach the server. Recording continues and is kept safely on this computer; ' +
      'it uploads by itself when the connection is back. Please do not close this page.',
    { code: 'server_unreachable', fatal: false, cause, detail: cause && String(cause.message || cause) });
    this.transient = true;  // retried with backoff (retry.js)
  }
}

export class UploadRejectedError extends RecorderError {
  /** @param {number} status  0: refused by this client @param {string} serverCode @param {string} serverMessage */
  constructor(status, serverCode, serverMessage) {
    super(serverCode === 'session_ended' ? 'This interview has already ended: nothing more can be recorded for it.'
      : 'The server refused the recording' + (status === 401 ? ' (the interview link has expired)' : '') +
      '. Please contact the company that invited you; the part recorded so far is kept on this computer.',
    { code: 'upload_rejected', detail: `HTTP ${status} ${serverCode || ''}: ${serverMessage || ''}` });
    this.status = status;
    this.serverCode = serverCode;
  }
}

// An upload an earlier page of this session left is gone from the server (expired, deleted) or
// can no longer be continued (`rejection`: the UploadRejectedError that says so): its stored
// chunks are dropped, and recording goes on.
export class UploadLostError extends RecorderError {
  /** @param {UploadRejectedError} rejection */
  constructor(rejection) {
    super('Part of your recording from an earlier visit could not be saved: the server no longer ' +
      'accepts it (it waited too long). You can continue the interview; it is recorded as usual.',
    { code: 'upload_lost', fatal: false, cause: rejection, detail: rejection.detail });
    this.status = rejection.status;
    this.serverCode = rejection.serverCode;
  }
}

// The server refused one marker or client event for good (the batch it came in was resent one by
// one, so only this event is dropped).
export class MarkerRejectedError extends RecorderError {
  /** @param {string} label @param {number} status @param {string} serverCode @param {string} serverMessage */
  constructor(label, status, serverCode, serverMessage) {
    super('A note of the interview (a question marker) could not be saved. Your recording is not affected.',
      { code: 'marker_rejected', fatal: false, detail: `${label}: HTTP ${status} ${serverCode || ''}: ${serverMessage || ''}` });
    this.label = label;
    this.status = status;
    this.serverCode = serverCode;
  }
}

// Another tab or window of this browser records the same session (it holds the session's Web Lock).
export class SessionInUseError extends RecorderError {
  constructor() {
    super('This interview is already open in another tab or window. Continue there, or close the ' +
      'other one and then try again here.', { code: 'session_in_use' });
  }
}

export class StorageFullError extends RecorderError {
  constructor(cause) {
    super('This computer has run out of storage space for the recording, so recording stopped. ' +
      'Free some disk space, then continue; everything saved so far still uploads.',
    { code: 'storage_full', cause });
  }
}

export class StorageUnavailableError extends RecorderError {
  constructor(cause) {
    super('This browser does not let the page keep the recording safely (private mode or ' +
      'blocked site data). Please use a normal window and allow site data.',
    { code: 'storage_unavailable', cause, detail: cause && String(cause.message || cause) });
  }
}

// IndexedDB stores chunks more slowly than the encoder makes them: rather than queue them in
// memory, recording stops.
export class StorageTooSlowError extends RecorderError {
  /** @param {number} waiting */
  constructor(waiting) {
    super('This computer cannot save the recording fast enough (its disk is too busy or too slow), so ' +
      'recording stopped. Everything saved so far still uploads. Close other programs, then reload the page.',
    { code: 'storage_slow', detail: `${waiting} chunks waiting to be stored` });
  }
}

export class EncoderBehindError extends RecorderError {
  /** @param {number} dropped */
  constructor(dropped) {
    super('This computer is too busy to record smoothly; some video frames are being skipped. ' +
      'Close other programs and browser tabs.', { code: 'encoder_behind', fatal: false,
      detail: `${dropped} frames dropped` });
    this.dropped = dropped;
  }
}

export class CameraStalledError extends RecorderError {
  /**
   * @param {string} kind @param {number} seconds
   * @param {{ in: number, skipped: number, dropped: number, encoded: number }} frames the counters then
   */
  constructor(kind, seconds, frames) {
    super(kind === 'screen' ? 'The shared screen stopped sending pictures; the recording goes on.'
      : 'The camera stopped sending pictures; the sound is still recorded. If the preview is frozen, ' +
        'close other programs that use the camera.', { code: 'camera_stalled', fatal: false,
      detail: `no ${kind} frame for ${seconds.toFixed(1)} s of recording` });
    this.kind = kind;
    this.seconds = seconds;
    this.frames = frames;
  }
}

// A notice rather than a fault: the uplink is slower than the recording, so the video is lighter
// until it keeps up (uplink.js). Reported once per slow spell, when the first step down is taken.
export class SlowUplinkError extends RecorderError {
  /** @param {number} videoKbps @param {number | null} capacityKbps */
  constructor(videoKbps, capacityKbps) {
    super('Your connection is slow, so the video quality is lowered to keep up. Nothing is lost, and ' +
      'the quality comes back when the connection does.', { code: 'slow_uplink', fatal: false,
      detail: `video at ${videoKbps} kbps, upload measured at ${capacityKbps === null ? '?' : Math.round(capacityKbps)} kbps` });
    this.videoKbps = videoKbps;
  }
}

export class EncoderFailedError extends RecorderError {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super('The recorder stopped because of an internal error. Everything saved so far still ' +
      'uploads. Please reload the page to continue.', { code: 'encoder_failed', detail: `${code}: ${message}` });
  }
}

// A value rejected by createRecorder/start/mark: a programming error of the embedding page.
export class InvalidUseError extends RecorderError {
  /** @param {string} message */
  constructor(message) {
    super(message, { code: 'invalid_use' });
  }
}
