// The session clock. Every timestamp the recorder produces (media sent to the encoders, markers,
// recording start times) is read from this one clock, in milliseconds since the Unix epoch with
// sub-millisecond precision within a page (timeOrigin + now is monotonic within a page and still
// comparable across reloads, because timeOrigin is wall-clock based).
//
// A session's time zero (`zeroMs`) is taken once, when its first recording starts, and stored with
// the session, so continuation recordings after a reload and the screen recording use the same
// zero: "recording time" = nowMs() - zeroMs.
export function nowMs() {
  return performance.timeOrigin + performance.now();
}

// Microseconds since `zeroMs`, as the encoder wants them (integer, >= 0 for media after zero).
export function toStreamUs(ms, zeroMs) {
  return Math.round((ms - zeroMs) * 1000);
}

export function isoTime(ms) {
  return new Date(ms).toISOString();
}
