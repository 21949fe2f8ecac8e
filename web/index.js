// The landing page's health line (a module of its own: the pages' CSP allows no inline script).
const el = /** @type {HTMLElement} */ (document.getElementById('health'));
fetch('/healthz')
  .then((r) => { el.textContent = r.ok ? 'running' : `unhealthy (HTTP ${r.status})`; })
  .catch(() => { el.textContent = 'unreachable'; });
