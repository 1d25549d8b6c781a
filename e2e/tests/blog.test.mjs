// A person's walk through the micro-blog in real Chromium: sign up and log in, publish a post
// with an image, like it in place with JavaScript, edit it, look at it as an anonymous visitor,
// delete it. Every page visited is saved as screenshots/blog-NN-name.png; the server's own
// output is copied to screenshots/blog-server.log when the walk ends.
//
// Along the way, every page is guarded: no request may leave 127.0.0.1, no console error
// (Chromium reports CSP violations there), no uncaught exception, no JavaScript dialog.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

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
  startServer,
  walk,
} from './helpers.mjs';

const USERNAME = `blog_${Date.now()}`;
const EMAIL = `${USERNAME}@example.com`;
const PASSWORD = 'correct horse battery staple 42';
const BODY = 'First light over the harbour \u{1F305} with a tiny picture \u{1F980}'; // 🌅 🦀
const NEW_BODY = 'Edited: the harbour at dusk \u{1F303}'; // 🌃
const PNG_SIZE = { width: 64, height: 48 };

let server;
let browser;
let context;
let page;
let guard;
let anon; // { context, page, guard }: a second visitor, never logged in
let phone; // { context, page, guard } at 390x844 with the author's cookies
let shot;
let latestMail;
const post = {}; // { id, path, imageSrc, thumbSrc } of the post this walk publishes

const pathOf = (p) => new URL(p.url()).pathname;

// ---------------------------------------------------------------------------------------------
// A small PNG made here: signature, IHDR, one IDAT (zlib), IEND, each chunk with its CRC-32.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** An 8-bit RGB PNG of width×height with a colour gradient (so the thumbnail is visibly an image). */
function makePng(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour RGB
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter method
  ihdr[12] = 0; // no interlace
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y += 1) {
    const row = y * (1 + width * 3);
    rows[row] = 0; // filter type None
    for (let x = 0; x < width; x += 1) {
      const px = row + 1 + x * 3;
      rows[px] = Math.round((255 * x) / (width - 1));
      rows[px + 1] = Math.round((255 * y) / (height - 1));
      rows[px + 2] = 160;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------

const walkState = walk((name) => shot?.(name));
const { step } = walkState;


/** Waits until the image has loaded and has pixels; returns its natural size. */
async function loadedImage(img) {
  await img.scrollIntoViewIfNeeded();
  try {
    await img.evaluate(
      (el) =>
        new Promise((resolve, reject) => {
          const check = () => (el.complete && el.naturalWidth > 0 ? resolve() : null);
          if (check() === null) {
            el.addEventListener('load', check, { once: true });
            el.addEventListener('error', () => reject(new Error('load error')), { once: true });
            setTimeout(() => reject(new Error('timeout')), 8000);
          }
        }),
    );
  } catch (err) {
    throw new Error(`The image ${await img.getAttribute('src')} did not load (${err.message})`);
  }
  return img.evaluate((el) => ({ width: el.naturalWidth, height: el.naturalHeight }));
}

/** The like button of the post in the list, and what it shows. */
async function likeState(p) {
  const button = p.locator(`#post-${post.id} form.like-form button`);
  return {
    label: (await button.locator('.like-label').innerText()).trim(),
    count: (await button.locator('.like-count').innerText()).trim(),
    pressed: await button.getAttribute('aria-pressed'),
  };
}

/**
 * Clicks the like button and checks that app.js answered through the API and changed the button
 * in place: no navigation event, the same URL, the same document (a marker on window survives,
 * still one navigation timing entry).
 */
async function likeInPlace(expected) {
  const before = page.url();
  const navigations = [];
  const onNavigated = (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url());
  };
  page.on('framenavigated', onNavigated);
  try {
    const marker = `same-document-${Date.now()}`;
    await page.evaluate((m) => {
      window.__e2eMarker = m;
    }, marker);
    const apiPath = `/api/posts/${post.id}/like/`;
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === apiPath && r.request().method() === 'POST');
    await page.locator(`#post-${post.id} form.like-form button`).click();
    const response = await answered;
    assert.equal(response.status(), 200, `POST ${apiPath} answered ${response.status()}`);
    assert.equal(response.request().resourceType(), 'fetch');
    const json = await response.json();
    assert.equal(json.like_count, Number(expected.count), `the API's like_count: ${JSON.stringify(json)}`);
    assert.equal(json.liked, expected.label === 'Unlike', `the API's liked: ${JSON.stringify(json)}`);
    await page.waitForFunction(
      ([sel, count, label]) => {
        const b = document.querySelector(sel);
        return b && b.querySelector('.like-count').textContent.trim() === count && b.querySelector('.like-label').textContent.trim() === label;
      },
      [`#post-${post.id} form.like-form button`, expected.count, expected.label],
    );
    // A failed fetch makes app.js fall back to a plain form submit; give that a moment to show.
    await page.waitForTimeout(400);
    assert.deepEqual(navigations, [], 'the like button did not load a page');
    assert.equal(page.url(), before, 'the URL did not change');
    assert.equal(await page.evaluate(() => window.__e2eMarker), marker, 'the same document is still loaded');
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1);
    assert.deepEqual(await likeState(page), { ...expected, pressed: String(expected.label === 'Unlike') });
  } finally {
    page.off('framenavigated', onNavigated);
  }
}

