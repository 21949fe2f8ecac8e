// What the HR page shows, made from the API's data: the session list, one session (facts,
// recordings, markers), the audit log and the delete confirmation. No fetching and no page state
// here: hr.js calls these with what it loaded.
import { formatBytes } from '../format.js';
import { downloadUrl } from './api.js';
import { $, el, formatDate, formatDetail, formatTime, statusBadge } from './dom.js';

/** @typedef {import('./api.js').SessionSummary} SessionSummary */
/** @typedef {import('./api.js').SessionDetail} SessionDetail */
/** @typedef {import('./api.js').AuditEntry} AuditEntry */

/** Shows one of the page's sections (data-view: login, list, detail, audit). @param {string} name */
export function showView(name) {
  for (const section of document.querySelectorAll('main > section')) {
    if (section instanceof HTMLElement) section.hidden = section.dataset.view !== name;
  }
}

/**
 * The list: one row per loaded session, the count, "Show more" while some are not loaded, and
 * the jobs seen so far as suggestions for the job filter.
 * @param {SessionSummary[]} sessions
 * @param {number} total  sessions matching the filters, loaded or not
 */
export function renderSessions(sessions, total) {
  const rows = sessions.map((s) => el('tr', {},
    el('td', {}, el('a', { href: `#session/${encodeURIComponent(s.session_id)}`, dataset: { sessionId: s.session_id } },
      s.candidate_name || '(no name)'), s.candidate_email ? el('div', { className: 'small' }, s.candidate_email) : null),
    el('td', {}, s.job || '–'),
    el('td', {}, formatDate(s.created_at)),
    el('td', {}, statusBadge(s.status), s.status === 'recording'
      ? el('a', { href: `#live/${encodeURIComponent(s.session_id)}`, className: 'watch-live' }, ' Watch live') : null),
    el('td', { className: 'num' }, formatTime(s.duration_ms)),
    el('td', { className: 'num' }, formatBytes(s.bytes))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 6, className: 'empty' }, 'No sessions match.')));
  $('#sessions').replaceChildren(...rows);
  const shown = sessions.length;
  $('#total').textContent = `${total} session${total === 1 ? '' : 's'}` + (shown < total ? `, showing ${shown}` : '');
  $('#more').hidden = shown >= total;
  const datalist = /** @type {HTMLDataListElement} */ ($('#jobs'));
  const jobs = new Set([...datalist.options].map((o) => o.value));
  for (const s of sessions) {
    if (s.job && !jobs.has(s.job)) {
      jobs.add(s.job);
      datalist.append(el('option', { value: s.job }));
    }
  }
}

/**
 * Transcript matches: each opens its session's player at the moment it was said.
 * @param {import('./api.js').SearchHit[]} hits
 */
export function renderSearchHits(hits) {
  const rows = hits.map((h) => {
    const question = h.question ? `Q${h.question}${h.question_text ? `: ${h.question_text.trim()}` : ''}` : '–';
    const at = `#session/${encodeURIComponent(h.session_id)}/at/${h.start_ms / 1000}`;
    return el('tr', { dataset: { hitSession: h.session_id } },
      el('td', {}, h.candidate_name || '(no name)'), el('td', { className: 'question' }, question),
      el('td', { className: 'num' }, el('a', { href: at, 'aria-label': `Play ${h.candidate_name} at ${formatTime(h.start_ms)}` },
        formatTime(h.start_ms))),
      el('td', {}, h.text));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 4, className: 'empty' }, 'Nobody said that.')));
  $('#said-hits').replaceChildren(...rows);
  $('#said-total').textContent = `${hits.length} match${hits.length === 1 ? '' : 'es'}`;
  $('#said-results').hidden = false;
}

/**
 * One session: its facts, recordings and markers. A marker's button calls `seek` with its time
 * in seconds on the session clock (null: nothing to play, the buttons are disabled).
 * @param {SessionDetail} session
 * @param {{ admin: boolean, seek: ((sessionS: number) => void) | null,
 *   retry: (recordingId: number, stage: string) => void }} options  retry: an admin's retry of a failed stage
 */
/**
 * @param {SessionDetail} session
 * @param {{ admin: boolean, seek: ((sessionS: number) => void) | null | false,
 *   retry: (recordingId: number, stage: string) => void, watch: (recording: import('./api.js').Recording) => void }} actions
 */
