/**
 * `llmconv doctor` end to end against the emulators with the real clients: `@aws-sdk/client-sts`
 * and `@aws-sdk/client-bedrock` reach the Bedrock emulator only through the SDK's own endpoint
 * setting (`AWS_ENDPOINT_URL`), the `ollama` client the Ollama emulator, ioredis a real
 * redis-server, fetch the local API Gateway (stage `v1`, an API key) running the real Lambda
 * handler. A healthy configuration exits 0 with every line ok; each failing check is reproduced
 * once with its exit code and hint line; `--json` and `GET /ready?verbose=1` give the same lines.
 *
 * What the emulators reproduce and where it was read: emulators/sts-emulator.ts (STS
 * GetCallerIdentity, InvalidClientTokenId 403 XML as captured in aws-azure-login#251),
 * emulators/bedrock-control-emulator.ts (GetFoundationModel lifecycle, end-of-life
 * ResourceNotFoundException, inference profiles; @aws-sdk/client-bedrock 3.1163 schemas).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../emulators/bedrock-emulator';
import { startLocalGateway, type LocalGateway } from '../../lambda/local-gateway';
import { startOllamaEmulator, type EmulatorHandle } from '../../emulators/ollama-emulator';
import { createHandler } from '../../lambda/handler';
import { createBedrockConverse } from '../../bedrock/bedrock-client';
import { startLocalStack } from '../../stack/local-stack';
import { doctorCommand } from '../../doctor/doctor-command';
import type { CheckResult } from '../../doctor/check-result';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';
import { loadModelCatalog } from '../../shared/model-catalog';
import type { Env } from '../../shared/config';
import { startTestStack } from '../helpers/test-stack';
import { testRedisUrl } from '../helpers/redis';

const ROOT = path.resolve(__dirname, '..', '..');
const CATALOG = path.join(ROOT, 'test', 'fixtures', 'doctor-catalog.json');
const GOOD_KEY = 'AKIADOCTORTESTGOOD01';
const ACTIVE_MODEL = 'amazon.nova-micro-v1:0';
const EOL_MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `llmconv doctor` in this process with `env` as the whole environment: the AWS SDK reads
 * its endpoint and credential settings from `process.env` itself, so it is swapped for the call.
 */
