// Follows the uplink: when stored chunks wait longer and longer for the server, the video is made
// lighter (its bitrate first, then its frame rate) so that the backlog stops growing; once the
// uplink keeps up again the video climbs back to the host's target. The sound is never lowered:
// a lost word costs an interview more than a softer picture.
//
// Inputs, about once a second (update):
//   backlogSeconds  seconds of media stored in this browser and not yet acknowledged
//   capacityKbps    goodput of the last PATCHes (bytes over request time), or null before any.
//                   While the uplink is the bottleneck this is its rate; on a fast link it is far
//                   above what we send (latency makes it an underestimate there, so it is only
//                   trusted to jump, never to hold the video down while the backlog is calm).
// Output: the step now in effect, from LADDER; update() returns it when it changed.
//
// Every change is one the encoder takes without a keyframe (libvpx's CBR target, frames left out
// at the source), so stepping does not cost a burst of bits.

// Fractions of the host's video bitrate and frame rate, lightest last. The frame rate is halved
// only once the bitrate is a quarter of the target: fewer frames keep each one sharp when bits
// are that scarce.
export const LADDER = [
  { bitrate: 1, fps: 1 },
  { bitrate: 0.7, fps: 1 },
  { bitrate: 0.5, fps: 1 },
  { bitrate: 0.35, fps: 1 },
  { bitrate: 0.25, fps: 0.5 },
  { bitrate: 0.15, fps: 0.5 },
];
const MIN_VIDEO_KBPS = 30;
// Container and HTTP bytes beside the codecs' payloads (WebM block headers for ~80 packets a
// second, one PATCH's headers a second), in kbps.
const OVERHEAD_KBPS = 16;
// Lower when the backlog is above this and growing, or above DRAIN_SECONDS at all, or above
// CALM_SECONDS while the measured capacity is below what the current step sends (the earliest
// sign: a slow link is measured by the first PATCH it carries).
const DOWN_SECONDS = 2.5;
const DRAIN_SECONDS = 6;
// Climb when the backlog stayed under this for the climb interval, and either the measured
// capacity carries the heavier step or the link stayed idle (the backlog under IDLE_SECONDS: each
// chunk is acknowledged well before the next is stored; a calm PATCH measures latency more than
// the link, so on a distant server only idleness can tell that there is room).
const CALM_SECONDS = 1.5;
const IDLE_SECONDS = 0.5;
// Shares of the measured capacity a step may use: less when stepping down (the backlog must
// drain), more when climbing (hysteresis: a step taken is not undone by the next sample).
const DOWN_SHARE = 0.8;
const UP_SHARE = 0.7;
// Over DRAIN_SECONDS the backlog itself must shrink quickly: a step fitting this share.
const DRAIN_SHARE = 0.6;
const MIN_DOWN_INTERVAL_MS = 2000;
const CLIMB_INTERVAL_MS = 5000;
// A climb undone within FAILED_CLIMB_MS failed: the recorder goes back to the step it came from,
// and that step is not tried again for BLOCK_MS, twice as long after each further failure (up
// to MAX_BLOCK_MS), so a link at the edge of a step does not see-saw.
const FAILED_CLIMB_MS = 20_000;
const BLOCK_MS = 20_000;
const MAX_BLOCK_MS = 160_000;

/**
 * @typedef {{ step: number, videoKbps: number, fps: number }} UplinkStep
 * @typedef {{ backlogSeconds: number, capacityKbps: number | null, nowMs: number }} UplinkSample
 */

export class UplinkController {
  /** @param {{ videoKbps: number, fps: number, audioKbps: number }} target the host's settings */
  constructor({ videoKbps, fps, audioKbps }) {
    this.target = { videoKbps, fps, audioKbps };
    this.step = 0;
    this.lastChangeMs = -Infinity;
    /** @type {{ from: number, to: number, atMs: number } | null} */
    this.lastClimb = null;
    this.blocked = { step: -1, untilMs: -Infinity, waitMs: BLOCK_MS };  // a step a climb to failed
    /** @type {number | null} */
    this.calmSinceMs = null;
    /** @type {number | null} */
    this.idleSinceMs = null;
    /** @type {number[]} */
    this.recent = [];  // the last backlogs since the last change, oldest first
  }

