/**
 * The operator and user pages in a real headless browser: Debian's chromium driven by
 * playwright-core. Requests beyond loopback are blocked (the machine has no outside network;
 * pages-browser.test.ts checks that none is asked for). Screenshots go to a temp dir, or to SCREENSHOT_DIR
 * (`SCREENSHOT_DIR=docs/img npx mocha test/integration/operate/browser.test.ts` refreshes the docs' images).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestStack, type TestStack } from '../../helpers/test-stack';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

describe('pages in a real headless browser (chromium + playwright-core)', function () {
  this.timeout(60_000);
  let stack: TestStack | undefined;
  let browser: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let shots: string;
  let ownShots = false;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      (skipped: ${CHROMIUM} is not installed; .ci/run installs Debian's chromium)`);
      this.skip();
    }
    stack = await startTestStack();
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-chromium-'));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1000, height: 640 },
    });
    await browser.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort();
    });
    ownShots = !process.env.SCREENSHOT_DIR;
    shots = process.env.SCREENSHOT_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-shots-'));
    fs.mkdirSync(shots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    if (ownShots && shots) fs.rmSync(shots, { recursive: true, force: true });
  });

  /** A page that records script errors (and, when asked, console errors such as CSP violations). */
  async function open(url: string): Promise<{ page: Page; errors: string[]; consoleErrors: string[] }> {
    const page = await browser!.newPage();
    const errors: string[] = [];
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(url);
    return { page, errors, consoleErrors };
  }

  function assertPng(file: string) {
    const head = fs.readFileSync(file).subarray(0, 8);
    assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${file} is a PNG`);
  }

  it('Bull Board renders and lists the cloud, local, transcript and judge queues', async () => {
    stack!.ollama!.faults.set({ latencyMs: 1000 });
    // Something to show: a conversation in progress.
    await stack!.http.post('/conversation', { initialQuery: 'Board demo', maxTurns: 2 });
    const { page, errors } = await open(`${stack!.producerUrl}/admin/queues`);
    try {
      assert.equal(await page.title(), 'llmconv queues');
      for (const name of ['cloud', 'local', 'transcript', 'judge']) {
        await page.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 });
      }
      // One card per queue, each with its job count once the board's API answered.
      await page
        .getByText(/^\d+ Jobs?$/)
        .nth(3)
        .waitFor({ timeout: 15_000 });
      assert.deepEqual(errors, []);
      const file = path.join(shots, 'bull-board.png');
      await page.screenshot({ path: file });
      assertPng(file);
    } finally {
      stack!.ollama!.faults.reset();
      await page.close();
    }
  });

  it("the conversation page shows a running conversation's turns as they arrive, without a reload", async () => {
    // About 3 s for 4 turns: slow enough to load the page part-way through.
    stack!.ollama!.faults.set({ latencyMs: 400 });
    stack!.bedrock!.faults.set({ latencyMs: 300 });
    const res = await stack!.http.post('/conversation', { initialQuery: 'How do tides work?', maxTurns: 4 });
    const id = res.data.conversationId as string;
    const { page, errors, consoleErrors } = await open(`${stack!.producerUrl}/conversations/${id}`);
    try {
      await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

      // Part-way: the first answer is shown while the conversation is still running.
      await page.locator('[data-turn="1"] .bubble.cloud').waitFor({ timeout: 15_000 });
      const partial = await page.locator('.bubble.local').count();
      assert.ok(partial < 4, `only part of the dialogue at first (${partial} follow-ups)`);
      assert.equal(await page.locator('#final.show').count(), 0, 'not finished yet');

      // Then every turn arrives through the event stream, and the final state.
      await page.locator('[data-turn="4"] .bubble.local').waitFor({ timeout: 20_000 });
      await page.locator('#final.show').waitFor({ timeout: 10_000 });
      assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload');

      assert.equal(await page.locator('#status').textContent(), 'completed');
      assert.equal(await page.locator('.bubble.user').count(), 1);
      assert.equal(await page.locator('.bubble.cloud').count(), 4);
      assert.equal(await page.locator('.bubble.local').count(), 4);
      assert.match((await page.locator('.bubble.user').textContent())!, /How do tides work\?/);
      assert.match(
        (await page.locator('[data-turn="2"] .bubble.cloud .stats').textContent())!,
        /^[a-z]+\.[\w.:-]+ · \d+ in \/ \d+ out tokens · \d+ ms · \$\d+\.\d+$/,
      );
      assert.match(
        (await page.locator('[data-turn="2"] .bubble.local .stats').textContent())!,
        /^llama3\.2 · \d+ in \/ \d+ out tokens · \d+ ms( · \$\d+\.\d+)?$/,
      );
      assert.equal(await page.locator('#turns').textContent(), '4');
      assert.match((await page.locator('#final').textContent())!, /Finished: completed \(max_turns\) after 4 turn\(s\)/);
      const href = await page.locator('#final a').getAttribute('href');
      assert.equal(href, `/conversation/${id}/transcript`);
      const csv = await page.request.get(new URL(href!, stack!.producerUrl).toString());
      assert.equal(csv.status(), 200);
      assert.match(csv.headers()['content-type']!, /^text\/csv/);
      assert.deepEqual(errors, []);
      assert.deepEqual(consoleErrors, [], 'no script errors or CSP violations');

      const file = path.join(shots, 'conversation-page.png');
      await page.screenshot({ path: file });
      assertPng(file);
    } finally {
      stack!.ollama!.faults.reset();
      stack!.bedrock!.faults.reset();
      await page.close();
    }
  });

  it('with API_KEY set, the page works once the browser has the key as its Basic-auth password', async () => {
    const key = 'sk-page-0123456789';
    const secured = await startTestStack({ API_KEY: key });
    const headless = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const res = await secured.http.post(
        '/conversation',
        { initialQuery: 'Who may watch?', maxTurns: 2 },
        { headers: { 'x-api-key': key } },
      );
      assert.equal(res.status, 202);
      const url = `${secured.producerUrl}/conversations/${res.data.conversationId}`;

      // No credentials: the server challenges (a headless browser cannot prompt, so it gives up).
      const anonymous = await headless.newContext();
      await assert.rejects((await anonymous.newPage()).goto(url), /ERR_INVALID_AUTH_CREDENTIALS/);
      const denied = await anonymous.request.get(url);
      assert.equal(denied.status(), 401);
      assert.match(denied.headers()['www-authenticate']!, /^Basic realm="llmconv"/);
      await anonymous.close();

      // The credentials a person types into the browser's prompt (any user name, the key).
      const context = await headless.newContext({ httpCredentials: { username: 'me', password: key } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      assert.equal((await page.goto(url))!.status(), 200);
      // The turns arrive through the page's event stream, which needs the same credentials.
      await page.locator('[data-turn="2"] .bubble.local').waitFor({ timeout: 20_000 });
      await page.locator('#final.show').waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('#status').textContent(), 'completed');
      assert.deepEqual(errors, []);
      await context.close();
    } finally {
      await headless.close();
      await secured.close();
    }
  });
});
