import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { encodeResponse } from '../../../proto/codec';
import { ProviderError } from '../../../shared/errors';
import { createApiGatewayClient } from '../../../providers/api-gateway-client';
import { createSigV4Signer } from '../../../providers/sigv4-signer';

const REGION = 'eu-central-1';
const CREDS: AwsCredentialIdentity = { accessKeyId: 'AKIDEXAMPLETEST', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

interface Verdict {
  ok: boolean;
  why?: string;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * What API Gateway does for an IAM-protected API: recompute the SigV4 signature from the request
 * as received (method, host, path, query, signed headers, and the body's own hash) with the
 * caller's secret, and compare.
 */
async function verify(req: IncomingMessage, body: Buffer, creds: AwsCredentialIdentity): Promise<Verdict> {
  const auth = req.headers.authorization ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return { ok: false, why: 'missing or malformed Authorization header' };
  const [, keyId, , region, service, signedHeaders] = m;
  if (keyId !== creds.accessKeyId) return { ok: false, why: 'unknown access key' };
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!d) return { ok: false, why: 'missing x-amz-date' };
  const signingDate = new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!));
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(';')) {
    // The payload hash is recomputed from the bytes that arrived, never taken from the header.
    if (name === 'x-amz-content-sha256') continue;
    const v = req.headers[name];
    if (v === undefined) return { ok: false, why: `signed header ${name} missing` };
    headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const signer = new SignatureV4({ service: service!, region: region!, credentials: creds, sha256: Sha256 });
  const expected = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers,
      body,
    },
    { signingDate },
  );
  const same = expected.headers['authorization'] === auth;
  return same ? { ok: true } : { ok: false, why: 'The request signature we calculated does not match the signature you provided.' };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('SigV4 signing of the cloud client (verified by a server that recomputes the signature)', () => {
  let verifier: http.Server;
  let verifierUrl: string;
  const seen: Array<{ headers: IncomingMessage['headers']; verdict: Verdict }> = [];

  before(async () => {
    verifier = http.createServer((req, res) => {
      void readBody(req).then(async (body) => {
        const verdict = await verify(req, body, CREDS);
        seen.push({ headers: req.headers, verdict });
        if (!verdict.ok) {
          res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'InvalidSignatureException' });
          res.end(JSON.stringify({ message: verdict.why }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end(Buffer.from(encodeResponse({ outputText: 'signed and verified', modelId: 'verifier' })));
      });
    });
    verifierUrl = await listen(verifier);
  });
  afterEach(() => {
    seen.length = 0;
  });
  after(async () => {
    await closeServer(verifier);
  });

  it('a request signed with the right secret is accepted (method, host, path, query, headers and body signed)', async () => {
    const client = createApiGatewayClient({
      url: `${verifierUrl}/prod/generate?v=1`,
      timeoutMs: 5_000,
      apiKey: 'key-1',
      sigv4: { region: REGION, credentials: CREDS },
    });
    const reply = await client.generate({ prompt: 'Sign me', temperature: 0.5 });
    assert.equal(reply.text, 'signed and verified');
    const { headers, verdict } = seen[0]!;
    assert.equal(verdict.ok, true);
    const signed = /SignedHeaders=([^,]+)/.exec(String(headers.authorization))![1]!.split(';');
    for (const h of ['host', 'content-type', 'x-amz-date', 'x-amz-content-sha256', 'x-api-key'])
      assert.ok(signed.includes(h), `${h} is signed`);
    assert.match(String(headers.authorization), new RegExp(`Credential=AKIDEXAMPLETEST/\\d{8}/${REGION}/execute-api/aws4_request`));
  });

  it('a session token is sent and signed; a credential provider function works', async () => {
    const withToken = { ...CREDS, sessionToken: 'session-token-value' };
    const client = createApiGatewayClient({
      url: verifierUrl,
      timeoutMs: 5_000,
      sigv4: { region: REGION, credentials: async () => withToken },
    });
    assert.equal((await client.generate({ prompt: 'with token' })).text, 'signed and verified');
    assert.equal(seen[0]!.headers['x-amz-security-token'], 'session-token-value');
    assert.match(String(seen[0]!.headers.authorization), /SignedHeaders=[^,]*x-amz-security-token/);
  });

  it('a request signed with a wrong secret is rejected with 403, as a permanent error', async () => {
    const client = createApiGatewayClient({
      url: verifierUrl,
      timeoutMs: 5_000,
      sigv4: { region: REGION, credentials: { ...CREDS, secretAccessKey: 'not-the-secret' } },
    });
    await assert.rejects(client.generate({ prompt: 'bad secret' }), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.status, 403);
      assert.equal(err.retryable, false);
      assert.match(err.message, /signature we calculated does not match/);
      return true;
    });
    assert.equal(seen[0]!.verdict.ok, false);
  });

  it('a body altered in transit is rejected: the signature covers the payload', async () => {
    // A forwarding hop that changes one byte of the body and nothing else.
    const tamper = http.createServer((req, res) => {
      void readBody(req).then((body) => {
        const altered = Buffer.from(body);
        altered[0] = altered[0] === 0x41 ? 0x42 : 0x41;
        const target = new URL(verifierUrl);
        const fwd = http.request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        fwd.end(altered);
      });
    });
    const tamperUrl = await listen(tamper);
    try {
      // Sign for the verifier's host so only the body differs.
      const signer = createSigV4Signer({ region: REGION, credentials: CREDS });
      const url = new URL(verifierUrl);
      const headers = await signer.sign({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-protobuf' },
        body: 'CgVoZWxsbw==',
      });
      const res = await fetch(tamperUrl, { method: 'POST', headers, body: 'CgVoZWxsbw==' });
      assert.equal(res.status, 403);
      assert.equal(seen[0]!.verdict.ok, false);

      // The same signed request, unaltered, passes: the 403 above is the tampering's doing.
      const direct = await fetch(verifierUrl, { method: 'POST', headers, body: 'CgVoZWxsbw==' });
      assert.equal(direct.status, 200);
    } finally {
      await closeServer(tamper);
    }
  });
});
