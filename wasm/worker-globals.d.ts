// What the encoder worker's global scope holds besides a worker's (wasm/recorder-worker.js):
// what importScripts brings (recorder-driver.js; the emscripten core's factory) and the URL a
// blob: bootstrap leaves for a worker started from another origin (see web/recorder/encoder.js).
import type * as Driver from './recorder-driver.js';
import type { CreateRecorderCore } from './recorder-core.js';

declare global {
  var RecorderDriver: typeof Driver.RecorderDriver;
  var RecorderError: typeof Driver.RecorderError;
  var i420Layout: typeof Driver.i420Layout;
  var chooseThreads: typeof Driver.chooseThreads;
  var createRecorderCore: CreateRecorderCore;
  var recorderScriptUrl: string | undefined;
}
