// The processes of a browser this Node process started, from /proc: CPU time and resident memory
// (PSS) of its whole tree, and per kind of Chromium process (bench/browser, the memory test).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export function procStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');  // fields from 3 (state) on
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };  // utime + stime
  } catch {
    return null;  // exited
  }
}

export function allProcesses() {
  const out = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(name);
    if (s) out.set(Number(name), s);
  }
  return out;
}

// Ticks per pid of `root` and its descendants.
export function treeTicks(root) {
  return new Map([...tree(root)].map(([pid, s]) => [pid, s.ticks]));
}

// Resident bytes (PSS) of `root` and its descendants.
export function treePss(root) {
  let bytes = 0;
  for (const pid of tree(root).keys()) bytes += pssOf(pid);
  return bytes;
}

// Bytes; 0 for a process that exited.
function pssOf(pid) {
  try {
    return 1024 * Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

// procStat() per pid of `root` and its descendants.
export function tree(root) {
  const procs = allProcesses();
  const children = new Map();
  for (const [pid, s] of procs) {
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(pid);
  }
  const found = new Map();
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    if (!procs.has(pid)) continue;
    found.set(pid, procs.get(pid));
    stack.push(...(children.get(pid) ?? []));
  }
  return found;
}

// CPU seconds of the tree between two snapshots (processes born in between count from 0; those
// that exited in between are lost, which undercounts slightly).
export function cpuSeconds(before, after) {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks / CLK_TCK;
}

// The root of the browser this process started: our child running Chromium, Firefox, or
// WebKitWebDriver (whose tree holds MiniBrowser and WebKit's processes; Xvfb is its own child of ours).
const BROWSER_EXE = { chromium: /chromium/, firefox: /firefox/, webkit: /WebKitWebDriver/ };
export function browserRoot(engine, excluded) {
  for (const [pid, s] of allProcesses()) {
    if (s.ppid !== process.pid || excluded.has(pid)) continue;
    const exe = fs.readlinkSync(`/proc/${pid}/exe`);
    if (BROWSER_EXE[engine].test(exe)) return pid;
  }
  throw new Error(`no ${engine} child process found`);
}

// PSS (bytes) of `root` and its descendants per kind of Chromium process, from each one's
// --type (and --utility-sub-type): 'browser' (no type), 'renderer', 'gpu-process', 'network',
// 'storage', 'audio', ... A process of another browser counts as 'browser'.
export function pssByKind(root) {
  const out = {};
  for (const pid of tree(root).keys()) {
    try {
      // Chromium's helpers rewrite their command line into one string (setproctitle).
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
      const arg = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
      const sub = arg('utility-sub-type');
      const kind = sub ? sub.split('.')[0].replace(/_?mojom$/, '') : arg('type') ?? 'browser';
      out[kind] = (out[kind] ?? 0) + pssOf(pid);
    } catch {
      // exited
    }
  }
  return out;
}
