// Globals the pages set for debugging and for the browser tests (tests/js): typed here so that
// tsc (tsconfig.json) checks the pages that set them. Not served to browsers for any purpose.
export {};

declare global {
  interface Window {
    /** web/hr/hr.js: the HR page's API client, state and players. */
    hrPage?: unknown;
    /** web/interview.js: the page's state and its recorder. */
    interviewPage: { readonly state: string; recorder: import('./recorder/index.js').Recorder | null };
    /** Set by a test before web/interview.js runs (page.addInitScript). */
    interviewTestHooks?: {
      slowEncoderMs?: number;
      /** This many encoder workers in a row hang creating the core's threads, as Firefox's sometimes do. */
      hangThreads?: number;
      /** Shorter deadlines for the stalled-step tests (tests/js/browser_stalls.test.mjs). */
      deadlines?: Partial<import('./recorder/index.js').Deadlines>;
      /** The camera's video options (the uplink test records at a higher bitrate). */
      video?: import('./recorder/index.js').VideoOptions;
    };
  }
}
