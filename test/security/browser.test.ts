/**
 * Issue 21, part 1, what a web page in a victim's browser could do to a producer on loopback:
 * a cross-site `text/plain` or form POST (no CORS preflight) and a DNS-rebinding `Host`, against
 * the real stack over real HTTP; and Bull Board's own rules (no "change-me", no form posts, its
 * actions from its own page only).
 */
import assert from 'node:assert/strict';
import { startLocalGateway } from '../../lambda/local-gateway';
import { loadConfig } from '../../shared/config';
import { hostAllowed, parseHostPort } from '../../producer/host-guard';
import { startTestStack, type TestStack } from '../helpers/test-stack';
import { basic, rawRequest, type RawResponse } from '../integration/operate/http-client';

const EVIL = 'http://evil.example';

describe('security: cross-site writes and DNS rebinding', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let port: number;
  const board = { user: 'ops', pass: 'board-pass-of-my-own' };

  before(async () => {
    // A trusted dashboard on another origin may write through ALLOWED_HOSTS, but never act on the board.
    stack = await startTestStack(
      { BOARD_USERNAME: board.user, BOARD_PASSWORD: board.pass, ALLOWED_HOSTS: 'dashboard.example' },
      { roles: [] },
    );
    port = Number(new URL(stack.producerUrl!).port);
  });
  after(async () => stack?.close());

  /** A request to the producer on 127.0.0.1 with exactly these headers (Host included, if given). */
  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> =>
    rawRequest(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      body,
    });
  const json = (r: RawResponse) => JSON.parse(r.body) as { error: { code: string; message: string } };
  const runCount = async () => ((await stack.http.get('/runs?limit=1000')).data.runs as unknown[]).length;

  it('a browser-style cross-site POST /runs (Origin: http://evil.example, text/plain) is refused with 403 naming ALLOWED_HOSTS, and starts nothing', async () => {
    const before = await runCount();
    const res = await send(
      'POST',
      '/runs',
      { origin: EVIL, 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
      'What is 2+2?\nAnd 3+3?\n',
    );
    assert.equal(res.status, 403, res.body);
    assert.equal(json(res).error.code, 'forbidden_origin');
    assert.match(json(res).error.message, /ALLOWED_HOSTS/);
    assert.match(json(res).error.message, /evil\.example/);
    assert.equal(await runCount(), before, 'no run was created');
    console.log(`      [figures] cross-site text/plain POST /runs ${JSON.stringify({ status: res.status, code: json(res).error.code })}`);
  });

  it('refuses the other cross-site writes: a form post, a DELETE, Origin null, and a cross-site fetch without Origin', async () => {
    const form = await send(
      'POST',
      '/conversation',
      { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
      'initialQuery=hi',
    );
    const multipart = await send('POST', '/runs', { origin: EVIL, 'content-type': 'multipart/form-data; boundary=x' }, '--x--');
    const del = await send('DELETE', '/conversation/00000000-0000-4000-8000-000000000000', { origin: EVIL });
    const nullOrigin = await send('POST', '/conversation', { origin: 'null', 'content-type': 'text/plain' }, '{"initialQuery":"hi"}');
    const noOrigin = await send(
      'POST',
      '/conversation',
      { 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' },
      '{"initialQuery":"hi"}',
    );
    const otherLocalApp = await send(
      'POST',
      '/conversation',
      { origin: `http://localhost:${port === 3000 ? 3001 : 3000}`, 'content-type': 'application/json' },
      '{"initialQuery":"hi"}',
    );
    for (const [name, r] of Object.entries({ form, multipart, del, nullOrigin, noOrigin, otherLocalApp })) {
      assert.equal(r.status, 403, `${name}: ${r.body}`);
      assert.equal(json(r).error.code, 'forbidden_origin', name);
      assert.match(json(r).error.message, /ALLOWED_HOSTS/, name);
    }
  });

  it('same-origin and allowed writes go through, and so do clients that are not browsers', async () => {
    const body = JSON.stringify({ initialQuery: 'Same origin', maxTurns: 1 });
    const headers = { 'content-type': 'application/json' };
    const cases = {
      sameOrigin: await send(
        'POST',
        '/conversation',
        { ...headers, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' },
        body,
      ),
      localhostName: await send(
        'POST',
        '/conversation',
        { ...headers, host: `localhost:${port}`, origin: `http://localhost:${port}` },
        body,
      ),
      allowedDashboard: await send('POST', '/conversation', { ...headers, origin: 'https://dashboard.example' }, body),
      curl: await send('POST', '/conversation', headers, body),
    };
    for (const [name, r] of Object.entries(cases)) assert.equal(r.status, 202, `${name}: ${r.body}`);
  });

  it('a DNS-rebinding Host (evil.example:<port>) is refused for reads too, with 403 naming ALLOWED_HOSTS; the probes stay open', async () => {
    const created = await stack.http.post('/conversation', { initialQuery: 'Secret question', maxTurns: 1 });
    const id = created.data.conversationId as string;
    const rebound = { host: `evil.example:${port}` };
    const reads = [
      '/conversations',
      `/conversation/${id}`,
      `/conversations/${id}`,
      `/conversation/${id}/transcript`,
      '/runs',
      '/metrics',
      '/admin/queues',
      '/admin/queues/api/queues',
    ];
    for (const path of reads) {
      const r = await send('GET', path, rebound);
      assert.equal(r.status, 403, `${path}: ${r.status} ${r.body.slice(0, 200)}`);
      assert.equal(json(r).error.code, 'forbidden_host', path);
      assert.match(json(r).error.message, /ALLOWED_HOSTS/, path);
      assert.doesNotMatch(r.body, /Secret question/, path);
    }
    // The same port under another loopback port number is not this producer either.
    assert.equal((await send('GET', '/conversations', { host: `127.0.0.1:${port + 1}` })).status, 403);
    // Probes (a load balancer's, by IP) and the names the producer answers to.
    assert.equal((await send('GET', '/health', rebound)).status, 200);
    assert.equal((await send('GET', '/ready', rebound)).status, 200);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'dashboard.example', `dashboard.example:${port}`]) {
      assert.equal((await send('GET', '/conversations', { host })).status, 200, host);
    }
    console.log(`      [figures] dns-rebinding ${JSON.stringify({ readsRefused: reads.length })}`);
  });

  it('the allow-list: loopback names and the address the request came in on, at its port; ALLOWED_HOSTS with or without a port, or *', () => {
    const local = { address: '10.0.0.5', port: 8080 };
    const opts = { allowedHosts: [] as string[], host: '0.0.0.0' };
    const ok = (h: string, o = opts, l = local) => hostAllowed(o, parseHostPort(h, 80)!, l);
    for (const h of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', '10.0.0.5:8080', 'LOCALHOST:8080']) assert.equal(ok(h), true, h);
    for (const h of ['evil.example:8080', 'localhost:3000', 'localhost', '10.0.0.6:8080', 'localhost.evil.example:8080'])
      assert.equal(ok(h), false, h);
    assert.equal(ok('[::ffff:10.0.0.5]:8080'), false);
    assert.equal(ok('10.0.0.5:8080', opts, { address: '::ffff:10.0.0.5', port: 8080 }), true, 'IPv4-mapped local address');
    assert.equal(ok('myhost:8080', { allowedHosts: [], host: 'myhost' }), true, 'the bound HOST name');
    assert.equal(ok('api.example.com', { allowedHosts: ['api.example.com'], host: '0.0.0.0' }), true);
    assert.equal(ok('api.example.com:9999', { allowedHosts: ['api.example.com'], host: '0.0.0.0' }), true, 'no port: any port');
    assert.equal(ok('api.example.com:9999', { allowedHosts: ['api.example.com:443'], host: '0.0.0.0' }), false);
    assert.equal(ok('anything.example', { allowedHosts: ['*'], host: '0.0.0.0' }), true);
    assert.equal(parseHostPort('evil.example/x', 80), undefined);
    assert.throws(() => loadConfig({ ALLOWED_HOSTS: 'http://x.example' }), /ALLOWED_HOSTS/);
    assert.deepEqual(loadConfig({ ALLOWED_HOSTS: ' A.example:8443, b.example ' }).allowedHosts, ['a.example:8443', 'b.example']);
  });

  it('the local API Gateway host refuses a web page: any Origin or browser Sec-Fetch-Site is 403 before the handler runs', async () => {
    let calls = 0;
    const gw = await startLocalGateway({
      handler: async () => {
        calls++;
        return { statusCode: 200, body: 'ok' };
      },
    });
    try {
      const at = (headers: Record<string, string>) =>
        rawRequest(`${gw.url}/generate`, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body: 'aGk=' });
      const pages: Record<string, string>[] = [
        { origin: EVIL },
        { origin: 'null' },
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-origin', origin: gw.url },
      ];
      for (const headers of pages) {
        const r = await at(headers);
        assert.equal(r.status, 403, JSON.stringify(headers));
      }
      assert.equal(calls, 0);
      assert.equal((await at({})).status, 200, 'the workers (no Origin) are served');
      assert.equal(calls, 1);
    } finally {
      await gw.close();
    }
  });

  describe('Bull Board', () => {
    const auth = () => ({ authorization: basic(board.user, board.pass) });
    const pause = (headers: Record<string, string>, body?: string) =>
      send('PUT', '/admin/queues/api/queues/cloud/pause', { ...auth(), ...headers }, body);

    it('refuses the shipped "change-me" password at start', () => {
      assert.throws(
        () => loadConfig({ BOARD_USERNAME: 'admin', BOARD_PASSWORD: 'change-me' }),
        (err: Error & { key?: string }) => err.key === 'BOARD_PASSWORD' && /change-me/.test(err.message),
      );
      assert.doesNotThrow(() => loadConfig({ BOARD_USERNAME: 'admin', BOARD_PASSWORD: 'something-else' }));
    });

    it('refuses form-encoded and text posts to its actions (415) and actions from another origin (403), even with the credentials', async () => {
      const form = await pause({ 'content-type': 'application/x-www-form-urlencoded' }, 'a=b');
      const text = await pause({ 'content-type': 'text/plain' }, 'x');
      const multipart = await pause({ 'content-type': 'multipart/form-data; boundary=x' }, '--x--');
      for (const r of [form, text, multipart]) {
        assert.equal(r.status, 415, r.body);
        assert.equal(json(r).error.code, 'unsupported_media_type');
      }
      // Allowed by ALLOWED_HOSTS for the API, but not the board's own page.
      const dashboard = await pause({ origin: 'https://dashboard.example', 'content-type': 'application/json' }, '{}');
      const sameSite = await pause({ 'sec-fetch-site': 'same-site' });
      for (const r of [dashboard, sameSite]) {
        assert.equal(r.status, 403, r.body);
        assert.equal(json(r).error.code, 'forbidden_origin');
      }
      assert.equal(await stack.queues.cloud.isPaused(), false, 'nothing was paused');
    });

    it('its own page (same origin) still acts', async () => {
      const r = await pause({ origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' });
      assert.ok(r.status < 300, `${r.status} ${r.body}`);
      assert.equal(await stack.queues.cloud.isPaused(), true);
      const resume = await send('PUT', '/admin/queues/api/queues/cloud/resume', { ...auth(), origin: `http://127.0.0.1:${port}` });
      assert.ok(resume.status < 300, resume.body);
      assert.equal(await stack.queues.cloud.isPaused(), false);
    });
  });
});
