// The candidate's interview page: a small explicit state machine over the recorder module.
//
//   loading -> invalid-link                      the URL fragment lacks session or token
//   loading -> welcome | done                    (done: this browser already finished the session,
//                                                or another one did: the server says it ended)
//   loading -> finishing                         the candidate ended the interview but uploads or
//                                                markers were still waiting: they are finished now
//   welcome/blocked --check--> ready | blocked   device check: preview, level meter, help on errors
//                          --> elsewhere         the session is open in another tab
//   elsewhere --retry--> done                    the other tab ended the interview meanwhile
//   ready --start (consent given)--> recording
//   recording --next--> recording                markers question_N_end / question_N+1_start
//                                                (a keyframe there, so the answer can be cut)
//   recording --device lost / revoked--> interrupted --continue--> ready | blocked
//   recording --end--> finishing --every byte and marker acknowledged--> done
//   any --fatal recorder error--> failed         with the recorder's message and a way forward
//                                                (try again = reload: what was stored resumes)
// "Saved" is said only for what the server acknowledged: the done screen needs a recorder that
// stopped cleanly, and the health line says "All saved" only once media was acknowledged.
// The questions are the host's (GET /api/v1/sessions/{id}/questions: text, and a time limit shown
// as the time left); without any, N numbered ones from the link.
// The link carries #session=<id>&token=<upload token>[&questions=N][&screen=1]; the fragment never
// reaches the server's logs. At load the token moves to sessionStorage and leaves the address
// (history, bookmarks, screen shares); a reload of the tab reads it back. Page progress (consent,
// current question, ended) is kept in localStorage so a reload continues where the candidate was.
import { formatBytes } from './format.js';
import { createRecorder, findUnfinished } from './recorder/index.js';

const TRANSITIONS = {
  loading: ['invalid-link', 'welcome', 'finishing', 'done', 'failed'],
  welcome: ['ready', 'blocked', 'elsewhere', 'failed'],
  blocked: ['ready', 'blocked', 'elsewhere', 'failed'],
  elsewhere: ['ready', 'blocked', 'elsewhere', 'done', 'failed'],
  ready: ['recording', 'blocked', 'interrupted', 'failed'],
  recording: ['interrupted', 'finishing', 'failed'],
  interrupted: ['ready', 'blocked', 'elsewhere', 'failed'],
  finishing: ['done', 'failed'],
  done: [],
  failed: [],
};

/** The page's element `id` (interview.html has every one this file asks for). @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const params = new URLSearchParams(location.hash.slice(1));
const tokenKey = `interview-token:${params.get('session')}`;
if (params.has('token')) {
  sessionStorage.setItem(tokenKey, /** @type {string} */ (params.get('token')));
  params.delete('token');
  history.replaceState(history.state, '', `${location.pathname}${location.search}#${params}`);
}
// Test hooks: only a test sets this global (page.addInitScript); nothing in a link reaches it.
const testHooks = window.interviewTestHooks ?? {};
const config = {
  sessionId: params.get('session'),
  token: sessionStorage.getItem(tokenKey),
  questions: Math.max(1, Number(params.get('questions')) || 3),
  screen: params.get('screen') === '1',
  slowEncoderMs: Number(testHooks.slowEncoderMs) || 0,
  hangThreads: Number(testHooks.hangThreads) || 0,  // encoder workers that hang as Firefox's sometimes do
  video: testHooks.video,  // the camera's VideoOptions (the uplink test records at a higher bitrate)
  deadlines: testHooks.deadlines,  // shorter deadlines for the stalled-step tests
};
const saved = {
  key: `interview:${config.sessionId}`,
  load() { return JSON.parse(localStorage.getItem(this.key) || '{}'); },
  save(patch) { localStorage.setItem(this.key, JSON.stringify({ ...this.load(), ...patch })); },
};

let state = 'loading';
// Set by load() before anything else uses it.
/** @type {import('./recorder/index.js').Recorder} */
let recorder = /** @type {any} */ (null);
/** @type {{ context: AudioContext, frame: number } | null} */
let meter = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let warningTimer;