export function renderSession(session, { admin, seek, retry, watch }) {
  document.title = `${session.candidate_name} – Interview recordings`;
  $('#detail-title').textContent = session.candidate_name || '(no name)';
  /** @type {[string, string | HTMLElement][]} */
  const facts = [['E-mail', session.candidate_email || '–'], ['Job', session.job || '–'],
    ['Date', formatDate(session.created_at)], ['Status', statusBadge(session.status)],
    ['Duration', formatTime(session.duration_ms)], ['Size', formatBytes(session.bytes)], ['Session', session.session_id]];
  $('#detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  renderRecordings(session, admin ? retry : null, watch);
  renderTimeline(session, seek || null);
  $('#admin-actions').hidden = !admin;
  showDeleteButtons();
}

// The first ready recording of each kind plays; every ready one has its own download.
/**
 * @param {SessionDetail} session
 * @param {((recordingId: number, stage: string) => void) | null} retry  null: no retry buttons
 * @param {(recording: import('./api.js').Recording) => void} watch  a recording still receiving plays live
 */
function renderRecordings(session, retry, watch) {
  /** @type {Record<string, number>} */
  const seen = {};
  const rows = session.recordings.map((r) => {
    seen[r.kind] = (seen[r.kind] ?? 0) + 1;
    const id = `download-${r.kind}${seen[r.kind] > 1 ? `-${seen[r.kind]}` : ''}`;
    const notes = [r.failure_reason, r.incomplete ? 'Incomplete: part of the recording never arrived.' : null]
      .filter(Boolean).join(' ');
    let file = r.status === 'ready' ? el('a', { id, href: downloadUrl(r.id), download: '' }, `Download ${r.kind}`) : '–';
    if (r.status === 'receiving') {
      file = el('button', { type: 'button', className: 'secondary watch-live', id: `watch-live-${r.kind}`,
        onclick: () => watch(r) }, `Watch ${r.kind} live`);
    }
    return el('tr', { dataset: { recordingId: r.id, kind: r.kind } },
      el('td', {}, r.kind[0].toUpperCase() + r.kind.slice(1)), el('td', {}, statusBadge(r.status)),
      el('td', { className: 'num' }, formatTime(r.duration_ms)), el('td', { className: 'num' }, formatBytes(r.bytes)),
      el('td', { className: notes && r.status === 'failed' ? 'error' : null }, notes || '–'),
      el('td', {}, renderPipeline(r, retry)), el('td', {}, file));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 7, className: 'empty' }, 'No recordings.')));
  $('#recordings').replaceChildren(...rows);
}

/**
 * A recording's processing stages: each with its status, attempts and last error, and for admins a
 * retry button on a failed one.
 * @param {import('./api.js').Recording} r
 * @param {((recordingId: number, stage: string) => void) | null} retry
 */
function renderPipeline(r, retry) {
  const stages = r.pipeline?.stages ?? [];
  if (!stages.length) return '–';
  return el('ul', { className: 'stages' }, ...stages.map((s) => {
    const name = s.stage[0].toUpperCase() + s.stage.slice(1);
    const tries = s.attempts > 1 ? ` after ${s.attempts} attempts` : '';
    const error = s.last_error && s.status !== 'completed'
      ? el('span', { className: s.status === 'failed' ? 'error' : 'small' }, ` ${s.last_error}${tries}`) : null;
    const button = retry && s.status === 'failed'
      ? el('button', { type: 'button', className: 'secondary retry', dataset: { stage: s.stage },
        'aria-label': `Retry ${s.stage} of the ${r.kind} recording`, onclick: () => retry(r.id, s.stage) }, 'Retry')
      : null;
    return el('li', { dataset: { stage: s.stage, status: s.status } }, `${name}: `, statusBadge(s.status), error, button);
  }));
}

/**
 * What a marker's button says: a question marker (data {question, question_id, edge}) names the
 * host's question, other markers and client events their label.
 * @param {import('./api.js').Marker} m @param {import('./api.js').Question[]} questions
 */
function markerText(m, questions) {
  const data = /** @type {{ question?: unknown, question_id?: unknown, edge?: unknown }} */ (m.data ?? {});
  const index = questions.findIndex((q) => q.id === data.question_id);
  if (m.type !== 'marker' || index < 0) return { short: m.label, full: m.label };
  const text = questions[index].text.replace(/\s+/g, ' ').trim();
  const name = `Q${index + 1}`;
  if (data.edge === 'end') return { short: `${name} ends`, full: `End of question ${index + 1}: ${text}` };
  return { short: `${name}: ${text}`, full: `Question ${index + 1}: ${text}` };
}