async function doctor(env: Env, args: string[] = []): Promise<Run> {
  const saved = process.env;
  process.env = { PATH: saved.PATH, HOME: saved.HOME, ...env } as NodeJS.ProcessEnv;
  let stdout = '';
  let stderr = '';
  try {
    const code = await doctorCommand(
      args,
      { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
      process.env,
    );
    return { code, stdout, stderr };
  } finally {
    process.env = saved;
  }
}

const lineOf = (out: string, check: string) => out.split('\n').find((l) => new RegExp(`^\\S+\\s+${check.replace('.', '\\.')}\\s`).test(l));
/** The hint printed under a check's line. */
const hintOf = (out: string, check: string) => {
  const lines = out.split('\n');
  const at = lines.indexOf(lineOf(out, check) ?? '\0');
  return at >= 0 && /^\s+→/.test(lines[at + 1] ?? '') ? lines[at + 1]! : undefined;
};

describe('llmconv doctor against the emulators', function () {
  this.timeout(30_000);
  let bedrock: BedrockEmulatorHandle;
  let ollama: EmulatorHandle;
  let gateway: LocalGateway;
  let tmp: string;
  let env: Env;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-doctor-'));
    bedrock = await startBedrockEmulator({
      control: {
        catalog: loadModelCatalog(CATALOG),
        identities: {
          [GOOD_KEY]: {
            account: '000000000000',
            arn: 'arn:aws:iam::000000000000:user/doctor-test',
            userId: 'AIDADOCTORTEST',
            secretAccessKey: 'doctor-test-secret',
          },
        },
        profileModels: [ACTIVE_MODEL],
        unentitledModels: ['anthropic.claude-sonnet-4-5-20250929-v1:0'],
      },
    });
    ollama = await startOllamaEmulator({ models: ['llama3.2'] });
    const handler = createHandler({
      config: {
        logLevel: 'silent',
        awsRegion: 'us-east-1',
        bedrockModelId: ACTIVE_MODEL,
        bedrockEndpoint: bedrock.url,
        defaultMaxTokens: 1024,
        gatewayTimeoutMs: 29_000,
      },
    });
    gateway = await startLocalGateway({ handler, stage: 'v1', apiKey: 'doctor-gateway-key' });
    env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: GOOD_KEY,
      AWS_SECRET_ACCESS_KEY: 'doctor-test-secret',
      // The SDK's own setting, read by every AWS client (STS, Bedrock, Bedrock Runtime) itself.
      AWS_ENDPOINT_URL: bedrock.url,
      BEDROCK_MODEL_ID: ACTIVE_MODEL,
      MODEL_CATALOG_FILE: CATALOG,
      API_GATEWAY_URL: `${gateway.url}/generate`,
      API_GATEWAY_API_KEY: 'doctor-gateway-key',
      OLLAMA_HOST: ollama.url,
      OLLAMA_MODEL: 'llama3.2',
      OLLAMA_NUM_CTX: '8192',
      REDIS_URL: testRedisUrl(),
      OUTPUT_DIR: path.join(tmp, 'out'),
    };
  });
  after(async () => {
    await Promise.all([bedrock?.close(), ollama?.close(), gateway?.close()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a healthy configuration: exit 0, every line ok, and the SDK went to AWS_ENDPOINT_URL', async () => {
    await fetch(`${bedrock.url}/_emulator/stats`, { method: 'DELETE' });
    const run = await doctor(env);
    assert.equal(run.code, 0, run.stdout);
    const lines = run.stdout.split('\n').filter((l) => /^\S+\s+[a-z][\w.-]+\s/.test(l) && !/^(ok|FAILED):/.test(l));
    const checks = lines.map((l) => l.split(/\s+/)[1]);
    for (const c of [
      'aws.identity',
      'bedrock.model',
      'bedrock.access',
      'api-gateway',
      'ollama.server',
      'ollama.model',
      'ollama.context',
      'ollama.thinking',
      'redis',
      'redis.eviction',
      'redis.aof',
      'output-dir',
    ]) {
      assert.ok(checks.includes(c), `line ${c} missing:\n${run.stdout}`);
    }
    for (const l of lines) assert.match(l, /^ok\s/, run.stdout);
    assert.match(lineOf(run.stdout, 'aws.identity')!, /arn:aws:iam::000000000000:user\/doctor-test .*AWS_ENDPOINT_URL/);
    assert.match(lineOf(run.stdout, 'bedrock.model')!, /amazon\.nova-micro-v1:0 \(Nova Micro\) is ACTIVE in us-east-1 \(Bedrock/);
    assert.match(lineOf(run.stdout, 'api-gateway')!, /reaches the Lambda \(400 .*empty_body.*Bedrock not called/);
    // The cheap check never reached the model.
    assert.equal(bedrock.stats().byRoute.converse ?? 0, 0, JSON.stringify(bedrock.stats()));
  });

  it('--json: {ok, checks: [{check, status, found, fix?, setting?}]} through bin/llmconv.js', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'llmconv.js'), 'doctor', '--json'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
    });
    const report = JSON.parse(stdout) as { ok: boolean; checks: CheckResult[] };
    assert.equal(report.ok, true);
    assert.ok(report.checks.length >= 10);
    for (const c of report.checks) {
      assert.equal(typeof c.check, 'string');
      assert.ok(['ok', 'warn', 'fail', 'skip'].includes(c.status));
      assert.equal(typeof c.found, 'string');
    }
  });

  it('bad credentials: aws.identity fails with InvalidClientTokenId and names the key setting', async () => {
    const run = await doctor({ ...env, AWS_ACCESS_KEY_ID: 'AKIADOCTORTESTBAD001' });
    assert.equal(run.code, 1);
    assert.match(
      lineOf(run.stdout, 'aws.identity')!,
      /^FAIL .*InvalidClientTokenId: The security token included in the request is invalid/,
    );
    assert.match(hintOf(run.stdout, 'aws.identity')!, /renew the credentials.*\[AWS_ACCESS_KEY_ID\]/);
    const secret = await doctor({ ...env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    assert.equal(secret.code, 1);
    assert.match(
      lineOf(secret.stdout, 'aws.identity')!,
      /^FAIL .*SignatureDoesNotMatch: The request signature we calculated does not match/,
    );
    assert.match(hintOf(secret.stdout, 'aws.identity')!, /\[AWS_SECRET_ACCESS_KEY\]/);
  });

  it('an end-of-life model: bedrock.model fails with the end-of-life date and the replacement', async () => {
    const run = await doctor({ ...env, BEDROCK_MODEL_ID: EOL_MODEL });
    assert.equal(run.code, 1);
    assert.match(
      lineOf(run.stdout, 'bedrock.model')!,
      /^FAIL .*ResourceNotFoundException: This model version has reached the end of its life.*end of life 2026-09-10/,
    );
    assert.match(hintOf(run.stdout, 'bedrock.model')!, /BEDROCK_MODEL_ID to amazon\.nova-micro-v1:0.*\[BEDROCK_MODEL_ID\]/);
    // Lifecycle is per region: the same id is active where the catalogue says so.
    const ca = await doctor({ ...env, BEDROCK_MODEL_ID: EOL_MODEL, AWS_REGION: 'ca-central-1' });
    assert.match(lineOf(ca.stdout, 'bedrock.model')!, /^ok .*is ACTIVE in ca-central-1/);
    const seoul = await doctor({ ...env, BEDROCK_MODEL_ID: EOL_MODEL, AWS_REGION: 'ap-northeast-2' });
    assert.match(lineOf(seoul.stdout, 'bedrock.model')!, /^warn .*LEGACY in ap-northeast-2, end of life 2027-03-10/);
  });

  it('a model invoked only through an inference profile: the bare id fails naming the profile id', async () => {
    const run = await doctor({ ...env, BEDROCK_MODEL_ID: 'anthropic.claude-sonnet-4-5-20250929-v1:0' });
    assert.equal(run.code, 1);
    assert.match(lineOf(run.stdout, 'bedrock.inference-profile')!, /^FAIL .*only through an inference profile/);
    assert.match(hintOf(run.stdout, 'bedrock.inference-profile')!, /BEDROCK_MODEL_ID=us\.anthropic\.claude-sonnet-4-5-20250929-v1:0/);
    const ok = await doctor({ ...env, BEDROCK_MODEL_ID: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' });
    assert.match(lineOf(ok.stdout, 'bedrock.inference-profile')!, /^ok .*SYSTEM_DEFINED profile ACTIVE/);
    assert.match(lineOf(ok.stdout, 'bedrock.model')!, /^ok .*Claude Sonnet 4\.5/);
    // No Marketplace entitlement (GetFoundationModelAvailability): a warning naming the actions.
    assert.match(lineOf(ok.stdout, 'bedrock.access')!, /^warn .*entitlement NOT_AVAILABLE/);
    assert.match(hintOf(ok.stdout, 'bedrock.access')!, /aws-marketplace:ViewSubscriptions and aws-marketplace:Subscribe.*minutes/);
  });

  it('a wrong API Gateway stage: api-gateway fails and names API_GATEWAY_URL', async () => {
    const run = await doctor({ ...env, API_GATEWAY_URL: `${gateway.url.replace(/\/v1$/, '/prod')}/generate` });
    assert.equal(run.code, 1);
    assert.match(lineOf(run.stdout, 'api-gateway')!, /^FAIL .*(no such stage|Missing Authentication Token)/);
    assert.match(hintOf(run.stdout, 'api-gateway')!, /execute-api.*<stage>.*\[API_GATEWAY_URL\]/);
    const noKey = await doctor({ ...env, API_GATEWAY_API_KEY: '' });
    assert.match(lineOf(noKey.stdout, 'api-gateway')!, /^FAIL .*403.*API key is missing or wrong/);
    assert.match(hintOf(noKey.stdout, 'api-gateway')!, /\[API_GATEWAY_API_KEY\]/);
  });

  it('a model not pulled in Ollama: ollama.model fails naming ollama pull', async () => {
    const run = await doctor({ ...env, OLLAMA_MODEL: 'qwen3:4b' });
    assert.equal(run.code, 1);
    assert.match(lineOf(run.stdout, 'ollama.model')!, /^FAIL .*no model "qwen3:4b"/);
    assert.match(hintOf(run.stdout, 'ollama.model')!, /ollama pull qwen3:4b.*\[OLLAMA_MODEL\]/);
  });

  it('an unreachable Ollama: ollama.server fails naming OLLAMA_HOST', async () => {
    const run = await doctor({ ...env, OLLAMA_HOST: `http://127.0.0.1:${await freePort()}` });
    assert.equal(run.code, 1);
    assert.match(lineOf(run.stdout, 'ollama.server')!, /^FAIL .*does not answer \/api\/version/);
    assert.match(hintOf(run.stdout, 'ollama.server')!, /\[OLLAMA_HOST\]/);
  });

  it('a small OLLAMA_NUM_CTX: ollama.context warns with the size a conversation needs', async () => {
    const run = await doctor({ ...env, OLLAMA_NUM_CTX: '2048' });
    assert.equal(run.code, 0, 'a warning is not a failure');
    assert.match(
      lineOf(run.stdout, 'ollama.context')!,
      /^warn .*OLLAMA_NUM_CTX 2048, but a default conversation sends up to about 8192 tokens/,
    );
    assert.match(hintOf(run.stdout, 'ollama.context')!, /at least 8192 \[OLLAMA_NUM_CTX\]/);
  });

  describe('a Redis that evicts', () => {
    let lru: EmbeddedRedis;
    before(async () => {
      lru = await startEmbeddedRedis({ args: ['--maxmemory-policy', 'allkeys-lru', '--appendonly', 'no'] });
    });
    after(async () => {
      await lru?.stop();
    });
    it('redis.eviction fails naming noeviction; AOF off warns', async () => {
      const run = await doctor({ ...env, REDIS_URL: lru.url });
      assert.equal(run.code, 1);
      assert.match(lineOf(run.stdout, 'redis.eviction')!, /^FAIL .*maxmemory-policy allkeys-lru/);
      assert.match(hintOf(run.stdout, 'redis.eviction')!, /maxmemory-policy noeviction.*\[REDIS_URL\]/);
      assert.match(lineOf(run.stdout, 'redis.aof')!, /^warn .*AOF is off/);
    });
  });

  it('an OUTPUT_DIR that cannot be written: output-dir fails naming OUTPUT_DIR', async () => {
    // Under a regular file, so it fails for root too (permissions would not stop root).
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    const run = await doctor({ ...env, OUTPUT_DIR: path.join(file, 'out') });
    assert.equal(run.code, 1);
    assert.match(lineOf(run.stdout, 'output-dir')!, /^FAIL .*is not writable \(ENOTDIR\)/);
    assert.match(hintOf(run.stdout, 'output-dir')!, /\[OUTPUT_DIR\]/);
  });

  it('--probe: the worst-case cost first, then one 1-token call through gateway, Lambda and Bedrock', async () => {
    const run = await doctor(env, ['--probe']);
    assert.equal(run.code, 0, run.stdout);
    const lines = run.stdout.split('\n');
    const cost = lines.findIndex((l) =>
      /^probe: 1 call of amazon\.nova-micro-v1:0, at most 30 input \+ 1 output token: at most \$/.test(l),
    );
    const probe = lines.findIndex((l) => /^ok\s+cloud\.probe .*answered in \d+ ms \(\d+ in \/ 1 out tokens/.test(l));
    assert.ok(cost >= 0 && probe > cost, run.stdout);
  });

  it('a bad setting: exit 2 with the key named', async () => {
    const run = await doctor({ ...env, OLLAMA_NUM_CTX: 'big' });
    assert.equal(run.code, 2);
    assert.match(lineOf(run.stdout, 'config')!, /^FAIL .*OLLAMA_NUM_CTX="big" is invalid/);
    assert.match(hintOf(run.stdout, 'config')!, /\[OLLAMA_NUM_CTX\]/);
  });

  it('nothing configured: says what runs in its place instead of failing', async () => {
    const run = await doctor({
      OUTPUT_DIR: path.join(tmp, 'out'),
      OLLAMA_HOST: '',
      MODEL_CATALOG_FILE: CATALOG,
      BEDROCK_MODEL_ID: ACTIVE_MODEL,
    });
    assert.equal(run.code, 0, run.stdout);
    assert.match(lineOf(run.stdout, 'aws.identity')!, /^skip .*npm start` runs the Bedrock emulator/);
    assert.match(lineOf(run.stdout, 'api-gateway')!, /^skip /);
    assert.match(lineOf(run.stdout, 'redis')!, /^skip .*embedded redis-server/);
  });
});

describe('GET /ready?verbose=1', function () {
  this.timeout(30_000);
  it("gives the doctor's lines from a running stack; plain /ready is unchanged; with API_KEY it needs the key", async () => {
    const stack = await startTestStack({ API_KEY: 'ready-key', OLLAMA_NUM_CTX: '8192' }, { roles: [] });
    try {
      const plain = await stack.http.get('/ready');
      assert.equal(plain.status, 200);
      assert.equal(plain.data.status, 'ready');
      assert.equal(plain.data.checks, undefined);
      assert.equal((await stack.http.get('/ready?verbose=1')).status, 401);
      const res = await stack.http.get('/ready?verbose=1', { headers: { 'x-api-key': 'ready-key' } });
      assert.equal(res.status, 200);
      const checks = res.data.checks as CheckResult[];
      const by = (c: string) => checks.find((x) => x.check === c);
      assert.equal(by('redis')?.status, 'ok');
      assert.equal(by('redis.eviction')?.status, 'ok');
      assert.equal(by('output-dir')?.status, 'ok');
      assert.equal(by('ollama.model')?.status, 'ok');
      assert.match(by('api-gateway')!.found, /reaches the Lambda/);
      // The stack's own emulator answers STS and the control plane: said, not hidden.
      assert.equal(by('aws.identity')?.status, 'ok', by('aws.identity')?.found);
      assert.match(by('aws.identity')!.found, /BEDROCK_ENDPOINT, the emulator/);
      assert.equal(by('bedrock.model')?.status, 'ok', by('bedrock.model')?.found);
      for (const c of checks)
        assert.deepEqual(
          Object.keys(c).filter((k) => !['check', 'status', 'found', 'fix', 'setting'].includes(k)),
          [],
        );
    } finally {
      await stack.close();
    }
  });
});

/**
 * Every AWS client of the project honours the SDK's own endpoint settings: none passes `endpoint`
 * unless BEDROCK_ENDPOINT is set (an explicit endpoint wins over them, @smithy/core 3.41
 * getEndpointFromInstructions: `isCustomEndpoint`), and `npm start` never shadows them with an emulator.
 */
describe('AWS endpoint settings (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, AWS_ENDPOINT_URL)', function () {
  this.timeout(30_000);
  const credentials = { accessKeyId: 'AKIAENDPOINTTEST0001', secretAccessKey: 'x' };
  let a: BedrockEmulatorHandle;
  let b: BedrockEmulatorHandle;
  const saved = { ...process.env };
  before(async () => {
    [a, b] = await Promise.all([startBedrockEmulator(), startBedrockEmulator()]);
  });
  afterEach(() => {
    for (const k of ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', 'AWS_ENDPOINT_URL']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it("the Lambda's Converse client goes where AWS_ENDPOINT_URL_BEDROCK_RUNTIME says, and BEDROCK_ENDPOINT wins over it", async () => {
    process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = a.url;
    const before = a.stats().byRoute.converse ?? 0;
    await createBedrockConverse({ region: 'us-east-1', defaultModelId: 'amazon.nova-micro-v1:0', credentials })({
      prompt: 'Hi',
      history: [],
    });
    assert.equal((a.stats().byRoute.converse ?? 0) - before, 1);
    const beforeB = b.stats().byRoute.converse ?? 0;
    await createBedrockConverse({ region: 'us-east-1', endpoint: b.url, defaultModelId: 'amazon.nova-micro-v1:0', credentials })({
      prompt: 'Hi',
      history: [],
    });
    assert.equal((b.stats().byRoute.converse ?? 0) - beforeB, 1);
    assert.equal((a.stats().byRoute.converse ?? 0) - before, 1);
  });

  it('npm start starts no Bedrock emulator in place of AWS_ENDPOINT_URL_BEDROCK_RUNTIME', async () => {
    const stack = await startLocalStack({
      env: { REDIS_URL: testRedisUrl(), LOG_LEVEL: 'silent', PORT: '0', AWS_ENDPOINT_URL_BEDROCK_RUNTIME: a.url, OUTPUT_DIR: os.tmpdir() },
      roles: [],
      producer: false,
    });
    try {
      assert.equal(stack.bedrock, undefined);
      assert.equal(stack.backends.bedrock, 'real');
    } finally {
      await stack.close();
    }
  });
});
