// Badges in real Chromium, with single sign-on against a real OpenID Connect provider
// (oidc-provider from tests/labs/oidc-provider, started here on 127.0.0.1): alice signs in through
// the provider, the superuser designs a badge in the console (the slug error shows at the top and
// beside the field, then is fixed) and awards it to her, alice finds it under "My badges", opens
// its page with the share links, and an anonymous visitor sees the public verification page.
// Screenshots: screenshots/badges-NN-name.png; the server log: screenshots/badges-server.log.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import {
  E2E_DIR,
  SCREENSHOTS,
  SERVER_LOG,
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

const STAFF = { username: 'boss', email: 'boss@example.com', password: 'steady lighthouse keeper 9' };
const ALICE = { sub: 'alice', email: 'alice@example.com', name: 'Alice \u{1F40D} Zo\u00EB' }; // "Alice 🐍 Zoë"
const BADGE = 'Python \u{1F40D} Caf\u00E9'; // "Python 🐍 Café"
const SLUG_MESSAGE = 'Only lowercase letters and hyphens are allowed.';
const PROVIDER_DIR = path.resolve(E2E_DIR, '../tests/labs/oidc-provider');
// A 32×32 PNG, for the badge image upload.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAGy0lEQVR42g3NkQKFMABA0TAMwzAcDofhMAyHw2E4HIZhOLgQhuFwOBwOw/fOD5yu6+g7ho6xY+qYO0SH7FAdS4fuWDu2DtNhO1zH3uE7QsfRcXZcHbHj7ng63o7UkTtKR+1oHV9H1/X0PUPP2DP1zD2iR/aonqVH96w9W4/psT2uZ+/xPaHn6Dl7rp7Yc/c8PW9P6sk9paf2tJ6v/wcD/cAwMA5MA/OAGJADamAZ0APrwDZgBuyAG9gH/EAYOAbOgWsgDtwDz8A7kAbyQBmoA23gG/7BSD8yjIwj08g8IkbkiBpZRvTIOrKNmBE74kb2ET8SRo6Rc+QaiSP3yDPyjqSRPFJG6kgb+cZ/MNFPDBPjxDQxT4gJOaEmlgk9sU5sE2bCTriJfcJPhIlj4py4JuLEPfFMvBNpIk+UiTrRJr7pH8z0M8PMODPNzDNiRs6omWVGz6wz24yZsTNuZp/xM2HmmDlnrpk4c888M+9MmskzZabOtJlv/geCXjAIRsEkmAVCIAVKsAi0YBVsAiOwAifYBV4QBIfgFFyCKLgFj+AVJEEWFEEVNMEn/oGklwySUTJJZomQSImSLBItWSWbxEisxEl2iZcEySE5JZckSm7JI3klSZIlRVIlTfLJf6DoFYNiVEyKWSEUUqEUi0IrVsWmMAqrcIpd4RVBcShOxaWIilvxKF5FUmRFUVRFU3zqHyz0C8PCuDAtzAtiQS6ohWVBL6wL24JZsAtuYV/wC2HhWDgXroW4cC88C+9CWsgLZaEutIVv+QeaXjNoRs2kmTVCIzVKs2i0ZtVsGqOxGqfZNV4TNIfm1FyaqLk1j+bVJE3WFE3VNM2n/8FKvzKsjCvTyrwiVuSKWllW9Mq6sq2YFbviVvYVvxJWjpVz5VqJK/fKs/KupJW8UlbqSlv51n+w0W8MG+PGtDFviA25oTaWDb2xbmwbZsNuuI19w2+EjWPj3Lg24sa98Wy8G2kjb5SNutE2vu0fGHrDYBgNk2E2CIM0KMNi0IbVsBmMwRqcYTd4QzAchtNwGaLhNjyG15AM2VAM1dAMn/kHlt4yWEbLZJktwiItyrJYtGW1bBZjsRZn2S3eEiyH5bRclmi5LY/ltSRLthRLtTTLZ/+Bo3cMjtExOWaHcEiHciwO7Vgdm8M4rMM5dod3BMfhOB2XIzpux+N4HcmRHcVRHc3xuX+w0+8MO+POtDPviB25o3aWHb2z7mw7ZsfuuJ19x++EnWPn3Ll24s698+y8O2kn75SdutN2vv0feHrP4Bk9k2f2CI/0KM/i0Z7Vs3mMx3qcZ/d4T/AcntNzeaLn9jye15M82VM81dM8n/8HgT4wBMbAFJgDIiADKrAEdGANbAETsAEX2AM+EAJH4AxcgRi4A0/gDaRADpRADbTAF/7BQX8wHIwH08F8IA7kgTpYDvTBerAdmAN74A72A38QDo6D8+A6iAf3wXPwHqSDfFAO6kE7+I5/cNKfDCfjyXQyn4gTeaJOlhN9sp5sJ+bEnriT/cSfhJPj5Dy5TuLJffKcvCfpJJ+Uk3rSTr7zH1z0F8PFeDFdzBfiQl6oi+VCX6wX24W5sBfuYr/wF+HiuDgvrot4cV88F+9FusgX5aJetIvv+geRPjJExsgUmSMiIiMqskR0ZI1sEROxERfZIz4SIkfkjFyRGLkjT+SNpEiOlEiNtMgX/8FNfzPcjDfTzXwjbuSNullu9M16s92YG3vjbvYbfxNujpvz5rqJN/fNc/PepJt8U27qTbv57n/w0D8MD+PD9DA/iAf5oB6WB/2wPmwP5sE+uIf9wT+Eh+PhfLge4sP98Dy8D+khP5SH+tAevucfvPQvw8v4Mr3ML+JFvqiX5UW/rC/bi3mxL+5lf/Ev4eV4OV+ul/hyvzwv70t6yS/lpb60l+/9B4k+MSTGxJSYEyIhEyqxJHRiTWwJk7AJl9gTPhESR+JMXImYuBNP4k2kRE6URE20xJf+QabPDJkxM2XmjMjIjMosGZ1ZM1vGZGzGZfaMz4TMkTkzVyZm7syTeTMpkzMlUzMt8+V/UOgLQ2EsTIW5IAqyoApLQRfWwlYwBVtwhb3gC6FwFM7CVYiFu/AU3kIq5EIp1EIrfOUfVPrKUBkrU2WuiIqsqMpS0ZW1slVMxVZcZa/4SqgclbNyVWLlrjyVt5IquVIqtdIqX/0Hjb4xNMbG1JgboiEbqrE0dGNtbA3TsA3X2Bu+ERpH42xcjdi4G0/jbaRGbpRGbbTG1/7BR/8xfIwf08f8IT7kh/pYPvTH+rF9mA/74T72D/8RPo6P8+P6iB/3x/PxfqSP/FE+6kf7+D5+rd6wW01vd1sAAAAASUVORK5CYII=',
  'base64',
);

