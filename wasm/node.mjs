// Loads a built recorder-core WASM module under node (for tests and benchmarks).
// Browsers use wasm/recorder-worker.js instead.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// RECORDER_WASM_DIR points elsewhere for builds configured with another RECORDER_WASM_OUT.
const genDir = process.env.RECORDER_WASM_DIR ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/gen');
const require = createRequire(import.meta.url);

export const { RecorderDriver, RecorderError, i420Layout, chooseThreads } = require(path.join(genDir, 'recorder-driver.js'));

export function coreScript(variant) {
  const script = path.join(genDir, `recorder-core-${variant}.js`);
  if (!fs.existsSync(script)) throw new Error(`${script} is not built: run toolchains/build.sh wasm-${variant}`);
  return script;
}

// Resolves to the module of `variant` ('simd' or 'plain').
export async function loadCore(variant) {
  const create = require(coreScript(variant));
  // Emscripten 3.1.6 fetches the .wasm whenever a global fetch exists, which under node 20 fails
  // ("Failed to parse URL"); without fetch it reads the file, as it should.
  const savedFetch = globalThis.fetch;
  /** @type {any} */ (globalThis).fetch = undefined;
  try {
    return await create();
  } finally {
    globalThis.fetch = savedFetch;
  }
}
