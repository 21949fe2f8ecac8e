// The HR results page: sign in, find sessions, watch a session's camera and screen recordings in
// sync with its markers, its captions and its transcript, see each recording's processing stages,
// download, retry a failed stage, delete, read the audit log and the webhook deliveries and send a
// failed delivery again (the last five: admins).
// Plain ES modules, no build step:
//   hr.js       this file: the page's state, the views' routing, the actions and their wiring
//   api.js      the HR API client (/api/v1/hr) and the types of its JSON
//   views.js    the list, the session, the audit log and the delete confirmation, from data
//   players.js  the camera and screen players kept in sync across parts
//   live.js     "Watch live": a recording still being received, through Media Source Extensions
//   transcript.js the transcript panel
//   dom.js      element and text helpers
// Views follow location.hash:
//   ''  the session list     '#session/<id>[/at/<seconds>]'  one session     '#audit'  the audit log
//   '#webhooks'  the webhook delivery log     '#live/<id>'  one session, its camera (or audio) and
//   screen playing live while they are recorded
// Admins delete a session or all data of its candidate, after a confirm step.
import { ApiError, HrApi } from './api.js';
import { $, $button, $input, $video, showMessage } from './dom.js';
import { LivePlayer } from './live.js';
import { Players } from './players.js';
import { highlightLine, renderTranscript } from './transcript.js';
import {
  askDelete, renderAudit, renderDeliveries, renderSearchHits, renderSession, renderSessions, renderTimeline, showDeleteButtons,
  showView,
} from './views.js';

const PAGE_SIZE = 50;
const AUDIT_ENTRIES = 500;
// While a recording plays live, the session is read again this often for new markers.
const LIVE_MARKERS_MS = 2000;

/** What the live player's status line says in each state. */
const LIVE_TEXT = {
  connecting: () => 'Connecting…',
  live: () => 'Live',
  offline: (/** @type {string | undefined} */ s) => `No new video for ${s} s: the candidate may be offline. Waiting…`,
  ended: () => 'The recording has ended; it is being finalized. Reload the session to play it whole.',
  failed: (/** @type {string | undefined} */ detail) => `Live view stopped: ${detail}`,
};

const api = new HrApi();
const players = new Players({ camera: $video('#camera'), cameraBox: $('#camera-box'),
  screen: $video('#screen'), screenBox: $('#screen-box') });
const state = {
  /** @type {import('./api.js').SessionSummary[]} the list's loaded rows */
  sessions: [],
  total: 0,
  listSeq: 0,  // the latest list request; older answers are dropped
  /** @type {import('./api.js').SessionDetail | null} the session shown */
  current: null,
  /** @type {string | null} a message for the next view (after a deletion) */
  notice: null,
  /** @type {'session' | 'candidate'} what the delete confirmation is about */
  deleting: 'session',
};
/** @param {string} statusId @returns {(liveState: import('./live.js').LiveState, detail?: string) => void} */
const showLiveState = (statusId) => (liveState, detail) => {
  const status = $(statusId);
  status.textContent = LIVE_TEXT[liveState](detail);
  status.dataset.state = liveState;
};
// Live: the camera (or, without one, the sound) and the shared screen, each from its own stream.
const live = new LivePlayer($video('#live'), showLiveState('#live-status'));
const liveScreen = new LivePlayer($video('#live-screen'), showLiveState('#live-screen-status'));
/** @type {ReturnType<typeof setInterval> | undefined} */
let liveMarkers;
window.hrPage = { api, state, players, live, liveScreen };  // for debugging and tests

/** Runs an action, showing any error's message (a 401 has already brought back the login form). @param {() => Promise<unknown>} action */
async function attempt(action) {
  try {
    await action();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    showMessage(err.message || String(err), 'error');
    if (!(err instanceof ApiError)) console.error(err);
  }
}

/** @param {string} name */
function show(name) {
  showView(name);
  if (name !== 'detail') players.stop();
  stopWatching();
}

// ---- watching live ----

// Plays the session's recordings still being received: the camera (else the sound) and the
// screen, whichever `recording` is.
/** @param {import('./api.js').Recording} recording */
function watch(recording) {
  stopWatching();
  const receiving = (state.current?.recordings ?? []).filter((r) => r.status === 'receiving');
  const main = recording.kind === 'screen'
    ? receiving.find((r) => r.kind === 'camera') ?? receiving.find((r) => r.kind === 'audio') : recording;
  const screen = recording.kind === 'screen' ? recording : receiving.find((r) => r.kind === 'screen');
  if (main) {
    $('#live-box').hidden = false;
    $('#live-box').dataset.recordingId = String(main.id);
    live.start(main);
  }
  if (screen) {
    $('#live-screen-box').hidden = false;
    $('#live-screen-box').dataset.recordingId = String(screen.id);
    liveScreen.start(screen);
  }
  const id = state.current?.session_id;
  liveMarkers = setInterval(() => attempt(async () => {
    if (!id || state.current?.session_id !== id) return;
    const session = await api.session(id);
    if (state.current?.session_id === id) renderTimeline(session, null);
  }), LIVE_MARKERS_MS);
}

