// The HR results page: sign in, find sessions, watch a session's camera and screen recordings in
// sync with its markers, download, delete (admins) and read the audit log (admins).
// Plain ES module, no build step; talks to the HR API under /api/v1/hr (same origin, cookie
// session, X-CSRF-Token on every state-changing request). Views follow location.hash:
//   ''  the session list     '#session/<id>'  one session     '#audit'  the audit log
// Admins delete a session or all data of its candidate, after a confirm step.
const API = '/api/v1/hr';
const PAGE_SIZE = 50;
const MAX_DRIFT_S = 0.25;  // the screen video is re-aligned to the camera beyond this

const $ = (selector) => document.querySelector(selector);
const state = { me: null, sessions: [], total: 0, listSeq: 0, current: null, notice: null, unlink: null,
  players: { main: [], screen: [] } };
window.hrPage = state;  // for debugging and tests

class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    Object.assign(this, { status, code, retryAfter });
  }
}

// One HR API call. Resolves to the JSON body (null for 204); throws ApiError with the server's
// message. A 401 anywhere but the login itself returns to the sign-in form.
async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.me) headers['X-CSRF-Token'] = state.me.csrf_token;
  let res;
  try {
    res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  let json = null;
  if (res.status !== 204) json = await res.json().catch(() => null);
  if (res.ok) return json;
  const error = new ApiError(res.status, json?.error ?? `http_${res.status}`,
    json?.message ?? `The server answered ${res.status} ${res.statusText}.`, res.headers.get('Retry-After'));
  if (res.status === 401 && path !== '/login') {
    const expired = state.me !== null;
    signedOut();
    if (expired) showLoginError('Your session has ended. Please sign in again.');
  }
  throw error;
}

// Runs an action, showing any error's message (a 401 has already brought back the login form).
async function attempt(action) {
  try {
    await action();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    showMessage(err.message || String(err), 'error');
    if (!(err instanceof ApiError)) console.error(err);
  }
}

// ---- small helpers ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function formatTime(ms) {
  if (ms === null || ms === undefined) return '–';
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function formatBytes(bytes) {
  if (!bytes) return bytes === 0 ? '0 B' : '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let n = bytes;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
}

