/**
 * Loading the schema (schema.ts) from an environment: the whole of it, or one process's part.
 *
 * `loadConfig(env)` parses and validates every key (the all-in-one stack, the doctor, the tests).
 * `loadConfig(env, { for: 'producer' })` validates only the keys the producer reads: a bad value
 * of any other key (a worker's `OLLAMA_TIMEOUT_MS=abc`) does not stop it; that field takes its
 * default and the error is handed to `ignored`. `for: 'worker'` is the union of the roles in
 * WORKER_ROLES. `loadConfigFields` parses the named fields alone (the Lambda).
 *
 * @example
 * const config = loadConfig();                                       // every key; throws ConfigError
 * const config = loadConfig(process.env, { for: 'worker', ignored }); // this worker's roles' keys
 */
import { ConfigError } from '../errors';
import { workerProcess, type ConfigProcess } from './processes';
import { createReader, type KeyFacts } from './reader';
import { SCHEMA, type KeySpec } from './schema';
import type { Config, Env, KeyDoc } from './types';

/** A key's documentation and the processes that read it (a row of the README table). */
export interface ConfigKeyDoc extends KeyDoc {
  readBy: readonly ConfigProcess[];
}

const SPECS = Object.entries(SCHEMA) as [keyof Config, KeySpec<unknown>][];
/** The order fields are parsed in: WORKER_ROLES first (it decides a worker's part), then the schema's. */
const PARSE_ORDER = [...SPECS.filter(([f]) => f === 'workerRoles'), ...SPECS.filter(([f]) => f !== 'workerRoles')];

/** Every key of the schema, in its order, with the processes that read it. */
export const CONFIG_KEYS: ConfigKeyDoc[] = SPECS.flatMap(([, s]) =>
  [s, ...(s.also ?? [])].map((k) => ({ key: k.key, default: k.default, accepts: k.accepts, description: k.description, readBy: s.readBy })),
);

const FACTS = new Map<string, KeyFacts>(
  CONFIG_KEYS.map((k) => [k.key, { accepts: k.accepts, default: k.default.startsWith('(') ? undefined : k.default }]),
);

/**
 * Typed readers over `env` that trim, default from the schema and throw a ConfigError naming the
 * key (what the schema's parsers are built from).
 */
export function reader(env: Env) {
  return createReader(env, (key) => FACTS.get(key));
}

/** A process, a list of them, or `worker`: the processes of the roles in WORKER_ROLES. `stack`: every key. */
export type ConfigScope = ConfigProcess | 'worker' | readonly (ConfigProcess | 'worker')[];

export interface LoadOptions {
  /** Whose keys to validate; unset: every key. */
  for?: ConfigScope;
  /** Receives each bad value of a key outside the scope (that field took its default). */
  ignored?: (err: ConfigError) => void;
}

/** The processes a scope names; `worker` is read from WORKER_ROLES (validated: every worker reads it). */
export function processesOf(env: Env, scope: ConfigScope): Set<ConfigProcess> {
  const out = new Set<ConfigProcess>();
  for (const p of typeof scope === 'string' ? [scope] : scope) {
    if (p === 'worker') for (const role of SCHEMA.workerRoles.parse(reader(env), SCHEMA.workerRoles.key)) out.add(workerProcess(role));
    else out.add(p);
  }
  return out;
}

/**
 * Reads and validates the environment: every key, or with `for` only the keys of those processes.
 * Throws {@link ConfigError} naming the first bad key it validates.
 */
export function loadConfig(env: Env = process.env, opts: LoadOptions = {}): Config {
  let scope = opts.for === undefined ? undefined : processesOf(env, opts.for);
  // The stack runs every process: it validates every key.
  if (scope?.has('stack')) scope = undefined;
  const r = reader(env);
  const config: Record<string, unknown> = {};
  // Each bad key once, though several fields read it (OLLAMA_TIMEOUT_MS, OPENAI_TIMEOUT_MS's fallback).
  const seen = new Set<string>();
  const ignored = (err: ConfigError) => {
    if (!seen.has(err.message)) opts.ignored?.(err);
    seen.add(err.message);
  };
  for (const [field, spec] of PARSE_ORDER) {
    if (scope === undefined || spec.readBy.some((p) => scope.has(p))) config[field] = spec.parse(r, spec.key);
    else config[field] = lenient(env, spec, ignored);
  }
  return config as unknown as Config;
}

/** A field outside the scope: its value when valid, else (reported) as if its bad keys were unset. */
function lenient(env: Env, spec: KeySpec<unknown>, ignored: (err: ConfigError) => void): unknown {
  let e = env;
  // Each round drops the key an error names; a field reads a handful of keys at most.
  for (let round = 0; round < 10; round++) {
    try {
      return spec.parse(reader(e), spec.key);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      ignored(err);
      // An error naming a key that is unset (BOARD_USERNAME missing beside BOARD_PASSWORD): the defaults.
      if (e[err.key] === undefined) break;
      e = { ...e, [err.key]: undefined };
    }
  }
  return spec.parse(reader({}), spec.key);
}

/** Parses and validates the named fields alone (a process that must not read the rest, e.g. the Lambda). */
export function loadConfigFields<F extends keyof Config>(env: Env, fields: readonly F[]): Pick<Config, F> {
  const r = reader(env);
  const out = {} as Pick<Config, F>;
  for (const f of fields) out[f] = SCHEMA[f].parse(r, SCHEMA[f].key) as Config[F];
  return out;
}

/** The fields a process reads (its part of the schema). */
export function fieldsReadBy(process: ConfigProcess): (keyof Config)[] {
  return SPECS.filter(([, s]) => s.readBy.includes(process)).map(([f]) => f);
}
