/**
 * The schema's parsers: each turns its key (and, for a derived value, the keys it falls back on)
 * into the typed field, or throws a ConfigError naming the key. `(r, key)`: the reader and the
 * key of the schema entry.
 */
import path from 'node:path';
import { ConfigError } from '../errors';
import { parseOllamaHost } from '../ollama-host';
import { clusterNode } from '../redis-target';
import { shardPrefixes } from '../redis-shards';
import { parseOllamaHosts, type OllamaEndpoint } from '../ollama-pool-hosts';
import { loadModelCatalog } from '../model-catalog';
import { redactUrl } from '../redact-url';
import { PLACEHOLDER, type Reader } from './reader';
import { WORKER_ROLES, type ArchiveTarget, type WorkerRole } from './types';

export type Parse<T> = (r: Reader, key: string) => T;

/** The example password `.env.example` (Bull Board) and once deploy/redis/redis.conf shipped; refused at start. */
export const SHIPPED_BOARD_PASSWORD = 'change-me';

export const str: Parse<string> = (r, key) => r.str(key);
export const opt: Parse<string | undefined> = (r, key) => r.opt(key);
export const bool: Parse<boolean> = (r, key) => r.bool(key);
export const int =
  (min: number, max?: number): Parse<number> =>
  (r, key) =>
    r.int(key, min, max);
/** An integer key, or when unset the value of `fallback` (another key's parse). */
export const intOr =
  (min: number, fallback: (r: Reader) => number): Parse<number> =>
  (r, key) =>
    r.opt(key) === undefined ? fallback(r) : r.int(key, min);
export const num =
  (minExclusive: number): Parse<number> =>
  (r, key) =>
    r.num(key, minExclusive);
export const httpUrl: Parse<string | undefined> = (r, key) => r.url(key, ['http:', 'https:']);
export const oneOf =
  <T extends string>(values: readonly T[]): Parse<T> =>
  (r, key) =>
    r.oneOf(key, values);
/** A path, resolved against the working directory; undefined when unset. */
export const optPath: Parse<string | undefined> = (r, key) => {
  const v = r.opt(key);
  return v === undefined ? undefined : path.resolve(v);
};

/** GATEWAY_TIMEOUT_MS, which API_GATEWAY_TIMEOUT_MS (and so BEDROCK_TIMEOUT_MS) follow. */
export const gatewayTimeoutMs = (r: Reader): number => r.int('GATEWAY_TIMEOUT_MS', 50, 900_000);
/** API_GATEWAY_TIMEOUT_MS, by default just above GATEWAY_TIMEOUT_MS. */
export const apiGatewayTimeoutMs = (r: Reader): number =>
  r.opt('API_GATEWAY_TIMEOUT_MS') === undefined ? gatewayTimeoutMs(r) + 1000 : r.int('API_GATEWAY_TIMEOUT_MS', 1);
export const ollamaTimeoutMs = (r: Reader): number => r.int('OLLAMA_TIMEOUT_MS', 1);
export const localConcurrency = (r: Reader): number => r.int('LOCAL_CONCURRENCY', 1, 1000);

/** REDIS_URL: redis:// or rediss://, never with the example password of deploy/redis/redis.conf. */
export const redisUrl: Parse<string | undefined> = (r, key) => {
  const v = r.url(key, ['redis:', 'rediss:']);
  if (v) {
    // deploy/redis/redis.conf ships `requirepass __SET_ME__` (it used to ship "change-me").
    const password = decodeURIComponent(new URL(v).password);
    if (PLACEHOLDER.test(password) || password === SHIPPED_BOARD_PASSWORD) {
      throw new ConfigError(
        `REDIS_URL carries the example password "${password}" of deploy/redis/redis.conf: choose a password, set it in redis.conf (requirepass) and in REDIS_URL`,
        key,
      );
    }
  }
  return v;
};

/**
 * A comma list of `host:port` or `redis://` / `rediss://[user:password@]host:port` entries, one
 * scheme and one set of credentials for all (REDIS_CLUSTER_NODES, REDIS_SENTINELS).
 */
function nodeList(v: string, key: string, words: { what: string; sameCredentials: string }): string[] {
  const entries = v
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new ConfigError(`${key} is empty; give ${words.what} as host:port,host:port`, key);
  const nodes = entries.map((e) => {
    try {
      return clusterNode(e);
    } catch {
      throw new ConfigError(`${key}: "${redactUrl(e)}" is not host:port (or redis://host:port, rediss://user:password@host:port)`, key);
    }
  });
  const first = nodes[0]!;
  if (nodes.some((n) => n.tls !== first.tls || n.username !== first.username || n.password !== first.password))
    throw new ConfigError(`${key}: give ${words.sameCredentials}`, key);
  if (first.password && (PLACEHOLDER.test(first.password) || first.password === SHIPPED_BOARD_PASSWORD))
    throw new ConfigError(`${key} carries the example password "${first.password}": choose a password`, key);
  return entries;
}

