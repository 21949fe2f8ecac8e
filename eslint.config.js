// ESLint (flat config) for the JavaScript the project wrote: the pages and the recorder module
// (browser ES modules), the worker side of wasm/ (classic worker scripts), and the node tests and
// benchmarks. tests/static-checks.sh runs it; types are tsc's business (tsconfig.json).
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['web/gen/', 'build/', 'node_modules/', '.cache/'] },
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // An unused catch binding or a leading-underscore argument is a deliberate "ignored".
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': ['error', { destructuring: 'all' }],
    },
  },
  {
    files: ['web/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
  {
    files: ['web/recorder/audio-worklet.js'],
    languageOptions: { sourceType: 'script', globals: globals.audioWorklet },
  },
  // The encoder worker and the driver it importScripts: classic scripts. The driver is also
  // require()d by node (wasm/node.mjs), hence `module`.
  {
    files: ['wasm/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.worker, module: 'readonly' } },
  },
  {
    // What recorder-driver.js and the emscripten core define for the worker (importScripts).
    files: ['wasm/recorder-worker.js'],
    languageOptions: {
      globals: { RecorderDriver: 'readonly', RecorderError: 'readonly', i420Layout: 'readonly',
        chooseThreads: 'readonly', createRecorderCore: 'readonly' },
    },
  },
  {
    files: ['wasm/*.mjs', 'tests/js/**/*.mjs', 'bench/**/*.mjs', 'eslint.config.js'],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
  {
    // Browser tests and benchmarks pass functions to page.evaluate(): they run in the page.
    files: ['tests/js/browser_*.mjs', 'tests/js/hr_page.test.mjs', 'tests/js/webhooks.test.mjs', 'tests/js/lib/browser.mjs', 'tests/js/lib/engines.mjs',
      'bench/browser/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
];
