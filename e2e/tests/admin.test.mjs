// A staff member's walk through the console in real Chromium: an anonymous visit to /admin/ asks
// for a login on the console's own page; the superuser (made with `shoestring createsuperuser --noinput` before the server
// starts) logs in, reads the dashboard, finds a member with the filter form, deactivates them,
// and sees the change in the user's activity and in the audit trail. The member, signed in
// meanwhile in a browser of their own, is signed out and can no longer log in. A member who is
// not staff gets a 403 for /admin/. Every page visited is saved as screenshots/admin-NN-name.png;
// the server's own output is copied to screenshots/admin-server.log when the walk ends.
//
// Along the way, every page is guarded: no request may leave 127.0.0.1, no console error
// (Chromium reports CSP violations there), no uncaught exception, no JavaScript dialog.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  PHONE,
  SCREENSHOTS,
  SERVER_LOG,
  checkChromium,
  clearScreenshots,
  clickAndWait,
  expectText,
  fillPasswords,
  guardPage,
  launchBrowser,
  mailbox,
  newGuardedPage,
  prefixedShooter,
  startServerWith,
  walk,
} from './helpers.mjs';

const STAMP = Date.now();
const STAFF = { username: 'boss', email: 'boss@example.com', password: 'steady lighthouse keeper 9' };
const MEMBER = { username: `member_${STAMP}`, email: `member_${STAMP}@example.com`, password: 'correct horse battery staple 42' };
const OUTSIDER = { username: `outsider_${STAMP}`, email: `outsider_${STAMP}@example.com`, password: 'quiet meadow under snow 31' };
const BAD_LOGIN = 'Please enter a correct username/email and password.';

let server;
let browser;
let staff; // { context, page, guard }: the superuser, desktop
let member; // { context, page, guard }: the member who gets deactivated
let outsider; // { context, page, guard }: a member who is not staff
let anon; // { context, page, guard }: never logged in
let phone; // { context, page, guard }: the superuser's cookies at 390x844
let shot;
let memberId;
let memberMailHref;

const pathOf = (p) => new URL(p.url()).pathname;

const walkState = walk((name) => shot?.(name));
const { step } = walkState;


/** The newest mail for `who` (a guarded page) from the dev outbox, read in their own browser. */
function mailFor(who, subjectPart, pathPrefix, options) {
  return mailbox(who.page, server, (name, p = who.page) => shot(name, p))(subjectPart, pathPrefix, options);
}

/** Fills and sends the login form the page shows now. */
async function submitLogin(p, who) {
  await p.locator('input[name=login]').fill(who.username);
  await p.locator('input[name=password]').fill(who.password);
  await clickAndWait(p, p.getByRole('button', { name: 'Log in', exact: true }));
}

/** Clicks something that loads a new page without a redirect (a GET form) and returns that page's response. */
async function clickForResponse(p, locator) {
  const answered = p.waitForResponse((r) => r.request().isNavigationRequest() && r.request().frame() === p.mainFrame());
  await clickAndWait(p, locator);
  return answered;
}

/** The text of the stat tile labelled `label` on the dashboard. */
async function tile(p, label) {
  const li = p.locator('ul.stats li').filter({ has: p.locator('span', { hasText: new RegExp(`^${label}$`) }) });
  assert.equal(await li.count(), 1, `one "${label}" tile`);
  return (await li.locator('strong').innerText()).trim();
}

/** The audit rows of `table.audit` on the page, as { action, target, changes }. */
async function auditRows(p) {
  return p.locator('table.audit tbody tr').evaluateAll((rows) =>
    rows.map((tr) => {
      const cells = [...tr.querySelectorAll('td')].map((td) => td.innerText.trim());
      return { action: tr.querySelector('code')?.textContent.trim(), who: cells[1], target: cells[3], changes: cells[4] };
    }),
  );
}

/** Whether the page scrolls sideways; the table wrappers may scroll, the page may not. */
async function sidewaysFit(p) {
  return p.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    wraps: [...document.querySelectorAll('.table-wrap')].map((w) => {
      const r = w.getBoundingClientRect();
      return { left: r.left, right: r.right, scrollWidth: w.scrollWidth, clientWidth: w.clientWidth };
    }),
  }));
}

before(async () => {
  clearScreenshots('admin');
  const versions = checkChromium();
  console.log(`# chromium ${versions.chromium}, playwright-core ${versions.playwright}`);
  server = await startServerWith({
    setup: ({ run }) => {
      const out = run(['createsuperuser', '--noinput', '--username', STAFF.username, '--email', STAFF.email], {
        SUPERUSER_PASSWORD: STAFF.password,
      });
      console.log(`# ${out.trim()}`);
    },
  });
  console.log(`# shoestring serve on ${server.baseUrl} (pid ${server.pid}), log in ${SERVER_LOG}`);
  browser = await launchBrowser();
  staff = await newGuardedPage(browser, 'staff', { viewport: { width: 1280, height: 800 } });
  member = await newGuardedPage(browser, 'member', { viewport: { width: 1280, height: 800 } });
  shot = prefixedShooter('admin', staff.page);
});

