/**
 * The home page, the runs list, a run's page and Bull Board after work, in a real headless
 * browser (Debian's chromium driven by playwright-core, as browser.test.ts). A run with a judge
 * fills the pages through their live stream; the test reads what a person sees (texts, links,
 * chart bars, no heading without content) and checks that no request tries to leave loopback.
 * Screenshots go to `.tmp/pages/` in the checkout (ignored by git), or to SCREENSHOT_DIR.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

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
const SHOTS = process.env.SCREENSHOT_DIR ?? path.resolve(__dirname, '../../../.tmp/pages');
const SEEDS = 9;

describe('home, runs and run pages, and the board after work, in a real headless browser', function () {
  this.timeout(120_000);
  let stack: TestStack | undefined;
  let browser: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let rubricDir: string | undefined;
  /** Every request that tried to leave loopback (aborted). */
  const offHost: string[] = [];
  let runId: string;
  let questionId: string;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      (skipped: ${CHROMIUM} is not installed; .ci/run installs Debian's chromium)`);
      this.skip();
    }
    rubricDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-pages-'));
    const rubric = path.join(rubricDir, 'rubric.json');
    fs.writeFileSync(
      rubric,
      JSON.stringify({
        criteria: [
          { name: 'helpfulness', description: 'Do the answers help?' },
          { name: 'coherence', description: 'Does it stay on topic?' },
        ],
        scale: { min: 1, max: 5 },
        prompt: 'Rate this conversation on each criterion.\n{{criteria}}\n\n{{transcript}}',
      }),
    );
    stack = await startTestStack({ JUDGE_RUBRIC_FILE: rubric });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-chromium-'));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1100, height: 900 },
    });
    await browser.route('**/*', (route) => {
      const url = route.request().url();
      const host = new URL(url).hostname;
      if (host === '127.0.0.1' || host === 'localhost') return route.continue();
      offHost.push(url);
      return route.abort();
    });
    fs.mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    if (rubricDir) fs.rmSync(rubricDir, { recursive: true, force: true });
  });

  async function open(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(url);
    return { page, errors };
  }

  /** Headings shown with nothing under them: a visible section whose text is only its heading. */
  const emptyHeadings = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll('main section')]
        .filter((s) => !(s as HTMLElement).hidden)
        .filter((s) => (s.textContent ?? '').trim() === (s.querySelector('h2')?.textContent ?? '').trim())
        .map((s) => s.id || s.querySelector('h2')?.textContent),
    );

  it('the run page fills from its live stream: name, progress, then charts, exports and links to every conversation', async () => {
    // Slow enough to open the page while the run is under way.
    stack!.ollama!.faults.set({ latencyMs: 200 });
    const seeds = Array.from({ length: SEEDS }, (_, i) =>
      JSON.stringify({ initialQuery: `Why is the sky blue, take ${i}?`, maxTurns: 1 + (i % 3) }),
    );
    const res = await stack!.http.post('/runs?name=sky-run&maxActive=3', `${seeds.join('\n')}\n`, {
      headers: { 'content-type': 'application/x-ndjson' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    runId = res.data.runId;
    const { page, errors } = await open(`${stack!.producerUrl}/runs/${runId}/page`);
    try {
      await page.locator('#title').getByText('sky-run').waitFor({ timeout: 10_000 });
      assert.equal(await page.title(), 'Run sky-run');
      assert.equal(await page.locator('#id').textContent(), runId);
      assert.equal(await page.locator('#state .badge').textContent(), 'active', 'opened while the run is under way');
      assert.deepEqual(await emptyHeadings(page), [], 'no empty heading part-way');
      // The end arrives through the stream; then the judge's scores.
      await page.locator('#state .badge', { hasText: 'finished' }).waitFor({ timeout: 60_000 });
      await page.locator('[data-chart="score-helpfulness"] rect.bar').first().waitFor({ timeout: 60_000 });
      assert.equal(
        await page
          .locator('#line')
          .textContent()
          .then((t) => t!.startsWith(`${SEEDS} / ${SEEDS} finished`)),
        true,
      );

      const bars = (chart: string) =>
        page
          .locator(`[data-chart="${chart}"] rect.bar`)
          .evaluateAll((rs) => rs.map((r) => [r.getAttribute('data-label'), Number(r.getAttribute('data-count'))] as [string, number]));
      assert.deepEqual(await bars('stop-reasons'), [['max_turns', SEEDS]]);
      assert.deepEqual(await bars('turns'), [
        ['1 turn', 3],
        ['2 turns', 3],
        ['3 turns', 3],
      ]);
      const cost = await bars('cost');
      assert.equal(
        cost.reduce((a, [, n]) => a + n, 0),
        SEEDS,
        `every conversation in a cost bin: ${JSON.stringify(cost)}`,
      );
      for (const [label] of cost) assert.match(label, /^\$\d+\.\d+(–\$\d+\.\d+)?$/);
      await until(
        async () => (await bars('score-coherence')).reduce((a, [, n]) => a + n, 0) === SEEDS,
        60_000,
        'every conversation scored',
      );
      for (const criterion of ['helpfulness', 'coherence']) {
        const scores = await bars(`score-${criterion}`);
        assert.equal(
          scores.reduce((a, [, n]) => a + n, 0),
          SEEDS,
          `${criterion}: ${JSON.stringify(scores)}`,
        );
        for (const [label] of scores) assert.match(label, /^score [1-5]$/);
        assert.match(
          (await page.locator(`[data-chart="score-${criterion}"] h3`).textContent())!,
          new RegExp(`^Scores: ${criterion} \\(mean [0-9.]+\\)$`),
        );
      }
      // Cost, in numbers a person reads.
      assert.match(
        (await page.locator('#cost').textContent())!,
        /cost so far\$\d+\.\d+tokens\d+per finished conversation\$\d+\.\d+judged9 scored, 0 unscored/,
      );

      // Links to every conversation and to the exports, each of which answers.
      await page
        .locator('#conversations tr')
        .nth(SEEDS - 1)
        .waitFor();
      assert.equal(await page.locator('#conversations tr').count(), SEEDS);
      assert.equal(await page.locator('#conversations-note').textContent(), `${SEEDS} admitted`);
      assert.deepEqual(
        await page.locator('#conversations tr td:last-child').allTextContents(),
        Array.from({ length: SEEDS }, (_, i) => ['1 turn', '2 turns', '3 turns'][i % 3]),
        'in admission order, each with its turns',
      );
      const links = await page.locator('#conversations a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
      for (const href of links) assert.match(href, /^\/conversations\/[0-9a-f-]{36}$/);
      assert.match((await page.locator('#conversations a').first().textContent())!, /^Why is the sky blue, take \d\?$/);
      const exports = await page.locator('#exports a').evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
      assert.deepEqual(
        exports.map(([label]) => label),
        ['OpenAI chat JSONL', 'ShareGPT JSONL', 'CSV', 'OpenAI JSONL, the local model as assistant'],
      );
      const jsonl = await page.request.get(new URL(exports[0]![1]!, stack!.producerUrl).toString());
      assert.equal(jsonl.status(), 200);
      assert.equal((await jsonl.text()).trim().split('\n').length, SEEDS);
      assert.deepEqual(await emptyHeadings(page), []);
      assert.equal(await page.locator('#rejected-section').isHidden(), true, 'no rejected lines, no heading for them');
      assert.deepEqual(errors, []);
      await page.screenshot({ path: path.join(SHOTS, 'run-page.png'), fullPage: true });

      // A conversation link opens its page, finished.
      await page.locator('#conversations a').first().click();
      await page.locator('#final.show').waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('#status').textContent(), 'completed');
    } finally {
      stack!.ollama!.faults.reset();
      await page.close();
    }
  });

  it('the home page lists the runs and recent conversations and links to the runs list, the board, the metrics and the docs', async () => {
    const one = await stack!.http.post('/conversation', { initialQuery: 'What is a rainbow?', maxTurns: 1 });
    questionId = one.data.conversationId;
    await waitForConversation(stack!, questionId);
    const { page, errors } = await open(`${stack!.producerUrl}/`);
    try {
      assert.equal(await page.title(), 'llmconv');
      const run = page.locator(`#runs tr[data-run="${runId}"]`);
      await run.waitFor({ timeout: 10_000 });
      assert.equal(await run.locator('a').textContent(), 'sky-run');
      assert.equal(await run.locator('a').getAttribute('href'), `/runs/${runId}/page`);
      assert.equal(await run.locator('.badge').textContent(), 'finished');
      assert.match((await run.textContent())!, new RegExp(`${SEEDS} / ${SEEDS} finished\\$\\d`));
      const conv = page.locator(`#conversations tr[data-conversation="${questionId}"]`);
      await conv.waitFor();
      assert.equal(await conv.locator('a').textContent(), 'What is a rainbow?');
      assert.equal(await conv.locator('.badge').textContent(), 'completed');
      assert.match((await page.locator('main').textContent())!, /Makes conversation datasets/);
      const nav = await page.locator('main a, nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
      for (const href of ['/runs', '/admin/queues', '/metrics', '/docs']) assert.ok(nav.includes(href), `${href} in ${nav.join(' ')}`);
      for (const href of ['/runs', '/admin/queues', '/metrics', '/docs', '/docs/architecture.md']) {
        const r = await page.request.get(new URL(href, stack!.producerUrl).toString());
        assert.equal(r.status(), 200, href);
      }
      assert.deepEqual(await emptyHeadings(page), []);
      assert.deepEqual(errors, []);
      await page.screenshot({ path: path.join(SHOTS, 'home-page.png'), fullPage: true });

      // The docs link lists the README and docs/.
      await page.locator('nav a[href="/docs"]').click();
      await page.locator('main a[href="/docs/architecture.md"]').waitFor();
      assert.ok(await page.locator('main a[href="/docs/README.md"]').count());
    } finally {
      await page.close();
    }
  });

  it('the runs list page shows each run with its progress and export links; JSON clients still get JSON', async () => {
    const { page, errors } = await open(`${stack!.producerUrl}/runs`);
    try {
      const run = page.locator(`#runs tr[data-run="${runId}"]`);
      await run.waitFor({ timeout: 10_000 });
      assert.equal(await page.title(), 'Runs');
      assert.equal(await run.locator('a').first().textContent(), 'sky-run');
      assert.equal(await run.locator('.badge').textContent(), 'finished');
      assert.deepEqual(
        await run.locator('td:last-child a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))),
        ['openai', 'sharegpt', 'csv'].map((f) => `/runs/${runId}/export?format=${f}`),
      );
      assert.deepEqual(errors, []);
      await page.screenshot({ path: path.join(SHOTS, 'runs-page.png'), fullPage: true });
    } finally {
      await page.close();
    }
    const api = await stack!.http.get('/runs');
    assert.match(String(api.headers['content-type']), /application\/json/);
    assert.ok(api.data.runs.some((r: { runId: string }) => r.runId === runId));
  });

  it('Bull Board after the work shows what ran, with no rate limit badge and no font from another host', async () => {
    const work = await stack!.http.post('/conversation', { initialQuery: 'Something for the board', maxTurns: 1 });
    await waitForConversation(stack!, work.data.conversationId);
    const { page, errors } = await open(`${stack!.producerUrl}/admin/queues`);
    try {
      assert.equal(await page.title(), 'llmconv queues');
      for (const name of ['cloud', 'local', 'transcript', 'judge'])
        await page.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 });
      await page
        .getByText(/^\d+ Jobs?$/)
        .nth(3)
        .waitFor({ timeout: 15_000 });
      assert.equal(await page.getByText(/rate limited/i).count(), 0, 'no "rate limited" without a limit');
      assert.deepEqual(offHost, [], 'the board asked for nothing off loopback (its Google Fonts link is taken out)');
      await page.screenshot({ path: path.join(SHOTS, 'bull-board-queues.png') });
      // The cloud queue's completed jobs are still there to look at.
      await page.goto(`${stack!.producerUrl}/admin/queues/queue/cloud?status=completed`);
      await page
        .getByText(/-cloud-1$/)
        .first()
        .waitFor({ timeout: 15_000 });
      assert.deepEqual(
        errors.filter((e) => !/ERR_FAILED/.test(e)),
        [],
      );
      await page.screenshot({ path: path.join(SHOTS, 'bull-board-completed.png') });
    } finally {
      await page.close();
    }
    assert.deepEqual(offHost, [], 'no page asked for anything off loopback');
  });
});
