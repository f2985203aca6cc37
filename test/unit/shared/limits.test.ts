/** The conversation limits, defined once (shared/limits.ts), are the ones the schema, the request checks and the estimate use. */
import assert from 'node:assert/strict';
import { conversationRequestSchema, generateRequestSchema } from '../../../conversation/conversation-request';
import { estimateCost } from '../../../cost/estimate';
import { DEFAULT_PRICES } from '../../../cost/price-table';
import { REQUEST_LIMITS } from '../../../lambda/request-validation';
import { loadConfig } from '../../../shared/config';
import { ConfigError } from '../../../shared/errors';
import { DEFAULT_CONTEXT_TURNS, LIMITS } from '../../../shared/limits';

const ok = (body: object) => conversationRequestSchema.safeParse({ initialQuery: 'q', ...body }).success;

describe('LIMITS', () => {
  it('MAX_TURNS and DEFAULT_MAX_TOKENS accept exactly the request bounds', () => {
    assert.equal(loadConfig({ MAX_TURNS: String(LIMITS.maxTurns.max) }).maxTurns, LIMITS.maxTurns.max);
    assert.throws(
      () => loadConfig({ MAX_TURNS: String(LIMITS.maxTurns.max + 1) }),
      (e: unknown) => e instanceof ConfigError && e.key === 'MAX_TURNS',
    );
    assert.equal(loadConfig({ DEFAULT_MAX_TOKENS: String(LIMITS.maxTokens.max) }).defaultMaxTokens, LIMITS.maxTokens.max);
    assert.throws(
      () => loadConfig({ DEFAULT_MAX_TOKENS: String(LIMITS.maxTokens.max + 1) }),
      (e: unknown) => e instanceof ConfigError && e.key === 'DEFAULT_MAX_TOKENS',
    );
  });

  it('POST /conversation and /api/v1/generate check the same bounds', () => {
    assert.ok(ok({ maxTurns: LIMITS.maxTurns.max, maxTokens: LIMITS.maxTokens.max, contextTurns: LIMITS.contextTurns.max }));
    assert.ok(!ok({ maxTurns: LIMITS.maxTurns.max + 1 }));
    assert.ok(!ok({ maxTokens: LIMITS.maxTokens.max + 1 }));
    assert.ok(!ok({ contextTurns: LIMITS.contextTurns.max + 1 }));
    assert.ok(!ok({ timeoutMinutes: LIMITS.timeoutMinutes.max + 1 }));
    assert.ok(!generateRequestSchema.safeParse({ inputText: 'q', maxTokens: LIMITS.maxTokens.max + 1 }).success);
    // The Lambda checks its request against the same object.
    assert.equal(REQUEST_LIMITS.maxTokens, LIMITS.maxTokens);
    assert.equal(REQUEST_LIMITS.temperature, LIMITS.temperature);
  });

  it("the estimate's default history window is the conversations' default", () => {
    const input = { seeds: ['hello'], turns: 6, maxTokens: 10, models: { cloud: 'a', local: 'b' }, prices: DEFAULT_PRICES };
    assert.deepEqual(estimateCost(input), estimateCost({ ...input, contextTurns: DEFAULT_CONTEXT_TURNS }));
    assert.notDeepEqual(estimateCost(input), estimateCost({ ...input, contextTurns: DEFAULT_CONTEXT_TURNS + 1 }));
  });
});
