#!/usr/bin/env node
// Finalize speed and memory: ours against `ffmpeg -c copy` and `mkvmerge` on long live recordings,
// in one run (the machine is shared and noisy, so only figures from the same run are compared).
//
// Makes once, cached in build/bench-finalize/, a 15-minute 640x360 VP9 + Opus live WebM from
// tests/media (FourPeople and the speech clip, looped) shaped as the recorder uploads them
// (Segment of unknown size, 1 s Clusters, no Cues, a keyframe every 10 s), and longer ones made of
// copies of it (--minutes). For each, runs the three tools --repeat times, interleaved, with the
// input in the page cache, and prints the median wall time of each process, ours split into parse,
// write, sync and verify (build/native/bench/finalize/finalize), the peak RSS of each (GNU time),
// and the ratios ours/reference. Ours includes fdatasync and Verify; the references neither sync
// nor verify. Goal (issue 15): ours <= ffmpeg -c copy, and ours' RSS the same at every length.
//
//   node bench/finalize/table.mjs [--repeat 5] [--minutes 15,60]
// Needs: toolchains/build.sh native; ffmpeg, mkvmerge (mkvtoolnix), /usr/bin/time.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { mediaDir, repoDir } from '../../tests/js/lib/media.mjs';

const { values: opt } = parseArgs({
  options: {
    repeat: { type: 'string', default: '5' },
    minutes: { type: 'string', default: '15,60' },
  },
});
const ours = path.join(repoDir, 'build/native/bench/finalize/finalize');
if (!fs.existsSync(ours)) throw new Error(`${ours} is not built: run toolchains/build.sh native`);
const cache = path.join(repoDir, 'build/bench-finalize');
fs.mkdirSync(cache, { recursive: true });
// Outputs go beside the cache (the same disk as data/), not to a tmpfs.
const work = fs.mkdtempSync(path.join(cache, 'run-'));

// Writes to a pipe, as a live stream: no SeekHead, Duration or Cues, Segment of unknown size.
function ffmpeg(args, out) {
  const tmp = `${out}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', ...args, '-f', 'webm', '-live', '1',
    '-cluster_time_limit', '1000', 'pipe:1'], { stdio: ['ignore', fd, 'inherit'] });
  fs.closeSync(fd);
  fs.renameSync(tmp, out);
}

// The 15-minute recording, made once (about two minutes of encoding).
function baseRecording() {
  const out = path.join(cache, 'live_15min_640x360.webm');
  if (!fs.existsSync(out)) {
    console.error(`making ${out} (once)`);
    ffmpeg(['-stream_loop', '-1', '-i', path.join(mediaDir, 'FourPeople_1280x720_60.mp4'),
      '-stream_loop', '-1', '-i', path.join(mediaDir, 'speech_orig_16k.wav'), '-t', '900',
      '-map', '0:v', '-map', '1:a', '-vf', 'fps=30,scale=640:360', '-c:v', 'libvpx-vp9',
      '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-b:v', '450k', '-g', '300',
      '-c:a', 'libopus', '-b:a', '32k', '-ar', '48000'], out);
  }
  return out;
}

function recording(minutes) {
  const base = baseRecording();
  if (minutes === 15) return base;
  if (minutes % 15 !== 0) throw new Error('--minutes: multiples of 15');
  const out = path.join(cache, `live_${minutes}min_640x360.webm`);
  if (!fs.existsSync(out)) {
    const list = path.join(work, 'list.txt');
    fs.writeFileSync(list, `file '${base}'\n`.repeat(minutes / 15));
    ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy'], out);
  }
  return out;
}

// Wall time of the whole process and its peak RSS (KiB, from GNU time).
function timed(bin, args) {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'rss_kib=%M', bin, ...args], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed:\n${r.stderr}`);
  const rss = Number(/rss_kib=(\d+)/.exec(r.stderr)[1]);
  return { seconds, rss, stdout: r.stdout };
}

const tools = [
  { name: 'ours', run: (i, o) => { const r = timed(ours, ['--in', i, '--out', o]); return { ...r, split: JSON.parse(r.stdout) }; } },
  { name: 'ffmpeg -c copy', run: (i, o) => timed('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', i, '-map', '0', '-c', 'copy', o]) },
  { name: 'mkvmerge', run: (i, o) => timed('mkvmerge', ['-q', '--webm', '-o', o, i]) },
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = [os.loadavg()[0]];
const rows = [];
for (const minutes of opt.minutes.split(',').map(Number)) {
  const input = recording(minutes);
  fs.readFileSync(input);  // into the page cache, for every tool alike
  const runs = Object.fromEntries(tools.map((t) => [t.name, []]));
  for (let i = 0; i < Number(opt.repeat); i++) {
    for (const tool of tools) {
      const output = path.join(work, 'out.webm');
      fs.rmSync(output, { force: true });
      runs[tool.name].push(tool.run(input, output));
    }
  }
  const row = { minutes, mb: fs.statSync(input).size / 1e6 };
  for (const tool of tools) {
    const r = runs[tool.name];
    row[tool.name] = { seconds: median(r.map((x) => x.seconds)), rss_mb: Math.max(...r.map((x) => x.rss)) / 1024 };
    if (tool.name === 'ours') {
      for (const step of ['parse_s', 'write_s', 'sync_s', 'verify_s', 'total_s']) {
        row[tool.name][step] = median(r.map((x) => x.split[step]));
      }
      row.frames = r[0].split.frames;
      row.cue_points = r[0].split.cue_points;
    }
  }
  rows.push(row);
}
load.push(os.loadavg()[0]);

const f = (v, d = 3) => v.toFixed(d);
console.log(`Finalize of a live 640x360 VP9 + Opus recording: median of ${opt.repeat} runs, ` +
  `wall time of each process; load average ${f(load[0], 2)} at start, ${f(load[1], 2)} at end, ${os.cpus().length} cores`);
console.log('| recording | MB | frames | ours s | parse | write | sync | verify | ffmpeg -c copy s | mkvmerge s | ours/ffmpeg | ours/mkvmerge | RSS MB ours | ffmpeg | mkvmerge |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const o = r.ours;
  const ff = r['ffmpeg -c copy'];
  const mm = r.mkvmerge;
  console.log(`| ${r.minutes} min | ${f(r.mb, 1)} | ${r.frames} | ${f(o.seconds)} | ${f(o.parse_s)} | ${f(o.write_s)} | ` +
    `${f(o.sync_s)} | ${f(o.verify_s)} | ${f(ff.seconds)} | ${f(mm.seconds)} | ${f(o.seconds / ff.seconds, 2)} | ` +
    `${f(o.seconds / mm.seconds, 2)} | ${f(o.rss_mb, 1)} | ${f(ff.rss_mb, 1)} | ${f(mm.rss_mb, 1)} |`);
}
console.log(JSON.stringify(rows));
fs.rmSync(work, { recursive: true, force: true });