function go(next, detail = {}) {
  if (!TRANSITIONS[state].includes(next)) {
    console.error(`interview page: no transition ${state} -> ${next}`);
    return;
  }
  state = next;
  for (const section of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('section[data-state]'))) {
    section.hidden = section.dataset.state !== next;
  }
  $('indicator').hidden = next !== 'recording';
  if (detail.message) {
    const target = { blocked: 'blocked-message', elsewhere: 'elsewhere-message', interrupted: 'interrupted-message',
      failed: 'failed-message' }[next];
    if (target) $(target).textContent = detail.message;
  }
  if (next === 'ready') showPreview('preview');
  if (next === 'recording') showPreview('self-view');
  if (next !== 'ready' && next !== 'recording') stopMeter();
  if (next === 'done' || next === 'failed') clearWarnings();
}

// ---- actions ----

async function load() {
  if (!config.sessionId || !config.token) return go('invalid-link');
  document.querySelectorAll('.needs-screen').forEach((el) => { /** @type {HTMLElement} */ (el).hidden = !config.screen; });
  let unfinished;
  try {
    [unfinished] = await Promise.all([findUnfinished(config.sessionId), loadQuestions()]);
  } catch (err) {
    return go('failed', { message: err.message });
  }
  const page = saved.load();
  // Ended here, or in another browser (the server says so): nothing more is recorded.
  const ended = page.done || page.ended || page.endedElsewhere;
  if (ended && !unfinished?.unfinished && !unfinished?.events) return go('done');
  recorder = createRecorder({
    sessionId: config.sessionId,
    uploadToken: config.token,
    tracks: { camera: true, microphone: true, screen: config.screen },
    video: config.video,
    debug: config.slowEncoderMs || config.deadlines || config.hangThreads
      ? { videoDelayMs: config.slowEncoderMs, deadlines: config.deadlines, hangThreads: config.hangThreads } : undefined,
  });
  recorder.addEventListener('state', onRecorderState);
  recorder.addEventListener('error', onRecorderError);
  recorder.addEventListener('progress', onProgress);
  window.interviewPage.recorder = recorder;
  if (ended) {  // on an earlier visit, with uploads or markers still waiting
    go('finishing');
    return finish();
  }
  $('resumed-note').hidden = !unfinished;
  /** @type {HTMLInputElement} */ ($('consent')).checked = Boolean(page.consent);
  updateStartButton();
  go('welcome');
}

async function checkDevices() {
  try {
    await recorder.prepare();
    go('ready');
  } catch (err) {
    go(err.code === 'session_in_use' ? 'elsewhere' : 'blocked', { message: err.message });
  }
}

async function start() {
  saved.save({ consent: true });
  /** @type {HTMLButtonElement} */ ($('start')).disabled = true;
  try {
    await recorder.start();
  } catch (err) {
    return go('failed', { message: err.message });
  } finally {
    updateStartButton();
  }
  const page = saved.load();
  if (page.question) {
    mark('resumed', { question: page.question }, { type: 'client_event' });
  } else {
    // The file starts with a keyframe anyway.
    saved.save({ question: 1, questionStartedAt: Date.now() });
    markQuestion(1, 'start');
  }
  go('recording');
  showQuestion();
}

function nextQuestion() {
  const n = saved.load().question;
  markQuestion(n, 'end');
  saved.save({ question: n + 1, questionStartedAt: Date.now() });
  markQuestion(n + 1, 'start', { keyframe: true });
  showQuestion();
}

async function end() {
  const n = saved.load().question;
  saved.save({ ended: true });
  go('finishing');
  await markQuestion(n, 'end');
  await finish();
}

// Markers question_N_start / question_N_end carry the host's question id.
/** @param {number} n @param {'start' | 'end'} edge @param {{ keyframe?: boolean }} [options] */
function markQuestion(n, edge, options) {
  const id = questionList()[n - 1]?.id;
  return mark(`question_${n}_${edge}`, { question: n, ...(id ? { question_id: id } : {}), edge }, options);
}