before(async () => {
  clearScreenshots('blog');
  const versions = checkChromium();
  console.log(`# chromium ${versions.chromium}, playwright-core ${versions.playwright}`);
  server = await startServer();
  console.log(`# shoestring serve on ${server.baseUrl} (pid ${server.pid}), log in ${SERVER_LOG}`);
  browser = await launchBrowser();
  ({ context, page, guard } = await newGuardedPage(browser, 'desktop', { viewport: { width: 1280, height: 800 } }));
  shot = prefixedShooter('blog', page);
  latestMail = mailbox(page, server, shot);
});

after(async () => {
  await browser?.close().catch(() => {});
  const exit = await server?.stop();
  if (fs.existsSync(SERVER_LOG)) fs.copyFileSync(SERVER_LOG, path.join(SCREENSHOTS, 'blog-server.log'));
  if (walkState.broken && server) {
    console.error(`# server exit: ${JSON.stringify(exit)}; last lines of ${SERVER_LOG}:\n${server.logTail(40)}`);
  }
});

step('1. sign up, confirm from the outbox, log in', async () => {
  await page.goto(server.url('/accounts/signup/'));
  await page.locator('input[name=username]').fill(USERNAME);
  await page.locator('input[name=email]').fill(EMAIL);
  await fillPasswords(page.locator('input[name=password]'), PASSWORD);
  await page.locator('input[name=first_name]').fill('Bea');
  await page.locator('input[name=last_name]').fill('Blogger');
  await clickAndWait(page, page.getByRole('button', { name: 'Create account', exact: true }));
  await expectText(page, 'Check your email');

  const mail = await latestMail('Confirm', '/accounts/confirm/');
  await page.goto(mail.link);
  await clickAndWait(page, page.getByRole('button', { name: 'Confirm my account', exact: true }));
  await expectText(page, 'Your account is confirmed');

  await page.goto(server.url('/accounts/login/'));
  await page.locator('input[name=login]').fill(USERNAME);
  await page.locator('input[name=password]').fill(PASSWORD);
  await clickAndWait(page, page.getByRole('button', { name: 'Log in', exact: true }));
  assert.equal(pathOf(page), '/accounts/profile/');
  await expectText(page, USERNAME);

  await page.goto(server.url('/posts/'));
  await expectText(page, '0 posts');
  await shot('list-empty');
});

