/**
 * The cloud path's refusals of December 2026, end to end (producer, workers, real Redis, the real
 * client, local gateway, handler and SDK, the Bedrock emulator):
 *
 * - AWS Marketplace model access (Bedrock user guide "Request access to models", read 2026-12-02:
 *   access "can take minutes"; real messages say "try again after 2 minutes" or 5): the step is
 *   delayed (BullMQ moveToDelayed), not failed and not retried on an attempt — with JOB_ATTEMPTS=1
 *   a retryable failure would end the conversation at once — and completes once the subscription
 *   does; with no subscription ever, it fails after MODEL_ACCESS_MAX_WAIT_MS naming it;
 * - a Legacy model the account has not used (`model_legacy`, awslabs/llmeter#35) as the first of a
 *   `cloudModel` list: the turn goes to the next model at once;
 * - API Gateway's usage-plan quota (429 `LimitExceededException` "Limit Exceeded", re:Post
 *   "api-gateway-429-limit"): the conversation fails at once with a message naming
 *   API_GATEWAY_API_KEY, and the fleet is not paused for CLOUD_THROTTLE_BACKOFF_MS (30 s here);
 *   its throttle (429 `TooManyRequestsException` "Too Many Requests") is the fleet-wide pause that
 *   uses no attempt (JOB_ATTEMPTS=1: a plain retry would fail the conversation).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { startLocalGateway, type LocalGateway } from '../../lambda/local-gateway';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../emulators/bedrock-emulator';
import { createHandler } from '../../lambda/handler';
import { loadConfig } from '../../shared/config';
import { silentLogger } from '../../shared/logger';
import { startTestStack, waitForConversation, type TestStack } from '../helpers/test-stack';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'model-catalog-lifecycle.json');
// A current third-party model (Marketplace access applies); Sonnet 4 reached end of life in us-east-1 (model catalogue).
const SONNET = 'us.anthropic.claude-sonnet-4-6';
const NOVA_PREMIER = 'us.amazon.nova-premier-v1:0';
const NOVA_LITE = 'amazon.nova-lite-v1:0';

describe('cloud refusals: model access, legacy models, gateway quota', function () {
  this.timeout(60_000);

  describe('Bedrock model access and lifecycle', () => {
    let stack: TestStack;
    const access = (body: unknown) => fetch(`${stack.bedrock!.url}/_emulator/model-access`, { method: 'POST', body: JSON.stringify(body) });
    before(async () => {
      stack = await startTestStack({
        MODEL_CATALOG_FILE: FIXTURE,
        JOB_ATTEMPTS: '1',
        MODEL_ACCESS_RETRY_MS: '1000',
        MODEL_ACCESS_MAX_WAIT_MS: '2500',
        CLOUD_FALLBACK_AFTER_THROTTLES: '2',
      });
    });
    afterEach(async () => {
      await fetch(`${stack.bedrock!.url}/_emulator/model-access`, { method: 'DELETE' });
    });
    after(async () => stack.close());

    it('model access pending: the step waits (no attempt used) and completes when the subscription does', async () => {
      await access({ notSubscribed: { [SONNET]: { availableAfterMs: 1500, retryMinutes: 2 } } });
      const started = Date.now();
      const res = await stack.http.post('/conversation', { initialQuery: 'Is access there yet?', maxTurns: 1, cloudModel: SONNET });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      const view = await waitForConversation(stack, res.data.conversationId, 20_000);
      assert.equal(view.status, 'completed', view.error);
      assert.equal(view.turns[0].cloud.model, SONNET);
      assert.ok(Date.now() - started >= 1500, 'it waited for the subscription');
      assert.ok((stack.bedrock!.stats().byModel[SONNET] ?? 0) >= 2, 'refused first, then answered');
    });

    it('model access that never comes: failed after MODEL_ACCESS_MAX_WAIT_MS, naming it and the Marketplace actions', async () => {
      await access({ notSubscribed: { [SONNET]: { retryMinutes: 5 } } });
      const res = await stack.http.post('/conversation', { initialQuery: 'Still no access?', maxTurns: 1, cloudModel: SONNET });
      const view = await waitForConversation(stack, res.data.conversationId, 20_000);
      assert.equal(view.status, 'failed');
      assert.match(view.error, /model_access_pending/);
      assert.match(view.error, /aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe/);
      assert.match(view.error, /MODEL_ACCESS_MAX_WAIT_MS=2500/);
    });

    it('a Legacy model this account has not used moves the turn to the next model of the list at once', async () => {
      await access({ legacyUnused: [NOVA_PREMIER] });
      const res = await stack.http.post('/conversation', {
        initialQuery: 'Which model answers?',
        maxTurns: 1,
        cloudModel: [NOVA_PREMIER, NOVA_LITE],
      });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      const view = await waitForConversation(stack, res.data.conversationId, 20_000);
      assert.equal(view.status, 'completed', view.error);
      assert.equal(view.turns[0].cloud.model, NOVA_LITE);
      assert.equal(view.turns[0].cloud.requestedModel, NOVA_PREMIER);
      assert.equal(stack.bedrock!.stats().byModel[NOVA_PREMIER], 1, 'not retried: the refusal is for good');
    });
  });

  describe('API Gateway usage-plan quota', () => {
    let stack: TestStack;
    let gw: LocalGateway;
    before(async () => {
      // Every call is over the plan's quota; the Lambda behind it is never reached.
      gw = await startLocalGateway({
        port: 0,
        stage: 'v1',
        usagePlan: { quota: { limit: 0 } },
        handler: async () => ({ statusCode: 500, body: '' }),
      });
      stack = await startTestStack({ API_GATEWAY_URL: `${gw.url}/generate`, CLOUD_THROTTLE_BACKOFF_MS: '30000' });
    });
    after(async () => {
      await stack?.close();
      await gw?.close();
    });

    it('fails at once naming the quota and API_GATEWAY_API_KEY, and does not pause the fleet', async () => {
      const started = Date.now();
      const ids = await Promise.all(
        [1, 2].map(async (i) => (await stack.http.post('/conversation', { initialQuery: `Quota ${i}`, maxTurns: 1 })).data.conversationId),
      );
      for (const id of ids) {
        const view = await waitForConversation(stack, id, 15_000);
        assert.equal(view.status, 'failed');
        assert.match(
          view.error,
          /^cloud model: API Gateway answered 429: Limit Exceeded \(the usage plan's request quota for API_GATEWAY_API_KEY is used up/,
        );
      }
      assert.ok(Date.now() - started < 10_000, `not held by a 30 s fleet-wide pause (took ${Date.now() - started} ms)`);
    });
  });

  describe('API Gateway usage-plan throttle', () => {
    let stack: TestStack;
    let gw: LocalGateway;
    let emu: BedrockEmulatorHandle;
    before(async () => {
      emu = await startBedrockEmulator();
      const handler = createHandler({ config: loadConfig({ BEDROCK_ENDPOINT: emu.url, LOG_LEVEL: 'silent' }), logger: silentLogger });
      gw = await startLocalGateway({ port: 0, stage: 'v1', usagePlan: { throttle: { rateLimit: 2, burstLimit: 1 } }, handler });
      stack = await startTestStack({
        API_GATEWAY_URL: `${gw.url}/generate`,
        CLOUD_THROTTLE_BACKOFF_MS: '600',
        JOB_ATTEMPTS: '1',
        CLOUD_CONCURRENCY: '4',
      });
    });
    after(async () => {
      await stack?.close();
      await gw?.close();
      await emu?.close();
    });

    it('a throttled call pauses the cloud queue and is tried again without using an attempt', async () => {
      const ids = await Promise.all(
        [1, 2, 3].map(
          async (i) => (await stack.http.post('/conversation', { initialQuery: `Throttle ${i}`, maxTurns: 1 })).data.conversationId,
        ),
      );
      for (const id of ids) {
        const view = await waitForConversation(stack, id, 20_000);
        assert.equal(view.status, 'completed', view.error);
      }
      assert.ok((gw.responses.THROTTLED ?? 0) >= 1, `the gateway throttled: ${JSON.stringify(gw.responses)}`);
    });
  });
});
