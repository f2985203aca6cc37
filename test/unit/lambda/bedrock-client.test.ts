import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { startBedrockEmulator, type EmulatorHandle } from '../../../emulators/bedrock-emulator';
import { ProviderError } from '../../../shared/errors';
import { BEDROCK_SDK_MAX_ATTEMPTS, createBedrockConverse } from '../../../bedrock/bedrock-client';

const MODEL = 'amazon.nova-micro-v1:0';
const callsOf = (emu: EmulatorHandle) => (emu.stats() as { calls: number }).calls;

async function rejectsWith(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    assert.equal(err.provider, 'bedrock');
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('bedrock-client (real SDK against the Bedrock emulator)', () => {
  let emu: EmulatorHandle;

  before(async () => {
    emu = await startBedrockEmulator({ port: 0 });
  });
  afterEach(() => emu.faults.reset());
  after(async () => {
    await emu.close();
  });

  it("the SDK's default HTTP/2 handler fails against an HTTP/1.1 endpoint (why we set NodeHttpHandler)", async () => {
    const client = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: emu.url,
      maxAttempts: 1,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      await assert.rejects(
        client.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'hi' }] }] })),
        /Protocol error/,
      );
    } finally {
      client.destroy();
    }
  });

  it('converses over HTTP/1.1 with an http:// endpoint override', async () => {
    const converse = createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: MODEL });
    const reply = await converse({
      system: 'Answer briefly.',
      history: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Hi there' },
      ],
      prompt: 'What is BullMQ?',
      temperature: 0.3,
      maxTokens: 400,
    });
    assert.match(reply.text, /^\[emulated bedrock amazon\.nova-micro-v1:0\] .*What is BullMQ\?/);
    assert.equal(reply.modelId, MODEL);
    assert.equal(reply.stopReason, 'end_turn');
    assert.ok(reply.inputTokens > 0 && reply.outputTokens > 0);
    assert.ok(reply.latencyMs >= 0);
  });

  describe('over https://', () => {
    let dir: string | undefined;
    let tls: https.Server | undefined;
    let tlsUrl = '';
    let cert: Buffer;

    before(async function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bedrock-tls-'));
      try {
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-days',
            '1',
            '-subj',
            '/CN=127.0.0.1',
            '-addext',
            'subjectAltName=IP:127.0.0.1',
            '-keyout',
            path.join(dir, 'key.pem'),
            '-out',
            path.join(dir, 'cert.pem'),
          ],
          { stdio: 'ignore' },
        );
      } catch {
        console.log('      (skipped: the openssl binary is needed to make a test certificate)');
        this.skip();
      }
      cert = fs.readFileSync(path.join(dir, 'cert.pem'));
      // A TLS front (HTTP/1.1 only) that forwards each request to the emulator.
      tls = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert }, (req, res) => {
        const upstream = http.request(`${emu.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => tls!.listen(0, '127.0.0.1', resolve));
      tlsUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    });
    after(async () => {
      if (tls) {
        tls.closeAllConnections();
        await new Promise<void>((resolve) => tls!.close(() => resolve()));
      }
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('converses with an https:// endpoint override (agent trusting the test CA)', async () => {
      const agent = new https.Agent({ ca: cert, keepAlive: true });
      try {
        const converse = createBedrockConverse({ region: 'us-east-1', endpoint: tlsUrl, defaultModelId: MODEL, httpsAgent: agent });
        const reply = await converse({ history: [], prompt: 'Over TLS?' });
        assert.match(reply.text, /Over TLS\?/);
      } finally {
        agent.destroy();
      }
    });
  });

  it('makes one SDK attempt per call: a throttle reaches the caller at once as 429 (the worker is the only retry layer)', async () => {
    const converse = createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: MODEL });
    emu.faults.set({ faults: [{ kind: 'status', status: 429, count: 5 }] });
    const before = callsOf(emu);
    const started = Date.now();
    const err = await rejectsWith(converse({ history: [], prompt: 'retry me' }));
    assert.equal(
      callsOf(emu) - before,
      1,
      `one billed call per Lambda invocation (BEDROCK_SDK_MAX_ATTEMPTS = ${BEDROCK_SDK_MAX_ATTEMPTS})`,
    );
    assert.ok(Date.now() - started < 1_000, 'no SDK backoff spent before the worker sees the throttle');
    assert.equal(err.status, 429);
    assert.equal(err.retryable, true);
    assert.match(err.message, /^ThrottlingException: /);
  });

  it('ServiceQuotaExceededException (HTTP 400) is retryable but not a throttle (503 quota_exceeded)', async () => {
    const converse = createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: MODEL });
    emu.faults.set({ faults: [{ kind: 'status', status: 400, errorType: 'ServiceQuotaExceededException', count: 1 }] });
    const err = await rejectsWith(converse({ history: [], prompt: 'quota' }));
    assert.equal(err.details && (err.details as { providerStatus?: number }).providerStatus, 400);
    assert.equal(err.status, 503);
    assert.equal(err.code, 'quota_exceeded');
    assert.equal(err.retryable, true);
  });

  it('a hung Bedrock call times out (requestTimeout really throws) as a retryable 504', async () => {
    const converse = createBedrockConverse({
      region: 'us-east-1',
      endpoint: emu.url,
      defaultModelId: MODEL,
      requestTimeoutMs: 300,
      maxAttempts: 1,
    });
    emu.faults.set({ faults: [{ kind: 'hang' }] });
    const started = Date.now();
    const err = await rejectsWith(converse({ history: [], prompt: 'hang' }));
    assert.equal(err.status, 504);
    assert.equal(err.code, 'upstream_timeout');
    assert.equal(err.retryable, true);
    assert.ok(Date.now() - started < 3_000);
  });

  it('an abort signal cancels the call at once', async () => {
    const converse = createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: MODEL });
    emu.faults.set({ faults: [{ kind: 'hang' }] });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by test')), 100);
    const started = Date.now();
    const err = await rejectsWith(converse({ history: [], prompt: 'hang', signal: ac.signal }));
    assert.ok(Date.now() - started < 2_000);
    assert.equal(err.code, 'aborted');
  });

  it('an unreachable endpoint is a retryable 503', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const converse = createBedrockConverse({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      defaultModelId: MODEL,
      maxAttempts: 1,
    });
    const err = await rejectsWith(converse({ history: [], prompt: 'anyone?' }));
    assert.equal(err.status, 503);
    assert.equal(err.code, 'upstream_unreachable');
    assert.equal(err.retryable, true);
  });
});
