/**
 * The one module that reads `process.env`. Every key is trimmed, defaulted or rejected with a
 * {@link ConfigError} naming the key and what it accepts. Load once at start, pass the typed
 * object down.
 *
 * @example
 * const config = loadConfig();            // throws ConfigError on a bad value
 * const config = loadConfig({ PORT: '0' }); // tests pass their own environment
 */
import path from 'node:path';
import { ConfigError } from './errors';
import { parseOllamaHost } from './ollama-host';
import { parseOllamaHosts, type OllamaEndpoint } from './ollama-pool-hosts';
import { loadCloudLimits, type CloudLimits } from './cloud-limits';
import { redactUrl } from './redact-url';
import { loadModelCatalog } from './model-catalog';

export type Env = Record<string, string | undefined>;

export const WORKER_ROLES = ['cloud', 'local', 'transcript', 'judge'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];
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

/** The typed configuration. Each field's default is in {@link CONFIG_KEYS}. */
export interface Config {
  redisUrl?: string;
  queuePrefix: string;
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
  /** RUN_MAX_ACTIVE_LIMIT: the largest `maxActive` a run may ask for. */
  runMaxActiveLimit: number;
  /** BACKLOG_MAX_SEEDS / BACKLOG_MAX_BYTES: seeds (and their bytes) waiting in all runs' backlogs together. */
  backlogMaxSeeds: number;
  backlogMaxBytes: number;
  /** REDIS_MEMORY_REFUSE_RATIO: writes are refused (429) above this share of Redis's `maxmemory`. */
  redisMemoryRefuseRatio: number;
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

export const CONFIG_KEYS: KeyDoc[] = [
  {
    key: 'REDIS_URL',
    default: '(unset: embedded redis-server)',
    accepts: 'redis:// or rediss:// URL',
    description:
      'Redis shared by producer and workers. Unset for `npm start`/`npm run demo`: a supervised redis-server is spawned on a free port with AOF in REDIS_DATA_DIR (`npm run demo`: a temp dir).',
  },
  {
    key: 'QUEUE_PREFIX',
    default: '{llmconv}',
    accepts: 'non-empty, no spaces',
    description: 'BullMQ `prefix` for every key. Keep the `{hash tag}` for Redis Cluster.',
  },
  { key: 'PORT', default: '8080', accepts: 'integer 0-65535', description: 'Producer HTTP port.' },
  {
    key: 'HOST',
    default: '127.0.0.1',
    accepts: 'interface address',
    description:
      'Interface the HTTP servers bind to (`0.0.0.0` in containers). Off loopback the producer and the local gateway need their key (or ALLOW_UNAUTHENTICATED=true) to start.',
  },
  {
    key: 'CLOUD',
    default: 'gateway',
    accepts: 'gateway, bedrock or emulated',
    description:
      'The cloud side\'s backend (README, "Backends"). `gateway`: API Gateway → Lambda → Bedrock (API_GATEWAY_URL; unset under `npm start`: the in-process gateway). `bedrock`: Bedrock Converse straight from the worker, no Lambda hop (AWS_REGION, BEDROCK_ENDPOINT or the SDK\'s own endpoint settings, the default AWS credential chain). `emulated`: the Bedrock emulator behind the in-process gateway (`npm start` starts both, even with AWS credentials configured).',
  },
  {
    key: 'LOCAL',
    default: 'ollama',
    accepts: 'ollama, openai or emulated',
    description:
      "The local side's backend (README, \"Backends\"). `ollama`: Ollama's own API (OLLAMA_HOST, OLLAMA_HOSTS). `openai`: any OpenAI-compatible chat completions server (vLLM, llama.cpp server, LM Studio, Ollama's `/v1`) at OPENAI_BASE_URL. `emulated`: the Ollama emulator (`npm start` starts it, even with OLLAMA_HOST set).",
  },
  {
    key: 'OPENAI_BASE_URL',
    default: '(unset: the OpenAI emulator under `npm start`)',
    accepts: 'http(s) URL ending where `/chat/completions` goes, e.g. `http://127.0.0.1:8000/v1`',
    description: 'The OpenAI-compatible server of LOCAL=openai. Required for a worker outside `npm start`.',
  },
  {
    key: 'OPENAI_API_KEY',
    default: '(unset: a placeholder)',
    accepts: 'string',
    description:
      'Bearer key for OPENAI_BASE_URL (vLLM `--api-key`, a hosted server). Local servers without a key get a placeholder, which they ignore.',
  },
  {
    key: 'OPENAI_MODEL',
    default: '(unset: OLLAMA_MODEL)',
    accepts: 'model name as the server lists it in `GET /v1/models`',
    description: "Default local model of LOCAL=openai (a conversation's `localModel` wins).",
  },
  {
    key: 'OPENAI_TIMEOUT_MS',
    default: '(unset: OLLAMA_TIMEOUT_MS)',
    accepts: 'integer > 0',
    description: 'Per-call timeout of LOCAL=openai.',
  },
  {
    key: 'BEDROCK_TIMEOUT_MS',
    default: '(unset: API_GATEWAY_TIMEOUT_MS)',
    accepts: 'integer > 0',
    description: 'Per-call timeout of CLOUD=bedrock (the worker calls Converse itself; no 29 s API Gateway cap applies).',
  },
  {
    key: 'API_GATEWAY_URL',
    default: '(unset: local API Gateway host)',
    accepts: 'http(s) URL',
    description: 'The deployed API Gateway endpoint that fronts the Lambda. Unset: the local gateway runs the real handler in-process.',
  },
  {
    key: 'API_GATEWAY_API_KEY',
    default: '(unset)',
    accepts: 'string',
    description:
      'Sent as `x-api-key` when set; the local API Gateway host (`npm run gateway`) requires it when set, and needs it to start off loopback.',
  },
  {
    key: 'API_GATEWAY_SIGV4',
    default: 'false',
    accepts: 'true/false',
    description: 'Sign requests with SigV4 (service `execute-api`) for IAM-protected APIs, credentials from the default AWS chain.',
  },
  {
    key: 'GATEWAY_TIMEOUT_MS',
    default: '29000',
    accepts: 'integer 50-900000',
    description:
      "API Gateway's integration timeout, one setting for the deployment: the SAM template's `GatewayTimeoutSeconds` (integration `TimeoutInMillis`, the Lambda's Timeout and its env), the Lambda's Bedrock budget (this minus 2 s) and the worker's default API_GATEWAY_TIMEOUT_MS. Above 29000 only for Regional or private REST APIs, after raising the account's \"Maximum integration timeout in milliseconds\" quota (AWS, June 2024).",
  },
  {
    key: 'API_GATEWAY_TIMEOUT_MS',
    default: '(unset: GATEWAY_TIMEOUT_MS + 1000)',
    accepts: 'integer > 0',
    description:
      "Per-call timeout for the cloud call (aborted with AbortSignal). By default just above GATEWAY_TIMEOUT_MS, so the gateway's (or the Lambda's) 504 arrives first.",
  },
  {
    key: 'API_GATEWAY_ENVELOPE',
    default: 'proxy',
    accepts: 'proxy or seed',
    description:
      '`proxy`: base64 protobuf as the HTTP body (this project\'s Lambda behind a proxy integration). `seed`: the original Scala system\'s JSON envelope (`{"queryStringParameters":{"query":…}}` in, `{"statusCode","body"}` out), to call a deployed seed Lambda.',
  },
  {
    key: 'DEFAULT_MAX_TOKENS',
    default: '1024',
    accepts: 'integer 1-200000',
    description:
      "Output-token cap sent when a conversation names none (Converse would otherwise default to the model's maximum, which may not fit API Gateway's 29 s), lowered to the model's output cap. A model whose catalogue row sets `defaultMaxTokens` (those that reason before answering) gets that instead.",
  },
  {
    key: 'GATEWAY_PORT',
    default: '3001',
    accepts: 'integer 0-65535',
    description: 'Port of the local API Gateway host (`npm run gateway`).',
  },
  { key: 'AWS_REGION', default: 'us-east-1', accepts: 'AWS region', description: 'Region for Bedrock and SigV4.' },
  {
    key: 'BEDROCK_MODEL_ID',
    default: 'amazon.nova-micro-v1:0',
    accepts: 'model id or inference profile',
    description:
      'Default cloud model (a conversation may name its own). Amazon Nova Micro: active in us-east-1, first-party (no AWS Marketplace subscription), on-demand with this id, the cheapest text model in the catalogue (README, "Running against the real services"). A model end-of-life in AWS_REGION is refused at submission.',
  },
  {
    key: 'BEDROCK_ENDPOINT',
    default: '(unset: AWS endpoint)',
    accepts: 'http(s) URL',
    description: 'Bedrock Runtime endpoint override (e.g. the emulator).',
  },
  {
    key: 'OLLAMA_HOST',
    default: 'http://127.0.0.1:11434',
    accepts: "Ollama's own forms: URL, host:port, host, :port (no scheme means http, no port 11434)",
    description: 'Ollama on the worker host. Unset under `npm start`: the Ollama emulator.',
  },
  { key: 'OLLAMA_MODEL', default: 'llama3.2', accepts: 'model name', description: 'Default local model.' },
  { key: 'OLLAMA_TIMEOUT_MS', default: '120000', accepts: 'integer > 0', description: 'Per-call timeout for Ollama.' },
  {
    key: 'OLLAMA_PULL',
    default: 'false',
    accepts: 'true/false',
    description: 'A local worker whose model is not on its Ollama pulls it at start (progress in the log) instead of refusing to start.',
  },
  {
    key: 'OLLAMA_NUM_CTX',
    default: '(unset: sized per call)',
    accepts: 'integer 256-1048576',
    description:
      "Context window (`options.num_ctx`) for every Ollama call, as is (the override). Unset: the worker sends what the prompt needs, from the server's `/api/show` and `/api/ps`, and a prompt that still does not fit is recorded `promptTruncated`.",
  },
  {
    key: 'OLLAMA_KEEP_ALIVE',
    default: '30m',
    accepts: 'Ollama duration (e.g. 5m, 1h, -1) or seconds',
    description: 'How long Ollama keeps the model loaded after a call (`keep_alive`), so a turn does not pay a cold load.',
  },
  { key: 'MAX_TURNS', default: '5', accepts: 'integer 1-1000', description: 'Default turns (transcript rows) per conversation.' },
  {
    key: 'CONVERSATION_TIMEOUT_MINUTES',
    default: '30',
    accepts: 'number > 0',
    description: 'Default conversation deadline; it also bounds every call.',
  },
  { key: 'OUTPUT_DIR', default: './output', accepts: 'directory', description: 'Where transcript CSVs are written.' },
  {
    key: 'WORKER_ROLES',
    default: 'cloud,local,transcript',
    accepts: 'comma list of cloud, local, transcript, judge',
    description: 'Roles this worker process runs (`judge` scores finished conversations when JUDGE_RUBRIC_FILE is set).',
  },
  { key: 'CLOUD_CONCURRENCY', default: '8', accepts: 'integer 1-1000', description: 'Concurrent cloud jobs per process.' },
  {
    key: 'LOCAL_CONCURRENCY',
    default: '1',
    accepts: 'integer 1-1000',
    description: 'Concurrent Ollama jobs per process; match `OLLAMA_NUM_PARALLEL`.',
  },
  { key: 'TRANSCRIPT_CONCURRENCY', default: '4', accepts: 'integer 1-1000', description: 'Concurrent transcript jobs per process.' },
  {
    key: 'CLOUD_RATE_LIMIT_MAX',
    default: '0',
    accepts: 'integer >= 0 (0 = off)',
    description: 'BullMQ limiter: at most this many cloud jobs per duration, across all hosts.',
  },
  { key: 'CLOUD_RATE_LIMIT_DURATION_MS', default: '1000', accepts: 'integer > 0', description: 'Limiter window.' },
  {
    key: 'CLOUD_THROTTLE_BACKOFF_MS',
    default: '5000',
    accepts: 'integer >= 0 (0 = off)',
    description:
      'When the cloud call is throttled (HTTP 429), the whole cloud queue pauses this long on every host (BullMQ `rateLimit`); the job goes back to waiting without using an attempt. 0: a 429 is retried like any retryable error.',
  },
  {
    key: 'MODEL_ACCESS_RETRY_MS',
    default: '120000',
    accepts: 'integer >= 1000',
    description:
      "A cloud step refused because Bedrock model access is not yet set up (AWS Marketplace `AccessDeniedException`, code `model_access_pending`) waits this long (or the minutes Bedrock's message names, if more) and is tried again, without using an attempt or pausing other conversations.",
  },
  {
    key: 'MODEL_ACCESS_MAX_WAIT_MS',
    default: '1200000',
    accepts: 'integer >= 0',
    description:
      'How long a step keeps waiting for model access in all before it fails with `model_access_pending` (bounded by the conversation deadline too). Bedrock says a subscription can take up to 15 minutes.',
  },
  { key: 'JOB_ATTEMPTS', default: '6', accepts: 'integer 1-100', description: 'Attempts per step for retryable errors.' },
  { key: 'BACKOFF_DELAY_MS', default: '1000', accepts: 'integer >= 0', description: 'Base of the exponential backoff (with jitter).' },
  {
    key: 'LOCK_DURATION_MS',
    default: '10000',
    accepts: 'integer >= 1000',
    description: "BullMQ job lock, renewed every half; a dead worker's job is recovered within about this time.",
  },
  { key: 'STALLED_INTERVAL_MS', default: '5000', accepts: 'integer >= 500', description: 'How often workers look for stalled jobs.' },
  { key: 'MAX_STALLED_COUNT', default: '3', accepts: 'integer >= 0', description: 'Stalls before a job fails as repeatedly killed.' },
  {
    key: 'RECONCILE_INTERVAL_MS',
    default: '60000',
    accepts: 'integer >= 0 (0 = off)',
    description:
      'Workers sweep for conversations left `running` by a job that failed while no host was alive, or `queued` by a producer that died before queueing turn 1.',
  },
  {
    key: 'CSV_ESCAPE_FORMULAS',
    default: 'true',
    accepts: 'true/false',
    description: "Prefix cells starting with = + - @ tab CR with ' so spreadsheets do not run them.",
  },
  { key: 'MAX_BODY_BYTES', default: '65536', accepts: 'integer > 0', description: 'Request body limit (413 beyond).' },
  {
    key: 'SSE_MAX_STREAMS',
    default: '1000',
    accepts: 'integer > 0',
    description:
      'Live-progress streams one producer process keeps open, of every kind together (`GET /conversation/:id/events` and `GET /runs/:id/events`); beyond it, 503 `too_many_streams` with `Retry-After`. Gauge `llmconv_streams_active{kind}`.',
  },
  {
    key: 'MAX_WAITS',
    default: '1000',
    accepts: 'integer > 0',
    description:
      'Requests one producer process holds open while their work runs (`POST /conversation?wait=true`, `POST /api/v1/generate`); beyond it, 503 `too_many_waits` with `Retry-After`. A client that hangs up frees its slot at once (gauge `llmconv_waits_active{kind}`).',
  },
  {
    key: 'RETENTION_SECONDS',
    default: '604800',
    accepts: 'integer > 0',
    description: 'How long finished conversations and jobs are kept in Redis.',
  },
  {
    key: 'JOB_HISTORY',
    default: '1000',
    accepts: 'integer >= 0',
    description:
      "Finished jobs kept per queue, completed and failed each (the newest; none older than RETENTION_SECONDS), so Bull Board shows what ran. A step's effect lives in the conversation store; 0 removes a completed job at once.",
  },
  {
    key: 'BOARD_USERNAME',
    default: '(unset)',
    accepts: 'string',
    description: 'Bull Board basic auth user (with BOARD_PASSWORD). Unset: read-only, loopback only.',
  },
  {
    key: 'BOARD_PASSWORD',
    default: '(unset)',
    accepts: 'string (not `change-me`)',
    description: 'Bull Board basic auth password; the example `change-me` of .env.example is refused at start.',
  },
  {
    key: 'API_KEY',
    default: '(unset)',
    accepts: 'string',
    description:
      "When set, producer routes need `x-api-key` or `Authorization: Bearer`; reads (GET) also take Basic auth with the key as the password, so a browser can open the conversation page. Required to start with HOST off loopback (or ALLOW_UNAUTHENTICATED=true). A deploy file's `__SET_ME__` is refused.",
  },
  {
    key: 'API_KEYS_FILE',
    default: '(unset)',
    accepts: 'path to a JSON or YAML file',
    description:
      "Several callers: each entry is a key id, name, the SHA-256 (hex) of the key, optional `maxActive` and `budget` (`{usd, tokens}`) and `role: admin`. Each caller sees only its own conversations and runs (404 for others'), an admin sees all; usage per key in `/metrics`. `API_KEY` stays one admin key beside it. See docs/callers.md.",
  },
  {
    key: 'ALLOW_UNAUTHENTICATED',
    default: 'false',
    accepts: 'true/false',
    description:
      "A producer (HOST) or local API Gateway host bound off loopback refuses to start without its key (API_KEY; the gateway's API_GATEWAY_API_KEY) unless this is true (SECURITY.md).",
  },
  {
    key: 'ALLOWED_HOSTS',
    default: '(unset: localhost, 127.0.0.1, [::1] and the bound address, at the port)',
    accepts: 'comma list of `name` or `name:port` (`*`: any)',
    description:
      "Names the producer answers to beside the defaults: every request's `Host`, and a write's `Origin` when sent, must be one of them (else 403), against DNS rebinding and cross-site posts. A name without a port matches any port. Set it to the name clients use behind a proxy or load balancer.",
  },
  {
    key: 'PROMPT_MAX_CHARS',
    default: '100000',
    accepts: 'integer 1000-10000000',
    description:
      "Longest prompt a turn may send to either model (the initial query, or a template filled with the previous turn's texts): longer is a 400 at submission when it can be known there, else the conversation fails with `prompt_too_long`.",
  },
  {
    key: 'REDIS_DATA_DIR',
    default: '(unset: `$XDG_STATE_HOME/llmconv/redis`, else `~/.local/state/llmconv/redis`; `npm run demo`: a temp dir)',
    accepts: 'directory',
    description:
      "Where the embedded redis-server (no REDIS_URL) keeps its AOF, so `npm start` resumes unfinished work after a stop. One stack at a time: locked by `llmconv.lock` (owner pid). Set it for `npm run demo` to keep the demo's data.",
  },
  { key: 'LOG_LEVEL', default: 'info', accepts: LOG_LEVELS.join(', '), description: 'Log level (prompts and replies only at debug).' },
  { key: 'METRICS_PORT', default: '9464', accepts: 'integer 0-65535', description: 'Worker processes serve `/metrics` here.' },
  {
    key: 'RUN_MAX_ACTIVE',
    default: '100',
    accepts: 'integer > 0',
    description: "A run's default `maxActive`: how many of its conversations are in flight at once; the rest wait in its backlog.",
  },
  {
    key: 'RUN_MAX_LINE_BYTES',
    default: '65536',
    accepts: 'integer > 0',
    description: 'Longest line of a `POST /runs` upload; a longer one is rejected (by line number), the rest still read.',
  },
  {
    key: 'RUN_MAX_BODY_BYTES',
    default: '67108864',
    accepts: 'integer > 0',
    description:
      'Largest `POST /runs` (or `/runs/:id/seeds`) upload, 64 MiB: 413 at once when `Content-Length` says more, else at the limit (the seeds read before it stay in the run). Send more with further appends.',
  },
  {
    key: 'RUN_MAX_SEEDS',
    default: '100000',
    accepts: 'integer > 0',
    description:
      'Seeds one run may hold in all (waiting and admitted). An upload past it keeps what fit and answers `refused` with the reason; one to a run already full is 413 `run_full`.',
  },
  {
    key: 'RUN_MAX_ACTIVE_LIMIT',
    default: '1000',
    accepts: 'integer > 0 (>= RUN_MAX_ACTIVE)',
    description: 'The largest `maxActive` a run may ask for (400 beyond): conversations in flight hold records and jobs in Redis.',
  },
  {
    key: 'BACKLOG_MAX_SEEDS',
    default: '500000',
    accepts: 'integer > 0',
    description:
      'Seeds waiting for admission in all runs together (counted in the same Lua script that adds them). Past it an upload keeps what fit (`refused` says why); with none free, 429 `backlog_full` with `Retry-After`. Sized for a 1 GB Redis: a waiting seed costs about 120 bytes of Redis beside its own bytes (measured 235 bytes for a 114-byte seed), so the defaults of both caps keep the backlog under about 250 MB.',
  },
  {
    key: 'BACKLOG_MAX_BYTES',
    default: '134217728',
    accepts: 'integer > 0',
    description: "Bytes of seed data (conversation id + the seed's JSON) waiting in all runs together, 128 MiB; as BACKLOG_MAX_SEEDS.",
  },
  {
    key: 'REDIS_MEMORY_REFUSE_RATIO',
    default: '0.9',
    accepts: 'number in (0, 1]; 1 = off',
    description:
      "Writes (`POST /conversation`, `POST /runs`, appends) are refused with 429 `redis_memory_high` and `Retry-After` while Redis's `used_memory` is above this share of its `maxmemory` (INFO memory, read at most once a second), so the pipeline's own steps still find room under `noeviction`. No effect when `maxmemory` is 0 (unlimited).",
  },
  {
    key: 'MODEL_CATALOG_FILE',
    default: '(unset: the shipped catalogue, shared/model-catalog.json)',
    accepts: 'path to a JSON or YAML file `{"families": [...], "replace"?: true}`',
    description:
      'Model facts (id pattern, output cap, default maxTokens, prices, accepted parameters, lifecycle per region, replacement) matched before the shipped rows, or instead of them with `"replace": true`. The way to change prices, caps or lifecycle. Read once per process by the producer, the workers and the Lambda (README, "Model catalogue").',
  },
  {
    key: 'PRICES_FILE',
    default: "(unset: the model catalogue's prices, local models at 0)",
    accepts: 'path to a JSON file',
    description:
      'Kept for old setups: per-model price overrides over the catalogue\'s, `{"models": {"<model id>": {"inputPer1k", "outputPer1k"}}, "local": {...}}`, and the price of local models. Change cloud prices in MODEL_CATALOG_FILE (README, "Cost").',
  },
  {
    key: 'OLLAMA_HOSTS',
    default: '(unset: OLLAMA_HOST with LOCAL_CONCURRENCY slots)',
    accepts: 'comma list of `<host>*<slots>` (host as OLLAMA_HOST accepts; no `*n`: LOCAL_CONCURRENCY)',
    description:
      "The local model pool, e.g. `http://gpu1:11434*4,http://gpu2:11434*2` (slots = that host's `OLLAMA_NUM_PARALLEL`). Every worker process on any host shares the slots through Redis leases, least busy host first; overrides OLLAMA_HOST.",
  },
  {
    key: 'OLLAMA_SLOT_LEASE_MS',
    default: '30000',
    accepts: 'integer >= 1000',
    description:
      'Expiry of a pool slot lease, renewed every third while the call runs: the slots of a killed worker come back within this time.',
  },
  {
    key: 'OLLAMA_BREAKER_FAILURES',
    default: '3',
    accepts: 'integer 1-1000',
    description:
      'Consecutive connection errors / 5xx from one Ollama endpoint that open its circuit (its calls go to the other endpoints).',
  },
  {
    key: 'OLLAMA_BREAKER_COOLDOWN_MS',
    default: '10000',
    accepts: 'integer >= 100',
    description: 'How long an open endpoint is left alone before a probe (`/api/version` and the model) lets it back in.',
  },
  {
    key: 'CLOUD_LIMITS_FILE',
    default: '(unset: no per-model limits)',
    accepts: 'path of a JSON file `{ "<modelId>": { "rpm": N, "tpm": N } }`',
    description:
      "Fleet-wide requests and tokens per minute per cloud model (set them to the account's Bedrock quotas): a call waits for room, is charged the tokens its reply reports, and a 429 lowers the model's effective limits (recovered by successes) instead of pausing the cloud queue.",
  },
  {
    key: 'CLOUD_FALLBACK_AFTER_THROTTLES',
    default: '3',
    accepts: 'integer 1-100',
    description:
      'A conversation whose `cloudModel` is a list moves a turn to the next model after this many consecutive 429/quota errors on the current one (the turn records the fallback).',
  },
  {
    key: 'CLOUD_LIMITS',
    default: '(unset)',
    accepts: 'inline JSON, same shape as CLOUD_LIMITS_FILE',
    description: "Per-model limits given inline; its entries win over the file's.",
  },
];

/** What the shipped deploy files put where the operator must choose a value (`API_KEY=__SET_ME__`). */
export const PLACEHOLDER = /^__SET_ME\w*__$/;

/** The example password `.env.example` (Bull Board) and once deploy/redis/redis.conf shipped; refused at start. */
export const SHIPPED_BOARD_PASSWORD = 'change-me';

const DEFAULTS: Record<string, string> = Object.fromEntries(
  CONFIG_KEYS.filter((k) => !k.default.startsWith('(')).map((k) => [k.key, k.default]),
);

/**
 * Typed readers over `env` that trim, default from {@link CONFIG_KEYS} and throw a ConfigError
 * naming the key: the building blocks of {@link loadConfig} and of smaller per-process loaders.
 */
export function reader(env: Env) {
  const raw = (key: string): string | undefined => {
    const v = env[key]?.trim();
    if (v !== undefined && PLACEHOLDER.test(v)) {
      // The deploy files ship `KEY=__SET_ME__` for what only the operator can choose.
      throw new ConfigError(
        `${key} is still the placeholder "${v}" from the deploy file: set it (or delete the line if it does not apply)`,
        key,
      );
    }
    return v === undefined || v === '' ? undefined : v;
  };
  const doc = (key: string) => CONFIG_KEYS.find((k) => k.key === key)?.accepts ?? 'a valid value';
  const fail = (key: string, value: string): never => {
    // A bad URL may still carry a password: never echo it.
    throw new ConfigError(`${key}=${JSON.stringify(redactUrl(value))} is invalid: expected ${doc(key)}`, key);
  };
  const str = (key: string): string => raw(key) ?? DEFAULTS[key]!;
  const opt = (key: string): string | undefined => raw(key);
  const int = (key: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = str(key);
    if (!/^-?\d+$/.test(v)) return fail(key, v);
    const n = Number(v);
    if (n < min || n > max) fail(key, v);
    return n;
  };
  const num = (key: string, minExclusive: number): number => {
    const v = str(key);
    const n = Number(v);
    if (!Number.isFinite(n) || n <= minExclusive) fail(key, v);
    return n;
  };
  const bool = (key: string): boolean => {
    const v = str(key).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    return fail(key, v);
  };
  const url = (key: string, schemes: string[]): string | undefined => {
    const v = opt(key);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (!schemes.includes(u.protocol)) fail(key, v);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      fail(key, v);
    }
    return v.replace(/\/+$/, '');
  };
  const oneOf = <T extends string>(key: string, values: readonly T[]): T => {
    const v = str(key).toLowerCase();
    if (!(values as readonly string[]).includes(v)) fail(key, v);
    return v as T;
  };
  return { str, opt, int, num, bool, url, oneOf, fail };
}

