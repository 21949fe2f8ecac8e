// Globals the pages set for debugging and for the browser tests (tests/js): typed here so that
// tsc (tsconfig.json) checks the pages that set them. Not served to browsers for any purpose.
export {};

declare global {
  interface Window {
    /** web/hr/hr.js: the HR page's API client, state and players. */
    hrPage?: unknown;
  }
}