step('2. publish a post with an image', async () => {
  await page.getByRole('link', { name: 'New post', exact: true }).click();
  await page.waitForURL(server.url('/posts/new/'));
  const file = page.locator('input[type=file][name=image]');
  assert.match((await file.getAttribute('accept')) ?? '', /image\/png/);
  await page.locator('textarea[name=body]').fill(BODY);
  const png = makePng(PNG_SIZE.width, PNG_SIZE.height);
  await file.setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png });
  await shot('new-post');

  await clickAndWait(page, page.getByRole('button', { name: 'Publish', exact: true }));
  const m = pathOf(page).match(/^\/posts\/(\d+)\/$/);
  assert.ok(m, `Publish leads to the post's page, not ${page.url()}`);
  post.id = m[1];
  post.path = m[0];

  const article = page.locator(`article.post#post-${post.id}`);
  assert.equal((await article.locator('.post-body').innerText()).normalize('NFC'), BODY.normalize('NFC'));
  assert.ok(await page.locator('.flash-success').first().isVisible(), 'a .flash-success message is shown');
  assert.equal(await article.locator(`.post-meta a[href="/posts/?author=${USERNAME}"]`).innerText(), USERNAME);

  const full = page.locator('img.post-image-full');
  assert.equal(await full.count(), 1, 'the detail page shows the full image');
  post.imageSrc = await full.getAttribute('src');
  assert.match(post.imageSrc, /^\/media\/posts\/[0-9a-f]+\.png$/);
  assert.deepEqual(await loadedImage(full), PNG_SIZE, 'the full image keeps its size');
  await shot('post-detail');

  await page.goto(server.url('/posts/'));
  await expectText(page, '1 post');
  const listed = page.locator(`article.post#post-${post.id}`);
  assert.equal((await listed.locator('.post-body').innerText()).normalize('NFC'), BODY.normalize('NFC'));
  const thumb = listed.locator('img.post-image');
  post.thumbSrc = await thumb.getAttribute('src');
  assert.match(post.thumbSrc, /^\/media\/posts\/[0-9a-f]+-thumb\.jpg$/);
  assert.equal(post.thumbSrc.replace('-thumb.jpg', ''), post.imageSrc.replace('.png', ''), 'thumbnail and image share a name');
  assert.equal(await thumb.locator('xpath=ancestor::a[1]').getAttribute('href'), post.imageSrc, 'the thumbnail links to the full image');
  const size = await loadedImage(thumb);
  assert.ok(size.width > 0 && size.height > 0, `the thumbnail has pixels (${JSON.stringify(size)})`);
  console.log(`# thumbnail ${size.width}x${size.height} for a ${PNG_SIZE.width}x${PNG_SIZE.height} upload`);
  assert.deepEqual(await likeState(page), { label: 'Like', count: '0', pressed: 'false' });
  await shot('list-with-post');

  phone = await newGuardedPage(browser, 'phone', { ...PHONE, storageState: await context.storageState() });
  await phone.page.goto(server.url('/posts/'));
  await loadedImage(phone.page.locator(`#post-${post.id} img.post-image`));
  assert.equal(await phone.page.locator(`#post-${post.id} form.like-form`).count(), 1, 'the phone is signed in too');
  const fit = await phone.page.evaluate((id) => {
    const card = document.querySelector(`#post-${id}`).getBoundingClientRect();
    const img = document.querySelector(`#post-${id} img.post-image`).getBoundingClientRect();
    return { pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, imgRight: img.right, cardRight: card.right };
  }, post.id);
  assert.ok(fit.pageWidth <= fit.viewport, `the phone list does not scroll sideways: ${JSON.stringify(fit)}`);
  assert.ok(fit.imgRight <= fit.cardRight + 0.5, `the thumbnail stays inside its post: ${JSON.stringify(fit)}`);
  await shot('list-phone', phone.page);
});

step('2b. images are served as inert files', async () => {
  for (const [src, type] of [
    [post.imageSrc, 'image/png'],
    [post.thumbSrc, 'image/jpeg'],
  ]) {
    const res = await context.request.get(server.url(src));
    assert.equal(res.status(), 200, `GET ${src}`);
    const h = res.headers();
    assert.equal(h['content-type'], type, `content-type of ${src}`);
    assert.equal(h['x-content-type-options'], 'nosniff', `x-content-type-options of ${src}`);
    assert.equal(h['content-security-policy'], "default-src 'none'; sandbox", `CSP of ${src}`);
    const body = await res.body();
    assert.ok(body.length > 0, `${src} has a body`);
  }
});

step('3. like from the list with JavaScript, in place', async () => {
  await page.goto(server.url('/posts/'));
  assert.deepEqual(await likeState(page), { label: 'Like', count: '0', pressed: 'false' });
  await likeInPlace({ label: 'Unlike', count: '1' });
  await shot('liked');

  await page.reload();
  assert.deepEqual(await likeState(page), { label: 'Unlike', count: '1', pressed: 'true' }, 'the like is stored');
  await shot('liked-reloaded');

  await likeInPlace({ label: 'Like', count: '0' });
  await page.reload();
  assert.deepEqual(await likeState(page), { label: 'Like', count: '0', pressed: 'false' }, 'the unlike is stored');
});

step('4. edit the post', async () => {
  await page.goto(server.url('/posts/'));
  const edit = page.locator(`#post-${post.id} footer.post-actions a[href$="/edit/"]`);
  assert.equal((await edit.innerText()).trim(), 'Edit');
  await clickAndWait(page, edit);
  assert.equal(pathOf(page), `/posts/${post.id}/edit/`);
  const textarea = page.locator('textarea[name=body]');
  assert.equal((await textarea.inputValue()).normalize('NFC'), BODY.normalize('NFC'), 'the form holds the current text');
  assert.equal(await page.locator('input[type=file]').count(), 0, 'editing keeps the image');
  await shot('edit');

  await textarea.fill(NEW_BODY);
  await clickAndWait(page, page.getByRole('button', { name: 'Save', exact: true }));
  assert.equal(pathOf(page), post.path);
  assert.ok(await page.locator('.flash-success').first().isVisible(), 'a .flash-success message is shown');
  assert.equal(
    (await page.locator(`#post-${post.id} .post-body`).innerText()).normalize('NFC'),
    NEW_BODY.normalize('NFC'),
  );
  assert.equal(await page.locator('img.post-image-full').getAttribute('src'), post.imageSrc, 'the image stays');
  await shot('edited');

  await page.goto(server.url('/posts/'));
  await expectText(page, NEW_BODY);
  assert.ok(!(await page.locator('main').innerText()).includes(BODY), 'the old text is gone from the list');
});

