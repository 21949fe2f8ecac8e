// Small DOM and text helpers of the HR page.

/**
 * The page's element for `selector`; a missing one is a bug of the page, reported as such.
 * @param {string} selector
 * @returns {HTMLElement}
 */
export function $(selector) {
  const node = document.querySelector(selector);
  if (!(node instanceof HTMLElement)) throw new Error(`the page has no element ${selector}`);
  return node;
}

/** @param {string} selector */
export const $input = (selector) => /** @type {HTMLInputElement} */ ($(selector));
/** @param {string} selector */
export const $button = (selector) => /** @type {HTMLButtonElement} */ ($(selector));

/**
 * A video element that knows the recording it plays (null: none).
 * @typedef {HTMLVideoElement & { recording: import('./api.js').Recording | null }} Player
 */
/** @param {string} selector */
export const $video = (selector) => /** @type {Player} */ ($(selector));

/**
 * Makes an element. `attrs`: className, dataset, style, on<event> handlers, and attributes (true:
 * present and empty; null, undefined, false: left out).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | null | undefined)} children  null and undefined are left out
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** The message line under the header: '' hides it. @param {string} text @param {'info' | 'error'} [kind] */
export function showMessage(text, kind = 'info') {
  const box = $('#message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.hidden = !text;
}

/** "m:ss" or "h:mm:ss"; '–' when unknown. @param {number | null | undefined} ms */
export function formatTime(ms) {
  if (ms === null || ms === undefined) return '–';
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A server time (Unix seconds; a text is shown as it is) in the reader's locale. @param {number | string | null | undefined} unixSeconds */
export function formatDate(unixSeconds) {
  if (!unixSeconds) return '–';
  if (typeof unixSeconds === 'string') return unixSeconds;
  return new Date(unixSeconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** An audit entry's detail: text as it is, an object as "key: value" pairs. @param {unknown} detail */
export function formatDetail(detail) {
  if (detail === null || detail === undefined || detail === '') return '–';
  if (typeof detail !== 'object') return String(detail);
  const pairs = Object.entries(detail).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return pairs.join(', ') || '–';
}

/** @type {Record<string, string>} */
const STATUS_TEXT = { recording: 'Recording', processing: 'Processing', ready: 'Ready', failed: 'Failed',
  empty: 'Empty', receiving: 'Receiving', finalizing: 'Finalizing', queued: 'Queued', completed: 'Completed',
  sending: 'Sending', delivered: 'Delivered' };

/** @param {string} status  a session's, a recording's or a processing stage's */
export function statusBadge(status) {
  return el('span', { className: `status status-${status}` }, STATUS_TEXT[status] ?? status);
}
