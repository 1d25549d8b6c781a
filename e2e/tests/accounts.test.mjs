// A person's walk through the accounts pages in real Chromium: sign up, confirm by email, log in,
// edit the profile, log out, reset the password, log in again. Every page visited is saved as
// screenshots/NN-name.png; the server's own output goes to screenshots/server.log.
//
// Along the way, every page is guarded: no request may leave 127.0.0.1, no console error
// (Chromium reports CSP violations there), no uncaught exception, no JavaScript dialog.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  PHONE,
  SERVER_LOG,
  checkChromium,
  clickAndWait,
  expectText,
  fillPasswords,
  guardPage,
  launchBrowser,
  mailbox,
  pageText,
  resetScreenshots,
  shooter,
  startServer,
  walk,
} from './helpers.mjs';

const USERNAME = `e2e_${Date.now()}`;
const EMAIL = `${USERNAME}@example.com`;
const PASSWORD = 'correct horse battery staple 42';
const NEW_PASSWORD = 'purple otter juggling lanterns 77';
const NICKNAME = '\u00DCn\u00EFcode \u{1F980}'; // "Ünïcode 🦀"
const NEW_FIRST_NAME = 'Renamed';
const XSS_NICKNAMES = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>'];
const BAD_LOGIN = 'Please enter a correct username/email and password';

let server;
let browser;
let context;
let page;
let guard;
let phone; // { context, page, guard } at 390x844, opened when first needed
let shot;
let latestMail;
const secrets = {}; // tokens seen in mails; must never appear in the server log

const pathOf = (p) => new URL(p.url()).pathname;

const walkState = walk((name) => shot?.(name));
const { step } = walkState;

async function phonePage() {
  if (!phone) {
    // Same cookies as the desktop page, so the phone sees what the logged-in person sees.
    const pctx = await browser.newContext({ ...PHONE, storageState: await context.storageState() });
    const ppage = await pctx.newPage();
    phone = { context: pctx, page: ppage, guard: await guardPage(ppage, 'phone') };
  } else {
    await phone.context.addCookies(await context.cookies());
  }
  return phone.page;
}

async function login(login, password) {
  await page.goto(server.url('/accounts/login/'));
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill(password);
  await clickAndWait(page, page.getByRole('button', { name: 'Log in', exact: true }));
}

async function saveProfile(fields) {
  await page.goto(server.url('/accounts/profile/edit/'));
  for (const [name, value] of Object.entries(fields)) await page.locator(`input[name=${name}]`).fill(value);
  await clickAndWait(page, page.getByRole('button', { name: 'Save', exact: true }));
  assert.equal(pathOf(page), '/accounts/profile/');
}

before(async () => {
  resetScreenshots();
  const versions = checkChromium();
  console.log(`# chromium ${versions.chromium}, playwright-core ${versions.playwright}`);
  server = await startServer();
  console.log(`# shoestring serve on ${server.baseUrl} (pid ${server.pid}), log in ${SERVER_LOG}`);
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  page = await context.newPage();
  guard = await guardPage(page, 'desktop');
  shot = shooter(page);
  latestMail = mailbox(page, server, shot);
});

after(async () => {
  await browser?.close().catch(() => {});
  const exit = await server?.stop();
  if (walkState.broken && server) {
    console.error(`# server exit: ${JSON.stringify(exit)}; last lines of ${SERVER_LOG}:\n${server.logTail(40)}`);
  }
});

step('1. the landing page links to sign-up', async () => {
  await page.goto(server.url('/'));
  await shot('landing');
  const signUp = page.getByRole('link', { name: 'Sign up', exact: true }).first();
  assert.equal(await signUp.getAttribute('href'), '/accounts/signup/');
  await clickAndWait(page, signUp);
  assert.equal(pathOf(page), '/accounts/signup/');
});

step('2. sign up', async () => {
  await shot('signup');
  const p = await phonePage();
  await p.goto(server.url('/accounts/signup/'));
  await shot('signup-phone', p);

  const password = page.locator('input[name=password]');
  assert.equal(await password.getAttribute('type'), 'password');
  assert.equal(await password.getAttribute('autocomplete'), 'new-password');

  await page.locator('input[name=username]').fill(USERNAME);
  await page.locator('input[name=email]').fill(EMAIL);
  await fillPasswords(password, PASSWORD);
  await page.locator('input[name=first_name]').fill('Edith');
  await page.locator('input[name=last_name]').fill('Tester');
  await page.locator('input[name=nickname]').fill(NICKNAME);
  await clickAndWait(page, page.getByRole('button', { name: 'Create account', exact: true }));
  await expectText(page, 'Check your email');
  await shot('signup-done');
});

step('3-4. confirm the account from the emailed link', async () => {
  const mail = await latestMail('Confirm', '/accounts/confirm/');
  secrets.confirmToken = mail.token;
  await page.goto(mail.link);
  await shot('confirm');
  await clickAndWait(page, page.getByRole('button', { name: 'Confirm my account', exact: true }));
  await expectText(page, 'Your account is confirmed');
  await shot('confirmed');
});

step('5. log in and see the profile', async () => {
  await page.goto(server.url('/accounts/login/'));
  await shot('login');
  const password = page.locator('input[name=password]');
  assert.equal(await password.getAttribute('type'), 'password');
  assert.equal(await password.getAttribute('autocomplete'), 'current-password');
  assert.equal(await page.locator('input[type=password][autocomplete=current-password]').count(), 1);

  await login(USERNAME, PASSWORD);
  assert.equal(pathOf(page), '/accounts/profile/');
  await expectText(page, USERNAME);
  await expectText(page, NICKNAME);
  await shot('profile');

  const p = await phonePage();
  await p.goto(server.url('/accounts/profile/'));
  assert.equal(pathOf(p), '/accounts/profile/', 'the phone context shares the login session');
  await shot('profile-phone', p);
});

