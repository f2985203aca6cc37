/**
 * The configuration's types: the typed `Config` every process receives, the names a key may take
 * (roles, log levels, backends) and the shape of a key's documentation. No parsing here: the keys
 * themselves are in `schema.ts`.
 */
import type { CloudLimits } from '../cloud-limits';
import type { OllamaEndpoint } from '../ollama-pool-hosts';

export type Env = Record<string, string | undefined>;

export const WORKER_ROLES = ['cloud', 'local', 'transcript', 'judge'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** Where finished conversations are archived (ARCHIVE_URL; store/archive/). */
export type ArchiveTarget = { kind: 'postgres'; url: string } | { kind: 'sqlite'; file: string } | { kind: 'off' };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** How the cloud worker wraps its protobuf for API Gateway: ours (`proxy`) or the seed's JSON (`seed`). */
export const API_GATEWAY_ENVELOPES = ['proxy', 'seed'] as const;
export type ApiGatewayEnvelope = (typeof API_GATEWAY_ENVELOPES)[number];
/** The cloud side's backend (providers/provider-registry.ts): API Gateway → Lambda, Bedrock Converse from the worker, or the emulators. */
export const CLOUD_BACKENDS = ['gateway', 'bedrock', 'emulated'] as const;
export type CloudBackend = (typeof CLOUD_BACKENDS)[number];
/** The local side's backend (providers/provider-registry.ts): Ollama's API, any OpenAI-compatible chat completions server, or the emulator. */
export const LOCAL_BACKENDS = ['ollama', 'openai', 'emulated'] as const;
export type LocalBackend = (typeof LOCAL_BACKENDS)[number];

/** One documented key: its name, default and what it accepts. Mirrored in the README table. */
export interface KeyDoc {
  key: string;
  default: string;
  accepts: string;
  description: string;
}

/** The typed configuration: one field per entry of the schema (`schema.ts`), which holds its key, default and parser. */
export interface Config {
  redisUrl?: string;
  /** REDIS_CLUSTER_NODES: a Redis Cluster's startup nodes (the Cluster client everywhere); unset: REDIS_URL. */
  redisClusterNodes?: string[];
  /** REDIS_SENTINELS: the sentinels of a primary with replicas (ioredis's Sentinel client everywhere). */
  redisSentinels?: string[];
  /** REDIS_SENTINEL_MASTER: the name they watch it under. */
  redisSentinelMaster: string;
  queuePrefix: string;
  /** REDIS_SHARDS: how many hash tags work is spread over (shared/redis-shards.ts); 1: QUEUE_PREFIX's alone. */
  redisShards: number;
  port: number;
  host: string;
  /** CLOUD: which backend answers the cloud side (README, "Backends"). */
  cloudBackend: CloudBackend;
  /** LOCAL: which backend answers the local side (README, "Backends"). */
  localBackend: LocalBackend;
  /** OPENAI_BASE_URL: the OpenAI-compatible server of LOCAL=openai (e.g. `http://127.0.0.1:8000/v1`). */
  openaiBaseUrl?: string;
  /** OPENAI_API_KEY: its key; unset: a placeholder (local servers take any). */
  openaiApiKey?: string;
  /** OPENAI_MODEL: the local model of LOCAL=openai; unset: OLLAMA_MODEL. */
  openaiModel: string;
  /** OPENAI_TIMEOUT_MS: per-call timeout of LOCAL=openai; unset: OLLAMA_TIMEOUT_MS. */
  openaiTimeoutMs: number;
  /** BEDROCK_TIMEOUT_MS: per-call timeout of CLOUD=bedrock; unset: API_GATEWAY_TIMEOUT_MS. */
  bedrockTimeoutMs: number;
  apiGatewayUrl?: string;
  apiGatewayApiKey?: string;
  apiGatewaySigv4: boolean;
  apiGatewayTimeoutMs: number;
  /** GATEWAY_TIMEOUT_MS: API Gateway's integration timeout, which the Lambda's budget and the worker's timeout follow. */
  gatewayTimeoutMs: number;
  /** MODEL_ACCESS_RETRY_MS: wait before retrying a step refused while Bedrock model access (AWS Marketplace) is pending. */
  modelAccessRetryMs: number;
  /** MODEL_ACCESS_MAX_WAIT_MS: longest a step keeps waiting for model access before it fails. */
  modelAccessMaxWaitMs: number;
  apiGatewayEnvelope: ApiGatewayEnvelope;
  defaultMaxTokens: number;
  gatewayPort: number;
  awsRegion: string;
  bedrockModelId: string;
  bedrockEndpoint?: string;
  ollamaHost?: string;
  ollamaModel: string;
  ollamaTimeoutMs: number;
  ollamaPull: boolean;
  ollamaNumCtx?: number;
  ollamaKeepAlive: string;
  redisDataDir?: string;
  maxTurns: number;
  conversationTimeoutMinutes: number;
  outputDir: string;
  workerRoles: WorkerRole[];
  cloudConcurrency: number;
  localConcurrency: number;
  transcriptConcurrency: number;
  cloudRateLimitMax: number;
  cloudRateLimitDurationMs: number;
  cloudThrottleBackoffMs: number;
  reconcileIntervalMs: number;
  jobAttempts: number;
  backoffDelayMs: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  csvEscapeFormulas: boolean;
  maxBodyBytes: number;
  sseMaxStreams: number;
  /** MAX_WAITS: requests held open while work runs (`?wait=true`, `/api/v1/generate`). */
  maxWaits: number;
  retentionSeconds: number;
  /** ARCHIVE_URL: the archive; undefined when unset (the stack's SQLite beside its embedded Redis, else none). */
  archive?: ArchiveTarget;
  /** REDIS_RETENTION_SECONDS: how long an archived conversation stays in Redis. */
  redisRetentionSeconds: number;
  /** JOB_HISTORY: completed and failed jobs kept per queue for Bull Board. */
  jobHistory: number;
  boardUsername?: string;
  boardPassword?: string;
  apiKey?: string;
  /** API_KEYS_FILE: several callers' keys (producer/caller-keys.ts, docs/callers.md). */
  apiKeysFile?: string;
  /** ALLOW_UNAUTHENTICATED: serve off loopback without a key, on purpose (shared/bind-guard.ts). */
  allowUnauthenticated: boolean;
  /** ALLOWED_HOSTS: extra `Host`/`Origin` names (`name` or `name:port`, `*` for any) beside loopback and the bound address. */
  allowedHosts: string[];
  /** PROMPT_MAX_CHARS: the longest prompt a turn may send (both sides). */
  promptMaxChars: number;
  logLevel: LogLevel;
  metricsPort: number;
  runMaxActive: number;
  runMaxLineBytes: number;
  runMaxBodyBytes: number;
  /** RUN_MAX_SEEDS: seeds one run may hold in all. */
  runMaxSeeds: number;
  /** SAMPLER_DIR: where run generators read their list files (absent: inline lists only). */
  samplerDir?: string;
  /** DEDUP_THRESHOLD: MinHash similarity at or above which a seed or conversation is a near-duplicate. */
  dedupThreshold: number;
  /** RUN_MAX_ACTIVE_LIMIT: the largest `maxActive` a run may ask for. */
  runMaxActiveLimit: number;
  /** BACKLOG_MAX_SEEDS / BACKLOG_MAX_BYTES: seeds (and their bytes) waiting in all runs' backlogs together. */
  backlogMaxSeeds: number;
  backlogMaxBytes: number;
  /** REDIS_MEMORY_REFUSE_RATIO: writes are refused (429) above this share of Redis's `maxmemory`. */
  redisMemoryRefuseRatio: number;
  /** The OTLP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`); unset: tracing off (docs/traces.md). */
  otlpTracesUrl?: string;
  /** OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: prompts and answers on model-call spans. */
  captureMessageContent: boolean;
  /** AWS_LAMBDA_FUNCTION_NAME: set by AWS Lambda itself; the handler then starts tracing on its own (lambda/invocation-span.ts). */
  awsLambdaFunctionName?: string;
  /** True when AWS credentials are configured in the environment (keys, profile, web identity, container). */
  awsCredentialsConfigured: boolean;
  /**
   * True when the AWS SDK's own endpoint setting for Bedrock Runtime is present
   * (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME` or `AWS_ENDPOINT_URL`): the SDK reads it itself; `npm start`
   * then starts no Bedrock emulator in its place.
   */
  awsEndpointUrlConfigured: boolean;
  /** PRICES_FILE: model price overrides (cost/price-table.ts). */
  pricesFile?: string;
  /** MODEL_CATALOG_FILE: model facts before the shipped catalogue (shared/model-catalog.ts); read once per process. */
  modelCatalogFile?: string;
  /** JUDGE_RUBRIC_FILE: the judge's rubric (judge/rubric.ts); unset: conversations are not judged. */
  judgeRubricFile?: string;
  /** OLLAMA_HOSTS: the local model pool; unset: the one OLLAMA_HOST (see {@link ollamaPoolOf}). */
  ollamaHosts?: OllamaEndpoint[];
  ollamaSlotLeaseMs: number;
  ollamaBreakerFailures: number;
  ollamaBreakerCooldownMs: number;
  /** Per-model cloud limits (CLOUD_LIMITS_FILE, CLOUD_LIMITS); {} when none. */
  cloudLimits: CloudLimits;
  cloudFallbackAfterThrottles: number;
}