function stopWatching() {
  clearInterval(liveMarkers);
  live.stop();
  liveScreen.stop();
  $('#live-box').hidden = true;
  $('#live-screen-box').hidden = true;
}

// ---- signing in and out ----

/** @param {string} text */
function showLoginError(text) {
  const box = $('#login-error');
  box.textContent = text;
  box.hidden = !text;
}

function signedOut() {
  api.account = null;
  state.sessions = [];
  $('#account').hidden = true;
  showMessage('');
  show('login');
}

/** @param {import('./api.js').Account} me */
function signedIn(me) {
  $('#who').textContent = `${me.username} (${me.role})`;
  $('#audit').hidden = me.role !== 'admin';
  $('#webhooks').hidden = me.role !== 'admin';
  $('#account').hidden = false;
  showLoginError('');
  route();
}

// A call answered 401: the login ended (or there was none).
api.onUnauthorized = () => {
  const expired = api.account !== null;
  signedOut();
  if (expired) showLoginError('Your session has ended. Please sign in again.');
};

/** @param {SubmitEvent} event */
async function login(event) {
  event.preventDefault();
  const username = $input('#login-username').value.trim();
  const password = $input('#login-password').value;
  if (!username || !password) return showLoginError('Enter your user name and password.');
  const button = $button('#login-submit');
  button.disabled = true;
  try {
    const me = await api.login(username, password);
    $input('#login-password').value = '';
    signedIn(me);
  } catch (err) {
    let text = err.message;
    if (err.status === 429 && err.retryAfter && !text.includes(err.retryAfter)) {
      text += ` Try again in ${err.retryAfter} seconds.`;
    }
    showLoginError(text);
    $input('#login-password').select();
  } finally {
    button.disabled = false;
  }
}

async function logout() {
  await attempt(async () => {
    await api.logout();
    signedOut();
    $('#login-username').focus();
  });
}

// ---- views ----

function route() {
  if (!api.account) return;
  const hash = decodeURIComponent(location.hash.slice(1));
  const notice = state.notice;
  state.notice = null;
  showMessage(notice ?? '');
  // '#session/<id>' or '#session/<id>/at/<seconds>' (a search hit: play from there).
  const session = /^session\/([^/]+)(?:\/at\/(\d+(?:\.\d+)?))?$/.exec(hash);
  if (session) return attempt(() => openSession(session[1], session[2] === undefined ? null : Number(session[2])));
  const watched = /^live\/([^/]+)$/.exec(hash);
  if (watched) return attempt(() => openSession(watched[1], null, true));
  if (hash === 'audit') return attempt(openAudit);
  if (hash === 'webhooks') return attempt(openWebhooks);
  show('list');
  return attempt(() => loadSessions());
}

/** The list, from the filters; `append` loads the next page under the current one. */
async function loadSessions(append = false) {
  const params = new URLSearchParams();
  for (const id of ['search', 'job', 'status', 'from', 'to']) {
    const value = $input(`#${id}`).value.trim();
    if (value) params.set(id === 'search' ? 'q' : id, value);
  }
  params.set('limit', String(PAGE_SIZE));
  params.set('offset', String(append ? state.sessions.length : 0));
  const seq = ++state.listSeq;
  const result = await api.sessions(params);
  if (seq !== state.listSeq) return;  // a newer search is under way
  state.sessions = append ? state.sessions.concat(result.sessions) : result.sessions;
  state.total = result.total;
  renderSessions(state.sessions, state.total);
}

/**
 * @param {string} id @param {number | null} [atS]  a session-clock time to play from
 * @param {boolean} [watchLive]  play its recording still being received (camera, else screen, else audio)
 */