function formatDate(unixSeconds) {
  if (!unixSeconds) return '–';
  if (typeof unixSeconds === 'string') return unixSeconds;
  return new Date(unixSeconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const STATUS_TEXT = { recording: 'Recording', processing: 'Processing', ready: 'Ready', failed: 'Failed',
  empty: 'Empty', receiving: 'Receiving', finalizing: 'Finalizing' };

function statusBadge(status) {
  return el('span', { className: `status status-${status}` }, STATUS_TEXT[status] ?? status);
}

function showMessage(text, kind = 'info') {
  const box = $('#message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.hidden = !text;
}

function showView(name) {
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.dataset.view !== name;
  if (name !== 'detail') stopPlayers();
}

// ---- signing in and out ----

function showLoginError(text) {
  const box = $('#login-error');
  box.textContent = text;
  box.hidden = !text;
}

function signedOut() {
  state.me = null;
  state.sessions = [];
  $('#account').hidden = true;
  showMessage('');
  showView('login');
}

function signedIn(me) {
  state.me = me;
  $('#who').textContent = `${me.username} (${me.role})`;
  $('#audit').hidden = me.role !== 'admin';
  $('#account').hidden = false;
  showLoginError('');
  route();
}

async function login(event) {
  event.preventDefault();
  const username = $('#login-username').value.trim();
  const password = $('#login-password').value;
  if (!username || !password) return showLoginError('Enter your user name and password.');
  const button = $('#login-submit');
  button.disabled = true;
  try {
    const me = await api('POST', '/login', { username, password });
    $('#login-password').value = '';
    signedIn(me);
  } catch (err) {
    let text = err.message;
    if (err.status === 429 && err.retryAfter && !text.includes(err.retryAfter)) {
      text += ` Try again in ${err.retryAfter} seconds.`;
    }
    showLoginError(text);
    $('#login-password').select();
  } finally {
    button.disabled = false;
  }
}

async function logout() {
  await attempt(async () => {
    await api('POST', '/logout');
    signedOut();
    $('#login-username').focus();
  });
}

// ---- views ----

function route() {
  if (!state.me) return;
  const hash = decodeURIComponent(location.hash.slice(1));
  const notice = state.notice;
  state.notice = null;
  showMessage(notice ?? '');
  if (hash.startsWith('session/')) return attempt(() => openSession(hash.slice('session/'.length)));
  if (hash === 'audit') return attempt(openAudit);
  showView('list');
  return attempt(() => loadSessions());
}

// The list, from the filters; `append` loads the next page under the current one.
async function loadSessions(append = false) {
  const params = new URLSearchParams();
  for (const id of ['search', 'job', 'status', 'from', 'to']) {
    const value = $(`#${id}`).value.trim();
    if (value) params.set(id === 'search' ? 'q' : id, value);
  }
  params.set('limit', PAGE_SIZE);
  params.set('offset', append ? state.sessions.length : 0);
  const seq = ++state.listSeq;
  const result = await api('GET', `/sessions?${params}`);
  if (seq !== state.listSeq) return;  // a newer search is under way
  state.sessions = append ? state.sessions.concat(result.sessions) : result.sessions;
  state.total = result.total;
  renderSessions();
}

function renderSessions() {
  const rows = state.sessions.map((s) => el('tr', {},
    el('td', {}, el('a', { href: `#session/${encodeURIComponent(s.session_id)}`, dataset: { sessionId: s.session_id } },
      s.candidate_name || '(no name)'), s.candidate_email ? el('div', { className: 'small' }, s.candidate_email) : null),
    el('td', {}, s.job || '–'),
    el('td', {}, formatDate(s.created_at)),
    el('td', {}, statusBadge(s.status)),
    el('td', { className: 'num' }, formatTime(s.duration_ms)),
    el('td', { className: 'num' }, formatBytes(s.bytes))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 6, className: 'empty' }, 'No sessions match.')));
  $('#sessions').replaceChildren(...rows);
  const shown = state.sessions.length;
  $('#total').textContent = `${state.total} session${state.total === 1 ? '' : 's'}` +
    (shown < state.total ? `, showing ${shown}` : '');
  $('#more').hidden = shown >= state.total;
  const jobs = new Set([...$('#jobs').options].map((o) => o.value));
  for (const s of state.sessions) if (s.job && !jobs.has(s.job)) { jobs.add(s.job); $('#jobs').append(el('option', { value: s.job })); }
}

async function openSession(id) {
  const session = await api('GET', `/sessions/${encodeURIComponent(id)}`);
  state.current = session;
  showView('detail');
  document.title = `${session.candidate_name} – Interview recordings`;
  $('#detail-title').textContent = session.candidate_name || '(no name)';
  const facts = [['E-mail', session.candidate_email || '–'], ['Job', session.job || '–'],
    ['Date', formatDate(session.created_at)], ['Status', statusBadge(session.status)],
    ['Duration', formatTime(session.duration_ms)], ['Size', formatBytes(session.bytes)], ['Session', session.session_id]];
  $('#detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  renderRecordings(session);
  const master = setupPlayers(session);
  renderTimeline(session, master);
  const admin = state.me.role === 'admin';
  $('#admin-actions').hidden = !admin;
  showDeleteButtons();
}

// The first ready recording of each kind plays; others are listed with their own download.
function renderRecordings(session) {
  const seen = {};
  const rows = session.recordings.map((r) => {
    seen[r.kind] = (seen[r.kind] ?? 0) + 1;
    const id = `download-${r.kind}${seen[r.kind] > 1 ? `-${seen[r.kind]}` : ''}`;
    const notes = [r.failure_reason, r.incomplete ? 'Incomplete: part of the recording never arrived.' : null]
      .filter(Boolean).join(' ');
    const file = r.status === 'ready'
      ? el('a', { id, href: `${API}/recordings/${encodeURIComponent(r.id)}/download`, download: '' }, `Download ${r.kind}`)
      : '–';
    return el('tr', { dataset: { recordingId: r.id, kind: r.kind } },
      el('td', {}, r.kind[0].toUpperCase() + r.kind.slice(1)), el('td', {}, statusBadge(r.status)),
      el('td', { className: 'num' }, formatTime(r.duration_ms)), el('td', { className: 'num' }, formatBytes(r.bytes)),
      el('td', { className: notes && r.status === 'failed' ? 'error' : null }, notes || '–'), el('td', {}, file));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 6, className: 'empty' }, 'No recordings.')));
  $('#recordings').replaceChildren(...rows);
}

