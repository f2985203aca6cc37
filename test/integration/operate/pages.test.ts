import assert from 'node:assert/strict';
import { startTestStack, type TestStack } from '../../helpers/test-stack';

describe('conversation page and list over HTTP', function () {
  this.timeout(30_000);
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({}, { roles: [] });
  });
  after(async () => {
    await stack?.close();
  });

  it('GET /conversations/:id serves the live page with a fresh nonce in a strict CSP', async () => {
    const { data } = await stack.http.post('/conversation', { initialQuery: 'Page me', maxTurns: 2 });
    const id = data.conversationId as string;
    const a = await stack.http.get(`/conversations/${id}`);
    const b = await stack.http.get(`/conversations/${id}`);
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^text\/html; charset=utf-8/);
    const csp = String(a.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'; script-src 'nonce-[A-Za-z0-9+/=]{24}'; style-src 'nonce-/);
    assert.match(csp, /connect-src 'self'/);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    assert.ok(a.data.includes(`<script nonce="${nonce}">`));
    assert.ok(a.data.includes(`<style nonce="${nonce}">`));
    assert.notEqual(nonce, /'nonce-([^']+)'/.exec(String(b.headers['content-security-policy']))![1], 'a new nonce per response');
    assert.ok(a.data.includes(`"eventsUrl":"/conversation/${id}/events"`));
    assert.ok(a.data.includes(`"transcriptUrl":"/conversation/${id}/transcript"`));
    assert.ok(!/__NONCE__|__CONFIG__/.test(a.data), 'every placeholder filled');
    assert.ok(!a.data.includes('innerHTML'), 'model text is only ever set as text');
  });

  it('answers 404 (as HTML, id escaped) for unknown or malformed ids', async () => {
    const unknown = await stack.http.get('/conversations/0b7e2c0e-3c1a-4b9e-9f00-000000000000');
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.headers['content-type']), /^text\/html/);
    const evil = await stack.http.get('/conversations/%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    assert.equal(evil.status, 404);
    assert.ok(!evil.data.includes('<script>'));
    assert.ok(evil.data.includes('&#60;script&#62;'));
  });

  it('GET /conversations?limit=N lists the newest first and skips expired records', async () => {
    const ids: string[] = [];
    for (const q of ['first', 'second', 'third'])
      ids.push((await stack.http.post('/conversation', { initialQuery: `List ${q}`, maxTurns: 3 })).data.conversationId);
    const res = await stack.http.get('/conversations?limit=2');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.data.conversations.map((c: { conversationId: string }) => c.conversationId),
      [ids[2], ids[1]],
    );
    const row = res.data.conversations[0];
    assert.deepEqual(Object.keys(row).sort(), [
      'conversationId',
      'createdAt',
      'initialQuery',
      'maxTurns',
      'pageUrl',
      'status',
      'stopReason',
      'turnsCompleted',
      'updatedAt',
    ]);
    assert.equal(row.status, 'queued');
    assert.equal(row.initialQuery, 'List third');
    assert.equal(row.maxTurns, 3);
    assert.equal(row.turnsCompleted, 0);
    assert.equal(row.pageUrl, `/conversations/${ids[2]}`);

    // The record of the newest is gone (expired): the list leaves it out.
    const { Redis } = await import('ioredis');
    const redis = new Redis(stack.redisUrl);
    try {
      await redis.del(`${stack.config.queuePrefix}:conv:{${ids[2]}}`);
    } finally {
      await redis.quit();
    }
    const after = await stack.http.get('/conversations?limit=2');
    assert.deepEqual(
      after.data.conversations.map((c: { conversationId: string }) => c.conversationId),
      [ids[1]],
    );

    for (const bad of ['0', '201', 'x', '-1', '1.5']) {
      const r = await stack.http.get(`/conversations?limit=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.data.error.code, 'invalid_request');
    }
  });

  it('GET / is the home page and GET /runs as HTML the runs list, both under the strict CSP, linking nothing off this host', async () => {
    for (const [route, title] of [
      ['/', 'llmconv'],
      ['/runs', 'Runs'],
      ['/docs', 'Docs'],
    ] as const) {
      const res = await stack.http.get(route, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      assert.equal(res.status, 200, route);
      assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/, route);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /^default-src 'none'; script-src 'nonce-[A-Za-z0-9+/=]{24}'; style-src 'nonce-/, route);
      assert.ok(res.data.includes(`<title>${title}</title>`), route);
      // No absolute URL but the SVG namespace (a name, never fetched).
      assert.doesNotMatch(res.data.replaceAll('http://www.w3.org/2000/svg', ''), /https?:\/\//, `${route}: no absolute URL`);
      assert.ok(!res.data.includes('innerHTML'), `${route}: values only ever set as text`);
      for (const href of ['/', '/runs', '/admin/queues', '/metrics', '/docs'])
        assert.ok(res.data.includes(`href="${href}"`), `${route} links ${href}`);
    }
    // A JSON client (the CLI, curl with Accept: application/json, or none) still gets the list.
    const json = await stack.http.get('/runs', { headers: { accept: 'application/json' } });
    assert.match(String(json.headers['content-type']), /application\/json/);
    assert.deepEqual(Object.keys(json.data), ['runs']);
    const plain = await stack.http.get('/runs', { headers: { accept: '*/*' } });
    assert.match(String(plain.headers['content-type']), /application\/json/);
  });

  it('GET /docs/<name> serves the README and docs/ as text; an unknown name is a 404 naming the list', async () => {
    const doc = await stack.http.get('/docs/architecture.md');
    assert.equal(doc.status, 200);
    assert.match(String(doc.headers['content-type']), /^text\/plain; charset=utf-8/);
    assert.match(doc.data, /^# Architecture/);
    assert.equal((await stack.http.get('/docs/README.md')).status, 200);
    for (const bad of ['nope.md', '..%2Fpackage.json', '.env']) {
      const r = await stack.http.get(`/docs/${bad}`);
      assert.equal(r.status, 404, bad);
    }
    assert.match((await stack.http.get('/docs/nope.md')).data.error.message, /no doc named nope\.md \(GET \/docs lists them\)/);
  });
});