async function openSession(id, atS = null, watchLive = false) {
  const [session, transcript] = await Promise.all([api.session(id), api.transcript(id).catch(() => null)]);
  state.current = session;
  show('detail');
  const master = players.show(session);
  const seek = master && ((/** @type {number} */ s) => { players.seek(s); });
  renderSession(session, { admin: api.account?.role === 'admin', seek, retry, watch });
  if (watchLive) {
    const receiving = session.recordings.filter((r) => r.status === 'receiving');
    const pick = ['camera', 'audio', 'screen'].map((kind) => receiving.find((r) => r.kind === kind)).find(Boolean);
    if (pick) watch(pick);
    else showMessage('Nothing of this session is being recorded now.');
  }
  const pending = session.recordings.some((r) => r.pipeline?.stages.some((s) => s.stage === 'transcribe'
    && (s.status === 'queued' || s.status === 'processing')));
  renderTranscript(transcript, { seek, pending });
  if (seek && atS !== null) seek(atS);
}

async function searchTranscripts() {
  const words = $input('#said').value.trim();
  if (!words) {
    $('#said-results').hidden = true;
    return;
  }
  const { hits } = await api.search(words);
  renderSearchHits(hits);
}

/** An admin's retry of a recording's failed stage; the session is shown again with its new status. @param {number} recordingId @param {string} stage */
async function retry(recordingId, stage) {
  const session = state.current;
  if (!session) return;
  await attempt(async () => {
    await api.retryStage(recordingId, stage);
    await openSession(session.session_id);
    showMessage(`The ${stage} stage of recording ${recordingId} runs again.`);
  });
}

async function openWebhooks() {
  const { deliveries } = await api.webhooks();
  show('webhooks');
  renderDeliveries(deliveries, resendWebhook);
}

/** @param {number} id */
async function resendWebhook(id) {
  await attempt(async () => {
    await api.resendWebhook(id);
    await openWebhooks();
    showMessage(`Delivery ${id} is sent again.`);
  });
}

async function openAudit() {
  const { entries } = await api.audit(AUDIT_ENTRIES);
  show('audit');
  renderAudit(entries);
}

// ---- deleting (admins) ----

/** @param {'session' | 'candidate'} what */
function startDelete(what) {
  if (!state.current) return;
  state.deleting = what;
  askDelete(what, state.current);
}

function cancelDelete() {
  showDeleteButtons();
  $(`#delete-${state.deleting}`).focus();
}

async function confirmDelete() {
  const session = state.current;
  if (!session) return;
  const candidate = state.deleting === 'candidate';
  const button = $button('#delete-confirm');
  button.disabled = true;
  try {
    await attempt(async () => {
      await (candidate ? api.deleteCandidate(session.candidate_id) : api.deleteSession(session.session_id));
      players.stop();
      state.sessions = state.sessions.filter((s) => (candidate ? s.candidate_id !== session.candidate_id
        : s.session_id !== session.session_id));
      state.current = null;
      state.notice = candidate
        ? `All data of ${session.candidate_name} (candidate ${session.candidate_id}) was deleted: every session and recording.`
        : `The session of ${session.candidate_name} (${session.session_id}) was deleted with its recordings.`;
      location.hash = '';
    });
  } finally {
    button.disabled = false;
  }
}

// ---- wiring ----

/** @param {() => void} fn @param {number} ms */
function debounce(fn, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

function init() {
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', logout);
  const reload = () => attempt(() => loadSessions());
  const typed = debounce(reload, 300);
  $('#filters').addEventListener('submit', (e) => { e.preventDefault(); reload(); });
  $('#search').addEventListener('input', typed);
  $('#job').addEventListener('input', typed);
  for (const id of ['#status', '#from', '#to']) $(id).addEventListener('change', reload);
  $('#more').addEventListener('click', () => attempt(() => loadSessions(true)));
  $('#said-form').addEventListener('submit', (e) => { e.preventDefault(); attempt(searchTranscripts); });
  $('#delete-session').addEventListener('click', () => startDelete('session'));
  $('#delete-candidate').addEventListener('click', () => startDelete('candidate'));
  $('#delete-cancel').addEventListener('click', cancelDelete);
  $('#delete-confirm').addEventListener('click', confirmDelete);
  $('#live-stop').addEventListener('click', stopWatching);
  for (const video of [players.camera, players.screen]) {
    video.addEventListener('timeupdate', () => {
      const t = players.sessionTime();
      if (video === players.master && t !== null) highlightLine(t);
    });
    video.addEventListener('error', () => {
      if (video.getAttribute('src')) {
        showMessage(`The ${video.id} video cannot be played (${video.error?.message || 'media error'}).`, 'error');
      }
    });
  }
  window.addEventListener('hashchange', route);
  api.me().then(signedIn, (err) => {
    if (err.status !== 401) {
      show('login');
      showLoginError(err.message);
    }
  });
}

init();
