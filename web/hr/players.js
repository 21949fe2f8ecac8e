// The two players of a session: the camera (or, without one, the audio) drives; the screen
// follows its play, pause, seeks, rate and time.
//
// Times: markers are on the session clock; each recording file starts at its start_ms on that
// clock (0 when the client did not say). A session may hold several parts per kind (continuations
// after a reload); the players load the part that covers the time asked for, and at the end of a
// part the next one plays on.
import { captionsUrl, mediaUrl } from './api.js';

/** @typedef {import('./api.js').Recording} Recording */
/** @typedef {import('./api.js').SessionDetail} SessionDetail */
/** @typedef {import('./dom.js').Player} Player */

const MAX_DRIFT_S = 0.25;  // the screen video is re-aligned to the camera beyond this

/** Where a recording starts on the session clock, in seconds. @param {Recording | null | undefined} rec */
const startS = (rec) => (rec?.start_ms ?? 0) / 1000;

/**
 * The ready parts of one kind in session-clock order.
 * @param {SessionDetail} session
 * @param {Recording['kind']} kind
 */
export function partsOf(session, kind) {
  return session.recordings.filter((r) => r.kind === kind && r.status === 'ready')
    .sort((a, b) => (a.start_ms ?? 0) - (b.start_ms ?? 0) || (a.part ?? 0) - (b.part ?? 0) || a.id - b.id);
}

/**
 * The last part starting at or before `sessionS`, else the first (undefined: no parts).
 * @param {Recording[]} parts
 * @param {number} sessionS
 */
export function partAt(parts, sessionS) {
  return parts.filter((r) => startS(r) <= sessionS).pop() ?? parts[0];
}

export class Players {
  /** @param {{ camera: Player, cameraBox: HTMLElement, screen: Player, screenBox: HTMLElement }} elements */
  constructor({ camera, cameraBox, screen, screenBox }) {
    this.camera = camera;
    this.cameraBox = cameraBox;
    this.screen = screen;
    this.screenBox = screenBox;
    /** @type {{ main: Recording[], screen: Recording[] }} the ready parts: camera (else audio), screen */
    this.parts = { main: [], screen: [] };
    /** @type {Player | null} the player that drives (camera, else screen); null: nothing to play */
    this.master = null;
    /** @type {(() => void) | null} ends the screen's following of the camera */
    this.unlink = null;
    this.sessionId = '';
  }

  /** The camera (or audio) part's captions, once it is transcribed. @param {Recording | undefined} rec */
  captions(rec) {
    const transcribed = rec?.pipeline?.stages.some((s) => s.stage === 'transcribe' && s.status === 'completed');
    return rec && transcribed ? captionsUrl(this.sessionId, rec.id) : null;
  }

  /** The session-clock time the driving player is at; null when nothing plays. */
  sessionTime() {
    return this.master ? this.master.currentTime + startS(this.master.recording) : null;
  }

  /** Loads the first parts of `session`; returns the player that drives, if any. @param {SessionDetail} session */
  show(session) {
    this.stop();
    this.sessionId = session.session_id;
    const camera = partsOf(session, 'camera');
    this.parts = { main: camera.length ? camera : partsOf(session, 'audio'), screen: partsOf(session, 'screen') };
    const main = this.parts.main[0];
    const screen = main ? partAt(this.parts.screen, startS(main)) : this.parts.screen[0];
    load(this.camera, this.cameraBox, main, this.captions(main));
    load(this.screen, this.screenBox, screen);
    // Without a camera the screen plays alone, with its own controls.
    this.screen.controls = !main;
    if (main && screen) this.unlink = linkVideos(this.camera, this.screen);
    const master = main ? this.camera : screen ? this.screen : null;
    this.master = master;
    // At the end of a part, the next part (a continuation after a reload) plays on.
    if (master) {
      master.onended = () => {
        const parts = main ? this.parts.main : this.parts.screen;
        const next = parts[parts.indexOf(/** @type {Recording} */ (master.recording)) + 1];
        if (next) this.seek(startS(next)).then(() => master.play().catch(() => {}));
      };
    }
    return master;
  }

  /**
   * Seeks the players to a session-clock time, loading the parts that cover it when they differ.
   * @param {number} sessionS
   */
  async seek(sessionS) {
    const player = this.master;
    if (!player) return;
    const parts = player === this.screen ? this.parts.screen : this.parts.main;
    const rec = partAt(parts, sessionS);
    if (rec && player.recording?.id !== rec.id) {
      if (player === this.screen) load(player, this.screenBox, rec);
      else load(player, this.cameraBox, rec, this.captions(rec));
      if (player !== this.screen && this.parts.screen.length) {
        load(this.screen, this.screenBox, partAt(this.parts.screen, sessionS));
      }
      await new Promise((resolve) => player.addEventListener('loadedmetadata', resolve, { once: true }));
    }
    player.currentTime = Math.max(0, sessionS - startS(player.recording));
    player.focus();
  }

  /** Stops and unloads both players. */
  stop() {
    this.unlink?.();
    this.unlink = null;
    this.master = null;
    for (const video of [this.camera, this.screen]) {
      if (!video.getAttribute('src')) continue;
      video.pause();
      video.removeAttribute('src');
      video.load();
    }
  }
}

/**
 * Plays `rec` in `video`, with its captions when given, and shows its box; without a recording the
 * box is hidden.
 * @param {Player} video
 * @param {HTMLElement} box
 * @param {Recording | undefined} rec
 * @param {string | null} [captions]  a WebVTT URL
 */
function load(video, box, rec, captions = null) {
  box.hidden = !rec;
  video.recording = rec ?? null;
  const old = video.querySelector('track');
  if (old) {
    old.track.mode = 'disabled';  // else Chromium keeps drawing its last cues over the new track's
    old.remove();
  }
  if (!rec) return;
  video.src = mediaUrl(rec.id);
  if (captions) {
    const track = Object.assign(document.createElement('track'), { kind: 'captions', srclang: 'en',
      label: 'Captions', src: captions, default: true });
    video.append(track);
  }
}

/**
 * Makes `follower` follow `master`; returns the function that ends it.
 * @param {Player} master
 * @param {Player} follower
 */
function linkVideos(master, follower) {
  const stop = new AbortController();
  /** @param {string} type @param {() => void} handler */
  const on = (type, handler) => master.addEventListener(type, handler, { signal: stop.signal });
  // The follower's time for the master's, across their start offsets.
  const target = () => master.currentTime + startS(master.recording) - startS(follower.recording);
  const align = () => {
    const t = target();
    if (follower.seeking || t < 0 || t > (follower.duration || Infinity)) return;
    if (Math.abs(follower.currentTime - t) > MAX_DRIFT_S) follower.currentTime = t;
  };
  on('play', () => { align(); follower.play().catch(() => {}); });
  on('playing', () => { if (follower.paused) follower.play().catch(() => {}); });
  on('pause', () => follower.pause());
  on('waiting', () => follower.pause());
  on('seeking', () => { follower.currentTime = Math.max(0, Math.min(target(), follower.duration || Infinity)); });
  on('timeupdate', align);
  on('ratechange', () => { follower.playbackRate = master.playbackRate; });
  return () => stop.abort();
}
