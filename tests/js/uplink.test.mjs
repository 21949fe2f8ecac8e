// The uplink controller (web/recorder/uplink.js) against a simulated link: a backlog that grows by
// what is recorded beyond what the link carries, and PATCH goodput that measures the link while
// it is the bottleneck (and, with latency, less than the link when it is not).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LADDER, UplinkController } from '../../web/recorder/uplink.js';

const TARGET = { videoKbps: 600, fps: 30, audioKbps: 64 };
const OVERHEAD_KBPS = 16;

// Runs `seconds` of recording, one controller update a second. `linkKbps(t)`: the uplink at
// second t; `calmGoodput`: what a PATCH measures when nothing waits (latency-bound). Returns the
// backlog and the step at every second, and the changes.
function simulate(controller, seconds, linkKbps, { calmGoodput = (link) => link, from = 0 } = {}) {
  let backlogBits = 0;
  const trace = [];
  const changes = [];
  for (let t = from; t < from + seconds; t++) {
    const { videoKbps } = controller.settings();
    const produced = (videoKbps + TARGET.audioKbps + OVERHEAD_KBPS) * 1000;
    const link = linkKbps(t) * 1000;
    const busy = backlogBits + produced > link;
    backlogBits = Math.max(0, backlogBits + produced - link);
    // What waits, and the one-second chunk on its way (its transfer time at the link's rate).
    const backlogSeconds = backlogBits / produced + Math.min(1, produced / link);
    const capacityKbps = (busy ? link : calmGoodput(link)) / 1000;
    const change = controller.update({ backlogSeconds, capacityKbps, nowMs: t * 1000 });
    if (change) changes.push({ t, ...change });
    trace.push({ t, backlogSeconds, step: controller.step });
  }
  return { trace, changes };
}

function describe(changes) {
  return changes.map((c) => `${c.t} s: step ${c.step} (${c.videoKbps} kbps, ${c.fps} fps)`).join('; ');
}

test('the ladder steps down the bitrate before the frame rate, never below 30 kbps, and keeps the sound', () => {
  const c = new UplinkController(TARGET);
  const steps = LADDER.map((_, i) => c.settings(i));
  console.log(`ladder for 600 kbps at 30 fps: ${steps.map((s) => `${s.videoKbps}/${s.fps}`).join(' ')}`);
  for (let i = 1; i < steps.length; i++) {
    assert.ok(steps[i].videoKbps < steps[i - 1].videoKbps, 'each step is lighter');
    assert.ok(steps[i].fps <= steps[i - 1].fps);
  }
  assert.equal(steps.findIndex((s) => s.fps < 30), steps.findIndex((s) => s.videoKbps <= 150), 'frames go only at a quarter');
  assert.equal(new UplinkController({ videoKbps: 50, fps: 30, audioKbps: 64 }).settings(LADDER.length - 1).videoKbps, 30);
});

test('300 kbps for 30 s, then released: the backlog stays under 10 s of media and the target returns within 30 s', () => {
  const c = new UplinkController(TARGET);
  const link = (t) => (t >= 10 && t < 40 ? 300 : 20_000);
  // Latency: a calm PATCH of ~85 KB over a 20 Mbit link with 150 ms round trip measures ~4 Mbit.
  const { trace, changes } = simulate(c, 80, link, { calmGoodput: (l) => Math.min(l, 4_000_000) });
  console.log(describe(changes));
  const worst = Math.max(...trace.map((s) => s.backlogSeconds));
  assert.ok(worst < 10, `backlog peaked at ${worst.toFixed(1)} s`);
  assert.ok(changes[0].t >= 10 && changes[0].t < 16, 'the first step down comes within seconds of the slowdown');
  const during = trace.filter((s) => s.t >= 30 && s.t < 40);
  assert.ok(during.every((s) => s.backlogSeconds < 3), 'the lighter video fits: the backlog drained while throttled');
  const back = trace.find((s) => s.t >= 40 && s.step === 0);
  assert.ok(back && back.t < 70, `back at the target ${back ? back.t - 40 : 'never'} s after the release`);
  assert.ok(changes.length <= 6, `${changes.length} changes: ${describe(changes)}`);
});

test('without a capacity measured yet, it steps down one step at a time', () => {
  const c = new UplinkController(TARGET);
  let t = 0;
  const at = (backlogSeconds) => c.update({ backlogSeconds, capacityKbps: null, nowMs: (t++) * 1000 });
  [0, 1, 2, 3].forEach(at);
  assert.equal(c.step, 1);
  [4, 5].forEach(at);
  assert.equal(c.step, 1, 'the next step down waits to see what this one does');
  at(6);
  assert.equal(c.step, 2);
});

test('a link at the edge of a step does not see-saw: failed climbs wait longer', () => {
  const c = new UplinkController(TARGET);
  // 520 kbps: step 1 (420 + 80 = 500 kbps) fits, the target (680) does not; but a calm PATCH
  // measures twice the link (a modem's buffer takes it at once), so the capacity invites the
  // climb, and only the failed climbs can teach the controller.
  const { changes } = simulate(c, 300, () => 520, { calmGoodput: (link) => 2 * link });
  console.log(describe(changes));
  const climbs = changes.filter((ch, i) => i > 0 && ch.step < changes[i - 1].step).length;
  assert.ok(climbs <= 6, `${climbs} climbs in 5 minutes: ${describe(changes)}`);
  const tries = changes.filter((ch) => ch.step === 0).map((ch) => ch.t);
  const gaps = tries.slice(1).map((t, i) => t - tries[i]);
  assert.ok(gaps.every((g, i) => i === 0 || g > gaps[i - 1]), `each failed climb waits longer: tries at ${tries.join(', ')} s`);
  assert.equal(c.step, 1, 'it holds the step the link carries');
});

test('a fast link never changes anything', () => {
  const c = new UplinkController(TARGET);
  const { changes } = simulate(c, 120, () => 5000);
  assert.deepEqual(changes, []);
});

test('a backlog the link carries away (after an outage) does not lower the video', () => {
  const c = new UplinkController(TARGET);
  // 20 s of media waited while offline; the link is back at 5 Mbit/s and drains it.
  for (let t = 0, backlog = 20; t < 10; t++, backlog = Math.max(0, backlog - 6)) {
    assert.equal(c.update({ backlogSeconds: backlog, capacityKbps: 5000, nowMs: t * 1000 }), null);
  }
});
