// Turns an audio track into encoder input: an AudioContext at 48 kHz (the browser resamples the
// device to it; the encoder accepts only 48 kHz), an AudioWorklet tap (audio-worklet.js), mono
// float32 blocks stamped on the session clock.
// Contract: sample-accurate timestamps (block time = anchor + frames / 48000), anchored to the
// session clock at the first block and re-anchored only when the two disagree by more than
// MAX_SKEW_MS (the audio clock stalled, e.g. a suspended context: the gap becomes a gap in the
// stream). A busy main thread delays block messages by up to hundreds of ms; re-anchoring on
// that jitter would punch gaps into continuous audio, hence the large threshold. Timestamps never
// go back; blocks before the recording started (`stamp(ms)` null) are dropped.
import { withDeadline } from './capabilities.js';
import { nowMs } from './clock.js';
import { StalledError, UnsupportedBrowserError } from './errors.js';

const SAMPLE_RATE = 48000;
const MAX_SKEW_MS = 1000;
const WORKLET_URL = new URL('./audio-worklet.js', import.meta.url);

// Starts the audio engine: an AudioContext at 48 kHz, running, with the tap's module loaded.
// Rejects with StalledError('audio') if that takes longer than `deadlineMs`: an AudioContext runs
// on the clock of the sound output, and where none works (Firefox without an output device, or a
// context the browser does not allow to start) resume() stays pending for ever.
/** @param {number} deadlineMs @returns {Promise<AudioContext>} */
export async function startAudioEngine(deadlineMs) {
  if (typeof AudioWorkletNode !== 'function') throw new UnsupportedBrowserError('AudioWorklet');
  const context = new AudioContext({ sampleRate: SAMPLE_RATE });
  if (context.sampleRate !== SAMPLE_RATE) {
    context.close();
    throw new UnsupportedBrowserError(`AudioContext at ${context.sampleRate} Hz`);
  }
  try {
    await withDeadline(Promise.all([context.audioWorklet.addModule(WORKLET_URL), context.resume()]),
      deadlineMs, () => new StalledError('audio', deadlineMs));
  } catch (err) {
    context.close().catch(() => {});
    throw err;
  }
  return context;
}

export async function startAudioSource(track, { encoder, stamp, deadlineMs }) {
  const context = await startAudioEngine(deadlineMs);
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const tap = new AudioWorkletNode(context, 'recorder-tap', { numberOfInputs: 1, numberOfOutputs: 1 });
  // The graph is pulled from the destination; a silent gain keeps the tap running without
  // playing the microphone back.
  const mute = new GainNode(context, { gain: 0 });
  source.connect(tap).connect(mute).connect(context.destination);

  /** @type {{ frame: number, ms: number } | null} */
  let anchor = null;
  let nextUs = 0;     // the earliest timestamp the next block may have
  tap.port.onmessage = ({ data: { samples, frame } }) => {
    const blockMs = (samples.length / SAMPLE_RATE) * 1000;
    const expectedMs = nowMs() - blockMs;  // the block's first sample, as the clock sees it
    let ms = anchor ? anchor.ms + ((frame - anchor.frame) / SAMPLE_RATE) * 1000 : expectedMs;
    if (!anchor || Math.abs(ms - expectedMs) > MAX_SKEW_MS) {
      anchor = { frame, ms: expectedMs };
      ms = expectedMs;
    }
    const us = stamp(ms);
    if (us === null) return;
    const at = Math.max(us, nextUs);
    nextUs = at + Math.round(blockMs * 1000);  // before sendAudio: it transfers (empties) samples
    encoder.sendAudio(samples, at);
  };
  return {
    stop() {
      tap.port.postMessage('stop');
      source.disconnect();
      tap.port.onmessage = null;
      context.close().catch(() => {});
    },
  };
}