// Done only once the server has every byte and every marker: stop() waits for both, and if it
// resolved with markers still waiting (a server without the events endpoint), so does the page.
async function finish() {
  try {
    await recorder.stop();
    if (recorder.progress().pendingEvents > 0) {
      await /** @type {Promise<void>} */ (new Promise((resolve) => recorder.addEventListener('progress', function check({ detail }) {
        if (detail.pendingEvents > 0) return;
        recorder.removeEventListener('progress', check);
        resolve();
      })));
    }
    if (state === 'failed' || recorder.state !== 'stopped') {
      // The recorder failed on the way: what it recorded before is saved, but not the interview.
      $('failed-message').textContent = `${lastFatal || 'The recording stopped.'} ` +
        (recorder.progress().ackedBytes > 0 ? 'What was recorded before this happened is saved.' : 'Nothing was recorded.');
      return go('failed');
    }
    saved.save({ done: true });
    go('done');
  } catch (err) {
    go('failed', { message: err.message });
  }
}

// A marker that cannot be stored (storage full) is reported by the recorder's own error path;
// the interview goes on without it.
function mark(label, data, options) {
  return recorder.mark(label, data, options).catch((err) => console.warn(`marker ${label} not stored: ${err.message}`));
}

// ---- recorder events ----

function onRecorderState({ detail: { state: s } }) {
  if (s === 'interrupted' && (state === 'recording' || state === 'ready')) go('interrupted', { message: lastFatal });
  if (s === 'failed' && state !== 'failed') go('failed', { message: lastFatal });
}

let lastFatal = '';
function onRecorderError({ detail: { error } }) {
  console.warn(`recorder error ${error.code}: ${error.message}`, error.detail || '');
  if (error.fatal) {
    lastFatal = error.message;
    if (state === 'interrupted') $('interrupted-message').textContent = error.message;
    if (state === 'failed') $('failed-message').textContent = error.message;
  } else {
    if (error.code === 'server_unreachable') warnings.lasting = error.message;
    else warnings.passing = error.message;
    showWarnings(error.code === 'server_unreachable' ? null : 10_000);
  }
}

function onProgress({ detail: p }) {
  const health = $('health');
  const waiting = Math.round(p.waitingSeconds);
  if (waiting < 3 && !p.retrying) {
    health.textContent = p.ackedBytes > 0 ? 'All saved' : 'Starting…';
    health.classList.remove('waiting');
    if (warnings.lasting) {
      warnings.lasting = null;
      showWarnings();
    }
  } else {
    health.textContent = `${waiting} s waiting to upload` + (p.retrying ? ' (cannot reach the server, retrying)' : '');
    health.classList.add('waiting');
  }
  if (state === 'finishing') {
    const markers = p.pendingEvents === 1 ? '1 marker' : `${p.pendingEvents} markers`;
    /** @type {HTMLProgressElement} */ ($('flush')).value = p.storedBytes ? p.ackedBytes / p.storedBytes : Number(p.pendingEvents === 0);
    $('flush-text').textContent = (p.retrying ? 'Waiting for the connection to come back… '
      : `Saved ${formatBytes(p.ackedBytes)} of ${formatBytes(p.storedBytes)}. `) +
      (p.pendingEvents ? `${markers} waiting to upload. ` : '') + 'Please keep this page open.';
  }
}

// ---- view helpers ----

// The warning box shows the lasting warning (the server is unreachable: until uploads succeed
// again) and the latest passing one (e.g. the encoder is behind: for 10 s), both when both apply,
// so one never hides the other.
const warnings = { lasting: null, passing: null };
function showWarnings(clearPassingAfterMs) {
  if (clearPassingAfterMs) {
    clearTimeout(warningTimer);
    warningTimer = setTimeout(() => {
      warnings.passing = null;
      showWarnings();
    }, clearPassingAfterMs);
  }
  const box = $('warning');
  const lines = [warnings.lasting, warnings.passing].filter(Boolean);
  box.replaceChildren(...lines.map((text) => Object.assign(document.createElement('p'), { textContent: text })));
  box.hidden = lines.length === 0;
}

function clearWarnings() {
  clearTimeout(warningTimer);
  warnings.lasting = null;
  warnings.passing = null;
  showWarnings();
}

/** @typedef {{ id: string | null, text: string, max_seconds: number | null }} Question */

