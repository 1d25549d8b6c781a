// Shoestring behind the playbook's own frontend and proxy, in real Chromium: a small static
// frontend in the playbook's shape (index, create_account, recover_password, update_password;
// its fetch calls send JSON without a Content-Type) is served from its own port, and Debian's
// Caddy splits one address between the two with the playbook's Caddyfile lines — `/api/*`,
// `/admin/*` and `/static/admin/*` to the app, everything else to the frontend. The walk: sign up,
// open the emailed link (the playbook's `/api/activate-account/<token>` shape) and confirm, log in,
// forget the password and set a new one from the emailed `update_password.html#id=<token>` link,
// log in with it; then staff log in to a styled console through the proxy and log out.
// Screenshots go to screenshots/playbook-NN-name.png.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  checkChromium,
  clearScreenshots,
  clickAndWait,
  expectText,
  freePort,
  launchBrowser,
  newGuardedPage,
  prefixedShooter,
  startServerWith,
  walk,
} from './helpers.mjs';

const STAMP = Date.now();
const STAFF = { username: 'boss', email: 'boss@example.com', password: 'steady lighthouse keeper 9' };
const USER = { username: `reader_${STAMP}`, email: `reader_${STAMP}@example.com`, password: 'correct horse battery staple 42' };
const NEW_PASSWORD = 'a brand new long passphrase 7';

let server;
let frontend;
let caddy;
let proxyUrl;
let browser;
let visitor;
let shot;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoestring-playbook-'));

const { step, broken } = (() => {
  const w = walk((name) => shot?.(name));
  return { step: w.step, broken: () => w.broken };
})();

// The playbook's pages, reduced to what they do: each posts JSON with fetch and no Content-Type.
const PAGES = {
  '/index.html': `<!doctype html><title>Home</title><h1>Playbook frontend</h1>
<p id="who">…</p>
<form id="login"><input name="username" placeholder="username"><input name="password" type="password">
<button>Log in</button></form><p id="result"></p>
<a href="/create_account.html">Create account</a> <a href="/recover_password.html">Forgot password</a>
<script src="/app.js"></script>`,
  '/create_account.html': `<!doctype html><title>Create account</title><h1>Create account</h1>
<form id="signup"><input name="username"><input name="email"><input name="password" type="password">
<button>Create</button></form><p id="result"></p><script src="/app.js"></script>`,
  '/recover_password.html': `<!doctype html><title>Recover</title><h1>Recover password</h1>
<form id="recover"><input name="email"><button>Send</button></form><p id="result"></p>
<script src="/app.js"></script>`,
  '/update_password.html': `<!doctype html><title>Update</title><h1>Update password</h1>
<form id="update"><input name="password" type="password"><button>Save</button></form><p id="result"></p>
<script src="/app.js"></script>`,
  '/app.js': `
const post = (url, data) => fetch(url, { method: 'POST', body: JSON.stringify(data) })
  .then(async (r) => ({ status: r.status, body: await r.json() }));
const form = (id, url, extra = () => ({})) => {
  const f = document.getElementById(id);
  if (!f) return;
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = { ...Object.fromEntries(new FormData(f)), ...extra() };
    const r = await post(url, data);
    document.getElementById('result').textContent = r.status + ' ' + r.body.details;
  });
};
form('login', '/api/login/');
form('signup', '/api/create-account/');
form('recover', '/api/recover-password/');
form('update', '/api/update-password/', () => ({ 'email-token': new URLSearchParams(location.hash.slice(1)).get('id') }));
const who = document.getElementById('who');
if (who) fetch('/api/session/').then((r) => r.json()).then((s) => { who.textContent = s.authenticated ? 'Signed in as ' + s.username : 'Not signed in'; });
`,
};

function startFrontend(port) {
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = url.pathname === '/' ? '/index.html' : url.pathname;
    const body = PAGES[file];
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('frontend: not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8' });
    res.end(body);
  });
  return new Promise((resolve) => srv.listen(port, '127.0.0.1', () => resolve(srv)));
}

