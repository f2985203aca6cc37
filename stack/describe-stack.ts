/** The start-up banner: URLs, and loudly which backends are emulated. */
import { redactUrl } from '../shared/redact-url';
import type { LocalStack } from './local-stack';

export function describeStack(stack: LocalStack): string {
  const b = stack.backends;
  const lines = [
    '',
    'LLM conversation pipeline is running',
    `  producer      ${stack.producerUrl ?? '(not started)'}   (POST /conversation, GET /conversation/:id, /health, /ready)`,
    ...(stack.producerUrl
      ? [
          `  home page     ${stack.producerUrl}/   (runs, recent conversations, the board, metrics, docs)`,
          `  Bull Board    ${stack.producerUrl}/admin/queues   (loopback only unless BOARD_USERNAME/BOARD_PASSWORD)`,
          `  metrics       ${stack.producerUrl}/metrics`,
          `  live page     ${stack.producerUrl}/conversations/<id>`,
        ]
      : []),
    `  redis         ${redactUrl(stack.redisUrl)}   [${b.redis}]`,
    ...(stack.redisData
      ? [
          `  redis data    ${stack.redisData.dir}   ${stack.redisData.persistent ? '(kept: a restart resumes; REDIS_DATA_DIR)' : '(throw-away: removed on stop; set REDIS_DATA_DIR to keep it)'}`,
        ]
      : []),
    ...(stack.resumed
      ? [
          `  resumed       ${stack.resumed.unfinished} unfinished conversation${stack.resumed.unfinished === 1 ? '' : 's'} from the last run` +
            (stack.resumed.activeReleased
              ? ` (${stack.resumed.activeReleased} interrupted step${stack.resumed.activeReleased === 1 ? '' : 's'} re-queued)`
              : ''),
        ]
      : []),
    `  backends      CLOUD=${stack.config.cloudBackend} LOCAL=${stack.config.localBackend}   (README, "Backends")`,
    ...(b.gateway === 'none' ? [] : [`  API Gateway   ${stack.gatewayUrl}   [${b.gateway}]`]),
    `  Bedrock       ${stack.bedrock?.url ?? stack.config.bedrockEndpoint ?? `AWS ${stack.config.awsRegion}`}   [${b.bedrock}]${b.gateway === 'none' ? '   (called by the workers directly)' : ''}`,
    ...(b.ollama === 'none' ? [] : [`  Ollama        ${stack.ollama?.url ?? stack.config.ollamaHost}   [${b.ollama}]`]),
    ...(b.openai === 'none'
      ? []
      : [`  OpenAI-compat ${stack.openai?.url ? `${stack.openai.url}/v1` : redactUrl(stack.config.openaiBaseUrl ?? '')}   [${b.openai}]`]),
    `  output dir    ${stack.config.outputDir}`,
    '',
  ];
  const emulated = [
    b.bedrock === 'emulated' && 'Bedrock',
    b.ollama === 'emulated' && 'Ollama',
    b.openai === 'emulated' && 'the OpenAI-compatible server',
  ].filter(Boolean);
  if (emulated.length) {
    lines.push(
      `  !!! ${emulated.join(' and ')} ${emulated.length > 1 ? 'are' : 'is'} EMULATED: replies are canned, deterministic and marked "[emulated ...]".`,
      '  !!! For real models set OLLAMA_HOST, and AWS credentials (or API_GATEWAY_URL / BEDROCK_ENDPOINT).',
      '',
    );
  }
  return lines.join('\n') + '\n';
}