// Fetched at every load (the host may not change them, but a new link may); kept with the page's
// progress, so a reload without a connection still shows them.
async function loadQuestions() {
  try {
    const res = await fetch(`/api/v1/sessions/${encodeURIComponent(/** @type {string} */ (config.sessionId))}/questions`,
      { headers: { Authorization: `Bearer ${config.token}` }, cache: 'no-store', signal: AbortSignal.timeout(10_000) });
    if (res.ok) {
      const { questions, ended } = await res.json();
      saved.save({ questions, ...(ended ? { endedElsewhere: true } : {}) });
    }
    else console.warn(`questions: HTTP ${res.status}`);
  } catch (err) {
    console.warn(`questions not loaded: ${err.message}`);
  }
}

/** @returns {Question[]} */
function questionList() {
  const host = saved.load().questions;
  if (Array.isArray(host) && host.length) return host;
  return Array.from({ length: config.questions }, () => ({ id: null, text: '', max_seconds: null }));
}

function showQuestion() {
  const list = questionList();
  const n = saved.load().question;
  $('question-title').textContent = `Question ${n} of ${list.length}`;
  $('question-text').textContent = list[n - 1]?.text ?? '';
  $('question-text').hidden = !list[n - 1]?.text;
  $('next').hidden = n >= list.length;
  tickQuestionTimer();
}

// With the host's max_seconds: the time left for this answer, then a request to finish it. The
// recording goes on either way: the candidate decides when to move on.
function tickQuestionTimer() {
  const page = saved.load();
  const limit = questionList()[page.question - 1]?.max_seconds;
  const timer = $('question-timer');
  timer.hidden = state !== 'recording' || !limit;
  if (timer.hidden) return;
  const left = Math.ceil(/** @type {number} */ (limit) - (Date.now() - (page.questionStartedAt ?? Date.now())) / 1000);
  timer.textContent = left > 0 ? `${minutesAndSeconds(left)} left for this answer` : 'Time is up: please finish your answer.';
  timer.classList.toggle('over', left <= 0);
}

/** @param {number} s */
const minutesAndSeconds = (s) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;

function showPreview(id) {
  const stream = recorder.streams.camera;
  if (!stream) return;
  /** @type {HTMLVideoElement} */ ($(id)).srcObject = new MediaStream(stream.getVideoTracks());
  startMeter(stream);
}

// The level meter: RMS of the microphone from an AnalyserNode, redrawn each animation frame.
function startMeter(stream) {
  if (meter || !stream.getAudioTracks().length) return;
  const context = new AudioContext();
  const analyser = new AnalyserNode(context, { fftSize: 1024 });
  context.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const draw = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const level = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    $('meter-bar').style.width = `${Math.round(level * 100)}%`;
    /** @type {NonNullable<typeof meter>} */ (meter).frame = requestAnimationFrame(draw);  // until stopMeter()
  };
  meter = { context, frame: requestAnimationFrame(draw) };
}

function stopMeter() {
  if (!meter) return;
  cancelAnimationFrame(meter.frame);
  meter.context.close();
  meter = null;
}

function updateStartButton() {
  /** @type {HTMLButtonElement} */ ($('start')).disabled = !/** @type {HTMLInputElement} */ ($('consent')).checked;
}

function tickElapsed() {
  if (state !== 'recording' || !recorder.sessionStartMs) return;
  const s = Math.floor((performance.timeOrigin + performance.now() - recorder.sessionStartMs) / 1000);
  $('elapsed').textContent = minutesAndSeconds(s);
}

// ---- wiring ----

// For tests and support: the current page state and the recorder.
window.interviewPage = { get state() { return state; }, recorder: null };

$('check').addEventListener('click', checkDevices);
$('retry').addEventListener('click', checkDevices);
$('continue').addEventListener('click', checkDevices);
$('elsewhere-retry').addEventListener('click', async () => {
  await loadQuestions();  // says whether the other tab ended the interview meanwhile
  if (saved.load().endedElsewhere) return go('done');
  return checkDevices();
});
$('reload').addEventListener('click', () => location.reload());
$('consent').addEventListener('change', updateStartButton);
$('start').addEventListener('click', start);
$('next').addEventListener('click', nextQuestion);
$('end').addEventListener('click', end);
setInterval(() => {
  tickElapsed();
  tickQuestionTimer();
}, 500);
window.addEventListener('beforeunload', (event) => {
  if (state === 'recording' || state === 'finishing') event.preventDefault();  // asks "leave page?"
});
load();
