// The developer tools the binary serves, in real Chromium and offline: Swagger UI renders the
// OpenAPI document, and GraphiQL runs a query against /graphql. No request may leave 127.0.0.1
// and no console error or CSP violation may appear.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { checkChromium, guardPage, launchBrowser, prefixedShooter, startServer } from './helpers.mjs';

let server;
let browser;
let page;
let guard;
let shot;

before(async () => {
  checkChromium();
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  guard = await guardPage(page, 'docs');
  shot = prefixedShooter('docs', page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('Swagger UI shows every API group from the embedded assets', async () => {
  await page.goto(server.url('/api/docs/'));
  await page.locator('.swagger-ui .opblock').first().waitFor({ timeout: 15_000 });
  const tags = await page.locator('.opblock-tag').allInnerTexts();
  for (const tag of ['accounts', 'profile', 'staff', 'posts']) {
    assert.ok(tags.some((t) => t.trim().startsWith(tag)), `no "${tag}" group in ${JSON.stringify(tags)}`);
  }
  await shot('swagger-ui');
});

test('GraphiQL runs its default query against /graphql', async () => {
  await page.goto(server.url('/graphql'));
  await page.locator('.graphiql-container').waitFor({ timeout: 15_000 });
  const response = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST');
  await page.locator('.graphiql-execute-button').click();
  const reply = await (await response).json();
  assert.equal(reply.data.posts.count, 0);
  assert.equal(reply.data.me, null);
  await shot('graphiql');
});

test('no foreign requests, console errors or CSP violations', () => {
  assert.deepEqual(guard.problems(), []);
});
