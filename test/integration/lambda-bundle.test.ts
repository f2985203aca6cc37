/**
 * The Lambda deployment package, as AWS would run it: `buildLambda()` (what `npm run build:lambda`
 * does) makes the zip, the test extracts it into an empty directory outside the repository (so
 * nothing can be resolved from our node_modules) and a fresh `node` process loads
 * `handler.js`, `require`s it as the runtime does for handler `handler.handler` and runs REST
 * (v1) and HTTP API (v2) proxy events through it against the Bedrock emulator.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import { parse, type Tags } from 'yaml';
import { startBedrockEmulator, type EmulatorHandle } from '../../emulators/bedrock-emulator';
import { decodeResponse } from '../../proto/codec';
import { protobufBytesOf } from '../../proto/base64-body';
import type { ProxyEvent, ProxyResult } from '../../lambda/proxy-types';
import { v1Event, v2Event } from '../helpers/proxy-events';
import { CONFIG_KEYS } from '../../shared/config';
import { buildLambda, type LambdaBuild } from '../../scripts/build-lambda';
import { decodeSeedResponse, javaBase64Decode, parseSeedEnvelope, seedRequestJson } from '../helpers/seed-system';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/** CloudFormation's short-form intrinsics (`!Ref`, `!Sub`, `!If` ...) as their long forms. */
const CFN_TAGS: Tags = [
  'Ref',
  'Condition',
  'Sub',
  'GetAtt',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Join',
  'Select',
  'Split',
  'FindInMap',
  'ImportValue',
  'Base64',
  'GetAZs',
].flatMap((f) => {
  const key = f === 'Ref' || f === 'Condition' ? f : `Fn::${f}`;
  return [
    { tag: `!${f}`, resolve: (v: string) => ({ [key]: f === 'GetAtt' ? v.split('.') : v }) },
    { tag: `!${f}`, collection: 'seq' as const, resolve: (v: { toJSON(): unknown }) => ({ [key]: v.toJSON() }) },
  ];
});

interface ZipEntryInfo {
  name: string;
  mode: number;
}

/** Extracts every entry of `zipPath` into `dir` with yauzl; returns the entries' names and modes. */
function extract(zipPath: string, dir: string): Promise<ZipEntryInfo[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const entries: ZipEntryInfo[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        const target = path.join(dir, entry.fileName);
        assert.ok(target.startsWith(dir + path.sep), `entry ${entry.fileName} stays inside the package`);
        entries.push({ name: entry.fileName, mode: (entry.externalFileAttributes >>> 16) & 0o777 });
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const out = fs.createWriteStream(target);
          out.on('close', () => zip.readEntry());
          stream.on('error', reject).pipe(out);
        });
      });
      zip.readEntry();
    });
  });
}

/** The runner the fresh process executes: what the Lambda runtime does with `handler.handler`. */
const RUNNER = `
const fs = require('fs');
const { handler } = require(process.cwd() + '/handler.js');
(async () => {
  const events = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
  const results = [];
  for (const e of events) {
    results.push(await handler(e, { awsRequestId: 'bundle-test', functionName: 'llm', getRemainingTimeInMillis: () => 25000 }));
  }
  process.stdout.write(JSON.stringify(results));
})().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
`;