step('6. edit the profile', async () => {
  await clickAndWait(page, page.getByRole('link', { name: 'Edit profile', exact: true }));
  assert.equal(pathOf(page), '/accounts/profile/edit/');
  await shot('profile-edit');
  assert.equal((await page.locator('input[name=nickname]').inputValue()).normalize('NFC'), NICKNAME.normalize('NFC'));
  assert.equal(await page.locator('input[name=first_name]').inputValue(), 'Edith');
  assert.equal(await page.locator('input[name=last_name]').inputValue(), 'Tester');

  await page.locator('input[name=first_name]').fill(NEW_FIRST_NAME);
  await clickAndWait(page, page.getByRole('button', { name: 'Save', exact: true }));
  assert.equal(pathOf(page), '/accounts/profile/');
  assert.ok(await page.locator('.flash-success').first().isVisible(), 'a .flash-success message is shown');
  await expectText(page, NEW_FIRST_NAME);
  await shot('profile-saved');
});

step('6b. markup in a nickname is shown as text, never run', async () => {
  for (const [i, nickname] of XSS_NICKNAMES.entries()) {
    await saveProfile({ nickname });
    await expectText(page, nickname);
    // Give a smuggled script or onerror handler a moment to fire; the page guard records any dialog.
    await page.waitForTimeout(300);
    assert.equal(await page.locator('img[src=x]').count(), 0, 'no <img> element was created from the nickname');
    await shot(`profile-xss-${i + 1}`);
  }
  assert.deepEqual(guard.problems(), [], 'no dialog, console error or foreign request so far');
  await saveProfile({ nickname: NICKNAME });
  await expectText(page, NICKNAME);
});

step('7. log out', async () => {
  await clickAndWait(page, page.getByRole('button', { name: 'Log out', exact: true }).first());
  await page.getByRole('link', { name: 'Log in', exact: true }).first().waitFor();
  await shot('logged-out');

  await page.goto(server.url('/accounts/profile/'));
  const url = new URL(page.url());
  assert.equal(url.pathname, '/accounts/login/', 'the profile needs a login');
  assert.equal(url.searchParams.get('next'), '/accounts/profile/');
  await shot('login-next');
});

step('8. ask for a password reset', async () => {
  await page.goto(server.url('/accounts/login/'));
  await clickAndWait(page, page.getByRole('link', { name: 'Forgot your password?', exact: true }));
  assert.equal(pathOf(page), '/accounts/password-reset/');
  await shot('password-reset');

  // An unknown address gets the same answer as a known one.
  await page.locator('input[name=email]').fill(`nobody_${Date.now()}@example.com`);
  await clickAndWait(page, page.getByRole('button', { name: 'Send reset link', exact: true }));
  await expectText(page, 'If an account exists');
  await shot('password-reset-unknown');

  await page.goto(server.url('/accounts/password-reset/'));
  await page.locator('input[name=email]').fill(EMAIL);
  await clickAndWait(page, page.getByRole('button', { name: 'Send reset link', exact: true }));
  await expectText(page, 'If an account exists');
  await shot('password-reset-sent');
});

step('9. set a new password from the emailed link', async () => {
  const mail = await latestMail('Reset', '/accounts/password-reset/');
  secrets.resetToken = mail.token;
  await page.goto(mail.link);
  await shot('password-reset-form');
  const field = page.locator('input[name=new_password]');
  assert.equal(await field.getAttribute('type'), 'password');
  assert.equal(await field.getAttribute('autocomplete'), 'new-password');
  await fillPasswords(field, NEW_PASSWORD);
  await clickAndWait(page, page.getByRole('button', { name: 'Set new password', exact: true }));
  await expectText(page, 'Your password has been changed');
  await shot('password-changed');
});

step('10. the old password is refused, the new one works', async () => {
  await login(USERNAME, PASSWORD);
  assert.equal(pathOf(page), '/accounts/login/');
  await expectText(page, BAD_LOGIN);
  await shot('login-old-password');

  await login(EMAIL, NEW_PASSWORD); // the login field takes the email too
  assert.equal(pathOf(page), '/accounts/profile/');
  await expectText(page, USERNAME);
  await shot('profile-after-reset');
});

/** A check over the whole run so far; it runs even when a step of the walk failed. */
function check(name, fn) {
  test(name, { timeout: 30_000 }, fn);
}

check('no foreign requests, console errors, CSP violations or dialogs on any page', async () => {
  const problems = [...guard.problems(), ...(phone ? phone.guard.problems() : [])];
  assert.deepEqual(problems, []);
});

check('no password, token or session cookie in the server log', async () => {
  const log = fs.readFileSync(SERVER_LOG, 'utf8');
  assert.ok(log.length > 0, 'the server wrote a log');
  const cookies = (await context.cookies()).filter((c) => c.value.length >= 16).map((c) => [`cookie ${c.name}`, c.value]);
  const needles = [
    ['password', PASSWORD],
    ['new password', NEW_PASSWORD],
    ['confirmation token', secrets.confirmToken],
    ['reset token', secrets.resetToken],
    ...cookies,
  ].filter(([, value]) => value); // a token not captured (the walk broke early) cannot be checked
  for (const [what, value] of needles) {
    assert.ok(!log.includes(value), `the ${what} appears in ${SERVER_LOG}`);
  }
});
