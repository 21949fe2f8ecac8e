// The pages under the Content-Security-Policy the server sends (server/http/http_server.cc): the
// landing page, the HR page and the candidate page through a recording (encoder worker, WASM core
// with its pthread workers, audio worklet) load and run without a single CSP violation, and the
// policy is in force (an inline script is refused). The other browser tests run the same pages
// in depth; this one fails when the policy blocks something they would only see as a time-out.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { interviewUrl, sleep, startInterview, until, withSetup } from './lib/browser.mjs';

const T = { timeout: 120_000 };

test('the pages run under their CSP without violations, and inline script is refused', T, async () => {
  await withSetup({}, async ({ server, session, page }) => {
    // In every document, before its own scripts: the violations the browser reports.
    await page.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const violations = () => page.evaluate(() => window.cspViolations);

    const landing = await page.goto(`${server.url}/`);
    assert.match(landing.headers()['content-security-policy'], /frame-ancestors 'none'/);
    await until(page, () => document.getElementById('health')?.textContent === 'running');
    assert.deepEqual(await violations(), [], 'landing page');

    await page.goto(`${server.url}/hr/`);
    await page.waitForSelector('#login-username', { state: 'visible' });
    assert.deepEqual(await violations(), [], 'HR page');

    await page.goto(interviewUrl(server, session));
    await startInterview(page);
    await until(page, () => window.interviewPage.recorder.progress().ackedBytes > 0);
    await sleep(1000);
    assert.deepEqual(await violations(), [], 'candidate page while recording');

    // The detector works and the policy holds: a script element with inline code is refused.
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true;';
      document.body.append(script);
    });
    await until(page, () => window.cspViolations.length > 0);
    assert.equal(await page.evaluate(() => window.inlineRan), undefined);
  });
});
