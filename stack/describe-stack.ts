/** The start-up banner: URLs, which backends run and the setting that chose each (stack/backend-choice.ts), loudly when emulated or billed. */
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
    `  cloud side    ${stack.why.cloud.reason}   (README, "Backends")`,
    `  local side    ${stack.why.local}`,
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
      '  !!! For real models: CLOUD=gateway (or CLOUD=bedrock) with AWS credentials for Bedrock (billed), OLLAMA_HOST for Ollama.',
      '',
    );
  }
  if (stack.why.cloud.billed)
    lines.push(`  !!! The cloud side calls REAL Bedrock (${stack.config.awsRegion}): every turn is billed to the AWS account.`, '');
  return lines.join('\n') + '\n';
}