/**
 * REDIS_CLUSTER_NODES: a comma list of a Redis Cluster's startup nodes, `host:port` or
 * `redis://` / `rediss://[user:password@]host:port` (one scheme and one set of credentials for all:
 * the Cluster client uses them for every node it discovers). Not with REDIS_URL.
 */
export const redisClusterNodes: Parse<string[] | undefined> = (r, key) => {
  const v = r.opt(key);
  if (v === undefined) return undefined;
  if (r.opt('REDIS_URL') !== undefined)
    throw new ConfigError(`${key} and REDIS_URL are both set; set REDIS_CLUSTER_NODES for a Redis Cluster, REDIS_URL for one node`, key);
  const entries = nodeList(v, key, {
    what: "the cluster's nodes",
    sameCredentials: "every node the same scheme and credentials (the cluster's client uses one set for all nodes)",
  });
  // Every key starts with QUEUE_PREFIX: without a `{hash tag}` a script's keys land in several slots
  // and the cluster refuses them (CROSSSLOT, "non local key"), half-way through a request.
  const prefix = r.opt('QUEUE_PREFIX') ?? '{llmconv}';
  if (!/\{[^}]+\}/.test(prefix))
    throw new ConfigError(
      `QUEUE_PREFIX="${prefix}" has no {hash tag}; with REDIS_CLUSTER_NODES every key must share one slot: use e.g. "{${prefix.replace(/[{}]/g, '') || 'llmconv'}}"`,
      'QUEUE_PREFIX',
    );
  return entries;
};

/**
 * REDIS_SENTINELS: the sentinels of a primary with replicas, as REDIS_CLUSTER_NODES takes its nodes
 * (their credentials and TLS serve the sentinels and the Redis servers alike). Not with REDIS_URL
 * or REDIS_CLUSTER_NODES.
 */
export const redisSentinels: Parse<string[] | undefined> = (r, key) => {
  const v = r.opt(key);
  if (v === undefined) return undefined;
  if (r.opt('REDIS_URL') !== undefined || r.opt('REDIS_CLUSTER_NODES') !== undefined)
    throw new ConfigError(
      `${key} is set with ${r.opt('REDIS_URL') !== undefined ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES'}; set one way to reach Redis`,
      key,
    );
  const entries = nodeList(v, key, { what: 'the sentinels', sameCredentials: 'every sentinel the same scheme and credentials' });
  return entries;
};

/** QUEUE_PREFIX: non-empty, no spaces. */
export const queuePrefix: Parse<string> = (r, key) => {
  const v = r.str(key);
  if (/\s/.test(v)) r.fail(key, v);
  return v;
};

/** REDIS_SHARDS: 1-64; above 1 QUEUE_PREFIX must carry a hash tag to suffix (shared/redis-shards.ts). */
export const redisShards: Parse<number> = (r, key) => {
  const n = r.int(key, 1, 64);
  if (n > 1) shardPrefixes(r.str('QUEUE_PREFIX'), n);
  return n;
};

/** WORKER_ROLES: a comma list of known roles, duplicates dropped. */
export const workerRoles: Parse<WorkerRole[]> = (r, key) => {
  const roles = r
    .str(key)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (roles.length === 0 || roles.some((x) => !(WORKER_ROLES as readonly string[]).includes(x))) r.fail(key, r.str(key));
  return [...new Set(roles)] as WorkerRole[];
};

/** BOARD_USERNAME and BOARD_PASSWORD, set together. */
function boardPair(r: Reader): { user?: string; password?: string } {
  const user = r.opt('BOARD_USERNAME');
  const password = r.opt('BOARD_PASSWORD');
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError('BOARD_USERNAME and BOARD_PASSWORD must be set together', user ? 'BOARD_PASSWORD' : 'BOARD_USERNAME');
  }
  return { user, password };
}
export const boardUsername: Parse<string | undefined> = (r) => boardPair(r).user;
export const boardPassword: Parse<string | undefined> = (r) => {
  const { password } = boardPair(r);
  if (password === SHIPPED_BOARD_PASSWORD) {
    throw new ConfigError(
      `BOARD_PASSWORD is "${SHIPPED_BOARD_PASSWORD}", the example from .env.example: choose a password of your own`,
      'BOARD_PASSWORD',
    );
  }
  return password;
};

/** `OLLAMA_HOST` in any form Ollama itself accepts, normalised to a URL (see {@link parseOllamaHost}). */
export const ollamaHost: Parse<string | undefined> = (r, key) => {
  const v = r.opt(key);
  if (v === undefined) return undefined;
  return parseOllamaHost(v) ?? r.fail(key, v);
};