type Reader = ReturnType<typeof reader>;

/** `OLLAMA_HOST` in any form Ollama itself accepts, normalised to a URL (see {@link parseOllamaHost}). */
function ollamaHost(r: Reader): string | undefined {
  const v = r.opt('OLLAMA_HOST');
  if (v === undefined) return undefined;
  return parseOllamaHost(v) ?? r.fail('OLLAMA_HOST', v);
}

/** `keep_alive` as Ollama parses it: a Go duration (`5m`, `1h30m`, `-1`) or a number of seconds. */
function keepAlive(r: Reader): string {
  const v = r.str('OLLAMA_KEEP_ALIVE');
  if (/^-?\d+(\.\d+)?$/.test(v) || /^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return v;
  return r.fail('OLLAMA_KEEP_ALIVE', v);
}

/**
 * The Ollama address a worker uses: OLLAMA_HOST, or its documented default (the table above) when
 * unset. `Config.ollamaHost` itself stays unset then, so the all-in-one stack can start the Ollama
 * emulator in its place.
 */
export function ollamaHostOf(config: Pick<Config, 'ollamaHost'>): string {
  return config.ollamaHost ?? DEFAULTS.OLLAMA_HOST!;
}

/** `OLLAMA_HOSTS` parsed (see {@link parseOllamaHosts}); undefined when unset. */
function ollamaHosts(r: Reader, defaultSlots: number): OllamaEndpoint[] | undefined {
  const v = r.opt('OLLAMA_HOSTS');
  if (v === undefined) return undefined;
  const parsed = parseOllamaHosts(v, defaultSlots);
  if (typeof parsed === 'string')
    throw new ConfigError(`OLLAMA_HOSTS=${JSON.stringify(redactUrl(v))} is invalid: ${parsed}`, 'OLLAMA_HOSTS');
  return parsed;
}

/**
 * The local model pool a worker uses: OLLAMA_HOSTS, or else a pool of one, OLLAMA_HOST (or its
 * default) with LOCAL_CONCURRENCY slots.
 */
export function ollamaPoolOf(config: Pick<Config, 'ollamaHost' | 'ollamaHosts' | 'localConcurrency'>): OllamaEndpoint[] {
  return config.ollamaHosts ?? [{ url: ollamaHostOf(config), slots: config.localConcurrency }];
}

/** REDIS_MEMORY_REFUSE_RATIO: a share of `maxmemory` in (0, 1]. */
function memoryRatio(r: Reader): number {
  const n = r.num('REDIS_MEMORY_REFUSE_RATIO', 0);
  return n > 1 ? r.fail('REDIS_MEMORY_REFUSE_RATIO', r.str('REDIS_MEMORY_REFUSE_RATIO')) : n;
}

/** MODEL_CATALOG_FILE resolved, and read now (cached for the process) so a bad file stops the start. */
export function modelCatalogFile(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const file = path.resolve(value);
  loadModelCatalog(file);
  return file;
}

/** `ALLOWED_HOSTS`: lower-cased `name` or `name:port` entries (IPv6 in brackets), or `*`. */
function allowedHosts(r: Reader): string[] {
  const v = r.opt('ALLOWED_HOSTS');
  if (v === undefined) return [];
  const entries = v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const e of entries) {
    if (e !== '*' && !/^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:\d{1,5})?$/.test(e)) r.fail('ALLOWED_HOSTS', v);
  }
  return entries;
}

