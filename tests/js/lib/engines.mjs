// One small driver over the three browser engines the tests run, so a scenario is written once:
//   chromium  Debian's Chromium, headless, through playwright-core (lib/browser.mjs launchBrowser):
//             fake camera and microphone from the test clips (a known clip: PSNR works)
//   firefox   Debian's Firefox ESR, headless, through puppeteer-core over WebDriver BiDi: fake
//             camera and microphone are synthetic (a moving pattern, a tone); Firefox's audio
//             engine runs on the sound output's clock and this machine has none, so the tests give
//             it cubeb's mock output (`media.cubeb.force_mock_context`), as a computer with
//             speakers has; `{ soundOutput: false }` leaves it out (the hang of issue 13)
//   webkit    Debian's WebKitGTK MiniBrowser under Xvfb, through WebKitWebDriver (W3C WebDriver,
//             no CDP, no preload scripts): mock capture devices, synthetic
// Every engine gives pages with the same subset of Playwright's Page API (goto, reload, evaluate,
// click, check, isChecked, isVisible, textContent, waitForFunction, addInitScript) plus
// setOffline(bool). Differences, each in one place here:
//   - WebKit's init scripts run right after each load (WebDriver has no preload script): a script
//     that must run before the page's own modules cannot be used there;
//   - WebKit's offline mode is a TCP proxy in front of the server that resets every connection
//     (`urlFor(server)` gives the proxy's URL); Chromium and Firefox use their own offline mode.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import puppeteer from 'puppeteer-core';

import { freePort, launchBrowser, sleep } from './browser.mjs';
import { tempDir } from './media.mjs';

// TEST_ENGINES=firefox,webkit narrows a local run; the test command runs all three.
export const ENGINES = process.env.TEST_ENGINES?.split(',') ?? ['chromium', 'firefox', 'webkit'];
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/**
 * Starts a browser of `engine`. Options: Chromium's launchBrowser options; for Firefox
 * `soundOutput` (default true).
 * @returns {Promise<{engine: string, logs: string[], newPage: () => Promise<any>, urlFor: (server: {url: string}) => Promise<string>, close: () => Promise<void>}>}
 */
export async function launchEngine(engine, options = {}) {
  if (engine === 'chromium') return launchChromium(options);
  if (engine === 'firefox') return launchFirefox(options);
  if (engine === 'webkit') return launchWebKit(options);
  throw new Error(`unknown engine ${engine}`);
}

async function launchChromium(options) {
  const browser = await launchBrowser(options);
  let first = browser.page;
  const wrap = (page) => {
    page.on('console', (m) => browser.logs.push(`[${m.type()}] ${m.text()}`));
    page.on('dialog', (dialog) => dialog.accept());
    return Object.assign(page, { setOffline: (on) => page.context().setOffline(on) });
  };
  const { page: firstPage } = browser;
  firstPage.setOffline = (on) => firstPage.context().setOffline(on);
  return {
    engine: 'chromium', logs: browser.logs, urlFor: async (server) => server.url,
    async newPage() {
      if (first) {
        const page = first;
        first = null;
        return page;
      }
      return wrap(await browser.context.newPage());
    },
    close: () => browser.close(),
  };
}

