/**
 * `cloud.probe` (`llmconv doctor --probe` only): one real call through the whole cloud path (the
 * worker's own client → API Gateway → Lambda → Bedrock Converse, or Converse itself under
 * CLOUD=bedrock: the backend the worker would use, providers/provider-registry.ts) with `maxTokens: 1`. It costs
 * money, so its worst case is written first, from the catalogue's prices: the prompt's bytes as
 * input tokens (the budget gate's count, an upper bound) and one output token.
 */
import { createCloudBackend } from '../providers/provider-registry';
import { type Check, describeError, fail, ok, skip, warn } from './check-result';

const NAME = 'cloud.probe';
export const PROBE_PROMPT = 'Reply with the single word OK.';

/** USD with enough digits to show a fraction of a cent. */
const usd = (n: number) => `$${n < 0.01 ? Number(n.toPrecision(2)).toFixed(12).replace(/0+$/, '') : n.toFixed(4)}`;

export const cloudProbeCheck: Check = async (ctx) => {
  const { config, catalog } = ctx;
  if (!ctx.probe) return [];
  const direct = config.cloudBackend === 'bedrock';
  if (!config.apiGatewayUrl && !direct)
    return [skip(NAME, 'API_GATEWAY_URL unset: nothing deployed to probe (`npm start` uses the local gateway)')];
  const model = config.bedrockModelId;
  const inputTokens = Buffer.byteLength(PROBE_PROMPT, 'utf8');
  const prices = catalog.prices(model);
  const worst = prices ? (inputTokens * prices.inputPer1k + 1 * prices.outputPer1k) / 1000 : undefined;
  ctx.note(
    `probe: 1 call of ${model}, at most ${inputTokens} input + 1 output token: ${worst === undefined ? 'price unknown (not in the model catalogue)' : `at most ${usd(worst)}`}`,
  );
  const started = Date.now();
  try {
    const reply = await createCloudBackend(config).generate({
      prompt: PROBE_PROMPT,
      model,
      maxTokens: 1,
      timeoutMs: direct ? config.bedrockTimeoutMs : config.apiGatewayTimeoutMs,
    });
    const cost = prices ? (reply.inputTokens * prices.inputPer1k + reply.outputTokens * prices.outputPer1k) / 1000 : undefined;
    const found = `${reply.model} answered in ${Date.now() - started} ms (${reply.inputTokens} in / ${reply.outputTokens} out tokens, stop ${reply.stopReason}${cost === undefined ? '' : `, ${usd(cost)}`})`;
    return [
      reply.outputTokens > 0 || reply.text
        ? ok(NAME, found)
        : warn(
            NAME,
            `${found} with no text`,
            'the model spent its 1 token without text (a reasoning model?); a real turn has DEFAULT_MAX_TOKENS',
            'DEFAULT_MAX_TOKENS',
          ),
    ];
  } catch (err) {
    const e = err as { code?: string; status?: number };
    return [
      fail(
        NAME,
        `the 1-token call failed after ${Date.now() - started} ms: ${describeError(err)}${e.code ? ` (code ${e.code})` : ''}`,
        'the message names the cause; the other lines point at the setting (BEDROCK_MODEL_ID, API_GATEWAY_URL, the Lambda role)',
        'BEDROCK_MODEL_ID',
      ),
    ];
  }
};
