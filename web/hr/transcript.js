// The transcript panel beside the players: what the candidate said, line by line on the session
// clock, under the question it answers (with a download of that answer as its own file). A click on a line plays from there; while the video plays,
// the line being said is highlighted and kept in view.
import { answerClipUrl } from './api.js';
import { $, el, formatTime } from './dom.js';

/**
 * @typedef {{ start_ms: number, end_ms: number, text: string, confidence: number }} Segment
 * @typedef {{ recording_id: number, kind: string, offset_ms: number,
 *   transcript: { engine: string, language: string, audio_seconds: number, segments: Segment[] } | null }} RecordingTranscript
 * @typedef {{ question: number, question_id: string | null, question_text: string | null,
 *   start_ms: number | null, end_ms: number | null, text: string }} Answer
 * @typedef {{ session_id: string, recordings: RecordingTranscript[], answers: Answer[] }} SessionTranscript
 * @typedef {{ startS: number, endS: number, node: HTMLElement }} Line
 */

/** @type {Line[]} the lines shown, in time order */
let lines = [];

/**
 * The lines of the recordings that carry the candidate's voice (camera, else audio), each under
 * the heading of the answer it falls in.
 * @param {SessionTranscript | null} transcript  null: none could be read
 * @param {{ seek: ((sessionS: number) => void) | null, pending: boolean }} options  pending: a
 *   transcription is still queued or running
 */
export function renderTranscript(transcript, { seek, pending }) {
  const box = $('#transcript');
  lines = [];
  const voiced = (transcript?.recordings ?? []).filter((r) => r.transcript && r.kind !== 'screen');
  const main = voiced.some((r) => r.kind === 'camera') ? voiced.filter((r) => r.kind === 'camera') : voiced;
  const segments = main.flatMap((r) => (r.transcript?.segments ?? []).map((s) => ({
    startS: (r.offset_ms + s.start_ms) / 1000, endS: (r.offset_ms + s.end_ms) / 1000, text: s.text })))
    .filter((s) => s.text.trim()).sort((a, b) => a.startS - b.startS);
  if (!segments.length) {
    const why = pending ? 'The transcript is being made; reload the page in a moment.' : 'No transcript.';
    box.replaceChildren(el('p', { className: 'small' }, why));
    return;
  }
  const answers = (transcript?.answers ?? []).filter((a) => a.start_ms !== null);
  /** @type {HTMLElement[]} */
  const nodes = [];
  /** @type {Answer | undefined} */
  let heading;
  for (const s of segments) {
    const answer = answers.find((a) => s.startS * 1000 >= (a.start_ms ?? 0) && (a.end_ms === null || s.startS * 1000 < a.end_ms));
    if (answer && answer !== heading) {
      heading = answer;
      const text = answer.question_text?.trim();
      nodes.push(el('h4', { title: text || null }, `Q${answer.question}${text ? `: ${text}` : ''}`));
      nodes.push(el('a', { className: 'clip small', href: answerClipUrl(transcript?.session_id ?? '', answer.question),
        download: '', dataset: { question: answer.question } }, `Download answer ${answer.question}`));
    }
    const node = el('button', { type: 'button', className: 'line', disabled: !seek,
      'aria-label': `${formatTime(s.startS * 1000)}: ${s.text}`, onclick: () => seek?.(s.startS) },
    el('span', { className: 'time' }, formatTime(s.startS * 1000)), ` ${s.text}`);
    nodes.push(node);
    lines.push({ startS: s.startS, endS: s.endS, node });
  }
  box.replaceChildren(...nodes);
}

/**
 * Highlights the line said at `sessionS` (none between lines) and scrolls the panel, not the page,
 * to keep it in view.
 * @param {number} sessionS
 */
export function highlightLine(sessionS) {
  const current = lines.find((l) => sessionS >= l.startS && sessionS < l.endS);
  for (const line of lines) {
    if (line === current) line.node.setAttribute('aria-current', 'true');
    else line.node.removeAttribute('aria-current');
  }
  if (!current) return;
  const box = $('#transcript');  // positioned: offsetTop counts from its top
  const top = current.node.offsetTop;
  if (top < box.scrollTop || top + current.node.offsetHeight > box.scrollTop + box.clientHeight) {
    box.scrollTop = Math.max(0, top - box.clientHeight / 3);
  }
}
