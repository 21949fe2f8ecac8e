// chooseThreads (wasm/recorder-driver.js): the libvpx thread count the page asks for, from the
// track size, navigator.hardwareConcurrency and the module's thread pool.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chooseThreads } from '../../wasm/node.mjs';

test('chooseThreads gives small frames one thread, VGA two and 720p up to four', () => {
  assert.equal(chooseThreads(320, 180, 8, 4), 1);
  assert.equal(chooseThreads(640, 480, 8, 4), 2);
  assert.equal(chooseThreads(1280, 720, 8, 4), 4);
  assert.equal(chooseThreads(1920, 1080, 16, 4), 4);
});

test('chooseThreads leaves a core to the page from 3 cores up and never exceeds the pool', () => {
  assert.equal(chooseThreads(1280, 720, 2, 4), 2);
  assert.equal(chooseThreads(1280, 720, 3, 4), 2);
  assert.equal(chooseThreads(1280, 720, 4, 4), 3);
  assert.equal(chooseThreads(1280, 720, 8, 1), 1);
});

test('chooseThreads falls back to one thread when hardwareConcurrency is unknown', () => {
  assert.equal(chooseThreads(1280, 720, undefined, 4), 1);
  assert.equal(chooseThreads(1280, 720, 0, 4), 1);
});
