// Records 5 s with Chromium's MediaRecorder (VP9 + Opus, 1 s timeslices) from fake devices and
// writes the WebM blob. Usage: node make_mediarecorder_webm.mjs <repo root> <out.webm>
// Needs /usr/bin/chromium and playwright-core in <repo root>/node_modules.
import fs from 'fs';
import os from 'os';
import path from 'path';

const [repo, out] = process.argv.slice(2);
const { chromium } = await import(path.join(repo, 'node_modules/playwright-core/index.mjs'));
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mediarecorder-'));
const page_path = path.join(profile, 'page.html');
fs.writeFileSync(page_path, '<html><body>recording</body></html>');
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
         `--use-file-for-fake-audio-capture=${repo}/tests/media/speech_orig_16k.wav`],
});
try {
  const page = await ctx.newPage();
  await page.goto('file://' + page_path);  // file:// is a secure context, so getUserMedia works
  const b64 = await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}, audio: true});
    const rec = new MediaRecorder(stream, {mimeType: 'video/webm;codecs=vp9,opus'});
    const parts = [];
    rec.ondataavailable = (e) => parts.push(e.data);
    rec.start(1000);
    await new Promise((r) => setTimeout(r, 5000));
    await new Promise((r) => { rec.onstop = r; rec.stop(); });
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  fs.writeFileSync(out, Buffer.from(b64, 'base64'));
} finally {
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