/** The local model a conversation gets when it names none: OPENAI_MODEL under LOCAL=openai, else OLLAMA_MODEL. */
export function localModelOf(config: Pick<Config, 'localBackend' | 'openaiModel' | 'ollamaModel'>): string {
  return config.localBackend === 'openai' ? config.openaiModel : config.ollamaModel;
}

/** Reads and validates the environment. Throws {@link ConfigError} naming the first bad key. */
export function loadConfig(env: Env = process.env): Config {
  const r = reader(env);
  const roles = r
    .str('WORKER_ROLES')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (roles.length === 0 || roles.some((x) => !(WORKER_ROLES as readonly string[]).includes(x))) {
    r.fail('WORKER_ROLES', r.str('WORKER_ROLES'));
  }
  const queuePrefix = r.str('QUEUE_PREFIX');
  if (/\s/.test(queuePrefix)) r.fail('QUEUE_PREFIX', queuePrefix);
  const logLevel = r.str('LOG_LEVEL').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) r.fail('LOG_LEVEL', logLevel);
  const boardUsername = r.opt('BOARD_USERNAME');
  const boardPassword = r.opt('BOARD_PASSWORD');
  if ((boardUsername === undefined) !== (boardPassword === undefined)) {
    throw new ConfigError('BOARD_USERNAME and BOARD_PASSWORD must be set together', boardUsername ? 'BOARD_PASSWORD' : 'BOARD_USERNAME');
  }
  if (boardPassword === SHIPPED_BOARD_PASSWORD) {
    throw new ConfigError(
      `BOARD_PASSWORD is "${SHIPPED_BOARD_PASSWORD}", the example from .env.example: choose a password of your own`,
      'BOARD_PASSWORD',
    );
  }
  const redisUrl = r.url('REDIS_URL', ['redis:', 'rediss:']);
  if (redisUrl) {
    // deploy/redis/redis.conf ships `requirepass __SET_ME__` (it used to ship "change-me").
    const password = decodeURIComponent(new URL(redisUrl).password);
    if (PLACEHOLDER.test(password) || password === SHIPPED_BOARD_PASSWORD) {
      throw new ConfigError(
        `REDIS_URL carries the example password "${password}" of deploy/redis/redis.conf: choose a password, set it in redis.conf (requirepass) and in REDIS_URL`,
        'REDIS_URL',
      );
    }
  }
  const lockDurationMs = r.int('LOCK_DURATION_MS', 1000);
  const localConcurrency = r.int('LOCAL_CONCURRENCY', 1, 1000);
  const gatewayTimeoutMs = r.int('GATEWAY_TIMEOUT_MS', 50, 900_000);
  const config: Config = {
    redisUrl,
    queuePrefix,
    port: r.int('PORT', 0, 65535),
    host: r.str('HOST'),
    cloudBackend: r.oneOf('CLOUD', CLOUD_BACKENDS),
    localBackend: r.oneOf('LOCAL', LOCAL_BACKENDS),
    openaiBaseUrl: r.url('OPENAI_BASE_URL', ['http:', 'https:']),
    openaiApiKey: r.opt('OPENAI_API_KEY'),
    openaiModel: r.opt('OPENAI_MODEL') ?? r.str('OLLAMA_MODEL'),
    openaiTimeoutMs: r.opt('OPENAI_TIMEOUT_MS') === undefined ? r.int('OLLAMA_TIMEOUT_MS', 1) : r.int('OPENAI_TIMEOUT_MS', 1),
    bedrockTimeoutMs: 0,
    apiGatewayUrl: r.url('API_GATEWAY_URL', ['http:', 'https:']),
    apiGatewayApiKey: r.opt('API_GATEWAY_API_KEY'),
    apiGatewaySigv4: r.bool('API_GATEWAY_SIGV4'),
    apiGatewayTimeoutMs: r.opt('API_GATEWAY_TIMEOUT_MS') === undefined ? gatewayTimeoutMs + 1000 : r.int('API_GATEWAY_TIMEOUT_MS', 1),
    gatewayTimeoutMs,
    modelAccessRetryMs: r.int('MODEL_ACCESS_RETRY_MS', 1000),
    modelAccessMaxWaitMs: r.int('MODEL_ACCESS_MAX_WAIT_MS', 0),
    apiGatewayEnvelope: r.oneOf('API_GATEWAY_ENVELOPE', API_GATEWAY_ENVELOPES),
    defaultMaxTokens: r.int('DEFAULT_MAX_TOKENS', 1, 200000),
    gatewayPort: r.int('GATEWAY_PORT', 0, 65535),
    awsRegion: r.str('AWS_REGION'),
    bedrockModelId: r.str('BEDROCK_MODEL_ID'),
    bedrockEndpoint: r.url('BEDROCK_ENDPOINT', ['http:', 'https:']),
    ollamaHost: ollamaHost(r),
    ollamaModel: r.str('OLLAMA_MODEL'),
    ollamaTimeoutMs: r.int('OLLAMA_TIMEOUT_MS', 1),
    ollamaPull: r.bool('OLLAMA_PULL'),
    ollamaNumCtx: r.opt('OLLAMA_NUM_CTX') === undefined ? undefined : r.int('OLLAMA_NUM_CTX', 256, 1048576),
    ollamaKeepAlive: keepAlive(r),
    redisDataDir: r.opt('REDIS_DATA_DIR') === undefined ? undefined : path.resolve(r.opt('REDIS_DATA_DIR')!),
    maxTurns: r.int('MAX_TURNS', 1, 1000),
    conversationTimeoutMinutes: r.num('CONVERSATION_TIMEOUT_MINUTES', 0),
    outputDir: path.resolve(r.str('OUTPUT_DIR')),
    workerRoles: [...new Set(roles)] as WorkerRole[],
    cloudConcurrency: r.int('CLOUD_CONCURRENCY', 1, 1000),
    localConcurrency,
    transcriptConcurrency: r.int('TRANSCRIPT_CONCURRENCY', 1, 1000),
    cloudRateLimitMax: r.int('CLOUD_RATE_LIMIT_MAX', 0),
    cloudRateLimitDurationMs: r.int('CLOUD_RATE_LIMIT_DURATION_MS', 1),
    cloudThrottleBackoffMs: r.int('CLOUD_THROTTLE_BACKOFF_MS', 0),
    reconcileIntervalMs: r.int('RECONCILE_INTERVAL_MS', 0),
    jobAttempts: r.int('JOB_ATTEMPTS', 1, 100),
    backoffDelayMs: r.int('BACKOFF_DELAY_MS', 0),
    lockDurationMs,
    stalledIntervalMs: r.int('STALLED_INTERVAL_MS', 500),
    maxStalledCount: r.int('MAX_STALLED_COUNT', 0),
    csvEscapeFormulas: r.bool('CSV_ESCAPE_FORMULAS'),
    maxBodyBytes: r.int('MAX_BODY_BYTES', 1),
    sseMaxStreams: r.int('SSE_MAX_STREAMS', 1),
    maxWaits: r.int('MAX_WAITS', 1),
    retentionSeconds: r.int('RETENTION_SECONDS', 1),
    jobHistory: r.int('JOB_HISTORY', 0),
    boardUsername,
    boardPassword,
    apiKey: r.opt('API_KEY'),
    apiKeysFile: r.opt('API_KEYS_FILE'),
    allowUnauthenticated: r.bool('ALLOW_UNAUTHENTICATED'),
    allowedHosts: allowedHosts(r),
    promptMaxChars: r.int('PROMPT_MAX_CHARS', 1000, 10_000_000),
    logLevel: logLevel as LogLevel,
    metricsPort: r.int('METRICS_PORT', 0, 65535),
    runMaxActive: r.int('RUN_MAX_ACTIVE', 1),
    runMaxLineBytes: r.int('RUN_MAX_LINE_BYTES', 1),
    runMaxBodyBytes: r.int('RUN_MAX_BODY_BYTES', 1),
    runMaxSeeds: r.int('RUN_MAX_SEEDS', 1),
    runMaxActiveLimit: r.int('RUN_MAX_ACTIVE_LIMIT', 1),
    backlogMaxSeeds: r.int('BACKLOG_MAX_SEEDS', 1),
    backlogMaxBytes: r.int('BACKLOG_MAX_BYTES', 1),
    redisMemoryRefuseRatio: memoryRatio(r),
    awsCredentialsConfigured: [
      'AWS_ACCESS_KEY_ID',
      'AWS_PROFILE',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    ].some((k) => r.opt(k) !== undefined),
    awsEndpointUrlConfigured:
      !/^(1|true)$/i.test(r.opt('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS') ?? '') &&
      ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', 'AWS_ENDPOINT_URL'].some((k) => r.opt(k) !== undefined),
    pricesFile: r.opt('PRICES_FILE') === undefined ? undefined : path.resolve(r.opt('PRICES_FILE')!),
    modelCatalogFile: modelCatalogFile(r.opt('MODEL_CATALOG_FILE')),
    judgeRubricFile: r.opt('JUDGE_RUBRIC_FILE') === undefined ? undefined : path.resolve(r.opt('JUDGE_RUBRIC_FILE')!),
    ollamaHosts: ollamaHosts(r, localConcurrency),
    ollamaSlotLeaseMs: r.int('OLLAMA_SLOT_LEASE_MS', 1000),
    ollamaBreakerFailures: r.int('OLLAMA_BREAKER_FAILURES', 1, 1000),
    ollamaBreakerCooldownMs: r.int('OLLAMA_BREAKER_COOLDOWN_MS', 100),
    cloudLimits: loadCloudLimits(r.opt('CLOUD_LIMITS_FILE'), r.opt('CLOUD_LIMITS')),
    cloudFallbackAfterThrottles: r.int('CLOUD_FALLBACK_AFTER_THROTTLES', 1, 100),
  };
  config.bedrockTimeoutMs = r.opt('BEDROCK_TIMEOUT_MS') === undefined ? config.apiGatewayTimeoutMs : r.int('BEDROCK_TIMEOUT_MS', 1);
  if (config.runMaxActive > config.runMaxActiveLimit) {
    throw new ConfigError(
      `RUN_MAX_ACTIVE=${config.runMaxActive} is above RUN_MAX_ACTIVE_LIMIT=${config.runMaxActiveLimit}: lower the first or raise the second`,
      'RUN_MAX_ACTIVE',
    );
  }
  return config;
}