/** `OLLAMA_HOSTS` parsed (see {@link parseOllamaHosts}), `*n`-less entries with LOCAL_CONCURRENCY slots; undefined when unset. */
export const ollamaHosts: Parse<OllamaEndpoint[] | undefined> = (r, key) => {
  const v = r.opt(key);
  if (v === undefined) return undefined;
  const parsed = parseOllamaHosts(v, localConcurrency(r));
  if (typeof parsed === 'string') throw new ConfigError(`${key}=${JSON.stringify(redactUrl(v))} is invalid: ${parsed}`, key);
  return parsed;
};

/** `keep_alive` as Ollama parses it: a Go duration (`5m`, `1h30m`, `-1`) or a number of seconds. */
export const keepAlive: Parse<string> = (r, key) => {
  const v = r.str(key);
  if (/^-?\d+(\.\d+)?$/.test(v) || /^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return v;
  return r.fail(key, v);
};

/** `ALLOWED_HOSTS`: lower-cased `name` or `name:port` entries (IPv6 in brackets), or `*`. */
export const allowedHosts: Parse<string[]> = (r, key) => {
  const v = r.opt(key);
  if (v === undefined) return [];
  const entries = v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const e of entries) {
    if (e !== '*' && !/^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:\d{1,5})?$/.test(e)) r.fail(key, v);
  }
  return entries;
};

/** REDIS_MEMORY_REFUSE_RATIO: a share of `maxmemory` in (0, 1]. */
export const memoryRatio: Parse<number> = (r, key) => {
  const n = r.num(key, 0);
  return n > 1 ? r.fail(key, r.str(key)) : n;
};

/** RUN_MAX_ACTIVE, never above RUN_MAX_ACTIVE_LIMIT. */
export const runMaxActive: Parse<number> = (r, key) => {
  const n = r.int(key, 1);
  const limit = r.int('RUN_MAX_ACTIVE_LIMIT', 1);
  if (n > limit) {
    throw new ConfigError(`${key}=${n} is above RUN_MAX_ACTIVE_LIMIT=${limit}: lower the first or raise the second`, key);
  }
  return n;
};

/** MODEL_CATALOG_FILE resolved, and read now (cached for the process) so a bad file stops the start. */
export function modelCatalogFile(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const file = path.resolve(value);
  loadModelCatalog(file);
  return file;
}

/** The AWS SDK's credential settings whose presence counts as "credentials configured". */
const AWS_CREDENTIAL_KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];
/** True when AWS credentials are configured in the environment (keys, profile, web identity, container). */
export const awsCredentialsConfigured: Parse<boolean> = (r) => AWS_CREDENTIAL_KEYS.some((k) => r.opt(k) !== undefined);
/** True when the AWS SDK's own endpoint setting for Bedrock Runtime is present and not ignored. */
export const awsEndpointUrlConfigured: Parse<boolean> = (r) =>
  !/^(1|true)$/i.test(r.opt('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS') ?? '') &&
  ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', 'AWS_ENDPOINT_URL'].some((k) => r.opt(k) !== undefined);

/**
 * The OTLP traces URL as the OpenTelemetry exporter spec derives it: the signal endpoint as is,
 * else the base endpoint with `/v1/traces`; undefined (tracing off) when neither is set or
 * OTEL_SDK_DISABLED=true. Each must be an http(s) URL.
 */
export const otlpTracesUrl: Parse<string | undefined> = (r, key) => {
  const traces = r.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']);
  const base = r.url(key, ['http:', 'https:']);
  if (r.opt('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  if (traces) return traces;
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
};

/**
 * ARCHIVE_URL: `postgres://…` (or `postgresql://…`; `?schema=` for a schema of its own),
 * `sqlite:<path>`, or `off` (none: finished conversations stay in Redis for RETENTION_SECONDS,
 * as before the archive). Unset: undefined (the stack puts SQLite beside its embedded Redis).
 */
export const archiveTarget: Parse<ArchiveTarget | undefined> = (r, key) => {
  const v = r.opt(key)?.trim();
  if (v === undefined || v === '') return undefined;
  if (v === 'off') return { kind: 'off' };
  if (v.startsWith('sqlite:')) {
    const file = v.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) throw new ConfigError(`${key}=sqlite: needs a file path, e.g. sqlite:/var/lib/llmconv/archive.sqlite`, key);
    return { kind: 'sqlite', file: path.resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(v)) {
    try {
      new URL(v);
    } catch {
      throw new ConfigError(`${key} is not a valid postgres:// URL`, key);
    }
    return { kind: 'postgres', url: v };
  }
  throw new ConfigError(`${key} must be postgres://…, sqlite:<path> or off (got "${redactUrl(v).slice(0, 40)}")`, key);
};
