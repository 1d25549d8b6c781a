// Shared machinery for the browser tests: the Chromium check, the app server, page guards,
// screenshots and the dev outbox. The tests themselves read as a person's walk through the site.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { test } from 'node:test';

import { chromium } from 'playwright-core';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOTS = path.join(E2E_DIR, 'screenshots');
export const SERVER_LOG = path.join(SCREENSHOTS, 'server.log');

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** Clears old screenshots and logs so every file in screenshots/ comes from this run. */
export function resetScreenshots() {
  fs.rmSync(SCREENSHOTS, { recursive: true, force: true });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
}

// ---------------------------------------------------------------------------------------------
// Chromium

/** The Chromium major that the installed playwright-core was built against (from browsers.json). */
function expectedChromiumMajor() {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('playwright-core/package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
  const browsers = JSON.parse(fs.readFileSync(path.join(path.dirname(pkgPath), 'browsers.json'), 'utf8'));
  const entry = browsers.browsers.find((b) => b.name === 'chromium');
  if (!entry) throw new Error(`playwright-core ${pkg.version}: no chromium entry in browsers.json`);
  return { playwright: pkg.version, version: entry.browserVersion, major: Number(entry.browserVersion.split('.')[0]) };
}

/**
 * Fails loudly unless the system Chromium has the major version playwright-core expects:
 * a mismatch gives confusing protocol errors later, so say it up front.
 */
export function checkChromium() {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. Install Debian's package: ` +
        `DEBIAN_FRONTEND=noninteractive apt-get install -y chromium (or set CHROMIUM_PATH).`,
    );
  }
  const out = execFileSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const m = out.match(/(\d+)\.\d+\.\d+\.\d+/);
  if (!m) throw new Error(`Cannot read a version from \`${CHROMIUM_PATH} --version\`: ${JSON.stringify(out)}`);
  const expected = expectedChromiumMajor();
  if (Number(m[1]) !== expected.major) {
    throw new Error(
      `CHROMIUM VERSION MISMATCH: ${CHROMIUM_PATH} is ${m[0]} (major ${m[1]}), but playwright-core ` +
        `${expected.playwright} expects Chromium ${expected.major} (${expected.version}). ` +
        `Pin the playwright-core release that matches the system Chromium in e2e/package.json ` +
        `(bump the two together).`,
    );
  }
  return { chromium: m[0], playwright: expected.playwright };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

// ---------------------------------------------------------------------------------------------
// The app server

/** A free TCP port on 127.0.0.1: listen on port 0, note the port, close, reuse it. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts `<E2E_BIN> serve` on a free loopback port with a fresh SQLite database in a temp dir
 * (which is also its working directory, so a file outbox or ./data lands there too), and waits
 * until `GET /` answers 200. stdout and stderr go to screenshots/server.log.
 */
export async function startServer() {
  return startServerWith();
}


// ---------------------------------------------------------------------------------------------
// Page guards: foreign requests, console errors (CSP violations are console errors in Chromium),
// uncaught exceptions, failed subresources, and any JavaScript dialog.

