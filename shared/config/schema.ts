/**
 * The configuration schema: every key the pipeline reads, defined once. Each entry is one field
 * of {@link Config}: its key, default, what it accepts, what it does (the README table is made
 * from these, `scripts/config-table.ts`), the processes that read it (`readBy`, see
 * processes.ts: what `loadConfig(env, { for })` validates) and its parser. A field derived from
 * more keys documents the others in `also`; its parser may fall back on another entry's key.
 *
 * @example
 * // a new key: one entry here (and its field in types.ts), then `npx tsx scripts/config-table.ts --write`
 */
import path from 'node:path';
import { loadCloudLimits } from '../cloud-limits';
import { LIMITS } from '../limits';
import {
  archiveTarget,
  allowedHosts,
  apiGatewayTimeoutMs,
  awsCredentialsConfigured,
  otlpTracesUrl,
  awsEndpointUrlConfigured,
  boardPassword,
  boardUsername,
  bool,
  gatewayTimeoutMs,
  httpUrl,
  int,
  intOr,
  keepAlive,
  localConcurrency,
  memoryRatio,
  modelCatalogFile,
  num,
  ollamaHost,
  ollamaHosts,
  ollamaTimeoutMs,
  oneOf,
  opt,
  optPath,
  type Parse,
  queuePrefix,
  redisShards,
  redisClusterNodes,
  redisSentinels,
  redisUrl,
  runMaxActive,
  str,
  workerRoles,
} from './parsers';
import { WORKERS, type ConfigProcess } from './processes';
import { API_GATEWAY_ENVELOPES, CLOUD_BACKENDS, LOCAL_BACKENDS, LOG_LEVELS, type Config, type KeyDoc } from './types';

/** One entry: a field's key and documentation, who reads it, how it is parsed. */
export interface KeySpec<T> extends KeyDoc {
  /** The processes that read it: a bad value stops these, and only these (and the all-in-one stack). */
  readBy: readonly ConfigProcess[];
  parse: Parse<T>;
  /** The other keys this field is made from, documented here. */
  also?: KeyDoc[];
}

/** One entry per field of {@link Config}, typed against it: a field without an entry does not compile. */
export type Schema = { [F in keyof Config]-?: KeySpec<Config[F]> };

