// A small tus 1.0.0 client for the ingest server: creation with deferred length, HEAD, PATCH
// (with Upload-Checksum sha1 when WebCrypto is available) and the final PATCH that sets
// Upload-Length. It only speaks HTTP; what to send and when is the uploader's business.
//
// Every method either returns or throws one of:
//   ServerUnreachableError  (err.transient) no response, a timeout, 5xx, 429, 460 checksum
//                           mismatch: retry later with backoff
//   OffsetConflict          (err.transient) 409 to a HEAD or PATCH: the server's offset differs
//                           (or the upload is locked by a request still in flight); HEAD and resync
//   UploadRejectedError     any other 4xx (409 session_ended to a creation too): retrying the same
//                           request cannot help
import { ServerUnreachableError, UploadRejectedError } from './errors.js';
import { isTransientStatus } from './retry.js';

const TUS_VERSION = '1.0.0';
const REQUEST_TIMEOUT_MS = 30_000;

export class OffsetConflict extends Error {
  /** @param {string} serverCode */
  constructor(serverCode) {
    super(`tus offset conflict (${serverCode})`);
    this.name = 'OffsetConflict';
    this.transient = true;
  }
}

export class TusClient {
  // `endpoint`: absolute URL of the tus collection (e.g. https://host/files/); `token`: the
  // session's upload token, sent as a Bearer token.
  /** @param {{ endpoint: string, token: string }} options */
  constructor({ endpoint, token }) {
    this.endpoint = endpoint;
    this.token = token;
  }

  // Creates an upload of deferred length; returns its absolute URL.
  /** @param {Record<string, unknown>} metadata @returns {Promise<string>} */
  async create(metadata) {
    const res = await this.request(this.endpoint, 'POST', {
      'Upload-Defer-Length': '1',
      'Upload-Metadata': encodeMetadata(metadata),
    });
    const location = res.headers.get('Location');
    if (!location) throw new UploadRejectedError(res.status, 'no_location', 'creation gave no Location');
    return new URL(location, this.endpoint).href;
  }

  // The server's view of an upload: {offset, length (null while deferred)}.
  /** @param {string} url @returns {Promise<{ offset: number, length: number | null }>} */
  async head(url) {
    const res = await this.request(url, 'HEAD', {});
    const length = res.headers.get('Upload-Length');
    return { offset: Number(res.headers.get('Upload-Offset')), length: length === null ? null : Number(length) };
  }

  // Appends `body` (ArrayBuffer or view) at `offset`; with `finalLength` the upload's length is
  // declared in the same request, which completes it when offset + body = finalLength.
  // Returns the server's new offset.
  /**
   * @param {string} url @param {number} offset @param {BufferSource} body
   * @param {{ finalLength?: number }} [options]
   * @returns {Promise<number>}
   */
  async patch(url, offset, body, { finalLength } = {}) {
    /** @type {Record<string, string>} */
    const headers = {
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset),
    };
    if (finalLength !== undefined) headers['Upload-Length'] = String(finalLength);
    const checksum = await sha1Base64(body);
    if (checksum) headers['Upload-Checksum'] = `sha1 ${checksum}`;
    const res = await this.request(url, 'PATCH', headers, body);
    return Number(res.headers.get('Upload-Offset'));
  }

  /**
   * @param {string} url @param {'POST' | 'HEAD' | 'PATCH'} method @param {Record<string, string>} headers
   * @param {BufferSource} [body]
   * @returns {Promise<Response>}
   */
  async request(url, method, headers, body) {
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: { 'Tus-Resumable': TUS_VERSION, Authorization: `Bearer ${this.token}`, ...headers },
        body,
        cache: 'no-store',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ServerUnreachableError(err);
    }
    if (res.ok) return res;
    const { code, message } = await errorBody(res);
    if (res.status === 409 && method !== 'POST') throw new OffsetConflict(code);
    if (isTransientStatus(res.status)) throw new ServerUnreachableError(new Error(`HTTP ${res.status} ${code}: ${message}`));
    throw new UploadRejectedError(res.status, code, message);
  }
}

// The server answers errors as {"error": code, "message": text}; HEAD responses have no body.
/** @param {Response} res @returns {Promise<{ code: string, message: string }>} */
export async function errorBody(res) {
  try {
    const json = await res.json();
    return { code: json.error, message: json.message };
  } catch {
    return { code: `http_${res.status}`, message: res.statusText };
  }
}

// Upload-Metadata: "key base64(utf8 value)" pairs; null/undefined values are left out.
/** @param {Record<string, unknown>} metadata */
export function encodeMetadata(metadata) {
  return Object.entries(metadata)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k} ${base64(new TextEncoder().encode(String(v)))}`)
    .join(',');
}

/** @param {Uint8Array} bytes */
function base64(bytes) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

// WebCrypto exists only in secure contexts (https, localhost); elsewhere no checksum is sent.
/** @param {BufferSource} body */
async function sha1Base64(body) {
  if (!self.crypto?.subtle) return null;
  return base64(new Uint8Array(await crypto.subtle.digest('SHA-1', body)));
}