step('5. an anonymous visitor sees the post but cannot change it', async () => {
  anon = await newGuardedPage(browser, 'anonymous', { viewport: { width: 1280, height: 800 } });
  const p = anon.page;
  await p.goto(server.url('/posts/'));
  await p.getByRole('link', { name: 'Log in', exact: true }).first().waitFor();
  const article = p.locator(`article.post#post-${post.id}`);
  assert.equal((await article.locator('.post-body').innerText()).normalize('NFC'), NEW_BODY.normalize('NFC'));
  assert.equal((await article.locator('footer.post-actions .like-count').innerText()).trim(), '0');
  assert.match(await article.locator('footer.post-actions').innerText(), /0 likes/);
  assert.equal(await article.locator('form.like-form').count(), 0, 'no like button without an account');
  assert.equal(await article.locator('a[href$="/edit/"]').count(), 0, 'no Edit link');
  assert.equal(await article.getByText('Edit', { exact: true }).count(), 0, 'no Edit text');
  assert.equal(await article.getByText('Delete', { exact: true }).count(), 0, 'no Delete link');
  await loadedImage(article.locator('img.post-image'));
  await shot('anonymous-list', p);

  await p.goto(server.url(post.path));
  assert.equal(await p.locator(`#post-${post.id} a[href$="/edit/"]`).count(), 0, 'no Edit link on the detail page');
  assert.equal(await p.locator(`#post-${post.id} a[href$="/delete/"]`).count(), 0, 'no Delete link on the detail page');

  for (const action of ['edit', 'delete']) {
    const res = await p.goto(server.url(`/posts/${post.id}/${action}/`));
    const status = res.status();
    const redirected = res.request().redirectedFrom() !== null;
    const where = pathOf(p);
    assert.equal(await p.locator('textarea[name=body]').count(), 0, `no edit form for an anonymous ${action}`);
    assert.equal(await p.getByRole('button', { name: 'Delete post' }).count(), 0, `no delete button for an anonymous ${action}`);
    assert.ok(
      status >= 400 || (redirected && where.startsWith('/accounts/login/')),
      `GET /posts/${post.id}/${action}/ as an anonymous visitor answered ${status} at ${p.url()}`,
    );
    await shot(`anonymous-${action}`, p);
  }

  // Nor can it like through the API.
  const res = await anon.context.request.post(server.url(`/api/posts/${post.id}/like/`), { maxRedirects: 0 });
  assert.ok(res.status() >= 400, `an anonymous API like answered ${res.status()}`);
});

step('6. delete the post after the confirmation page', async () => {
  await page.goto(server.url('/posts/'));
  const del = page.locator(`#post-${post.id} footer.post-actions`).getByRole('link', { name: 'Delete', exact: true });
  await clickAndWait(page, del);
  assert.equal(pathOf(page), `/posts/${post.id}/delete/`);
  assert.equal((await page.locator('.post-body').innerText()).normalize('NFC'), NEW_BODY.normalize('NFC'));
  await shot('delete-confirm');

  await clickAndWait(page, page.getByRole('button', { name: 'Delete post', exact: true }));
  assert.equal(pathOf(page), '/posts/');
  assert.equal((await page.locator('.flash-success').first().innerText()).trim(), 'Your post was deleted.');
  assert.equal(await page.locator(`#post-${post.id}`).count(), 0, 'the post is gone from the list');
  await expectText(page, '0 posts');
  await shot('deleted');

  for (const src of [post.imageSrc, post.thumbSrc]) {
    const res = await context.request.get(server.url(src));
    assert.equal(res.status(), 404, `GET ${src} after the delete`);
  }
  const res = await context.request.get(server.url(post.path), { maxRedirects: 0 });
  assert.equal(res.status(), 404, `GET ${post.path} after the delete`);
});

/** A check over the whole run so far; it runs even when a step of the walk failed. */
function check(name, fn) {
  test(name, { timeout: 30_000 }, fn);
}

check('no foreign requests, console errors, CSP violations or dialogs on any page', async () => {
  const problems = [guard, anon?.guard, phone?.guard].filter(Boolean).flatMap((g) => g.problems());
  assert.deepEqual(problems, []);
});

check('no password or session cookie in the server log', async () => {
  const log = fs.readFileSync(SERVER_LOG, 'utf8');
  assert.ok(log.length > 0, 'the server wrote a log');
  const cookies = (await context.cookies()).filter((c) => c.value.length >= 16).map((c) => [`cookie ${c.name}`, c.value]);
  for (const [what, value] of [['password', PASSWORD], ...cookies]) {
    assert.ok(!log.includes(value), `the ${what} appears in ${SERVER_LOG}`);
  }
});