/** Debian's Caddy with the playbook's path split, on its own admin port and data folder. */
async function startCaddy(proxyPort, appPort, frontendPort) {
  const adminPort = await freePort();
  const caddyfile = path.join(tmp, 'Caddyfile');
  fs.writeFileSync(
    caddyfile,
    `{
  admin 127.0.0.1:${adminPort}
  auto_https off
}
http://127.0.0.1:${proxyPort} {
  @backend path /api/* /admin/* /static/admin/*
  handle @backend {
    reverse_proxy 127.0.0.1:${appPort}
  }
  handle {
    reverse_proxy 127.0.0.1:${frontendPort}
  }
}
`,
  );
  const env = { ...process.env, HOME: tmp, XDG_DATA_HOME: tmp, XDG_CONFIG_HOME: tmp };
  const proc = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  for (let i = 0; i < 100; i += 1) {
    try {
      const r = await fetch(`http://127.0.0.1:${proxyPort}/index.html`);
      if (r.status === 200) return proc;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  proc.kill('SIGTERM');
  throw new Error(`Caddy did not start:\n${log.slice(-2000)}`);
}

/** The newest mail to `to` from the app's development outbox (read on the app's own port). */
async function mailLink(to, marker) {
  for (let i = 0; i < 60; i += 1) {
    const list = await (await fetch(server.url('/dev/outbox/'))).text();
    const ids = [...list.matchAll(/href="(\d+)\/"/g)].map((m) => m[1]);
    for (const id of ids) {
      const mail = await (await fetch(server.url(`/dev/outbox/${id}/`))).text();
      const decoded = mail.replaceAll('&#x2F;', '/').replaceAll('&#x3D;', '=').replaceAll('&#61;', '=').replaceAll('&amp;', '&');
      if (!decoded.includes(to)) continue;
      const m = decoded.match(new RegExp(`${proxyUrl.replace(/[.:/]/g, '\\$&')}${marker}[^\\s"<]+`));
      if (m) return m[0];
    }
    await sleep(500);
  }
  throw new Error(`no mail to ${to} with a ${marker} link`);
}

before(async () => {
  clearScreenshots('playbook');
  checkChromium();
  execFileSync('caddy', ['version'], { stdio: 'ignore' });
  const proxyPort = await freePort();
  const frontendPort = await freePort();
  proxyUrl = `http://127.0.0.1:${proxyPort}`;
  server = await startServerWith({
    setup: ({ run, env }) => {
      run(['createsuperuser', '--noinput', '--username', STAFF.username, '--email', STAFF.email], {
        SUPERUSER_PASSWORD: STAFF.password,
      });
      Object.assign(env, {
        BASE_URL: proxyUrl,
        CONFIRM_LINK: '/api/activate-account/{token}',
        RESET_LINK: '/update_password.html#id={token}',
      });
    },
  });
  frontend = await startFrontend(frontendPort);
  caddy = await startCaddy(proxyPort, server.port, frontendPort);
  browser = await launchBrowser();
  visitor = await newGuardedPage(browser, 'visitor', { viewport: { width: 1100, height: 800 } });
  shot = prefixedShooter('playbook', visitor.page);
});

after(async () => {
  await browser?.close().catch(() => {});
  caddy?.kill('SIGTERM');
  frontend?.close();
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  if (broken()) console.error(`# server log:\n${server?.logTail(40)}`);
});

step('1. sign up on the frontend; the emailed link opens the confirm page through the proxy', async () => {
  const p = visitor.page;
  await p.goto(`${proxyUrl}/create_account.html`);
  await p.locator('#signup input[name=username]').fill(USER.username);
  await p.locator('#signup input[name=email]').fill(USER.email);
  await p.locator('#signup input[name=password]').fill(USER.password);
  await p.getByRole('button', { name: 'Create' }).click();
  await expectText(p, '200 Successfully user created.');
  const link = await mailLink(USER.email, '/api/activate-account/');
  await p.goto(link);
  await expectText(p, 'Confirm my account');
  await shot('confirm-page-unstyled');
  await clickAndWait(p, p.getByRole('button', { name: 'Confirm my account' }));
  await expectText(p, 'Your account is confirmed');
});

step('2. log in from the frontend with fetch and no Content-Type', async () => {
  const p = visitor.page;
  await p.goto(`${proxyUrl}/index.html`);
  await p.locator('#login input[name=username]').fill(USER.username);
  await p.locator('#login input[name=password]').fill(USER.password);
  await p.getByRole('button', { name: 'Log in' }).click();
  await expectText(p, '200 Successfully logged in.');
  await p.reload();
  await expectText(p, `Signed in as ${USER.username}`);
});

step('3. forgot password: the emailed link lands on the frontend page with #id=<token>', async () => {
  const p = visitor.page;
  await p.goto(`${proxyUrl}/recover_password.html`);
  await p.locator('#recover input[name=email]').fill(USER.email);
  await p.getByRole('button', { name: 'Send' }).click();
  await expectText(p, '200 Email sent.');
  const link = await mailLink(USER.email, '/update_password.html#id=');
  await p.goto(link);
  await p.locator('#update input[name=password]').fill(NEW_PASSWORD);
  await p.getByRole('button', { name: 'Save' }).click();
  await expectText(p, '200 Password successfully updated.');
  await shot('password-updated');
});

step('4. the new password logs in', async () => {
  const p = visitor.page;
  await p.goto(`${proxyUrl}/index.html`);
  await expectText(p, 'Not signed in');
  await p.locator('#login input[name=username]').fill(USER.username);
  await p.locator('#login input[name=password]').fill(NEW_PASSWORD);
  await p.getByRole('button', { name: 'Log in' }).click();
  await expectText(p, '200 Successfully logged in.');
});

step('5. staff log in to a styled console through the proxy and log out', async () => {
  const { page: p } = await newGuardedPage(browser, 'staff', { viewport: { width: 1280, height: 800 } });
  const styles = [];
  p.on('response', (r) => r.url().endsWith('style.css') && styles.push([new URL(r.url()).pathname, r.status()]));
  await p.goto(`${proxyUrl}/admin/users/`);
  assert.equal(new URL(p.url()).pathname, '/admin/login/');
  await p.locator('input[name=login]').fill(STAFF.username);
  await p.locator('input[name=password]').fill(STAFF.password);
  await clickAndWait(p, p.getByRole('button', { name: 'Log in', exact: true }));
  assert.equal(new URL(p.url()).pathname, '/admin/users/');
  await expectText(p, USER.username);
  const styled = await p.evaluate(() => getComputedStyle(document.querySelector('.admin-nav')).display);
  assert.notEqual(styled, 'inline', 'the console stylesheet applied');
  assert.ok(styles.every(([path, status]) => path === '/static/admin/style.css' && status === 200), JSON.stringify(styles));
  await shot('console-through-proxy', p);
  await clickAndWait(p, p.getByRole('button', { name: 'Log out' }));
  assert.equal(new URL(p.url()).pathname, '/admin/login/');
});

step('6. nothing left 127.0.0.1; the only failed loads were assets outside the proxied paths', async () => {
  // The frontend has no favicon, and the confirm page's /static/ assets are not proxied (the page
  // works unstyled): those 404s are this setup, anything else is a fault.
  const expected = /404 for \w+ http:\/\/127\.0\.0\.1:\d+\/(favicon\.ico|static\/(style\.css|favicon\.svg|app\.js))$/;
  const console404 = /console error on .*: Failed to load resource: the server responded with a status of 404/;
  const problems = visitor.guard.problems().filter((p) => !expected.test(p) && !console404.test(p));
  assert.deepEqual(problems, []);
});
