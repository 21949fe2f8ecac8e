#!/usr/bin/env node
// Prints the top functions by self time of a V8 .cpuprofile (node --cpu-prof), as a text table.
// With a WASM module linked with --profiling-funcs the rows are libvpx's C function names.
//
//   node bench/encode/profile-top.mjs PROFILE.cpuprofile [--top 15]
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '15' } },
});
if (positionals.length !== 1) {
  console.error('usage: profile-top.mjs PROFILE.cpuprofile [--top N]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(positionals[0], 'utf8'));

// Self time per node is the sum of the sampling intervals attributed to it.
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0;
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
}
const byName = new Map();
let total = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  const name = node.callFrame.functionName || `(anonymous ${node.callFrame.url.split('/').pop()})`;
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') continue;
  byName.set(name, (byName.get(name) ?? 0) + us);
  total += us;
}
const rows = [...byName].sort((a, b) => b[1] - a[1]).slice(0, Number(opt.top));
console.log(`self time of ${(total / 1e6).toFixed(2)} s sampled (idle, program and GC left out)`);
console.log('  rank   self %   self ms  function');
rows.forEach(([name, us], i) => {
  console.log(`${String(i + 1).padStart(6)}  ${(100 * us / total).toFixed(1).padStart(6)}  ` +
    `${(us / 1000).toFixed(0).padStart(8)}  ${name}`);
});
