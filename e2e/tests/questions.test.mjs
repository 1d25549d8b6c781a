// A question page in real Chromium: staff define "Does Tatis Jr have an error today?" in the
// console against a local stand-in for the stats API (a bad JSONPath first, refused with a field
// error), test the source, save, and a visitor on a phone sees the answer in large type once the
// server's own worker has read the source. Screenshots are screenshots/questions-NN-name.png.
// Every page is guarded: no request leaves 127.0.0.1, no console error, no uncaught exception.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  PHONE,
  SCREENSHOTS,
  SERVER_LOG,
  checkChromium,
  clearScreenshots,
  clickAndWait,
  expectText,
  launchBrowser,
  newGuardedPage,
  prefixedShooter,
  startServerWith,
  walk,
} from './helpers.mjs';

const STAFF = { username: 'boss', email: 'boss@example.com', password: 'steady lighthouse keeper 9' };
const ZONE = 'America/Los_Angeles';

let server;
let source;
let sourceUrl;
let browser;
let staff;
let phone;
let shot;

const walkState = walk((name) => shot?.(name));
const { step } = walkState;

/** Today's date in the question's zone, as the stats API writes game dates. */
function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

/** The stand-in API: a fielding game log with one error in today's game. */
function startSource() {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const splits = [
        { date: '2026-03-28', stat: { errors: 0, fielding: '1.000' }, team: { id: 135, name: 'San Diego Padres' } },
        { date: today(), stat: { errors: 1, fielding: '.833' }, team: { id: 135, name: 'San Diego Padres' } },
      ];
      const body = JSON.stringify({ stats: [{ type: { displayName: 'gameLog' }, group: { displayName: 'fielding' }, splits }] });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

async function fill(p, fields) {
  for (const [name, value] of Object.entries(fields)) await p.locator(`[name=${name}]`).fill(value);
}

before(async () => {
  clearScreenshots('questions');
  checkChromium();
  source = await startSource();
  sourceUrl = `http://127.0.0.1:${source.address().port}/api/v1/people/665487/stats?stats=gameLog&group=fielding&season={year}`;
  server = await startServerWith({
    setup: ({ env, run }) => {
      env.OUTBOUND_ALLOW_LOOPBACK = 'true';
      run(['createsuperuser', '--noinput', '--username', STAFF.username, '--email', STAFF.email], {
        SUPERUSER_PASSWORD: STAFF.password,
      });
    },
  });
  browser = await launchBrowser();
  staff = await newGuardedPage(browser, 'staff', { viewport: { width: 1280, height: 900 } });
  phone = await newGuardedPage(browser, 'phone', PHONE);
  shot = prefixedShooter('questions', staff.page);
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  source?.close();
  if (fs.existsSync(SERVER_LOG)) fs.copyFileSync(SERVER_LOG, path.join(SCREENSHOTS, 'questions-server.log'));
});

step('1. staff log in and open a new question in the console', async () => {
  const p = staff.page;
  await p.goto(server.url('/accounts/login/?next=/admin/questions/'));
  await p.locator('input[name=login]').fill(STAFF.username);
  await p.locator('input[name=password]').fill(STAFF.password);
  await clickAndWait(p, p.getByRole('button', { name: 'Log in', exact: true }));
  await expectText(p, 'Questions');
  await clickAndWait(p, p.getByRole('link', { name: 'New question' }));
  await shot('new-question');
});

step('2. a bad JSONPath is refused beside its field', async () => {
  const p = staff.page;
  await fill(p, {
    title: 'Does Tatis Jr have an error today?',
    slug: 'tatis',
    source_url: sourceUrl,
    json_path: "$.stats[0].splits[?@.date == '{today}'.stat.errors",
    yes_text: 'YES',
    no_text: 'NO',
    time_zone: ZONE,
  });
  await p.locator('[name=empty_is_zero]').check();
  await clickAndWait(p, p.getByRole('button', { name: 'Save' }));
  await expectText(p, 'Not a valid JSONPath');
  await shot('bad-jsonpath');
});

step('3. testing the source shows the value matched and the answer, and saves nothing', async () => {
  const p = staff.page;
  await fill(p, { json_path: "$.stats[0].splits[?@.date == '{today}'].stat.errors" });
  await clickAndWait(p, p.getByRole('button', { name: 'Test this source' }));
  await expectText(p, 'The path matched 1 value.');
  assert.equal((await p.locator('.test-answer').innerText()).trim(), 'YES');
  await shot('tested');
  await clickAndWait(p, p.getByRole('button', { name: 'Save' }));
  await expectText(p, 'Saved /q/tatis/.');
  await shot('saved');
});

step('4. on a phone, the page shows the answer in large type once the worker has read it', async () => {
  const p = phone.page;
  const deadline = Date.now() + 75_000;
  let answer = '';
  while (Date.now() < deadline) {
    await p.goto(server.url('/q/tatis/'));
    answer = (await p.locator('.q-answer').innerText()).trim();
    if (answer === 'YES') break;
    await sleep(2000);
  }
  assert.equal(answer, 'YES', 'the scheduled read answered');
  await expectText(p, 'as of');
  const size = await p.locator('.q-answer').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  const fits = await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(size >= 64, `answer font-size ${size}px`);
  assert.ok(fits, 'no sideways scrolling on a phone');
  assert.equal(await p.locator('meta[property="og:title"]').getAttribute('content'), 'Does Tatis Jr have an error today?');
  await shot('phone-answer', p);
  const twin = await (await fetch(server.url('/q/tatis.json'))).json();
  assert.equal(twin.answer, 'yes');
});

step('5. no page had a problem', async () => {
  assert.deepEqual([...staff.guard.problems(), ...phone.guard.problems()], []);
});
