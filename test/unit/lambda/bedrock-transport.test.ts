/**
 * The Lambda's Bedrock transport over TLS, end to end: the client built exactly as production
 * builds it (createBedrockConverse; only the endpoint and a CA for the test certificate differ)
 * against the emulator's TLS listener, which offers ALPN h2 and http/1.1 like Bedrock's endpoint.
 * Both transports are driven the same way — ours (NodeHttpHandler, HTTP/1.1) and the SDK's default
 * (NodeHttp2Handler, HTTP/2) — through success, a held call, a body cut off mid-way and a run of
 * sequential calls, which is the evidence behind lambda/README.md ("HTTP/1.1 or HTTP/2").
 * The handler's behaviour was read in node_modules/@smithy/node-http-handler/dist-cjs/index.js
 * (NodeHttp2Handler: `nodeHttp2ConnectOptions`, stream timeouts, "http2 request did not get a
 * response") and the client's default in @aws-sdk/client-bedrock-runtime dist-cjs/index.js
 * (`requestHandler: NodeHttp2Handler.create(... disableConcurrentStreams: true)` for every command).
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { ProviderError } from '../../../shared/errors';
import { makeTestCert, type TestCert } from '../../helpers/test-cert';
import { createBedrockConverse, type BedrockConverseOptions, type ConverseFn } from '../../../bedrock/bedrock-client';

const MODEL = 'amazon.nova-micro-v1:0';

describe('Bedrock transport over TLS (emulator with ALPN h2 + http/1.1)', function () {
  this.timeout(20_000);
  let cert: TestCert | undefined;
  let emu: BedrockEmulatorHandle;
  const agents: https.Agent[] = [];

  before(async function () {
    cert = makeTestCert();
    if (!cert) {
      console.log('      (skipped: the openssl binary is needed to make a test certificate)');
      this.skip();
    }
    emu = await startBedrockEmulator({ tls: cert });
  });
  afterEach(() => emu?.faults.reset());
  after(async () => {
    for (const a of agents) a.destroy();
    await emu?.close();
  });

  /** The production client; only the endpoint and the trust of the test CA differ. */
  function production(extra: Partial<BedrockConverseOptions> = {}): ConverseFn {
    const agent = new https.Agent({ keepAlive: true, ca: cert!.cert });
    agents.push(agent);
    return createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: MODEL, httpsAgent: agent, ...extra });
  }
  const sdkDefault = (extra: Partial<BedrockConverseOptions> = {}) => production({ transport: 'http2', http2Ca: cert!.cert, ...extra });

  async function providerError(p: Promise<unknown>): Promise<ProviderError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
      return err;
    }
    assert.fail('expected the call to fail');
  }

  it('the production client (default transport) converses over TLS with HTTP/1.1', async () => {
    const before = emu.httpVersions['1.1'] ?? 0;
    const reply = await production()({ history: [], prompt: 'Over TLS?' });
    assert.match(reply.text, /Over TLS\?/);
    assert.equal((emu.httpVersions['1.1'] ?? 0) - before, 1, 'served over http/1.1');
  });

  it("the SDK's default NodeHttp2Handler converses over TLS with HTTP/2 (ALPN h2)", async () => {
    const before = emu.httpVersions['2'] ?? 0;
    const reply = await sdkDefault()({ history: [], prompt: 'Over h2?' });
    assert.match(reply.text, /Over h2\?/);
    assert.equal((emu.httpVersions['2'] ?? 0) - before, 1, 'served over h2');
  });

  for (const [name, make] of [
    ['HTTP/1.1 (production)', () => production({ requestTimeoutMs: 60_000 })],
    ['HTTP/2 (SDK default)', () => sdkDefault({ requestTimeoutMs: 60_000 })],
  ] as const) {
    it(`${name}: the handler's deadline ends a held call as a retryable 504`, async () => {
      emu.faults.set({ faults: [{ kind: 'hang', count: 1 }] });
      const started = Date.now();
      const err = await providerError(make()({ history: [], prompt: 'hold', signal: AbortSignal.timeout(400) }));
      const took = Date.now() - started;
      assert.equal(err.status, 504);
      assert.equal(err.retryable, true);
      assert.ok(took < 2_000, `ended by the deadline (took ${took} ms)`);
    });

    it(`${name}: a body cut off mid-way is a retryable error`, async () => {
      emu.faults.set({ faults: [{ kind: 'midstream-error', count: 1 }] });
      const err = await providerError(make()({ history: [], prompt: 'cut' }));
      assert.equal(err.retryable, true, `${err.code}: ${err.message}`);
    });
  }

  it('both transports serve 30 sequential calls on one client; timings are logged for the record', async () => {
    const timings: Record<string, number> = {};
    for (const [name, converse] of [
      ['http1', production()],
      ['http2', sdkDefault()],
    ] as const) {
      await converse({ history: [], prompt: 'warm' });
      const started = performance.now();
      for (let i = 0; i < 30; i++) assert.match((await converse({ history: [], prompt: `n${i}` })).text, new RegExp(`n${i}`));
      timings[name] = Math.round(((performance.now() - started) / 30) * 100) / 100;
    }
    console.log(`      mean per call over TLS on loopback: HTTP/1.1 ${timings.http1} ms, HTTP/2 ${timings.http2} ms`);
  });
});