export const SCHEMA: Schema = {
  redisUrl: {
    key: 'REDIS_URL',
    default: '(unset: embedded redis-server)',
    accepts: 'redis:// or rediss:// URL',
    description:
      'Redis shared by producer and workers. Unset for `npm start`/`npm run demo`: a supervised redis-server is spawned on a free port with AOF in REDIS_DATA_DIR (`npm run demo`: a temp dir).',
    readBy: ['producer', ...WORKERS],
    parse: redisUrl,
  },
  redisClusterNodes: {
    key: 'REDIS_CLUSTER_NODES',
    default: '(unset: REDIS_URL, one node)',
    accepts: 'comma list of `host:port`, or `redis://` / `rediss://[user:password@]host:port` (one scheme and credentials for all)',
    description:
      "A Redis Cluster's startup nodes: every connection (producer, workers, BullMQ's, pub/sub, the doctor) is ioredis's Cluster client, which follows MOVED/ASK and a failover by itself. `rediss://` turns on TLS for every node (ElastiCache, MemoryDB; docs/deploy.md). Not with REDIS_URL. Keep QUEUE_PREFIX's `{hash tag}`.",
    readBy: ['producer', ...WORKERS],
    parse: redisClusterNodes,
  },
  redisSentinels: {
    key: 'REDIS_SENTINELS',
    default: '(unset: REDIS_URL, one node)',
    accepts: 'comma list of `host:port`, or `redis://` / `rediss://[user:password@]host:port` (one scheme and credentials for all)',
    description:
      "The sentinels of a self-hosted primary with replicas: every connection is ioredis's Sentinel client, which asks them for the master, and after a failover for the new one (docs/deploy.md). The credentials and TLS serve the sentinels and the Redis servers alike. Not with REDIS_URL or REDIS_CLUSTER_NODES.",
    readBy: ['producer', ...WORKERS],
    parse: redisSentinels,
  },
  redisSentinelMaster: {
    key: 'REDIS_SENTINEL_MASTER',
    default: 'mymaster',
    accepts: 'the name of a `sentinel monitor` line',
    description: 'With REDIS_SENTINELS: the master the sentinels watch (`sentinel monitor <name> …`).',
    readBy: ['producer', ...WORKERS],
    parse: str,
  },
  queuePrefix: {
    key: 'QUEUE_PREFIX',
    default: '{llmconv}',
    accepts: 'non-empty, no spaces',
    description: 'BullMQ `prefix` for every key. Keep the `{hash tag}` for Redis Cluster.',
    readBy: ['producer', ...WORKERS],
    parse: queuePrefix,
  },
  redisShards: {
    key: 'REDIS_SHARDS',
    default: '1',
    accepts: 'integer 1-64; above 1 QUEUE_PREFIX needs a {hash tag}',
    description:
      'How many hash tags the work is spread over, so that as many Redis Cluster masters share it (`{llmconv-0}` … `{llmconv-N-1}`; docs/deploy.md, "Shards"). Fixed at deploy time: every producer and worker must use the same value, and changing it strands the work in flight. 1 keeps every key under QUEUE_PREFIX as before.',
    readBy: ['producer', ...WORKERS],
    parse: redisShards,
  },
  port: {
    key: 'PORT',
    default: '8080',
    accepts: 'integer 0-65535',
    description: 'Producer HTTP port.',
    readBy: ['producer'],
    parse: int(0, 65535),
  },
  host: {
    key: 'HOST',
    default: '127.0.0.1',
    accepts: 'interface address',
    description:
      'Interface the HTTP servers bind to (`0.0.0.0` in containers). Off loopback the producer and the local gateway need their key (or ALLOW_UNAUTHENTICATED=true) to start.',
    readBy: ['producer', ...WORKERS, 'gateway'],
    parse: str,
  },
  cloudBackend: {
    key: 'CLOUD',
    default: 'gateway',
    accepts: 'gateway, bedrock or emulated',
    description:
      'The cloud side\'s backend (README, "Backends"). `gateway`: API Gateway → Lambda → Bedrock (API_GATEWAY_URL; unset under `npm start`: the in-process gateway). `bedrock`: Bedrock Converse straight from the worker, no Lambda hop (AWS_REGION, BEDROCK_ENDPOINT or the SDK\'s own endpoint settings, the default AWS credential chain). `emulated`: the Bedrock emulator behind the in-process gateway (`npm start` starts both, whatever else is set). Under `npm start` an unset CLOUD is the emulator unless API_GATEWAY_URL, BEDROCK_ENDPOINT or AWS_ENDPOINT_URL(_BEDROCK_RUNTIME) names an endpoint: AWS credentials alone never mean real, billed Bedrock; `gateway` or `bedrock` set explicitly does (docs/backends.md).',
    readBy: ['producer', 'cloud-worker'],
    parse: oneOf(CLOUD_BACKENDS),
  },
  localBackend: {
    key: 'LOCAL',
    default: 'ollama',
    accepts: 'ollama, openai or emulated',
    description:
      "The local side's backend (README, \"Backends\"). `ollama`: Ollama's own API (OLLAMA_HOST, OLLAMA_HOSTS). `openai`: any OpenAI-compatible chat completions server (vLLM, llama.cpp server, LM Studio, Ollama's `/v1`) at OPENAI_BASE_URL. `emulated`: the Ollama emulator (`npm start` starts it, even with OLLAMA_HOST set).",
    readBy: ['producer', 'local-worker'],
    parse: oneOf(LOCAL_BACKENDS),
  },
  openaiBaseUrl: {
    key: 'OPENAI_BASE_URL',
    default: '(unset: the OpenAI emulator under `npm start`)',
    accepts: 'http(s) URL ending where `/chat/completions` goes, e.g. `http://127.0.0.1:8000/v1`',
    description: 'The OpenAI-compatible server of LOCAL=openai. Required for a worker outside `npm start`.',
    readBy: ['local-worker'],
    parse: httpUrl,
  },
  openaiApiKey: {
    key: 'OPENAI_API_KEY',
    default: '(unset: a placeholder)',
    accepts: 'string',
    description:
      'Bearer key for OPENAI_BASE_URL (vLLM `--api-key`, a hosted server). Local servers without a key get a placeholder, which they ignore.',
    readBy: ['local-worker'],
    parse: opt,
  },
  openaiModel: {
    key: 'OPENAI_MODEL',
    default: '(unset: OLLAMA_MODEL)',
    accepts: 'model name as the server lists it in `GET /v1/models`',
    description: "Default local model of LOCAL=openai (a conversation's `localModel` wins).",
    readBy: ['producer', 'local-worker'],
    parse: (r, key) => r.opt(key) ?? r.str('OLLAMA_MODEL'),
  },
  openaiTimeoutMs: {
    key: 'OPENAI_TIMEOUT_MS',
    default: '(unset: OLLAMA_TIMEOUT_MS)',
    accepts: 'integer > 0',
    description: 'Per-call timeout of LOCAL=openai.',
    readBy: ['local-worker'],
    parse: intOr(1, ollamaTimeoutMs),
  },
  bedrockTimeoutMs: {
    key: 'BEDROCK_TIMEOUT_MS',
    default: '(unset: API_GATEWAY_TIMEOUT_MS)',
    accepts: 'integer > 0',
    description: 'Per-call timeout of CLOUD=bedrock (the worker calls Converse itself; no 29 s API Gateway cap applies).',
    readBy: ['producer', 'cloud-worker'],
    parse: intOr(1, apiGatewayTimeoutMs),
  },
  apiGatewayUrl: {
    key: 'API_GATEWAY_URL',
    default: '(unset: local API Gateway host)',
    accepts: 'http(s) URL',
    description: 'The deployed API Gateway endpoint that fronts the Lambda. Unset: the local gateway runs the real handler in-process.',
    readBy: ['producer', 'cloud-worker'],
    parse: httpUrl,
  },
  apiGatewayApiKey: {
    key: 'API_GATEWAY_API_KEY',
    default: '(unset)',
    accepts: 'string',
    description:
      'Sent as `x-api-key` when set; the local API Gateway host (`npm run gateway`) requires it when set, and needs it to start off loopback.',
    readBy: ['producer', 'cloud-worker', 'gateway'],
    parse: opt,
  },
  apiGatewaySigv4: {
    key: 'API_GATEWAY_SIGV4',
    default: 'false',
    accepts: 'true/false',
    description: 'Sign requests with SigV4 (service `execute-api`) for IAM-protected APIs, credentials from the default AWS chain.',
    readBy: ['producer', 'cloud-worker'],
    parse: bool,
  },
  gatewayTimeoutMs: {
    key: 'GATEWAY_TIMEOUT_MS',
    default: '29000',
    accepts: 'integer 50-900000',
    description:
      "API Gateway's integration timeout, one setting for the deployment: the SAM template's `GatewayTimeoutSeconds` (integration `TimeoutInMillis`, the Lambda's Timeout and its env), the Lambda's Bedrock budget (this minus 2 s) and the worker's default API_GATEWAY_TIMEOUT_MS. Above 29000 only for Regional or private REST APIs, after raising the account's \"Maximum integration timeout in milliseconds\" quota (AWS, June 2024).",
    readBy: ['producer', 'cloud-worker', 'judge-worker', 'lambda', 'gateway'],
    parse: gatewayTimeoutMs,
  },
  apiGatewayTimeoutMs: {
    key: 'API_GATEWAY_TIMEOUT_MS',
    default: '(unset: GATEWAY_TIMEOUT_MS + 1000)',
    accepts: 'integer > 0',
    description:
      "Per-call timeout for the cloud call (aborted with AbortSignal). By default just above GATEWAY_TIMEOUT_MS, so the gateway's (or the Lambda's) 504 arrives first.",
    readBy: ['producer', 'cloud-worker', 'judge-worker'],
    parse: apiGatewayTimeoutMs,
  },
  apiGatewayEnvelope: {
    key: 'API_GATEWAY_ENVELOPE',
    default: 'proxy',
    accepts: 'proxy or seed',
    description:
      '`proxy`: base64 protobuf as the HTTP body (this project\'s Lambda behind a proxy integration). `seed`: the original Scala system\'s JSON envelope (`{"queryStringParameters":{"query":…}}` in, `{"statusCode","body"}` out), to call a deployed seed Lambda.',
    readBy: ['producer', 'cloud-worker'],
    parse: oneOf(API_GATEWAY_ENVELOPES),
  },
  defaultMaxTokens: {
    key: 'DEFAULT_MAX_TOKENS',
    default: '1024',
    accepts: `integer ${LIMITS.maxTokens.min}-${LIMITS.maxTokens.max}`,
    description:
      "Output-token cap sent when a conversation names none (Converse would otherwise default to the model's maximum, which may not fit API Gateway's 29 s), lowered to the model's output cap. A model whose catalogue row sets `defaultMaxTokens` (those that reason before answering) gets that instead.",
    readBy: ['producer', 'cloud-worker', 'local-worker', 'lambda', 'gateway'],
    parse: int(LIMITS.maxTokens.min, LIMITS.maxTokens.max),
  },
  gatewayPort: {
    key: 'GATEWAY_PORT',
    default: '3001',
    accepts: 'integer 0-65535',
    description: 'Port of the local API Gateway host (`npm run gateway`).',
    readBy: ['gateway'],
    parse: int(0, 65535),
  },
  awsRegion: {
    key: 'AWS_REGION',
    default: 'us-east-1',
    accepts: 'AWS region',
    description: 'Region for Bedrock and SigV4.',
    readBy: ['producer', 'cloud-worker', 'lambda', 'gateway'],
    parse: str,
  },
  bedrockModelId: {
    key: 'BEDROCK_MODEL_ID',
    default: 'amazon.nova-micro-v1:0',
    accepts: 'model id or inference profile',
    description:
      'Default cloud model (a conversation may name its own). Amazon Nova Micro: active in us-east-1, first-party (no AWS Marketplace subscription), on-demand with this id, the cheapest text model in the catalogue (README, "Running against the real services"). A model end-of-life in AWS_REGION is refused at submission.',
    readBy: ['producer', 'cloud-worker', 'judge-worker', 'lambda', 'gateway'],
    parse: str,
  },
  bedrockEndpoint: {
    key: 'BEDROCK_ENDPOINT',
    default: '(unset: AWS endpoint)',
    accepts: 'http(s) URL',
    description: 'Bedrock Runtime endpoint override (e.g. the emulator).',
    readBy: ['producer', 'cloud-worker', 'lambda', 'gateway'],
    parse: httpUrl,
  },
  ollamaHost: {
    key: 'OLLAMA_HOST',
    default: 'http://127.0.0.1:11434',
    accepts: "Ollama's own forms: URL, host:port, host, :port (no scheme means http, no port 11434)",
    description: 'Ollama on the worker host. Unset under `npm start`: the Ollama emulator.',
    readBy: ['local-worker'],
    parse: ollamaHost,
  },
  ollamaModel: {
    key: 'OLLAMA_MODEL',
    default: 'llama3.2',
    accepts: 'model name',
    description: 'Default local model.',
    readBy: ['producer', 'local-worker', 'judge-worker'],
    parse: str,
  },
  ollamaTimeoutMs: {
    key: 'OLLAMA_TIMEOUT_MS',
    default: '120000',
    accepts: 'integer > 0',
    description: 'Per-call timeout for Ollama.',
    readBy: ['local-worker', 'judge-worker'],
    parse: ollamaTimeoutMs,
  },
  ollamaPull: {
    key: 'OLLAMA_PULL',
    default: 'false',
    accepts: 'true/false',
    description: 'A local worker whose model is not on its Ollama pulls it at start (progress in the log) instead of refusing to start.',
    readBy: ['local-worker'],
    parse: bool,
  },
  ollamaNumCtx: {
    key: 'OLLAMA_NUM_CTX',
    default: '(unset: sized per call)',
    accepts: 'integer 256-1048576',
    description:
      "Context window (`options.num_ctx`) for every Ollama call, as is (the override). Unset: the worker sends what the prompt needs, from the server's `/api/show` and `/api/ps`, and a prompt that still does not fit is recorded `promptTruncated`.",
    readBy: ['local-worker'],
    parse: (r, key) => (r.opt(key) === undefined ? undefined : r.int(key, 256, 1048576)),
  },
  ollamaKeepAlive: {
    key: 'OLLAMA_KEEP_ALIVE',
    default: '30m',
    accepts: 'Ollama duration (e.g. 5m, 1h, -1) or seconds',
    description: 'How long Ollama keeps the model loaded after a call (`keep_alive`), so a turn does not pay a cold load.',
    readBy: ['local-worker'],
    parse: keepAlive,
  },
  maxTurns: {
    key: 'MAX_TURNS',
    default: '5',
    accepts: `integer ${LIMITS.maxTurns.min}-${LIMITS.maxTurns.max}`,
    description: 'Default turns (transcript rows) per conversation.',
    readBy: ['producer'],
    parse: int(LIMITS.maxTurns.min, LIMITS.maxTurns.max),
  },
  conversationTimeoutMinutes: {
    key: 'CONVERSATION_TIMEOUT_MINUTES',
    default: '30',
    accepts: 'number > 0',
    description: 'Default conversation deadline; it also bounds every call.',
    readBy: ['producer'],
    parse: num(0),
  },
  outputDir: {
    key: 'OUTPUT_DIR',
    default: './output',
    accepts: 'directory',
    description: 'Where transcript CSVs are written.',
    readBy: ['transcript-worker'],
    parse: (r, key) => path.resolve(r.str(key)),
  },
  workerRoles: {
    key: 'WORKER_ROLES',
    default: 'cloud,local,transcript',
    accepts: 'comma list of cloud, local, transcript, judge',
    description: 'Roles this worker process runs (`judge` scores finished conversations when JUDGE_RUBRIC_FILE is set).',
    readBy: [...WORKERS],
    parse: workerRoles,
  },
  cloudConcurrency: {
    key: 'CLOUD_CONCURRENCY',
    default: '8',
    accepts: 'integer 1-1000',
    description: 'Concurrent cloud jobs per process.',
    readBy: ['cloud-worker'],
    parse: int(1, 1000),
  },
  localConcurrency: {
    key: 'LOCAL_CONCURRENCY',
    default: '1',
    accepts: 'integer 1-1000',
    description: 'Concurrent Ollama jobs per process; match `OLLAMA_NUM_PARALLEL`.',
    readBy: ['local-worker'],
    parse: localConcurrency,
  },
  transcriptConcurrency: {
    key: 'TRANSCRIPT_CONCURRENCY',
    default: '4',
    accepts: 'integer 1-1000',
    description: 'Concurrent transcript jobs per process.',
    readBy: ['transcript-worker'],
    parse: int(1, 1000),
  },
  cloudRateLimitMax: {
    key: 'CLOUD_RATE_LIMIT_MAX',
    default: '0',
    accepts: 'integer >= 0 (0 = off)',
    description: 'BullMQ limiter: at most this many cloud jobs per duration, across all hosts.',
    readBy: ['cloud-worker'],
    parse: int(0),
  },
  cloudRateLimitDurationMs: {
    key: 'CLOUD_RATE_LIMIT_DURATION_MS',
    default: '1000',
    accepts: 'integer > 0',
    description: 'Limiter window.',
    readBy: ['cloud-worker'],
    parse: int(1),
  },
  cloudThrottleBackoffMs: {
    key: 'CLOUD_THROTTLE_BACKOFF_MS',
    default: '5000',
    accepts: 'integer >= 0 (0 = off)',
    description:
      'When the cloud call is throttled (HTTP 429), the whole cloud queue pauses this long on every host (BullMQ `rateLimit`); the job goes back to waiting without using an attempt. 0: a 429 is retried like any retryable error.',
    readBy: ['cloud-worker'],
    parse: int(0),
  },
  modelAccessRetryMs: {
    key: 'MODEL_ACCESS_RETRY_MS',
    default: '120000',
    accepts: 'integer >= 1000',
    description:
      "A cloud step refused because Bedrock model access is not yet set up (AWS Marketplace `AccessDeniedException`, code `model_access_pending`) waits this long (or the minutes Bedrock's message names, if more) and is tried again, without using an attempt or pausing other conversations.",
    readBy: ['cloud-worker'],
    parse: int(1000),
  },
  modelAccessMaxWaitMs: {
    key: 'MODEL_ACCESS_MAX_WAIT_MS',
    default: '1200000',
    accepts: 'integer >= 0',
    description:
      'How long a step keeps waiting for model access in all before it fails with `model_access_pending` (bounded by the conversation deadline too). Bedrock says a subscription can take up to 15 minutes.',
    readBy: ['cloud-worker'],
    parse: int(0),
  },
  jobAttempts: {
    key: 'JOB_ATTEMPTS',
    default: '6',
    accepts: 'integer 1-100',
    description: 'Attempts per step for retryable errors.',
    readBy: ['producer', ...WORKERS],
    parse: int(1, 100),
  },
  backoffDelayMs: {
    key: 'BACKOFF_DELAY_MS',
    default: '1000',
    accepts: 'integer >= 0',
    description: 'Base of the exponential backoff (with jitter).',
    readBy: ['producer', ...WORKERS],
    parse: int(0),
  },
  lockDurationMs: {
    key: 'LOCK_DURATION_MS',
    default: '10000',
    accepts: 'integer >= 1000',
    description: "BullMQ job lock, renewed every half; a dead worker's job is recovered within about this time.",
    readBy: [...WORKERS],
    parse: int(1000),
  },
  stalledIntervalMs: {
    key: 'STALLED_INTERVAL_MS',
    default: '5000',
    accepts: 'integer >= 500',
    description: 'How often workers look for stalled jobs.',
    readBy: [...WORKERS],
    parse: int(500),
  },
  maxStalledCount: {
    key: 'MAX_STALLED_COUNT',
    default: '3',
    accepts: 'integer >= 0',
    description: 'Stalls before a job fails as repeatedly killed.',
    readBy: [...WORKERS],
    parse: int(0),
  },
  reconcileIntervalMs: {
    key: 'RECONCILE_INTERVAL_MS',
    default: '60000',
    accepts: 'integer >= 0 (0 = off)',
    description:
      'Workers sweep for conversations left `running` by a job that failed while no host was alive, or `queued` by a producer that died before queueing turn 1.',
    readBy: [...WORKERS],
    parse: int(0),
  },
  csvEscapeFormulas: {
    key: 'CSV_ESCAPE_FORMULAS',
    default: 'true',
    accepts: 'true/false',
    description: "Prefix cells starting with = + - @ tab CR with ' so spreadsheets do not run them.",
    readBy: ['producer', 'transcript-worker'],
    parse: bool,
  },
  maxBodyBytes: {
    key: 'MAX_BODY_BYTES',
    default: '65536',
    accepts: 'integer > 0',
    description: 'Request body limit (413 beyond).',
    readBy: ['producer'],
    parse: int(1),
  },
  sseMaxStreams: {
    key: 'SSE_MAX_STREAMS',
    default: '1000',
    accepts: 'integer > 0',
    description:
      'Live-progress streams one producer process keeps open, of every kind together (`GET /conversation/:id/events` and `GET /runs/:id/events`); beyond it, 503 `too_many_streams` with `Retry-After`. Gauge `llmconv_streams_active{kind}`.',
    readBy: ['producer'],
    parse: int(1),
  },
  maxWaits: {
    key: 'MAX_WAITS',
    default: '1000',
    accepts: 'integer > 0',
    description:
      'Requests one producer process holds open while their work runs (`POST /conversation?wait=true`, `POST /api/v1/generate`); beyond it, 503 `too_many_waits` with `Retry-After`. A client that hangs up frees its slot at once (gauge `llmconv_waits_active{kind}`).',
    readBy: ['producer'],
    parse: int(1),
  },
  retentionSeconds: {
    key: 'RETENTION_SECONDS',
    default: '604800',
    accepts: 'integer > 0',
    description: 'How long finished conversations and jobs are kept in Redis.',
    readBy: ['producer', ...WORKERS],
    parse: int(1),
  },
  archive: {
    key: 'ARCHIVE_URL',
    default: "(unset: `sqlite:` beside the embedded Redis's data dir for `npm start`/`npm run demo`, else `off`)",
    accepts: '`postgres://…` (`?schema=name` for a schema of its own), `sqlite:<path>`, `off`',
    description:
      'Where every finished conversation is kept once its transcript is written (docs/archive.md): PostgreSQL for a fleet, SQLite for one host. The schema is created and migrated at start. `off`: none, finished conversations stay in Redis for RETENTION_SECONDS.',
    readBy: ['producer', ...WORKERS, 'stack'],
    parse: archiveTarget,
  },
  redisRetentionSeconds: {
    key: 'REDIS_RETENTION_SECONDS',
    default: '300',
    accepts: 'integer > 0',
    description:
      'How long a finished conversation stays in Redis once it is archived (then reads fall through to the archive). Without an archive RETENTION_SECONDS applies.',
    readBy: [...WORKERS],
    parse: int(1),
  },
  jobHistory: {
    key: 'JOB_HISTORY',
    default: '1000',
    accepts: 'integer >= 0',
    description:
      "Finished jobs kept per queue, completed and failed each (the newest; none older than RETENTION_SECONDS), so Bull Board shows what ran. A step's effect lives in the conversation store; 0 removes a completed job at once.",
    readBy: ['producer', ...WORKERS],
    parse: int(0),
  },
  boardUsername: {
    key: 'BOARD_USERNAME',
    default: '(unset)',
    accepts: 'string',
    description: 'Bull Board basic auth user (with BOARD_PASSWORD). Unset: read-only, loopback only.',
    readBy: ['producer'],
    parse: boardUsername,
  },
  boardPassword: {
    key: 'BOARD_PASSWORD',
    default: '(unset)',
    accepts: 'string (not `change-me`)',
    description: 'Bull Board basic auth password; the example `change-me` of .env.example is refused at start.',
    readBy: ['producer'],
    parse: boardPassword,
  },
  apiKey: {
    key: 'API_KEY',
    default: '(unset)',
    accepts: 'string',
    description:
      "When set, producer routes need `x-api-key` or `Authorization: Bearer`; reads (GET) also take Basic auth with the key as the password, so a browser can open the conversation page. Required to start with HOST off loopback (or ALLOW_UNAUTHENTICATED=true). A deploy file's `__SET_ME__` is refused.",
    readBy: ['producer'],
    parse: opt,
  },
  apiKeysFile: {
    key: 'API_KEYS_FILE',
    default: '(unset)',
    accepts: 'path to a JSON or YAML file',
    description:
      "Several callers: each entry is a key id, name, the SHA-256 (hex) of the key, optional `maxActive` and `budget` (`{usd, tokens}`) and `role: admin`. Each caller sees only its own conversations and runs (404 for others'), an admin sees all; usage per key in `/metrics`. `API_KEY` stays one admin key beside it. See docs/callers.md.",
    readBy: ['producer'],
    parse: opt,
  },
  allowUnauthenticated: {
    key: 'ALLOW_UNAUTHENTICATED',
    default: 'false',
    accepts: 'true/false',
    description:
      "A producer (HOST) or local API Gateway host bound off loopback refuses to start without its key (API_KEY; the gateway's API_GATEWAY_API_KEY) unless this is true (SECURITY.md).",
    readBy: ['producer', 'gateway'],
    parse: bool,
  },
  allowedHosts: {
    key: 'ALLOWED_HOSTS',
    default: '(unset: localhost, 127.0.0.1, [::1] and the bound address, at the port)',
    accepts: 'comma list of `name` or `name:port` (`*`: any)',
    description:
      "Names the producer answers to beside the defaults: every request's `Host`, and a write's `Origin` when sent, must be one of them (else 403), against DNS rebinding and cross-site posts. A name without a port matches any port. Set it to the name clients use behind a proxy or load balancer.",
    readBy: ['producer'],
    parse: allowedHosts,
  },
  promptMaxChars: {
    key: 'PROMPT_MAX_CHARS',
    default: '100000',
    accepts: 'integer 1000-10000000',
    description:
      "Longest prompt a turn may send to either model (the initial query, or a template filled with the previous turn's texts): longer is a 400 at submission when it can be known there, else the conversation fails with `prompt_too_long`.",
    readBy: ['producer', 'cloud-worker', 'local-worker'],
    parse: int(1000, 10_000_000),
  },
  redisDataDir: {
    key: 'REDIS_DATA_DIR',
    default: '(unset: `$XDG_STATE_HOME/llmconv/redis`, else `~/.local/state/llmconv/redis`; `npm run demo`: a temp dir)',
    accepts: 'directory',
    description:
      "Where the embedded redis-server (no REDIS_URL) keeps its AOF, so `npm start` resumes unfinished work after a stop. One stack at a time: locked by `llmconv.lock` (owner pid). Set it for `npm run demo` to keep the demo's data.",
    readBy: ['stack'],
    parse: optPath,
  },
  logLevel: {
    key: 'LOG_LEVEL',
    default: 'info',
    accepts: LOG_LEVELS.join(', '),
    description: 'Log level (prompts and replies only at debug).',
    readBy: ['producer', ...WORKERS, 'lambda', 'gateway'],
    parse: oneOf(LOG_LEVELS),
  },
  metricsPort: {
    key: 'METRICS_PORT',
    default: '9464',
    accepts: 'integer 0-65535',
    description: 'Worker processes serve `/metrics` here.',
    readBy: [...WORKERS],
    parse: int(0, 65535),
  },
  runMaxActive: {
    key: 'RUN_MAX_ACTIVE',
    default: '100',
    accepts: 'integer > 0',
    description: "A run's default `maxActive`: how many of its conversations are in flight at once; the rest wait in its backlog.",
    readBy: ['producer'],
    parse: runMaxActive,
  },
  runMaxLineBytes: {
    key: 'RUN_MAX_LINE_BYTES',
    default: '65536',
    accepts: 'integer > 0',
    description: 'Longest line of a `POST /runs` upload; a longer one is rejected (by line number), the rest still read.',
    readBy: ['producer'],
    parse: int(1),
  },
  runMaxBodyBytes: {
    key: 'RUN_MAX_BODY_BYTES',
    default: '67108864',
    accepts: 'integer > 0',
    description:
      'Largest `POST /runs` (or `/runs/:id/seeds`) upload, 64 MiB: 413 at once when `Content-Length` says more, else at the limit (the seeds read before it stay in the run). Send more with further appends.',
    readBy: ['producer'],
    parse: int(1),
  },
  runMaxSeeds: {
    key: 'RUN_MAX_SEEDS',
    default: '100000',
    accepts: 'integer > 0',
    description:
      'Seeds one run may hold in all (waiting and admitted). An upload past it keeps what fit and answers `refused` with the reason; one to a run already full is 413 `run_full`.',
    readBy: ['producer'],
    parse: int(1),
  },
  samplerDir: {
    key: 'SAMPLER_DIR',
    default: '(unset: generator lists are given inline only)',
    accepts: 'path to a directory',
    description:
      'Where `POST /runs` generators may read their lists from (`"personas": {"file": "personas.jsonl"}`, topics, goals: JSON Lines or plain lines); a file outside it is refused (docs/personas.md).',
    readBy: ['producer'],
    parse: optPath,
  },
  dedupThreshold: {
    key: 'DEDUP_THRESHOLD',
    default: '0.8',
    accepts: 'number > 0 and <= 1',
    description:
      'Near-duplicate control (docs/personas.md): with `dedup=true` on a run upload, a seed whose MinHash similarity (word 3-shingles) to an earlier seed of the same upload, or of an earlier `dedup=true` upload to the same run, is at least this is rejected naming it; a finished conversation of a run that near-duplicates an earlier one of its run is flagged (`filter=dedup` on exports leaves it out).',
    readBy: ['producer', 'transcript-worker'],
    parse: memoryRatio,
  },
  runMaxActiveLimit: {
    key: 'RUN_MAX_ACTIVE_LIMIT',
    default: String(LIMITS.maxActiveLimit.default),
    accepts: 'integer > 0 (>= RUN_MAX_ACTIVE)',
    description: 'The largest `maxActive` a run may ask for (400 beyond): conversations in flight hold records and jobs in Redis.',
    readBy: ['producer'],
    parse: int(1),
  },
  backlogMaxSeeds: {
    key: 'BACKLOG_MAX_SEEDS',
    default: '500000',
    accepts: 'integer > 0',
    description:
      'Seeds waiting for admission in all runs together (counted in the same Lua script that adds them). Past it an upload keeps what fit (`refused` says why); with none free, 429 `backlog_full` with `Retry-After`. Sized for a 1 GB Redis: a waiting seed costs about 120 bytes of Redis beside its own bytes (measured 235 bytes for a 114-byte seed), so the defaults of both caps keep the backlog under about 250 MB.',
    readBy: ['producer'],
    parse: int(1),
  },
  backlogMaxBytes: {
    key: 'BACKLOG_MAX_BYTES',
    default: '134217728',
    accepts: 'integer > 0',
    description: "Bytes of seed data (conversation id + the seed's JSON) waiting in all runs together, 128 MiB; as BACKLOG_MAX_SEEDS.",
    readBy: ['producer'],
    parse: int(1),
  },
  redisMemoryRefuseRatio: {
    key: 'REDIS_MEMORY_REFUSE_RATIO',
    default: '0.9',
    accepts: 'number in (0, 1]; 1 = off',
    description:
      "Writes (`POST /conversation`, `POST /runs`, appends) are refused with 429 `redis_memory_high` and `Retry-After` while Redis's `used_memory` is above this share of its `maxmemory` (INFO memory, read at most once a second), so the pipeline's own steps still find room under `noeviction`. No effect when `maxmemory` is 0 (unlimited).",
    readBy: ['producer'],
    parse: memoryRatio,
  },
  modelCatalogFile: {
    key: 'MODEL_CATALOG_FILE',
    default: '(unset: the shipped catalogue, shared/model-catalog.json)',
    accepts: 'path to a JSON or YAML file `{"families": [...], "replace"?: true}`',
    description:
      'Model facts (id pattern, output cap, default maxTokens, prices, accepted parameters, lifecycle per region, replacement) matched before the shipped rows, or instead of them with `"replace": true`. The way to change prices, caps or lifecycle. Read once per process by the producer, the workers and the Lambda (README, "Model catalogue").',
    readBy: ['producer', ...WORKERS, 'lambda', 'gateway'],
    parse: (r, key) => modelCatalogFile(r.opt(key)),
  },
  pricesFile: {
    key: 'PRICES_FILE',
    default: "(unset: the model catalogue's prices, local models at 0)",
    accepts: 'path to a JSON file',
    description:
      'Kept for old setups: per-model price overrides over the catalogue\'s, `{"models": {"<model id>": {"inputPer1k", "outputPer1k"}}, "local": {...}}`, and the price of local models. Change cloud prices in MODEL_CATALOG_FILE (README, "Cost").',
    readBy: ['producer', ...WORKERS],
    parse: optPath,
  },
  judgeRubricFile: {
    key: 'JUDGE_RUBRIC_FILE',
    default: '(unset: conversations are not judged)',
    accepts: 'path to a JSON rubric (judge/rubric.ts)',
    description:
      'The judge\'s rubric: each finished conversation with at least one answer is scored against it by a worker with the `judge` role (WORKER_ROLES), with the rubric\'s model (README, "Judge").',
    readBy: ['transcript-worker', 'judge-worker'],
    parse: optPath,
  },
  ollamaHosts: {
    key: 'OLLAMA_HOSTS',
    default: '(unset: OLLAMA_HOST with LOCAL_CONCURRENCY slots)',
    accepts: 'comma list of `<host>*<slots>` (host as OLLAMA_HOST accepts; no `*n`: LOCAL_CONCURRENCY)',
    description:
      "The local model pool, e.g. `http://gpu1:11434*4,http://gpu2:11434*2` (slots = that host's `OLLAMA_NUM_PARALLEL`). Every worker process on any host shares the slots through Redis leases, least busy host first; overrides OLLAMA_HOST.",
    readBy: ['local-worker'],
    parse: ollamaHosts,
  },
  ollamaSlotLeaseMs: {
    key: 'OLLAMA_SLOT_LEASE_MS',
    default: '30000',
    accepts: 'integer >= 1000',
    description:
      'Expiry of a pool slot lease, renewed every third while the call runs: the slots of a killed worker come back within this time.',
    readBy: ['local-worker'],
    parse: int(1000),
  },
  ollamaBreakerFailures: {
    key: 'OLLAMA_BREAKER_FAILURES',
    default: '3',
    accepts: 'integer 1-1000',
    description:
      'Consecutive connection errors / 5xx from one Ollama endpoint that open its circuit (its calls go to the other endpoints).',
    readBy: ['local-worker'],
    parse: int(1, 1000),
  },
  ollamaBreakerCooldownMs: {
    key: 'OLLAMA_BREAKER_COOLDOWN_MS',
    default: '10000',
    accepts: 'integer >= 100',
    description: 'How long an open endpoint is left alone before a probe (`/api/version` and the model) lets it back in.',
    readBy: ['local-worker'],
    parse: int(100),
  },
  cloudLimits: {
    key: 'CLOUD_LIMITS_FILE',
    default: '(unset: no per-model limits)',
    accepts: 'path of a JSON file `{ "<modelId>": { "rpm": N, "tpm": N } }`',
    description:
      "Fleet-wide requests and tokens per minute per cloud model (set them to the account's Bedrock quotas): a call waits for room, is charged the tokens its reply reports, and a 429 lowers the model's effective limits (recovered by successes) instead of pausing the cloud queue.",
    readBy: ['cloud-worker'],
    parse: (r, key) => loadCloudLimits(r.opt(key), r.opt('CLOUD_LIMITS')),
    also: [
      {
        key: 'CLOUD_LIMITS',
        default: '(unset)',
        accepts: 'inline JSON, same shape as CLOUD_LIMITS_FILE',
        description: "Per-model limits given inline; its entries win over the file's.",
      },
    ],
  },
  cloudFallbackAfterThrottles: {
    key: 'CLOUD_FALLBACK_AFTER_THROTTLES',
    default: '3',
    accepts: 'integer 1-100',
    description:
      'A conversation whose `cloudModel` is a list moves a turn to the next model after this many consecutive 429/quota errors on the current one (the turn records the fallback).',
    readBy: ['cloud-worker'],
    parse: int(1, 100),
  },
  otlpTracesUrl: {
    key: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    default: '(unset: no traces)',
    accepts: 'http(s) URL of an OTLP/HTTP receiver',
    description:
      'OpenTelemetry traces by OTLP/HTTP protobuf to `<it>/v1/traces` (docs/traces.md); the exporter reads the other OTEL_EXPORTER_OTLP_* settings (headers, timeout) itself. Unset: tracing off, at no cost.',
    readBy: ['producer', ...WORKERS, 'lambda', 'gateway', 'stack'],
    parse: otlpTracesUrl,
    also: [
      {
        key: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
        default: '(unset)',
        accepts: 'http(s) URL',
        description: 'The full traces URL, used as is (wins over OTEL_EXPORTER_OTLP_ENDPOINT).',
      },
      {
        key: 'OTEL_SERVICE_NAME',
        default: 'llmconv, llmconv-producer, llmconv-worker, llmconv-gateway, llmconv-lambda',
        accepts: 'string',
        description: "Traces' `service.name`.",
      },
      {
        key: 'OTEL_SDK_DISABLED',
        default: 'false',
        accepts: 'true, false',
        description: 'true: no traces even with an endpoint.',
      },
    ],
  },
  captureMessageContent: {
    key: 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT',
    default: 'false',
    accepts: 'true, false',
    description:
      'Puts system prompts, messages and answers on model-call spans (`gen_ai.input.messages` ...). Off: spans carry models, tokens and stop reasons only.',
    readBy: ['producer', ...WORKERS, 'lambda', 'gateway', 'stack'],
    parse: bool,
  },
  awsLambdaFunctionName: {
    key: 'AWS_LAMBDA_FUNCTION_NAME',
    default: '(set by AWS Lambda)',
    accepts: 'string',
    description:
      'Set by AWS Lambda itself, never by hand: the deployed handler then starts tracing from the function environment (OTEL_EXPORTER_OTLP_ENDPOINT).',
    readBy: ['producer', ...WORKERS, 'lambda', 'gateway', 'stack'],
    parse: opt,
  },
  awsCredentialsConfigured: {
    key: 'AWS_ACCESS_KEY_ID',
    default: '(unset)',
    accepts: "the AWS SDK's",
    description:
      'AWS credentials, read by the AWS SDK\'s default chain itself; this or any of AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI set counts as "credentials configured" for the doctor, which checks them. They never switch `npm start` to real Bedrock by themselves: CLOUD=gateway or CLOUD=bedrock does (docs/backends.md).',
    readBy: ['producer', 'cloud-worker', 'gateway', 'stack'],
    parse: awsCredentialsConfigured,
    also: [
      {
        key: 'AWS_PROFILE',
        default: '(unset)',
        accepts: "the AWS SDK's",
        description: 'AWS credentials profile (AWS SDK); as AWS_ACCESS_KEY_ID.',
      },
      {
        key: 'AWS_WEB_IDENTITY_TOKEN_FILE',
        default: '(unset)',
        accepts: "the AWS SDK's",
        description: 'Web identity token (AWS SDK); as AWS_ACCESS_KEY_ID.',
      },
      {
        key: 'AWS_CONTAINER_CREDENTIALS_FULL_URI',
        default: '(unset)',
        accepts: "the AWS SDK's",
        description: 'Container credentials (AWS SDK); as AWS_ACCESS_KEY_ID.',
      },
      {
        key: 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
        default: '(unset)',
        accepts: "the AWS SDK's",
        description: 'Container credentials (AWS SDK); as AWS_ACCESS_KEY_ID.',
      },
    ],
  },
  awsEndpointUrlConfigured: {
    key: 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME',
    default: '(unset)',
    accepts: "the AWS SDK's",
    description:
      "The AWS SDK's own endpoint settings for Bedrock Runtime (also AWS_ENDPOINT_URL; both ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true), read by the SDK itself: with one set, `npm start` starts no Bedrock emulator in its place.",
    readBy: ['stack'],
    parse: awsEndpointUrlConfigured,
    also: [
      {
        key: 'AWS_ENDPOINT_URL',
        default: '(unset)',
        accepts: "the AWS SDK's",
        description: 'The endpoint of every AWS service (AWS SDK); as AWS_ENDPOINT_URL_BEDROCK_RUNTIME.',
      },
      {
        key: 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
        default: '(unset)',
        accepts: "the AWS SDK's",
        description: '`true` or `1`: the AWS SDK (and so `npm start` and the doctor) ignore AWS_ENDPOINT_URL*.',
      },
    ],
  },
};
