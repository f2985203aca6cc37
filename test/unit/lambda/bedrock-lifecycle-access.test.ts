/**
 * Bedrock as it refuses models in December 2026, through the real handler, the real
 * `@aws-sdk/client-bedrock-runtime` and the Bedrock emulator, driven by a fixture model catalogue
 * (MODEL_CATALOG_FILE=test/fixtures/model-catalog-lifecycle.json):
 *
 * - end of life: `ResourceNotFoundException: This model version has reached the end of its life.
 *   Please refer to the AWS documentation for more details.` (read 2026-12-02 in
 *   aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#708,
 *   BerriAI/litellm#42053) → `model_end_of_life`, permanent, naming the catalogue's replacement;
 *   per region: the same id is still served where the catalogue says it is active;
 * - Legacy and unused: `ResourceNotFoundException: Access denied. This Model is marked by provider
 *   as Legacy and you have not been actively using the model in the last 30 days. ...`
 *   (awslabs/llmeter#35, #708) → `model_legacy`, permanent;
 * - AWS Marketplace: `AccessDeniedException: Model access is denied due to IAM user or service role
 *   is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions,
 *   aws-marketplace:Subscribe) ... try again after 2 minutes.` (Bedrock user guide "Request access
 *   to models"; aws-samples/sample-host-openclaw-on-amazon-bedrock-agentcore#41: 2 minutes;
 *   ministryofjustice/modernisation-platform-environments#18323: 5 minutes) → `model_access_pending`,
 *   retryable, until the subscription completes; any other AccessDenied stays permanent.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startBedrockEmulator, sigv4Region, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { decodeResponseBase64, type LlmResponse } from '../../../proto/codec';
import { loadConfig } from '../../../shared/config';
import { silentLogger } from '../../../shared/logger';
import { loadModelCatalog } from '../../../shared/model-catalog';
import { retryAfterFromMessage } from '../../../shared/model-access';
import { toBedrockProviderError } from '../../../bedrock/bedrock-errors';
import { createHandler } from '../../../lambda/handler';
import type { ProxyHandler, ProxyResult } from '../../../lambda/proxy-types';
import { v1Event } from '../../helpers/proxy-events';

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'model-catalog-lifecycle.json');
const HAIKU3 = 'anthropic.claude-3-haiku-20240307-v1:0';
const NOVA_PREMIER = 'us.amazon.nova-premier-v1:0';
// A current third-party model (AWS Marketplace access applies); Sonnet 4 reached end of life in us-east-1 on 2026-10-14 (model catalogue).
const SONNET = 'us.anthropic.claude-sonnet-4-6';

function reply(result: ProxyResult, status: number): LlmResponse {
  const res = decodeResponseBase64(result.body);
  assert.equal(result.statusCode, status, `expected ${status}, got ${result.statusCode}: ${JSON.stringify(res.error ?? res.outputText)}`);
  return res;
}

describe('lambda handler: model lifecycle and model access as Bedrock refuses them today', function () {
  this.timeout(20_000);
  let emu: BedrockEmulatorHandle;
  const handlerIn = (region: string): ProxyHandler =>
    createHandler({
      config: loadConfig({
        BEDROCK_ENDPOINT: emu.url,
        BEDROCK_MODEL_ID: HAIKU3,
        AWS_REGION: region,
        MODEL_CATALOG_FILE: FIXTURE,
        LOG_LEVEL: 'silent',
      }),
      logger: silentLogger,
    });
  const ask = (h: ProxyHandler, modelId: string) => h(v1Event({ request: { inputText: 'Hello', modelId } }));

  before(async () => {
    emu = await startBedrockEmulator({ catalog: loadModelCatalog(FIXTURE), region: 'us-east-1' });
  });
  afterEach(async () => {
    await fetch(`${emu.url}/_emulator/model-access`, { method: 'DELETE' });
  });
  after(async () => {
    await emu.close();
  });

  it("an end-of-life model fails for good with model_end_of_life, its date and the catalogue's replacement", async () => {
    const res = reply(await ask(handlerIn('us-east-1'), HAIKU3), 400);
    assert.equal(res.error?.code, 'model_end_of_life');
    assert.equal(res.error?.retryable ?? false, false);
    assert.match(
      res.error!.message,
      /^ResourceNotFoundException: This model version has reached the end of its life\. Please refer to the AWS documentation for more details\./,
    );
    assert.match(res.error!.message, /end of life 2026-09-10 in us-east-1; the model catalogue suggests amazon\.nova-lite-v1:0 instead/);
  });

  it("lifecycle is per region: the emulator reads the region from the SDK's SigV4 credential scope", async () => {
    const res = reply(await ask(handlerIn('ca-central-1'), HAIKU3), 200);
    assert.match(res.outputText, /^\[emulated bedrock/);
    assert.equal(
      sigv4Region('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/ca-central-1/bedrock/aws4_request, SignedHeaders=host, Signature=x'),
      'ca-central-1',
    );
    assert.equal(sigv4Region(undefined), undefined);
  });

  it('a Legacy model the account has not used fails for good with model_legacy; one it uses still answers', async () => {
    const h = handlerIn('us-east-1');
    reply(await ask(h, NOVA_PREMIER), 200);
    await fetch(`${emu.url}/_emulator/model-access`, { method: 'POST', body: JSON.stringify({ legacyUnused: [NOVA_PREMIER] }) });
    const res = reply(await ask(h, NOVA_PREMIER), 400);
    assert.equal(res.error?.code, 'model_legacy');
    assert.equal(res.error?.retryable ?? false, false);
    assert.match(
      res.error!.message,
      /^ResourceNotFoundException: Access denied\. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days\./,
    );
    assert.match(res.error!.message, /the model catalogue suggests amazon\.nova-lite-v1:0 instead/);
  });

  it('a third-party model without the Marketplace actions is model_access_pending (retryable) until its subscription completes', async () => {
    const h = handlerIn('us-east-1');
    await fetch(`${emu.url}/_emulator/model-access`, {
      method: 'POST',
      body: JSON.stringify({ notSubscribed: { [SONNET]: { availableAfterMs: 400, retryMinutes: 5 } } }),
    });
    const res = reply(await ask(h, SONNET), 503);
    assert.equal(res.error?.code, 'model_access_pending');
    assert.equal(res.error?.retryable, true);
    assert.match(
      res.error!.message,
      /^AccessDeniedException: Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions \(aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe\)/,
    );
    assert.match(res.error!.message, /try again after 5 minutes/);
    assert.doesNotMatch(res.error!.message, /Model access\)|Bedrock console/, 'the retired console page is not named');
    assert.equal(retryAfterFromMessage(res.error!.message), 5 * 60_000, 'the worker reads the minutes from the message');
    await new Promise((r) => setTimeout(r, 450));
    reply(await ask(h, SONNET), 200);
  });

  it('the mapping itself: the minutes come from the message, other AccessDenied stays permanent (pure)', () => {
    const pending = toBedrockProviderError(
      {
        name: 'AccessDeniedException',
        message:
          'Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 2 minutes.',
        $metadata: { httpStatusCode: 403 },
      },
      { modelId: SONNET },
    );
    assert.equal(pending.code, 'model_access_pending');
    assert.equal(pending.retryable, true);
    assert.equal((pending.details as { retryAfterMs?: number }).retryAfterMs, 120_000);
    assert.match(pending.message, /aws-marketplace:ViewSubscriptions and aws-marketplace:Subscribe .*can take minutes/);
    const denied = toBedrockProviderError(
      {
        name: 'AccessDeniedException',
        message: "You don't have access to the model with the specified model ID.",
        $metadata: { httpStatusCode: 403 },
      },
      { modelId: SONNET },
    );
    assert.equal(denied.code, 'upstream_access_denied');
    assert.equal(denied.retryable, false);
    assert.match(denied.message, /bedrock:InvokeModel/);
    assert.doesNotMatch(denied.message, /console \(Model access\)/);
    // No catalogue: still its own code, just without a replacement.
    const eol = toBedrockProviderError(
      {
        name: 'ResourceNotFoundException',
        message: 'This model version has reached the end of its life. Please refer to the AWS documentation for more details.',
      },
      { modelId: HAIKU3 },
    );
    assert.equal(eol.code, 'model_end_of_life');
  });

  it("with the SDK alone: the emulator answers the refusals in Bedrock's wire shape (exception class by x-amzn-errortype)", async () => {
    const client = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: emu.url,
      requestHandler: new NodeHttpHandler(),
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
    const err = await client.send(new ConverseCommand({ modelId: HAIKU3, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] })).then(
      () => undefined,
      (e: unknown) => e as { name: string; $metadata: { httpStatusCode: number } },
    );
    assert.equal(err?.name, 'ResourceNotFoundException');
    assert.equal(err?.$metadata.httpStatusCode, 404);
    client.destroy();
  });
});