after(async () => {
  await browser?.close().catch(() => {});
  const exit = await server?.stop();
  if (fs.existsSync(SERVER_LOG)) fs.copyFileSync(SERVER_LOG, path.join(SCREENSHOTS, 'admin-server.log'));
  if (walkState.broken && server) {
    console.error(`# server exit: ${JSON.stringify(exit)}; last lines of ${SERVER_LOG}:\n${server.logTail(40)}`);
  }
});

step('0. a member signs up, confirms from the outbox and logs in in a browser of their own', async () => {
  const p = member.page;
  await p.goto(server.url('/accounts/signup/'));
  await p.locator('input[name=username]').fill(MEMBER.username);
  await p.locator('input[name=email]').fill(MEMBER.email);
  await fillPasswords(p.locator('input[name=password]'), MEMBER.password);
  await p.locator('input[name=first_name]').fill('Mia');
  await p.locator('input[name=last_name]').fill('Member');
  await clickAndWait(p, p.getByRole('button', { name: 'Create account', exact: true }));
  await expectText(p, 'Check your email');

  const mail = await mailFor(member, 'Confirm', '/accounts/confirm/');
  assert.ok(mail.body.includes(`Hi ${MEMBER.username},`), `the mail greets the member:\n${mail.body}`);
  memberMailHref = mail.href;
  await p.goto(mail.link);
  await clickAndWait(p, p.getByRole('button', { name: 'Confirm my account', exact: true }));
  await expectText(p, 'Your account is confirmed');

  await p.goto(server.url('/accounts/login/'));
  await submitLogin(p, MEMBER);
  assert.equal(pathOf(p), '/accounts/profile/');
  await expectText(p, MEMBER.username);
  await shot('member-profile', p);
});

step('1. /admin/ asks an anonymous visitor to log in; the superuser lands on the dashboard', async () => {
  anon = await newGuardedPage(browser, 'anonymous', { viewport: { width: 1280, height: 800 } });
  await anon.page.goto(server.url('/admin/'));
  assert.equal(pathOf(anon.page), '/admin/login/', `an anonymous /admin/ ends on ${anon.page.url()}`);
  assert.ok(anon.page.url().includes('next=%2Fadmin%2F'), `the login URL keeps next=%2Fadmin%2F: ${anon.page.url()}`);
  assert.equal(await anon.page.locator('ul.stats').count(), 0, 'no dashboard for an anonymous visitor');

  const p = staff.page;
  await p.goto(server.url('/admin/'));
  assert.equal(pathOf(p), '/admin/login/', 'the console has its own login page');
  assert.ok(p.url().includes('next=%2Fadmin%2F'), `the login URL keeps next=%2Fadmin%2F: ${p.url()}`);
  await shot('login-next');
  await submitLogin(p, STAFF);
  assert.equal(pathOf(p), '/admin/', `logging in with next=/admin/ lands on ${p.url()}`);
  await p.locator('svg.chart').waitFor();
  await shot('dashboard');

  const nav = await p.locator('nav.admin-nav a').allInnerTexts();
  assert.deepEqual(nav.map((t) => t.trim()), ['Dashboard', 'Users', 'Posts', 'Badges', 'Questions', 'Audit trail']);
  assert.equal(await p.locator('svg.chart rect').count(), 30, 'the chart has a bar per day for 30 days');
  assert.equal(await tile(p, 'users'), '2', 'the superuser and the member');
  assert.equal(await p.getByRole('heading', { name: 'Recent activity' }).count(), 1);
  assert.ok((await p.locator('table.audit tbody tr').count()) > 0, 'the sign-up and logins are in the recent activity');
});