let server;
let provider;
let providerDir;
let browser;
let staff;
let alice;
let anon;
let shot;
let awardUrl;
let issuerOrigin;

const pathOf = (p) => new URL(p.url()).pathname;
const walkState = walk((name) => shot?.(name));
const { step } = walkState;

/** Starts the provider with its client registered for `redirectUri`; resolves with its issuer. */
async function startProvider(redirectUri) {
  if (!fs.existsSync(path.join(PROVIDER_DIR, 'node_modules/oidc-provider'))) {
    throw new Error(`The OpenID Connect provider is not installed: npm ci in ${PROVIDER_DIR} (see .ci/badges-test.sh).`);
  }
  providerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoestring-oidc-'));
  const accounts = { [ALICE.sub]: { email: ALICE.email, email_verified: true, name: ALICE.name, given_name: 'Alice \u{1F40D}', family_name: 'Zo\u00EB' } };
  fs.writeFileSync(path.join(providerDir, 'accounts.json'), JSON.stringify(accounts));
  provider = spawn('node', [path.join(PROVIDER_DIR, 'provider.mjs')], {
    env: {
      ...process.env,
      PORT: '0',
      CLIENT_ID: 'shoestring-e2e',
      CLIENT_SECRET: 'e2e-secret-0123456789-abcdef',
      REDIRECT_URI: redirectUri,
      ACCOUNTS_FILE: path.join(providerDir, 'accounts.json'),
      KEY_FILE: path.join(providerDir, 'key.json'),
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = readline.createInterface({ input: provider.stdout });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the provider did not start within 20 s')), 20_000);
    lines.on('line', (line) => {
      const m = line.match(/^listening (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return `http://127.0.0.1:${port}`;
}

before(async () => {
  clearScreenshots('badges');
  checkChromium();
  const port = await freePort();
  const issuer = await startProvider(`http://127.0.0.1:${port}/accounts/sso/callback/`);
  issuerOrigin = issuer;
  server = await startServerWith({
    port,
    env: {
      OIDC_ISSUER_URL: issuer,
      OIDC_CLIENT_ID: 'shoestring-e2e',
      OIDC_CLIENT_SECRET: 'e2e-secret-0123456789-abcdef',
      OIDC_ALLOWED_DOMAINS: 'example.com',
      BADGE_ISSUER_NAME: 'Shoestring Academy \u{1F393}',
    },
    setup: ({ run }) => {
      run(['createsuperuser', '--noinput', '--username', STAFF.username, '--email', STAFF.email], {
        SUPERUSER_PASSWORD: STAFF.password,
      });
    },
  });
  browser = await launchBrowser();
  staff = await newGuardedPage(browser, 'staff', { viewport: { width: 1280, height: 900 } });
  alice = await newGuardedPage(browser, 'alice', { viewport: { width: 1280, height: 900 } });
  shot = prefixedShooter('badges', staff.page);
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  if (provider && provider.exitCode === null) provider.kill('SIGTERM');
  if (providerDir) fs.rmSync(providerDir, { recursive: true, force: true });
  if (fs.existsSync(SERVER_LOG)) fs.copyFileSync(SERVER_LOG, path.join(SCREENSHOTS, 'badges-server.log'));
});

step('1. alice signs in through the company provider and lands on her profile', async () => {
  const p = alice.page;
  await p.goto(server.url('/accounts/login/'));
  await shot('login', p);
  await clickAndWait(p, p.getByRole('button', { name: 'Sign in with your company account', exact: true }));
  // The app's page sends the browser on to the provider (Refresh), which shows its login form.
  await p.waitForURL(/\/interaction\//, { timeout: 15_000 });
  await p.locator('input[name=login]').waitFor();
  await p.locator('input[name=login]').fill(ALICE.sub);
  await p.locator('input[name=password]').fill('any password');
  await shot('provider-login', p);
  await clickAndWait(p, p.locator('button[type=submit]').first());
  await shot('provider-consent', p);
  await clickAndWait(p, p.locator('button[type=submit]').first());
  assert.equal(pathOf(p), '/accounts/profile/', `after the provider: ${p.url()}`);
  await expectText(p, 'Alice \u{1F40D}');
  await shot('profile', p);
});

step('2. the superuser designs a badge: a bad slug is shown at the top and beside the field', async () => {
  const p = staff.page;
  await p.goto(server.url('/accounts/login/'));
  await p.locator('input[name=login]').fill(STAFF.username);
  await p.locator('input[name=password]').fill(STAFF.password);
  await clickAndWait(p, p.getByRole('button', { name: 'Log in', exact: true }));
  await p.goto(server.url('/admin/badges/new/'));
  await p.locator('input[name=name]').fill(BADGE);
  await p.locator('input[name=slug]').fill('Python \u{1F40D}');
  await p.locator('textarea[name=description]').fill('Writes tidy Python \u{1F40D}.');
  await p.locator('textarea[name=criteria]').fill('Finish the course \u{1F4DA}.');
  await p.locator('input[name=image]').setInputFiles({ name: 'badge.png', mimeType: 'image/png', buffer: PNG });
  await clickAndWait(p, p.getByRole('button', { name: 'Save badge', exact: true }));
  await expectText(p, `Slug: ${SLUG_MESSAGE}`);
  assert.equal(await p.locator('.field.has-error p.error', { hasText: SLUG_MESSAGE }).count(), 1, 'the error beside the slug');
  await shot('slug-error');

  await p.locator('input[name=slug]').fill('python-101');
  await p.locator('input[name=image]').setInputFiles({ name: 'badge.png', mimeType: 'image/png', buffer: PNG });
  await clickAndWait(p, p.getByRole('button', { name: 'Save badge', exact: true }));
  await expectText(p, `Created the badge ${BADGE}.`);
  await shot('badge-created');
});

step('3. the superuser awards the badge to alice, with a preview first', async () => {
  const p = staff.page;
  await p.locator('textarea[name=recipients]').fill(`${ALICE.email}\nnobody@example.com`);
  await clickAndWait(p, p.getByRole('button', { name: 'Preview', exact: true }));
  await expectText(p, 'will be awarded');
  await clickAndWait(p, p.getByRole('button', { name: 'Award', exact: true }));
  await expectText(p, 'Awarded to 1 person.');
  await expectText(p, 'nobody@example.com: No account with this email or username.');
  await shot('awarded');
});

step('4. alice finds it under My badges and opens it with its share links', async () => {
  const p = alice.page;
  await p.goto(server.url('/badges/'));
  await expectText(p, BADGE);
  await shot('my-badges', p);
  await clickAndWait(p, p.getByRole('link', { name: BADGE }));
  awardUrl = p.url();
  assert.match(pathOf(p), /^\/badges\/awards\/[0-9a-f-]{36}\/$/);
  const linkedin = await p.getByRole('link', { name: 'Add to LinkedIn' }).getAttribute('href');
  assert.ok(linkedin.startsWith('https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME'), linkedin);
  assert.ok(linkedin.includes(`certUrl=${encodeURIComponent(awardUrl)}`), linkedin);
  assert.equal(await p.locator('#share-link').inputValue(), awardUrl);
  await shot('award-share', p);
});

step('5. an anonymous visitor sees the public verification page', async () => {
  anon = await newGuardedPage(browser, 'anonymous', { viewport: { width: 390, height: 844 } });
  const p = anon.page;
  await p.goto(awardUrl);
  await expectText(p, 'Verified: Shoestring Academy');
  await expectText(p, 'Awarded to Alice');
  assert.equal(await p.locator('meta[property="og:title"]').getAttribute('content'), `${BADGE} \u00B7 Alice \u{1F40D} Zo\u00EB`);
  assert.equal(await p.getByRole('link', { name: 'Add to LinkedIn' }).count(), 0, 'share links are for the holder');
  await shot('public-page', p);
});

step('6. no page broke a rule along the way', async () => {
  // The provider's own development pages (not the app) ask Google Fonts for a font and have no
  // favicon; nothing leaves 127.0.0.1 here, so those fail. Everything on the app's pages counts.
  const fromProvider = (problem) => problem.includes('https://fonts.googleapis.com/') || problem.includes(`${issuerOrigin}/`);
  const problems = [staff, alice, anon].flatMap((who) => who?.guard.problems() ?? []).filter((p) => !fromProvider(p));
  assert.deepEqual(problems, []);
});