/**
 * Markers as buttons along a bar, placed by time. A button in the right half grows leftwards from
 * its time and a long text is cut with an ellipsis, so every label stays inside the page (the
 * full text is the tooltip and the accessible name).
 * @param {SessionDetail} session
 * @param {((sessionS: number) => void) | null} seek
 */
export function renderTimeline(session, seek) {
  const markers = session.markers ?? [];
  const questions = session.questions ?? [];
  const known = session.recordings.reduce((m, r) => Math.max(m, r.duration_ms ?? 0), session.duration_ms ?? 0);
  const span = Math.max(known, ...markers.map((m) => m.recording_time_ms + 1000), 1000);
  const buttons = markers.map((m, i) => {
    const text = markerText(m, questions);
    const at = (100 * m.recording_time_ms) / span;
    return el('button', {
      type: 'button',
      className: `marker ${m.type === 'client_event' ? 'client-event' : ''} ${i % 2 ? 'low' : ''} ${at > 50 ? 'leftwards' : ''}`,
      dataset: { markerIndex: i, timeMs: m.recording_time_ms },
      style: at > 50 ? { right: `${100 - at}%` } : { left: `${at}%` },
      title: m.type === 'client_event' ? `Event: ${text.full}` : text.full,
      'aria-label': `${text.full} at ${formatTime(m.recording_time_ms)}: play from here`,
      disabled: !seek,
      onclick: () => seek?.(m.recording_time_ms / 1000),
    }, `${text.short} · ${formatTime(m.recording_time_ms)}`);
  });
  $('#timeline').replaceChildren(el('div', { className: 'bar', 'aria-hidden': 'true' }), ...buttons);
  $('#timeline').hidden = !markers.length;
  $('#no-markers').hidden = markers.length > 0;
}

/**
 * Asks before deleting: `what` is 'session' (this one) or 'candidate' (all their sessions and
 * their record).
 * @param {'session' | 'candidate'} what
 * @param {SessionDetail} session
 */
export function askDelete(what, session) {
  const name = session.candidate_name || 'this candidate';
  $('#delete-question').textContent = what === 'candidate'
    ? `Delete all data of ${name} permanently: every session, recording and marker, and their name and e-mail? This cannot be undone.`
    : 'Delete all recordings and markers of this session permanently? This cannot be undone.';
  $('#delete-session').hidden = true;
  $('#delete-candidate').hidden = true;
  $('#delete-confirm-box').hidden = false;
  $('#delete-cancel').focus();
}

export function showDeleteButtons() {
  $('#delete-confirm-box').hidden = true;
  $('#delete-session').hidden = false;
  $('#delete-candidate').hidden = false;
}

/** @param {AuditEntry[]} entries */
/**
 * The webhook delivery log; a failed delivery has a button that sends it again.
 * @param {import('./api.js').Delivery[]} deliveries
 * @param {(id: number) => void} resend
 */
export function renderDeliveries(deliveries, resend) {
  document.title = 'Webhooks – Interview recordings';
  const rows = deliveries.map((d) => el('tr', { dataset: { deliveryId: d.id, status: d.status } },
    el('td', {}, d.type, el('div', { className: 'small' }, d.event_id)), el('td', {}, d.url),
    el('td', {}, statusBadge(d.status)), el('td', { className: 'num' }, String(d.attempts)),
    el('td', {}, d.last_error ?? '–'), el('td', {}, d.next_attempt_at ? formatDate(d.next_attempt_at) : '–'),
    el('td', {}, d.status === 'failed'
      ? el('button', { type: 'button', className: 'secondary resend', onclick: () => resend(d.id),
        'aria-label': `Send ${d.type} to ${d.url} again` }, 'Send again')
      : null)));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 7, className: 'empty' }, 'No webhook deliveries.')));
  $('#deliveries').replaceChildren(...rows);
}

export function renderAudit(entries) {
  document.title = 'Audit log – Interview recordings';
  const rows = entries.map((e) => el('tr', { dataset: { action: e.action } },
    el('td', {}, formatDate(e.at)), el('td', {}, e.actor ?? '–'), el('td', {}, e.action),
    el('td', {}, e.target ?? '–'),
    el('td', {}, formatDetail(e.detail))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 5, className: 'empty' }, 'No entries.')));
  $('#audit-entries').replaceChildren(...rows);
}