step('2. Users: the filter form finds the member by username; open them', async () => {
  const p = staff.page;
  await clickAndWait(p, p.locator('nav.admin-nav').getByRole('link', { name: 'Users', exact: true }));
  assert.equal(pathOf(p), '/admin/users/');
  assert.equal(await p.locator('table.table tbody tr').count(), 2, 'both users are listed unfiltered');
  await shot('users');

  const form = p.locator('form.filters');
  await form.locator('input[name=q]').fill(MEMBER.username);
  const applied = await clickForResponse(p, form.getByRole('button', { name: 'Apply', exact: true }));
  assert.equal(applied.status(), 200, `the users filter form answered ${applied.status()} for ${p.url()}`);
  const url = new URL(p.url());
  assert.equal(url.pathname, '/admin/users/');
  assert.equal(url.searchParams.get('q'), MEMBER.username, 'the filter form submits by GET');
  assert.equal(await p.locator('form.filters input[name=q]').inputValue(), MEMBER.username, 'the search is kept in the form');
  const rows = p.locator('table.table tbody tr');
  assert.equal(await rows.count(), 1, 'exactly one user matches');
  const link = rows.first().getByRole('link', { name: MEMBER.username, exact: true });
  const href = await link.getAttribute('href');
  const m = href.match(/^\/admin\/users\/(\d+)\/$/);
  assert.ok(m, `the user links to /admin/users/<id>/, not ${href}`);
  memberId = m[1];
  assert.match(await rows.first().innerText(), /active/);
  await shot('users-filtered');

  await clickAndWait(p, link);
  assert.equal(pathOf(p), `/admin/users/${memberId}/`);
  assert.equal((await p.locator('h1').innerText()).trim(), MEMBER.username);
  assert.equal(await p.locator('input[name=email]').inputValue(), MEMBER.email);
  assert.equal(await p.locator('input[name=is_active]').isChecked(), true);
  assert.equal(await p.locator('input[name=is_staff]').isChecked(), false);
  // The member's browser is signed in: the Sessions table lists it.
  const sessions = p.locator('section.card', { has: p.getByRole('heading', { name: 'Sessions' }) }).locator('tbody tr');
  assert.ok((await sessions.count()) >= 1, 'the member has at least one session');
  await shot('user');
});

step('2b. on a phone the users list does not scroll sideways', async () => {
  phone = await newGuardedPage(browser, 'phone', { ...PHONE, storageState: await staff.context.storageState() });
  const p = phone.page;
  await p.goto(server.url('/admin/users/'));
  assert.equal(pathOf(p), '/admin/users/', 'the phone shares the staff session');
  const fit = await sidewaysFit(p);
  assert.ok(fit.scrollWidth <= fit.innerWidth + 1, `the page scrolls sideways on a phone: ${JSON.stringify(fit)}`);
  for (const w of fit.wraps) {
    assert.ok(w.right <= fit.innerWidth + 1, `a table wrapper sticks out of the screen: ${JSON.stringify(fit)}`);
  }
  await shot('users-phone', p);
});

step('3. untick Active and Save: flash, and the activity shows is_active: yes → no', async () => {
  const p = staff.page;
  await p.goto(server.url(`/admin/users/${memberId}/`));
  await p.getByRole('checkbox', { name: 'Active', exact: true }).uncheck();
  await clickAndWait(p, p.getByRole('button', { name: 'Save', exact: true }));
  assert.equal(pathOf(p), `/admin/users/${memberId}/`, 'Save comes back to the user');
  const flash = p.locator('.flash-success').first();
  assert.ok(await flash.isVisible(), 'a .flash-success message is shown');
  assert.equal((await flash.innerText()).trim(), `Saved ${MEMBER.username}.`);
  assert.equal(await p.locator('input[name=is_active]').isChecked(), false, 'the box stays unticked');

  const rows = await auditRows(p);
  const entry = rows.find((r) => r.action === 'admin.user_updated');
  assert.ok(entry, `admin.user_updated in the user's recent activity: ${JSON.stringify(rows)}`);
  assert.match(entry.changes, /is_active: yes → no/);
  assert.equal(entry.who, STAFF.username);
  await shot('user-deactivated');
});

step('4. the member is signed out and cannot log in any more', async () => {
  const p = member.page;
  await p.goto(server.url('/accounts/profile/'));
  assert.equal(pathOf(p), '/accounts/login/', `the member's reload ends on ${p.url()}`);
  await shot('member-signed-out', p);

  await submitLogin(p, MEMBER);
  assert.equal(pathOf(p), '/accounts/login/', 'a deactivated member stays on the login page');
  await expectText(p, BAD_LOGIN);
  await shot('member-login-refused', p);

  // The user's page no longer lists a session.
  const s = staff.page;
  await s.goto(server.url(`/admin/users/${memberId}/`));
  const sessions = s.locator('section.card', { has: s.getByRole('heading', { name: 'Sessions' }) });
  assert.equal(await sessions.locator('tbody tr').count(), 0, 'no session is left for the member');
  await expectText(s, 'Not signed in anywhere.');
});