describe('Lambda bundle (npm run build:lambda): the zip runs v1 and v2 events on its own', function () {
  this.timeout(60_000);
  let tmp: string;
  let build: LambdaBuild;
  let entries: ZipEntryInfo[];
  let pkgDir: string;
  let bedrock: EmulatorHandle;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmc-lambda-'));
    build = await buildLambda({ outDir: path.join(tmp, 'build') });
    pkgDir = path.join(tmp, 'package');
    fs.mkdirSync(pkgDir);
    entries = await extract(build.zipPath, pkgDir);
    bedrock = await startBedrockEmulator({ port: 0 });
  });
  after(async () => {
    await bedrock?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function invoke(events: ProxyEvent[], env: Record<string, string> = {}): Promise<ProxyResult[]> {
    const file = path.join(tmp, `events-${Date.now()}.json`);
    fs.writeFileSync(file, JSON.stringify(events));
    const { stdout } = await run(process.execPath, ['-e', RUNNER, file], {
      cwd: pkgDir,
      // Only what the Lambda runtime would set; no NODE_OPTIONS (no tsx), no NODE_PATH.
      env: {
        PATH: process.env.PATH ?? '/usr/bin',
        HOME: tmp,
        AWS_REGION: 'us-east-1',
        BEDROCK_ENDPOINT: bedrock.url,
        LOG_LEVEL: 'silent',
        ...env,
      },
      timeout: 30_000,
    });
    return JSON.parse(stdout) as ProxyResult[];
  }

  /** The body is base64 of the protobuf either way; the flag only says whether the gateway decodes it. */
  function decoded(result: ProxyResult) {
    assert.match(result.headers?.['Content-Type'] ?? result.headers?.['content-type'] ?? '', /^application\/x-protobuf/);
    return decodeResponse(protobufBytesOf(Buffer.from(result.body, 'base64')));
  }

  it('the zip holds the bundled handler and llm.proto, world-readable, and nothing from node_modules', () => {
    const names = entries.map((e) => e.name).sort();
    assert.ok(names.includes('handler.js'));
    assert.ok(names.includes('llm.proto'));
    assert.ok(
      names.every((n) => !n.includes('node_modules') && !n.includes('/')),
      JSON.stringify(names),
    );
    for (const e of entries) assert.equal(e.mode & 0o444, 0o444, `${e.name} mode ${e.mode.toString(8)}`);
    assert.equal(
      fs.readFileSync(path.join(pkgDir, 'llm.proto'), 'utf8'),
      fs.readFileSync(path.resolve(__dirname, '../..', 'proto', 'llm.proto'), 'utf8'),
    );
    assert.ok(build.zipBytes > 10_000 && build.zipBytes < 10 * 1024 * 1024, `zip is ${build.zipBytes} bytes`);
  });

  it('a fresh node process runs a REST v1 (binary) and an HTTP API v2 (base64 text) event through Bedrock', async () => {
    const before = bedrock.stats().calls;
    const [v1, v2] = await invoke([
      // Our cloud client through REST with the binary media type: raw protobuf in, asks for binary.
      v1Event({
        request: { inputText: 'What is a stream?', parameters: { temperature: '0.2', max_tokens: '64' } },
        mode: 'raw',
        headers: { Accept: 'application/x-protobuf' },
      }),
      // A text client (curl) through an HTTP API: base64 text in, no Accept.
      v2Event({ request: { inputText: 'And a queue?', parameters: {}, modelId: 'amazon.nova-micro-v1:0' }, mode: 'text' }),
    ]);
    assert.equal(v1!.statusCode, 200, JSON.stringify(v1));
    assert.equal(v2!.statusCode, 200, JSON.stringify(v2));
    assert.equal(v1!.isBase64Encoded, true, 'binary for a client that accepts protobuf');
    assert.equal(v2!.isBase64Encoded, false, 'base64 text for a client that does not');
    const r1 = decoded(v1!);
    const r2 = decoded(v2!);
    assert.match(r1.outputText, /emulated bedrock/i);
    assert.match(r2.outputText, /emulated bedrock/i);
    assert.equal(r2.modelId, 'amazon.nova-micro-v1:0');
    assert.equal(bedrock.stats().calls - before, 2, 'each event made one real HTTP call to the emulator');
  });

  it('the model catalogue is inside the bundle (caps from it) and MODEL_CATALOG_FILE in the Lambda env is read', async () => {
    // Shipped catalogue: Nova Micro's output cap is 5000, refused before Bedrock is called (the
    // error is a protobuf LlmResponse; its message is plain text inside).
    const before = bedrock.stats().calls;
    const [over] = await invoke([
      v2Event({ request: { inputText: 'Long?', parameters: { max_tokens: '6000' }, modelId: 'amazon.nova-micro-v1:0' }, mode: 'text' }),
    ]);
    assert.equal(over!.statusCode, 400, JSON.stringify(over));
    assert.match(
      Buffer.from(over!.body, 'base64').toString('utf8'),
      /above the output cap of amazon\.nova-micro-v1:0 \(Amazon Nova Micro\): at most 5000/,
    );
    assert.equal(bedrock.stats().calls, before, 'refused before calling Bedrock');
    // An override file beside the bundle lowers the cap of a model of its own.
    const file = path.join(tmp, 'catalog.yaml');
    fs.writeFileSync(
      file,
      'families:\n  - { family: Acme Chat, match: "^acme\\\\.chat", maxOutputTokens: 100, source: test, readOn: 2026-12-02 }\n',
    );
    const [acme] = await invoke(
      [v2Event({ request: { inputText: 'Hi', parameters: { max_tokens: '200' }, modelId: 'acme.chat-1' }, mode: 'text' })],
      { MODEL_CATALOG_FILE: file },
    );
    assert.equal(acme!.statusCode, 400, JSON.stringify(acme));
    assert.match(Buffer.from(acme!.body, 'base64').toString('utf8'), /above the output cap of acme\.chat-1 \(Acme Chat\): at most 100/);
  });

  it('the bundle maps faults like the source: bad input → 400, Bedrock throttling → 429', async () => {
    bedrock.faults.set({ faults: [{ kind: 'status', status: 429 }] });
    try {
      const [bad, throttled] = await invoke([
        v1Event({ body: 'not base64 protobuf!', isBase64Encoded: false }),
        v2Event({ request: { inputText: 'Throttle me', parameters: {} }, mode: 'text' }),
      ]);
      assert.equal(bad!.statusCode, 400, JSON.stringify(bad));
      assert.equal(throttled!.statusCode, 429, JSON.stringify(throttled));
    } finally {
      bedrock.faults.reset();
    }
  });

  it("the bundle answers the seed's JSON as a non-proxy event, in the seed's envelope", async () => {
    const before = bedrock.stats().calls;
    const [result] = await invoke([JSON.parse(seedRequestJson('Seed through the bundle?')) as ProxyEvent]);
    const envelope = parseSeedEnvelope(JSON.stringify(result));
    assert.equal(envelope.statusCode, 200, envelope.body);
    assert.match(decodeSeedResponse(javaBase64Decode(envelope.body)).outputText, /emulated bedrock.*Seed through the bundle\?/);
    assert.equal(bedrock.stats().calls - before, 1);
  });

  it('the SAM template deploys this package: handler, runtime, binary protobuf, Bedrock permission, API key or IAM auth', () => {
    const t = parse(fs.readFileSync(path.join(ROOT, 'deploy', 'template.yaml'), 'utf8'), { customTags: CFN_TAGS }) as any;
    assert.equal(t.Transform, 'AWS::Serverless-2016-10-31');
    const fn = t.Resources.LlmFunction.Properties;
    // CodeUri is relative to the template: it must be the zip `npm run build:lambda` writes.
    assert.equal(path.resolve(ROOT, 'deploy', fn.CodeUri), path.join(ROOT, 'lambda', '.build', 'lambda.zip'));
    const [file, exported] = fn.Handler.split('.');
    assert.ok(
      entries.some((e) => e.name === `${file}.js`),
      `handler file ${file}.js is in the zip`,
    );
    assert.equal(exported, 'handler');
    assert.equal(fn.Runtime, 'nodejs24.x', 'the Node line the image and CI run (README, "Node.js and npm")');
    // One timeout for the deployment (GATEWAY_TIMEOUT_MS): the Lambda's Timeout and its env follow the parameter.
    assert.equal(
      t.Parameters.GatewayTimeoutSeconds.Default * 1000,
      Number(CONFIG_KEYS.find((k) => k.key === 'GATEWAY_TIMEOUT_MS')!.default),
    );
    assert.deepEqual(fn.Timeout, { Ref: 'GatewayTimeoutSeconds' });
    assert.deepEqual(fn.Environment.Variables.GATEWAY_TIMEOUT_MS, { 'Fn::Sub': `${'$'}{GatewayTimeoutSeconds}000` });
    // Environment: keys the config reads, and the model parameter's default is the config default.
    const known = new Set([...CONFIG_KEYS.map((k) => k.key), 'NODE_OPTIONS']);
    for (const key of Object.keys(fn.Environment.Variables)) assert.ok(known.has(key), key);
    assert.deepEqual(fn.Environment.Variables.BEDROCK_MODEL_ID, { Ref: 'BedrockModelId' });
    assert.equal(t.Parameters.BedrockModelId.Default, CONFIG_KEYS.find((k) => k.key === 'BEDROCK_MODEL_ID')!.default);
    const actions = fn.Policies.flatMap((p: any) => p.Statement.flatMap((st: any) => st.Action));
    assert.ok(actions.includes('bedrock:InvokeModel'));
    // Model access is AWS Marketplace permissions now, only when Bedrock calls on the role's behalf.
    const marketplace = fn.Policies.flatMap((p: any) => p.Statement).find((st: any) => st.Action.includes('aws-marketplace:Subscribe'));
    assert.deepEqual(marketplace?.Action, ['aws-marketplace:ViewSubscriptions', 'aws-marketplace:Subscribe']);
    assert.deepEqual(marketplace?.Condition, { StringEquals: { 'aws:CalledViaLast': 'bedrock.amazonaws.com' } });

    assert.ok(t.Resources.LlmApi.Properties.BinaryMediaTypes.includes('application/x-protobuf'));
    const methods = Object.values(t.Resources).filter((r: any) => r.Type === 'AWS::ApiGateway::Method') as any[];
    assert.ok(methods.length >= 2, 'root and {proxy+}');
    for (const m of methods) {
      assert.equal(m.Properties.Integration.Type, 'AWS_PROXY');
      assert.deepEqual(m.Properties.AuthorizationType, { 'Fn::If': ['UseIam', 'AWS_IAM', 'NONE'] });
      assert.deepEqual(m.Properties.ApiKeyRequired, { 'Fn::If': ['UseApiKey', true, false] });
    }
    assert.deepEqual(t.Parameters.AuthMode.AllowedValues, ['API_KEY', 'IAM', 'NONE']);
    for (const [name, r] of Object.entries(t.Resources) as [string, any][]) {
      if (/^AWS::ApiGateway::(ApiKey|UsagePlan|UsagePlanKey)$/.test(r.Type)) assert.equal(r.Condition, 'UseApiKey', name);
    }
    assert.equal(t.Resources.FleetInvokePolicy.Condition, 'UseIam');
    assert.match(t.Outputs.ApiGatewayUrl.Value['Fn::Sub'], /^https:\/\/\$\{LlmApi\}\.execute-api\./);
  });
});
