// The HR API client: every call of the HR page to /api/v1/hr (same origin, cookie session,
// X-CSRF-Token on every state-changing request). Knows HTTP and the server's JSON, not the page.
// The types below mirror the server's JSON views (server/http/session_views.cc: RecordingJson,
// SessionJson, QuestionsJson, MarkersJson, StageJson, PipelineJson, DeliveryJson, the audit list and /me).

/**
 * @typedef {'admin' | 'reviewer'} Role
 * @typedef {{ username: string, role: Role, csrf_token: string }} Account
 * @typedef {{ stage: string, status: 'queued' | 'processing' | 'completed' | 'failed', attempts: number,
 *   last_error: string | null, created_at: number, updated_at: number, next_attempt_at: number | null }} Stage
 * @typedef {{ status: Stage['status'], stages: Stage[] }} Pipeline
 * @typedef {{ id: number, kind: 'camera' | 'screen' | 'audio', part: number | null, start_ms: number | null,
 *   status: string, duration_ms: number, bytes: number, failure_reason: string | null, incomplete: boolean,
 *   pipeline?: Pipeline | null }} Recording
 * @typedef {{ session_id: string, candidate_id: number, candidate_name: string, candidate_email: string,
 *   job: string, created_at: number | string, status: string, duration_ms: number, bytes: number,
 *   recordings: Recording[] }} SessionSummary
 * @typedef {{ id: string, type: 'marker' | 'client_event', label: string, recording_time_ms: number,
 *   data: unknown, recording_id: number | null }} Marker
 * @typedef {{ id: string, text: string, max_seconds: number | null }} Question
 * @typedef {SessionSummary & { markers?: Marker[], questions?: Question[] }} SessionDetail
 * @typedef {{ sessions: SessionSummary[], total: number }} SessionList
 * @typedef {{ id: number, event_id: string, type: string, url: string,
 *   status: 'queued' | 'sending' | 'delivered' | 'failed', attempts: number, last_error: string | null,
 *   created_at: number, updated_at: number, next_attempt_at: number | null }} Delivery
 * @typedef {{ session_id: string, candidate_name: string, recording_id: number, kind: string, start_ms: number,
 *   end_ms: number, text: string, question: number | null, question_id: string | null,
 *   question_text: string | null }} SearchHit
 * @typedef {{ id: number, at: number | string, actor: string | null, action: string, target: string | null,
 *   detail: unknown }} AuditEntry
 */

export const API = '/api/v1/hr';

export class ApiError extends Error {
  /**
   * @param {number} status  the HTTP status; 0: no answer
   * @param {string} code  the server's error code (server/errors.cc), or 'network', 'http_<status>'
   * @param {string} message
   * @param {string | null} retryAfter  the Retry-After header of a 429
   */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export class HrApi {
  constructor() {
    /** @type {Account | null} the signed-in account; its csrf_token goes with state-changing calls */
    this.account = null;
    /** Called when a call other than the login answers 401 (the login ended or never was). */
    this.onUnauthorized = () => {};
  }

  /**
   * One call. Resolves to the JSON body (null for 204); throws ApiError with the server's message.
   * @param {'GET' | 'POST' | 'DELETE'} method
   * @param {string} path  below /api/v1/hr, e.g. '/sessions?q=ada'
   * @param {unknown} [body]  sent as JSON
   * @returns {Promise<any>}
   */
  async call(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && this.account) headers['X-CSRF-Token'] = this.account.csrf_token;
    let res;
    try {
      res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin', cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
    }
    /** @type {any} */
    let json = null;
    if (res.status !== 204) json = await res.json().catch(() => null);
    if (res.ok) return json;
    const error = new ApiError(res.status, json?.error ?? `http_${res.status}`,
      json?.message ?? `The server answered ${res.status} ${res.statusText}.`, res.headers.get('Retry-After'));
    if (res.status === 401 && path !== '/login') this.onUnauthorized();
    throw error;
  }

  /** @param {string} username @param {string} password @returns {Promise<Account>} */
  async login(username, password) {
    this.account = await this.call('POST', '/login', { username, password });
    return /** @type {Account} */ (this.account);
  }

  async logout() {
    await this.call('POST', '/logout');
    this.account = null;
  }

  /** The account of the login cookie, if any (401 otherwise). @returns {Promise<Account>} */
  async me() {
    this.account = await this.call('GET', '/me');
    return /** @type {Account} */ (this.account);
  }

  /** @param {URLSearchParams} filters @returns {Promise<SessionList>} */
  sessions(filters) {
    return this.call('GET', `/sessions?${filters}`);
  }

  /** @param {string} id @returns {Promise<SessionDetail>} */
  session(id) {
    return this.call('GET', `/sessions/${encodeURIComponent(id)}`);
  }

  /** Per recording and per question. @param {string} id @returns {Promise<import('./transcript.js').SessionTranscript>} */
  transcript(id) {
    return this.call('GET', `/sessions/${encodeURIComponent(id)}/transcript`);
  }

  /** Runs a failed processing stage of a recording again (admins). @param {number} id @param {string} stage @returns {Promise<Stage>} */
  retryStage(id, stage) {
    return this.call('POST', `/recordings/${encodeURIComponent(id)}/stages/${encodeURIComponent(stage)}/retry`);
  }

  /** Transcript lines that say `words`, best first. @param {string} words @returns {Promise<{ words: string[], hits: SearchHit[] }>} */
  search(words) {
    return this.call('GET', `/search?q=${encodeURIComponent(words)}`);
  }

  /** @param {string} id */
  deleteSession(id) {
    return this.call('DELETE', `/sessions/${encodeURIComponent(id)}`);
  }

  /** All sessions, recordings and the record of one candidate. @param {number} id */
  deleteCandidate(id) {
    return this.call('DELETE', `/candidates/${encodeURIComponent(id)}`);
  }

  /** The webhook delivery log, newest first (admins). @returns {Promise<{ deliveries: Delivery[] }>} */
  webhooks() {
    return this.call('GET', '/webhooks');
  }

  /** Sends a failed delivery again (admins). @param {number} id */
  resendWebhook(id) {
    return this.call('POST', `/webhooks/${encodeURIComponent(id)}/resend`);
  }

  /** @param {number} limit @returns {Promise<{ entries: AuditEntry[] }>} */
  audit(limit) {
    return this.call('GET', `/audit?limit=${limit}`);
  }
}

/** The finalized file of a recording, for a <video> (Range requests). @param {number} id */
export function mediaUrl(id) {
  return `${API}/recordings/${encodeURIComponent(id)}/media`;
}

/** A recording's captions (WebVTT on its own clock), for a <track>. @param {string} session @param {number} id */
export function captionsUrl(session, id) {
  return `${API}/sessions/${encodeURIComponent(session)}/transcript?format=vtt&recording=${encodeURIComponent(id)}`;
}

/** One answer as its own WebM, cut at its question's keyframe. @param {string} session @param {number} question */
export function answerClipUrl(session, question) {
  return `${API}/sessions/${encodeURIComponent(session)}/answers/${encodeURIComponent(question)}/clip`;
}

/** A recording while it is received, as one open-ended WebM (live/ID). @param {number} id */
export function liveUrl(id) {
  return `${API}/recordings/${encodeURIComponent(id)}/live`;
}

/** The same file as an attachment with its download name. @param {number} id */
export function downloadUrl(id) {
  return `${API}/recordings/${encodeURIComponent(id)}/download`;
}