async function launchFirefox({ soundOutput = true } = {}) {
  const profile = tempDir('recorder-firefox-');
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: '/usr/bin/firefox-esr', headless: true, userDataDir: profile,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true, 'media.navigator.permission.disabled': true,
      ...(soundOutput ? { 'media.cubeb.force_mock_context': true } : {}),
    },
  });
  const logs = [];
  return {
    engine: 'firefox', logs, urlFor: async (server) => server.url,
    async newPage() {
      const page = await browser.newPage();
      page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      page.on('dialog', (dialog) => dialog.accept().catch(() => {}));
      return new PuppeteerPage(page);
    },
    async close() {
      await browser.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Playwright's Page API, as far as the scenarios use it, over a puppeteer page.
class PuppeteerPage {
  constructor(page) {
    this.page = page;
  }

  goto(url) { return this.page.goto(url); }
  reload() { return this.page.reload(); }
  evaluate(fn, arg) { return this.page.evaluate(fn, arg); }
  // A locator waits until the element is visible, enabled and stable (a bare click right after a
  // load was sometimes lost in Firefox).
  click(selector) { return this.page.locator(selector).click(); }
  async check(selector) { if (!(await this.isChecked(selector))) await this.click(selector); }
  isChecked(selector) { return this.page.$eval(selector, (e) => e.checked); }
  isVisible(selector) { return this.page.$eval(selector, (e) => e.checkVisibility()); }
  textContent(selector) { return this.page.$eval(selector, (e) => e.textContent); }
  waitForFunction(fn, arg, { timeout = 30_000 } = {}) { return this.page.waitForFunction(fn, { timeout, polling: 250 }, arg); }
  addInitScript(fn, arg) { return this.page.evaluateOnNewDocument(fn, arg); }
  exposeFunction(name, fn) { return this.page.exposeFunction(name, fn); }
  setOffline(on) { return this.page.setOfflineMode(on); }
  close() { return this.page.close({ runBeforeUnload: false }); }
}

async function launchWebKit() {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const display = await new Promise((resolve, reject) => {
    let text = '';
    xvfb.stdio[3].on('data', (d) => {
      text += d;
      if (text.includes('\n')) resolve(text.trim());
    });
    xvfb.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}`)));
  });
  const port = await freePort();
  const logs = [];
  const driver = spawn('WebKitWebDriver', [`--port=${port}`], { env: { ...process.env, DISPLAY: `:${display}` },
    stdio: ['ignore', 'ignore', 'pipe'] });
  driver.stderr.on('data', (d) => logs.push(String(d).trim()));
  const proxies = new Map();  // server origin -> OfflineProxy
  const pages = [];
  const wd = new WebDriver(`http://127.0.0.1:${port}`);
  for (let i = 0; ; i++) {
    try {
      await wd.call('GET', '/status');
      break;
    } catch (err) {
      if (i > 50) throw err;
      await sleep(100);
    }
  }
  const stop = () => {
    driver.kill();
    xvfb.kill();
  };
  try {
    return {
      engine: 'webkit', logs,
      // WebKit reaches the server through a proxy that setOffline() can cut.
      async urlFor(server) {
        const origin = new URL(server.url).origin;
        if (!proxies.has(origin)) proxies.set(origin, await OfflineProxy.start(Number(new URL(origin).port)));
        return proxies.get(origin).origin;
      },
      async newPage() {
        const page = await WebDriverPage.open(wd, () => [...proxies.values()]);
        pages.push(page);
        return page;
      },
      async close() {
        for (const page of pages) await page.close().catch(() => {});
        for (const proxy of proxies.values()) proxy.close();
        stop();
      },
    };
  } catch (err) {
    stop();
    throw err;
  }
}

class WebDriver {
  constructor(base) {
    this.base = base;
  }

  async call(method, path, body) {
    const res = await fetch(this.base + path, { method, headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${json.value?.error}: ${json.value?.message}`);
    return json.value;
  }
}

// A WebDriver session (one MiniBrowser window) with the Page subset of PuppeteerPage.
class WebDriverPage {
  static async open(wd, proxies) {
    const { sessionId } = await wd.call('POST', '/session', { capabilities: { alwaysMatch: {
      unhandledPromptBehavior: 'accept',
      'webkitgtk:browserOptions': { binary: MINIBROWSER,
        args: ['--automation', '--enable-mock-capture-devices=true', '--enable-media-stream=true'] },
    } } });
    await wd.call('POST', `/session/${sessionId}/timeouts`, { script: 120_000, pageLoad: 60_000 });
    return new WebDriverPage(wd, sessionId, proxies);
  }

  constructor(wd, sessionId, proxies) {
    Object.assign(this, { wd, sessionId, proxies });
    this.initScripts = [];
  }

  call(method, path, body) {
    return this.wd.call(method, `/session/${this.sessionId}${path}`, body);
  }

  async goto(url) {
    await this.call('POST', '/url', { url });
    await this.runInitScripts();
  }

  async reload() {
    await this.call('POST', '/refresh', {});
    await this.runInitScripts();
  }

  async runInitScripts() {
    for (const { fn, arg } of this.initScripts) await this.evaluate(fn, arg);
  }

  addInitScript(fn, arg) {
    this.initScripts.push({ fn, arg });
  }

  async evaluate(fn, arg) {
    const script = `const [arg, done] = arguments;
      Promise.resolve().then(() => (${fn})(arg)).then((value) => done({ value: value === undefined ? null : value }),
        (err) => done({ error: String(err) + (err && err.stack ? ' at ' + err.stack : '') }));`;
    const out = await this.call('POST', '/execute/async', { script, args: [arg ?? null] });
    if (out?.error) throw new Error(`in the page: ${out.error}`);
    return out?.value ?? undefined;
  }

  async element(selector) {
    const found = await this.call('POST', '/element', { using: 'css selector', value: selector });
    return Object.values(found)[0];
  }

  // As Playwright's click does, waits (up to 10 s) for the element to be shown before clicking it:
  // WebDriver refuses a click on an element not rendered yet ("element not interactable").
  async click(selector) {
    try {
      await this.waitForFunction((s) => document.querySelector(s)?.checkVisibility(), selector, { timeout: 10_000 });
    } catch (err) {
      const state = await this.evaluate(() => window.interviewPage?.state ?? null).catch(() => null);
      throw new Error(`${selector} is not shown (page state ${state}): ${err.message}`, { cause: err });
    }
    await this.call('POST', `/element/${await this.element(selector)}/click`, {});
  }

  async check(selector) { if (!(await this.isChecked(selector))) await this.click(selector); }
  isChecked(selector) { return this.evaluate((s) => document.querySelector(s).checked, selector); }
  isVisible(selector) { return this.evaluate((s) => document.querySelector(s).checkVisibility(), selector); }
  textContent(selector) { return this.evaluate((s) => document.querySelector(s).textContent, selector); }

  async waitForFunction(fn, arg, { timeout = 30_000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      if (await this.evaluate(fn, arg)) return;
      if (Date.now() > deadline) throw new Error(`waitForFunction timed out after ${timeout} ms: ${fn}`);
      await sleep(250);
    }
  }

  setOffline(on) {
    for (const proxy of this.proxies()) proxy.setOffline(on);
  }

  async close() {
    await this.call('DELETE', '');
  }
}

// A TCP proxy in front of a local server: setOffline(true) resets every open connection and
// every new one until setOffline(false), as a network that went away.
class OfflineProxy {
  static async start(targetPort) {
    const proxy = new OfflineProxy(targetPort);
    await new Promise((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.origin = `http://127.0.0.1:${proxy.server.address().port}`;
    return proxy;
  }

  constructor(targetPort) {
    this.offline = false;
    this.sockets = new Set();
    this.server = net.createServer((client) => {
      if (this.offline) return client.resetAndDestroy();
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  setOffline(on) {
    this.offline = on;
    if (on) for (const s of this.sockets) s.resetAndDestroy();
  }

  close() {
    this.setOffline(true);
    this.server.close();
  }
}

// Keeps a copy of every chunk the page stores in IndexedDB, taken when its transaction commits:
// evidence of what must arrive that does not come from the recorder's own bookkeeping. Returns
// {read(): Promise<Map recordingId -> Map chunk index -> Buffer>}. Where the driver can call back
// into the test (Chromium, Firefox: exposeFunction) each copy is handed over at the commit, so a
// reload right after it loses nothing; WebKit's WebDriver cannot, so there the copies go to a
// database of their own ('test-evidence', read at the end), written just after the commit.
export async function keepStoredChunks(page) {
  const kept = new Map();
  const binding = typeof page.exposeFunction === 'function';
  if (binding) {
    await page.exposeFunction('__chunkStored', ({ recordingId, index, data }) => {
      if (!kept.has(recordingId)) kept.set(recordingId, new Map());
      kept.get(recordingId).set(index, Buffer.from(data, 'base64'));
    });
  }
  await page.addInitScript(() => {
    if (IDBObjectStore.prototype.addForEvidence) return;  // WebKit runs init scripts after each load
    const add = IDBObjectStore.prototype.add;
    IDBObjectStore.prototype.addForEvidence = add;
    const base64 = (buffer) => {
      const bytes = new Uint8Array(buffer);
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    };
    let evidence = null;  // opened on first use (not in documents without IndexedDB access)
    const open = () => (evidence ??= new Promise((resolve, reject) => {
      const req = indexedDB.open('test-evidence', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('chunks', { keyPath: ['recordingId', 'index'] });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }));
    IDBObjectStore.prototype.add = function (value, ...rest) {
      const request = add.call(this, value, ...rest);
      if (this.name === 'chunks') {
        const copy = { recordingId: value.recordingId, index: value.index, data: value.data.slice(0) };
        if (typeof window.__chunkStored !== 'function') open();
        this.transaction.addEventListener('complete', async () => {
          if (typeof window.__chunkStored === 'function') {
            window.__chunkStored({ recordingId: copy.recordingId, index: copy.index, data: base64(copy.data) });
          } else {
            (await open()).transaction('chunks', 'readwrite').objectStore('chunks').put(copy);
          }
        });
      }
      return request;
    };
  });
  return { read: () => (binding ? kept : readEvidence(page)) };
}

// The copies keepStoredChunks wrote to 'test-evidence' (WebKit).
async function readEvidence(page) {
  const list = await page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('test-evidence', 1);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const all = await new Promise((resolve, reject) => {
      const req = db.transaction('chunks').objectStore('chunks').getAll();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    db.close();
    return all.map(({ recordingId, index, data }) => {
      const bytes = new Uint8Array(data);
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { recordingId, index, data: btoa(text) };
    });
  });
  const out = new Map();
  for (const { recordingId, index, data } of list) {
    if (!out.has(recordingId)) out.set(recordingId, new Map());
    out.get(recordingId).set(index, Buffer.from(data, 'base64'));
  }
  return out;
}