step('5. the audit trail lists the change, filtered to Target = user', async () => {
  const p = staff.page;
  await clickAndWait(p, p.locator('nav.admin-nav').getByRole('link', { name: 'Audit trail', exact: true }));
  assert.equal(pathOf(p), '/admin/audit/');
  await p.locator('form.filters select[name=target]').selectOption('user');
  const filtered = await clickForResponse(p, p.locator('form.filters').getByRole('button', { name: 'Filter', exact: true }));
  const url = new URL(p.url());
  assert.equal(filtered.status(), 200, `the audit filter form (Target = user, the other fields left as they are) answered ${filtered.status()} for ${url.search}`);
  assert.equal(url.pathname, '/admin/audit/');
  assert.equal(url.searchParams.get('target'), 'user');
  assert.equal(await p.locator('form.filters select[name=target]').inputValue(), 'user', 'the filter is kept');

  const rows = await auditRows(p);
  assert.ok(rows.length > 0, 'the filtered trail has rows');
  for (const r of rows) assert.match(r.target, /^user\b/, `only user targets: ${JSON.stringify(r)}`);
  const entry = rows.find((r) => r.action === 'admin.user_updated' && r.target.includes(MEMBER.username));
  assert.ok(entry, `admin.user_updated for ${MEMBER.username} in the trail: ${JSON.stringify(rows)}`);
  assert.match(entry.changes, /is_active: yes → no/);
  assert.ok(entry.target.includes(`#${memberId}`), `the target names user #${memberId}: ${entry.target}`);
  await shot('audit-user');
});

step('6. a member who is not staff gets a 403 for /admin/', async () => {
  outsider = await newGuardedPage(browser, 'outsider', { viewport: { width: 1280, height: 800 } });
  const api = outsider.context.request;
  const created = await api.post(server.url('/api/create-account/'), {
    data: { username: OUTSIDER.username, email: OUTSIDER.email, password: OUTSIDER.password },
  });
  assert.equal(created.status(), 200, `POST /api/create-account/ answered ${created.status()}: ${await created.text()}`);

  const mail = await mailFor(outsider, 'Confirm', '/accounts/confirm/', { exclude: [memberMailHref] });
  assert.ok(mail.body.includes(`Hi ${OUTSIDER.username},`), `the mail greets the outsider:\n${mail.body}`);
  const activated = await api.post(server.url(`/api/activate-account/${mail.token}`));
  assert.equal(activated.status(), 200, `POST /api/activate-account/<token> answered ${activated.status()}: ${await activated.text()}`);

  const p = outsider.page;
  await p.goto(server.url('/accounts/login/'));
  await submitLogin(p, OUTSIDER);
  assert.equal(pathOf(p), '/accounts/profile/');
  await expectText(p, OUTSIDER.username);

  for (const where of ['/admin/', '/admin/users/', `/admin/users/${memberId}/`, '/admin/audit/']) {
    const res = await p.goto(server.url(where));
    assert.equal(res.status(), 403, `GET ${where} as a member answered ${res.status()} at ${p.url()}`);
    assert.equal(pathOf(p), where, 'no redirect: the member is signed in, just not staff');
    assert.equal(await p.locator('nav.admin-nav').count(), 0, `no console navigation on ${where}`);
    assert.equal(await p.locator('ul.stats, table.audit, form.filters').count(), 0, `no console content on ${where}`);
  }
  await p.goto(server.url('/admin/'));
  await shot('member-403', p);

  // Nor can the member change anyone through a POST.
  const post = await api.post(server.url(`/admin/users/${memberId}/`), {
    form: { first_name: 'x', last_name: 'x', email: MEMBER.email, is_active: 'on' },
    maxRedirects: 0,
  });
  assert.ok(post.status() === 403 || post.status() === 400, `a member's POST to the console answered ${post.status()}`);
  await staff.page.goto(server.url(`/admin/users/${memberId}/`));
  assert.equal(await staff.page.locator('input[name=is_active]').isChecked(), false, 'the member is still inactive');
});

/** A check over the whole run so far; it runs even when a step of the walk failed. */
function check(name, fn) {
  test(name, { timeout: 30_000 }, fn);
}

check('no foreign requests, console errors, CSP violations or dialogs on any page', async () => {
  const problems = [staff, member, outsider, anon, phone].filter(Boolean).flatMap((g) => g.guard.problems());
  assert.deepEqual(problems, []);
});

check('no password or session cookie in the server log', async () => {
  const log = fs.readFileSync(SERVER_LOG, 'utf8');
  assert.ok(log.length > 0, 'the server wrote a log');
  const cookies = [];
  for (const who of [staff, member, outsider].filter(Boolean)) {
    for (const c of await who.context.cookies()) if (c.value.length >= 16) cookies.push([`cookie ${c.name}`, c.value]);
  }
  for (const [what, value] of [
    ['staff password', STAFF.password],
    ['member password', MEMBER.password],
    ['outsider password', OUTSIDER.password],
    ...cookies,
  ]) {
    assert.ok(!log.includes(value), `the ${what} appears in ${SERVER_LOG}`);
  }
});
