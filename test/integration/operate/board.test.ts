import assert from 'node:assert/strict';
import { decideBoardAccess, isLoopbackAddress } from '../../../producer/board/board-access';
import { startTestStack, waitForConversation, type TestStack } from '../../helpers/test-stack';
import { basic, nonLoopbackIPv4, rawRequest } from './http-client';

// The pipeline's queues; 'judge' holds the judge role's jobs (empty unless JUDGE_RUBRIC_FILE is set).
const QUEUES = ['cloud', 'judge', 'local', 'transcript'];

describe('Bull Board at /admin/queues', function () {
  this.timeout(30_000);
  const lanAddress = nonLoopbackIPv4();

  /** The producer as a client on another host sees it: connect from the machine's own interface address. */
  function fromLan(stack: TestStack, path: string, headers: Record<string, string> = {}) {
    const port = new URL(stack.producerUrl!).port;
    return rawRequest(`http://${lanAddress}:${port}${path}`, { localAddress: lanAddress, headers });
  }
  function fromLoopback(stack: TestStack, path: string, opts: { method?: string; headers?: Record<string, string> } = {}) {
    const port = new URL(stack.producerUrl!).port;
    return rawRequest(`http://127.0.0.1:${port}${path}`, opts);
  }
  function needLan(ctx: Mocha.Context) {
    if (!lanAddress) {
      console.log('      (skipped: this machine has no non-loopback IPv4 address to connect from)');
      ctx.skip();
    }
  }

  describe('without BOARD_USERNAME/BOARD_PASSWORD', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' }, { roles: [] });
    });
    after(async () => {
      await stack?.close();
    });

    it('serves the board to a loopback client, listing the pipeline queues read-only', async () => {
      const page = await fromLoopback(stack, '/admin/queues');
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.match(page.body, /<title>llmconv queues<\/title>/);
      const api = await fromLoopback(stack, '/admin/queues/api/queues');
      assert.equal(api.status, 200);
      const { queues } = JSON.parse(api.body) as { queues: { name: string; readOnlyMode: boolean }[] };
      assert.deepEqual(queues.map((q) => q.name).sort(), [...QUEUES].sort());
      assert.ok(queues.every((q) => q.readOnlyMode));
    });

    it('refuses changes: pausing a queue is 405 and the queue keeps running', async () => {
      const res = await fromLoopback(stack, '/admin/queues/api/queues/cloud/pause', { method: 'PUT' });
      assert.equal(res.status, 405);
      assert.equal(await stack.queues.cloud.isPaused(), false);
    });

    it('answers 401 to a client on another address, whatever X-Forwarded-For says', async function () {
      needLan(this);
      const health = await fromLan(stack, '/health');
      assert.equal(health.status, 200, 'the producer is reachable from that address');
      const spoofs: Record<string, string>[] = [
        {},
        { 'X-Forwarded-For': '127.0.0.1' },
        { 'X-Real-IP': '127.0.0.1', Forwarded: 'for=127.0.0.1' },
      ];
      for (const headers of spoofs) {
        for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
          const res = await fromLan(stack, path, headers);
          assert.equal(res.status, 401, `${path} with ${JSON.stringify(headers)}`);
          assert.equal(res.headers['www-authenticate'], undefined, 'no password would help: no challenge');
          assert.equal(JSON.parse(res.body).error.code, 'unauthorized');
        }
      }
    });
  });

  describe('after work ran', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({}, { emulatorLatencyMs: 0 });
    });
    after(async () => {
      await stack?.close();
    });

    type QueueCard = { name: string; counts: Record<string, number>; activeRateLimitTtl: number };
    const cards = async () => (JSON.parse((await fromLoopback(stack, '/admin/queues/api/queues')).body) as { queues: QueueCard[] }).queues;

    it('keeps what ran (JOB_HISTORY), shows no rate limit when none is set, and the 429 pause while it holds', async () => {
      const res = await stack.http.post('/conversation', { initialQuery: 'Leave a trace', maxTurns: 2 });
      assert.equal((await waitForConversation(stack, res.data.conversationId)).status, 'completed');
      const byName = new Map((await cards()).map((q) => [q.name, q]));
      assert.equal(byName.get('cloud')!.counts.completed, 2, 'both cloud steps are still listed');
      assert.equal(byName.get('local')!.counts.completed, 2);
      assert.equal(byName.get('transcript')!.counts.completed, 1);
      // The cloud worker has a limiter (so a pause is honoured) but no limit: no "rate limited" badge.
      for (const q of byName.values()) assert.equal(q.activeRateLimitTtl, 0, `${q.name}: ${q.activeRateLimitTtl}`);
      // A throttling pause (what a cloud 429 does) is shown while it holds.
      await stack.queues.cloud.rateLimit(5000);
      const paused = (await cards()).find((q) => q.name === 'cloud')!;
      assert.ok(paused.activeRateLimitTtl > 3000 && paused.activeRateLimitTtl <= 5000, String(paused.activeRateLimitTtl));
      await stack.queues.cloud.removeRateLimitKey();
    });

    it("the board's page asks for no web font from another host", async () => {
      const page = await fromLoopback(stack, '/admin/queues');
      assert.equal(page.status, 200);
      assert.match(page.body, /static\/css\/main\.[0-9a-f]+\.css/);
      assert.doesNotMatch(page.body, /https?:\/\/(?!127\.0\.0\.1|localhost)/, 'no URL off this host');
    });
  });

  describe('with BOARD_USERNAME/BOARD_PASSWORD and API_KEY', () => {
    let stack: TestStack;
    const env = { HOST: '0.0.0.0', BOARD_USERNAME: 'ops', BOARD_PASSWORD: 's3cret pass:word', API_KEY: 'api-key-1' };
    before(async () => {
      stack = await startTestStack(env, { roles: [] });
    });
    after(async () => {
      await stack?.close();
    });

    it('asks for Basic auth, also on loopback, and rejects wrong credentials', async () => {
      const none = await fromLoopback(stack, '/admin/queues');
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Basic realm="Bull Board"/);
      for (const auth of [basic('ops', 'wrong'), basic('other', env.BOARD_PASSWORD), basic('ops', ''), 'Bearer api-key-1', 'Basic !!!']) {
        const res = await fromLoopback(stack, '/admin/queues', { headers: { Authorization: auth } });
        assert.equal(res.status, 401, auth);
      }
      const apiKeyOnly = await fromLoopback(stack, '/admin/queues', { headers: { 'x-api-key': env.API_KEY } });
      assert.equal(apiKeyOnly.status, 401, 'the API key does not open the board when it has its own credentials');
    });

    it('lets the right credentials in from another address, read-write; the API still needs the API key', async function () {
      needLan(this);
      const auth = { Authorization: basic('ops', env.BOARD_PASSWORD) };
      const page = await fromLan(stack, '/admin/queues', auth);
      assert.equal(page.status, 200);
      const api = await fromLan(stack, '/admin/queues/api/queues', auth);
      const { queues } = JSON.parse(api.body) as { queues: { name: string; readOnlyMode: boolean }[] };
      assert.deepEqual(queues.map((q) => q.name).sort(), [...QUEUES].sort());
      assert.ok(queues.every((q) => !q.readOnlyMode));
      // Board credentials are not API credentials.
      assert.equal((await fromLan(stack, '/conversations', auth)).status, 401);
      assert.equal((await fromLan(stack, '/conversations', { 'x-api-key': env.API_KEY })).status, 200);
      assert.equal((await fromLan(stack, '/metrics')).status, 401);
      assert.equal((await fromLan(stack, '/metrics', { Authorization: `Bearer ${env.API_KEY}` })).status, 200);
    });

    it('an unknown path under the board is a 404, not an API route', async () => {
      const res = await fromLoopback(stack, '/admin/queues/nope/nothing', { headers: { Authorization: basic('ops', env.BOARD_PASSWORD) } });
      assert.equal(res.status, 404);
    });
  });

  describe('with API_KEY but no board credentials', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ HOST: '0.0.0.0', API_KEY: 'api-key-2' }, { roles: [] });
    });
    after(async () => {
      await stack?.close();
    });

    it('loopback clients give the API key as the Basic-auth password; other addresses are refused', async function () {
      const none = await fromLoopback(stack, '/admin/queues');
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Basic/);
      assert.equal((await fromLoopback(stack, '/admin/queues', { headers: { Authorization: basic('anyone', 'wrong') } })).status, 401);
      assert.equal((await fromLoopback(stack, '/admin/queues', { headers: { Authorization: basic('anyone', 'api-key-2') } })).status, 200);
      needLan(this);
      assert.equal((await fromLan(stack, '/admin/queues', { Authorization: basic('anyone', 'api-key-2') })).status, 401);
    });
  });

  describe('the access rule', () => {
    it('knows loopback addresses', () => {
      for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.9.9.9']) assert.ok(isLoopbackAddress(a), a);
      for (const a of ['192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fd00::2', '128.0.0.1', '127.0.0.256', '1127.0.0.1', '', undefined]) {
        assert.ok(!isLoopbackAddress(a), String(a));
      }
    });

    it('decides every case', () => {
      const creds = { username: 'u', password: 'p' };
      assert.deepEqual(decideBoardAccess({}, { remoteAddress: '127.0.0.1' }), { allow: true, via: 'loopback' });
      assert.equal(decideBoardAccess({}, { remoteAddress: '10.1.1.1', authorization: basic('u', 'p') }).allow, false);
      // From the Docker host a container sees the bridge address: the refusal names it and the fix.
      const fromBridge = decideBoardAccess({}, { remoteAddress: '172.18.0.1' });
      assert.ok(
        !fromBridge.allow &&
          /172\.18\.0\.1/.test(fromBridge.reason) &&
          /BOARD_USERNAME/.test(fromBridge.reason) &&
          /\.env/.test(fromBridge.reason),
        JSON.stringify(fromBridge),
      );
      assert.deepEqual(decideBoardAccess(creds, { remoteAddress: '10.1.1.1', authorization: basic('u', 'p') }), {
        allow: true,
        via: 'basic-auth',
      });
      assert.equal(decideBoardAccess(creds, { remoteAddress: '127.0.0.1' }).allow, false);
      assert.equal(decideBoardAccess(creds, { remoteAddress: '127.0.0.1', authorization: basic('u', 'px') }).allow, false);
      assert.equal(decideBoardAccess({ apiKey: 'k' }, { remoteAddress: '::1', authorization: basic('x', 'k') }).allow, true);
      assert.equal(decideBoardAccess({ apiKey: 'k' }, { remoteAddress: '::1' }).allow, false);
    });
  });
});