export async function guardPage(page, label = 'page') {
  const problems = [];
  const consoleErrors = [];
  const documentErrors = new Set(); // pages answered with a 4xx, e.g. a form re-rendered with errors

  page.on('request', (req) => {
    const u = new URL(req.url());
    if (['data:', 'blob:', 'about:'].includes(u.protocol)) return;
    if (u.hostname !== '127.0.0.1') problems.push(`[${label}] request to a foreign origin: ${req.method()} ${req.url()}`);
  });
  page.on('response', (res) => {
    const req = res.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) {
      if (res.status() >= 400 && res.status() < 500) documentErrors.add(res.url());
      if (res.status() >= 500) problems.push(`[${label}] ${res.status()} for page ${res.url()}`);
    } else if (res.status() >= 400) {
      problems.push(`[${label}] ${res.status()} for ${req.resourceType()} ${res.url()}`);
    }
  });
  page.on('requestfailed', (req) => {
    // A page load cut short by the next navigation is not a fault of the app.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`[${label}] request failed: ${req.url()} (${req.failure()?.errorText})`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push({ text: msg.text(), url: msg.location().url, page: page.url() });
  });
  page.on('pageerror', (err) => problems.push(`[${label}] uncaught exception on ${page.url()}: ${err.message}`));
  page.on('dialog', async (dialog) => {
    problems.push(`[${label}] a ${dialog.type()} dialog opened on ${page.url()}: ${JSON.stringify(dialog.message())}`);
    await dialog.dismiss().catch(() => {});
  });
  // Belt and braces: Chromium already logs CSP violations as console errors; this names the directive.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} on ${location.href}`);
    });
  });

  return {
    /** Everything wrong so far. A form re-rendered with a 4xx status (e.g. a failed login) is fine. */
    problems() {
      const fromConsole = consoleErrors
        .filter((e) => !(e.text.startsWith('Failed to load resource') && documentErrors.has(e.url)))
        .map((e) => `[${label}] console error on ${e.page}: ${e.text}${e.url ? ` (${e.url})` : ''}`);
      return [...problems, ...fromConsole];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Screenshots: screenshots/NN-name.png, numbered in the order taken.

let shotCounter = 0;

export function shooter(defaultPage) {
  return async function shot(name, page = defaultPage) {
    shotCounter += 1;
    const file = path.join(SCREENSHOTS, `${String(shotCounter).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}

// ---------------------------------------------------------------------------------------------
// Small page helpers

/** Waits until the page's visible text contains `text`; on timeout says what the page showed. */
export async function expectText(page, text, timeout = 10_000) {
  try {
    await page.waitForFunction((t) => document.body && document.body.innerText.includes(t), text, { timeout });
  } catch {
    const body = await page.evaluate(() => document.body?.innerText ?? '').catch(() => '(unreadable)');
    throw new Error(`Expected the text ${JSON.stringify(text)} on ${page.url()}; the page shows:\n${body.slice(0, 2000)}`);
  }
}

export async function pageText(page) {
  return page.evaluate(() => document.body.innerText);
}

/** Clicks something that loads a new page (link or submit) and waits for that page to load. */
export async function clickAndWait(page, locator) {
  const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 15_000 });
  await locator.click();
  await navigated;
  await page.waitForLoadState('load');
}

/** Fills every password input of the form that holds `field` with `value` (covers a confirmation field). */
export async function fillPasswords(field, value) {
  const form = field.locator('xpath=ancestor::form[1]');
  const inputs = form.locator('input[type=password]');
  const n = await inputs.count();
  for (let i = 0; i < n; i += 1) await inputs.nth(i).fill(value);
}

// ---------------------------------------------------------------------------------------------
// The development outbox at /dev/outbox/

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Opens the dev outbox, clicks the newest message whose subject contains `subjectPart` and
 * whose plain body (`pre.mail-body`) holds a link `<baseUrl><pathPrefix><token>/`. Reloads for up
 * to 15 s while the worker delivers. The port in the link is unique to this run, so a message
 * left over from another run can never match. Returns { link, token, subject, body }.
 */
export function mailbox(page, server, shot) {
  return async function latestMail(subjectPart, pathPrefix, { exclude = [] } = {}) {
    const linkRe = new RegExp(`${escapeRe(server.baseUrl + pathPrefix)}([^/\\s"'<>]+)/`);
    const deadline = Date.now() + 15_000;
    let seen = [];
    while (Date.now() < deadline) {
      await page.goto(server.url('/dev/outbox/'));
      const links = page.locator('ul.mail-list li a');
      const count = await links.count();
      const candidates = [];
      for (let i = 0; i < count; i += 1) {
        const subject = (await links.nth(i).innerText()).trim();
        const href = await links.nth(i).getAttribute('href');
        if (subject.includes(subjectPart) && !exclude.includes(href)) candidates.push({ i, subject, href });
      }
      seen = candidates.map((c) => c.subject);
      // The list is expected newest first; each candidate is checked anyway, so order only saves time.
      for (const c of candidates) {
        if (c === candidates[0]) await shot(`outbox-${subjectPart.toLowerCase()}`);
        else await page.goto(server.url('/dev/outbox/'));
        await clickAndWait(page, page.locator('ul.mail-list li a').nth(c.i));
        const body = await page.locator('pre.mail-body').innerText();
        const m = body.match(linkRe);
        if (m) {
          await shot(`mail-${subjectPart.toLowerCase()}`);
          return { link: m[0], token: m[1], subject: c.subject, body, href: c.href };
        }
      }
      await sleep(500);
    }
    throw new Error(
      `No mail with a subject containing ${JSON.stringify(subjectPart)} and a link ${server.baseUrl}${pathPrefix}<token>/ ` +
        `reached /dev/outbox/ within 15 s. Matching subjects seen: ${JSON.stringify(seen)}. Server log:\n${server.logTail(30)}`,
    );
  };
}

// ---------------------------------------------------------------------------------------------
// Screenshots of one test file: screenshots/<prefix>-NN-name.png, numbered per prefix, so files
// that run one after another keep each other's pictures.

/** Removes screenshots/<prefix>-* left from an earlier run; other files' pictures stay. */
export function clearScreenshots(prefix) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  for (const name of fs.readdirSync(SCREENSHOTS)) {
    if (name.startsWith(`${prefix}-`)) fs.rmSync(path.join(SCREENSHOTS, name), { force: true });
  }
}

export function prefixedShooter(prefix, defaultPage) {
  let counter = 0;
  return async function shot(name, page = defaultPage) {
    counter += 1;
    const file = path.join(SCREENSHOTS, `${prefix}-${String(counter).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}

// ---------------------------------------------------------------------------------------------
// A server whose database was prepared first (e.g. `createsuperuser`), for the console tests.

/**
 * Like startServer(), on `port` when given, with `env` added to the server's environment, but
 * first makes the temp dir and environment and calls
 * `setup({ bin, env, tmpDir, run })` with them, before `serve` starts; `run(args, extraEnv)` runs
 * the app binary once (synchronously) with that same DATABASE_URL and returns its stdout.
 * The server answers and stops exactly as startServer()'s does.
 */
export async function startServerWith({ setup, port: chosenPort, env: extraEnv = {} } = {}) {
  const bin = path.resolve(E2E_DIR, process.env.E2E_BIN || '../target/debug/shoestring');
  if (!fs.existsSync(bin)) {
    throw new Error(`App binary not found at ${bin}. Build it first (cargo build), or set E2E_BIN.`);
  }
  const port = chosenPort ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoestring-e2e-'));
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const env = {
    ...process.env,
    BIND: `127.0.0.1:${port}`,
    DATABASE_URL: `sqlite://${path.join(tmpDir, 'e2e.db')}`,
    BASE_URL: baseUrl,
    APP_ENV: 'development',
    RUST_LOG: 'info',
    NO_COLOR: '1',
    ...extraEnv,
  };
  const run = (args, extraEnv = {}) => {
    try {
      return execFileSync(bin, args, { cwd: tmpDir, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
    } catch (e) {
      throw new Error(`\`shoestring ${args.join(' ')}\` failed (${e.status ?? e.signal}):\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  };
  try {
    if (setup) await setup({ bin, env, tmpDir, run });
  } catch (e) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    throw e;
  }

  const logFd = fs.openSync(SERVER_LOG, 'w');
  const proc = spawn(bin, ['serve'], { cwd: tmpDir, env, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  const server = {
    port,
    baseUrl,
    tmpDir,
    pid: proc.pid,
    url: (p) => new URL(p, baseUrl).toString(),
    logTail: (n) => tail(SERVER_LOG, n),
    async stop() {
      if (exited) return exited;
      try {
        process.kill(proc.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const done = await Promise.race([exitPromise, sleep(5000).then(() => null)]);
      if (!done) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await exitPromise;
      }
      fs.rmSync(tmpDir, { recursive: true, force: true });
      return exited;
    },
  };

  const deadline = Date.now() + 30_000;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`shoestring serve exited early (${JSON.stringify(exited)}). Last lines of ${SERVER_LOG}:\n${tail(SERVER_LOG)}`);
    }
    try {
      const res = await fetch(`${baseUrl}/`, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return server;
      lastError = `GET / answered ${res.status}`;
    } catch (e) {
      lastError = e.cause?.code || e.message;
    }
    await sleep(200);
  }
  await server.stop();
  throw new Error(`shoestring serve did not answer 200 on ${baseUrl}/ within 30 s (${lastError}). Log:\n${tail(SERVER_LOG)}`);
}

// ---------------------------------------------------------------------------------------------
// Walks: a browser test as sequential steps

/**
 * Sequential steps of one walk: once a step fails, the later ones are skipped so the first
 * failure stands out. `onFail(name)` may take a screenshot; `walk.broken` names the failed step.
 */
export function walk(onFail) {
  const state = { broken: null };
  state.step = (name, fn) =>
    test(name, { timeout: 90_000 }, async (t) => {
      if (state.broken) {
        t.skip(`skipped: the step "${state.broken}" failed`);
        return;
      }
      try {
        await fn();
      } catch (err) {
        state.broken = name;
        await Promise.resolve(onFail?.(`FAILED-${name.replace(/\W+/g, '-').slice(0, 40)}`)).catch(() => {});
        throw err;
      }
    });
  return state;
}

/** A new browser context with one page, its timeouts set, guarded by `guardPage`. */
export async function newGuardedPage(browser, label, options) {
  const ctx = await browser.newContext(options);
  ctx.setDefaultTimeout(10_000);
  ctx.setDefaultNavigationTimeout(15_000);
  const p = await ctx.newPage();
  return { context: ctx, page: p, guard: await guardPage(p, label) };
}