// Times: markers are on the session clock; each recording file starts at its start_ms on that
// clock (0 when the client did not say). A session may hold several parts per kind (continuations
// after a reload); the players load the part that covers the time asked for.
const startS = (rec) => (rec?.start_ms ?? 0) / 1000;

// The ready parts of one kind in session-clock order.
function partsOf(session, kind) {
  return session.recordings.filter((r) => r.kind === kind && r.status === 'ready')
    .sort((a, b) => (a.start_ms ?? 0) - (b.start_ms ?? 0) || (a.part ?? 0) - (b.part ?? 0) || a.id - b.id);
}

// The last part starting at or before `sessionS`, else the first.
function partAt(parts, sessionS) {
  return parts.filter((r) => startS(r) <= sessionS).pop() ?? parts[0];
}

// Camera (or audio) drives; the screen follows its play, pause, seeks, rate and time.
function setupPlayers(session) {
  stopPlayers();
  const camera = partsOf(session, 'camera');
  state.players = { main: camera.length ? camera : partsOf(session, 'audio'), screen: partsOf(session, 'screen') };
  const main = state.players.main[0];
  const screen = main ? partAt(state.players.screen, startS(main)) : state.players.screen[0];
  load($('#camera'), $('#camera-box'), main);
  load($('#screen'), $('#screen-box'), screen);
  // Without a camera the screen plays alone, with its own controls.
  $('#screen').controls = !main;
  if (main && screen) state.unlink = linkVideos($('#camera'), $('#screen'));
  const master = main ? $('#camera') : screen ? $('#screen') : null;
  // At the end of a part, the next part (a continuation after a reload) plays on.
  if (master) {
    master.onended = () => {
      const parts = main ? state.players.main : state.players.screen;
      const next = parts[parts.indexOf(master.recording) + 1];
      if (next) seekToSession(master, startS(next)).then(() => master.play().catch(() => {}));
    };
  }
  return master;
}

function load(video, box, rec) {
  box.hidden = !rec;
  video.recording = rec ?? null;
  if (rec) video.src = `${API}/recordings/${encodeURIComponent(rec.id)}/media`;
}