  // kbps the whole stream of `step` needs.
  /** @param {number} step */
  needs(step) {
    return this.settings(step).videoKbps + this.target.audioKbps + OVERHEAD_KBPS;
  }

  /** @param {number} step @returns {UplinkStep} */
  settings(step = this.step) {
    const { bitrate, fps } = LADDER[step];
    return {
      step,
      videoKbps: Math.max(MIN_VIDEO_KBPS, Math.round(this.target.videoKbps * bitrate)),
      fps: Math.max(1, Math.round(this.target.fps * fps)),
    };
  }

  // The heaviest step whose whole stream (video, sound, overhead) fits in `share` of
  // `capacityKbps`; the lightest step if none does.
  /** @param {number} capacityKbps @param {number} share */
  fitting(capacityKbps, share) {
    const i = LADDER.findIndex((_, step) => this.needs(step) <= capacityKbps * share);
    return i === -1 ? LADDER.length - 1 : i;
  }

  /** @param {UplinkSample} sample @returns {UplinkStep | null} the new step, if it changed */
  update({ backlogSeconds, capacityKbps, nowMs }) {
    this.recent.push(backlogSeconds);
    if (this.recent.length > 3) this.recent.shift();
    const growing = this.recent.length === 3 && backlogSeconds > this.recent[0] + 0.2;
    if (backlogSeconds >= CALM_SECONDS) this.calmSinceMs = null;
    else this.calmSinceMs ??= nowMs;
    if (backlogSeconds >= IDLE_SECONDS) this.idleSinceMs = null;
    else this.idleSinceMs ??= nowMs;

    const climb = this.lastClimb;
    const climbFailed = climb !== null && nowMs - climb.atMs < FAILED_CLIMB_MS;
    if (climb && !climbFailed) {
      this.lastClimb = null;  // it held: the link carries that step again
      if (climb.to <= this.blocked.step) this.blocked = { step: -1, untilMs: -Infinity, waitMs: BLOCK_MS };
    }

    let next = this.step;
    const outpaced = capacityKbps !== null && capacityKbps < this.needs(this.step);
    // A backlog the measured link carries away (after an outage, say) is no reason to go lighter.
    const carried = capacityKbps !== null && this.fitting(capacityKbps, DOWN_SHARE) <= this.step;
    const late = !carried && ((backlogSeconds > DOWN_SECONDS && growing) || backlogSeconds > DRAIN_SECONDS ||
      (backlogSeconds > CALM_SECONDS && outpaced));
    if (late && nowMs - this.lastChangeMs >= MIN_DOWN_INTERVAL_MS && this.step < LADDER.length - 1) {
      if (climb && climbFailed && backlogSeconds <= DRAIN_SECONDS) {
        next = climb.from;  // that step carried the recording a moment ago
        this.blocked = { step: climb.to, untilMs: nowMs + this.blocked.waitMs,
          waitMs: Math.min(MAX_BLOCK_MS, this.blocked.waitMs * 2) };
      } else {
        const share = backlogSeconds > DRAIN_SECONDS ? DRAIN_SHARE : DOWN_SHARE;
        const fit = capacityKbps === null ? this.step : this.fitting(capacityKbps, share);
        next = Math.max(this.step + 1, fit);
      }
      this.lastClimb = null;
    } else if (this.step > 0 && this.calmSinceMs !== null && nowMs - this.calmSinceMs >= CLIMB_INTERVAL_MS &&
        nowMs - this.lastChangeMs >= CLIMB_INTERVAL_MS) {
      // Straight to the heaviest step the measured capacity carries, or one step when the link is
      // idle (probing: the backlog says whether it holds); not onto a step that just failed.
      const fit = capacityKbps === null ? this.step : this.fitting(capacityKbps, UP_SHARE);
      const idle = this.idleSinceMs !== null && nowMs - this.idleSinceMs >= CLIMB_INTERVAL_MS;
      next = Math.min(idle ? this.step - 1 : this.step, fit);
      if (nowMs < this.blocked.untilMs) next = Math.max(next, this.blocked.step + 1);
      if (next < this.step) this.lastClimb = { from: this.step, to: next, atMs: nowMs };
      else next = this.step;
    }
    if (next === this.step) return null;
    this.step = next;
    this.lastChangeMs = nowMs;
    this.recent = [];  // "growing" is judged on what the new step does
    return this.settings();
  }
}
