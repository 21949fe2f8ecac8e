// Waiting between attempts of a network operation: exponential backoff with jitter, cut short
// when the browser reports that it is back online. The uploaders and the event sender each own
// one Retry; `attempt` counts failures since the last success (0: healthy).
const BASE_MS = 500;
const MAX_MS = 30_000;

export class Retry {
  constructor({ baseMs = BASE_MS, maxMs = MAX_MS } = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.attempt = 0;
  }

  succeeded() {
    this.attempt = 0;
  }

  // Resolves after the next backoff delay, early on an 'online' event or on `signal` abort.
  // Delay: half of min(max, base * 2^attempt) plus a random share of the other half, so many
  // clients that lost the network together do not come back in lock-step.
  /** @param {AbortSignal} [signal] @returns {Promise<void>} */
  wait(signal) {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt += 1;
    const delay = ceiling / 2 + Math.random() * ceiling / 2;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        self.removeEventListener('online', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      self.addEventListener('online', done);
      signal?.addEventListener('abort', done);
    });
  }
}

// True for errors worth retrying: no network, timeouts, server faults.
/** @param {any} err */
export function isTransient(err) {
  return err?.transient === true;
}

// The HTTP statuses after which the same request may succeed later: a server fault (5xx), a
// timeout (408), too many requests (429), and tus's 460 checksum mismatch (the body was damaged on
// the way). The one list for the tus client and the event sender.
/** @param {number} status */
export function isTransientStatus(status) {
  return status >= 500 || status === 408 || status === 429 || status === 460;
}