function linkVideos(master, follower) {
  const stop = new AbortController();
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

function stopPlayers() {
  state.unlink?.();
  state.unlink = null;
  for (const video of [$('#camera'), $('#screen')]) {
    if (!video.getAttribute('src')) continue;
    video.pause();
    video.removeAttribute('src');
    video.load();
  }
}

// Markers as buttons along a bar, placed by time; a click seeks the players there.
function renderTimeline(session, player) {
  const markers = session.markers ?? [];
  const known = session.recordings.reduce((m, r) => Math.max(m, r.duration_ms ?? 0), session.duration_ms ?? 0);
  const span = Math.max(known, ...markers.map((m) => m.recording_time_ms + 1000), 1000);
  const buttons = markers.map((m, i) => el('button', {
    type: 'button',
    className: `marker ${m.type === 'client_event' ? 'client-event' : ''} ${i % 2 ? 'low' : ''}`,
    dataset: { markerIndex: i, timeMs: m.recording_time_ms },
    style: { left: `${(100 * m.recording_time_ms) / span}%` },
    title: m.type === 'client_event' ? `Event: ${m.label}` : m.label,
    'aria-label': `${m.label} at ${formatTime(m.recording_time_ms)}: play from here`,
    disabled: !player,
    onclick: () => seekToSession(player, m.recording_time_ms / 1000),
  }, `${m.label} · ${formatTime(m.recording_time_ms)}`));
  $('#timeline').replaceChildren(el('div', { className: 'bar', 'aria-hidden': 'true' }), ...buttons);
  $('#timeline').hidden = !markers.length;
  $('#no-markers').hidden = markers.length > 0;
}

// Seeks the players to a session-clock time, loading the parts that cover it when they differ.
async function seekToSession(player, sessionS) {
  const screenVideo = $('#screen');
  const parts = player === screenVideo ? state.players.screen : state.players.main;
  const rec = partAt(parts, sessionS);
  if (rec && player.recording?.id !== rec.id) {
    load(player, player.parentElement, rec);
    if (player !== screenVideo && state.players.screen.length) {
      load(screenVideo, $('#screen-box'), partAt(state.players.screen, sessionS));
    }
    await new Promise((resolve) => player.addEventListener('loadedmetadata', resolve, { once: true }));
  }
  player.currentTime = Math.max(0, sessionS - startS(player.recording));
  player.focus();
}

// Deleting asks first; `what` is 'session' (this one) or 'candidate' (all their sessions and their record).
function askDelete(what) {
  const name = state.current.candidate_name || 'this candidate';
  state.deleting = what;
  $('#delete-question').textContent = what === 'candidate'
    ? `Delete all data of ${name} permanently: every session, recording and marker, and their name and e-mail? This cannot be undone.`
    : 'Delete all recordings and markers of this session permanently? This cannot be undone.';
  $('#delete-session').hidden = true;
  $('#delete-candidate').hidden = true;
  $('#delete-confirm-box').hidden = false;
  $('#delete-cancel').focus();
}

function showDeleteButtons() {
  $('#delete-confirm-box').hidden = true;
  $('#delete-session').hidden = false;
  $('#delete-candidate').hidden = false;
}

function cancelDelete() {
  showDeleteButtons();
  $(`#delete-${state.deleting}`).focus();
}

async function confirmDelete() {
  const session = state.current;
  const candidate = state.deleting === 'candidate';
  const button = $('#delete-confirm');
  button.disabled = true;
  try {
    await attempt(async () => {
      await api('DELETE', candidate ? `/candidates/${encodeURIComponent(session.candidate_id)}`
        : `/sessions/${encodeURIComponent(session.session_id)}`);
      stopPlayers();
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

async function openAudit() {
  const { entries } = await api('GET', '/audit?limit=500');
  showView('audit');
  document.title = 'Audit log – Interview recordings';
  const rows = entries.map((e) => el('tr', { dataset: { action: e.action } },
    el('td', {}, formatDate(e.at)), el('td', {}, e.actor ?? '–'), el('td', {}, e.action),
    el('td', {}, e.target ?? '–'),
    el('td', {}, formatDetail(e.detail))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 5, className: 'empty' }, 'No entries.')));
  $('#audit-entries').replaceChildren(...rows);
}

// An audit entry's detail: text as it is, an object as "key: value" pairs.
function formatDetail(detail) {
  if (detail === null || detail === undefined || detail === '') return '–';
  if (typeof detail !== 'object') return String(detail);
  const pairs = Object.entries(detail).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return pairs.join(', ') || '–';
}

// ---- wiring ----

function debounce(fn, ms) {
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
  $('#delete-session').addEventListener('click', () => askDelete('session'));
  $('#delete-candidate').addEventListener('click', () => askDelete('candidate'));
  $('#delete-cancel').addEventListener('click', cancelDelete);
  $('#delete-confirm').addEventListener('click', confirmDelete);
  for (const id of ['#camera', '#screen']) {
    $(id).addEventListener('error', (e) => {
      if (e.target.getAttribute('src')) showMessage(`The ${id.slice(1)} video cannot be played (${e.target.error?.message || 'media error'}).`, 'error');
    });
  }
  window.addEventListener('hashchange', route);
  api('GET', '/me').then(signedIn, (err) => {
    if (err.status !== 401) {
      showView('login');
      showLoginError(err.message);
    }
  });
}

init();
