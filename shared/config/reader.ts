/**
 * Typed readers over an environment: each trims the value, takes the key's default when unset and
 * throws a {@link ConfigError} naming the key and what it accepts. The schema's parsers are built
 * from them; `keys` lends each key's default and `accepts` text (the schema's).
 */
import { ConfigError } from '../errors';
import { redactUrl } from '../redact-url';
import type { Env } from './types';

/** What the shipped deploy files put where the operator must choose a value (`API_KEY=__SET_ME__`). */
export const PLACEHOLDER = /^__SET_ME\w*__$/;

/** A key's default (literal, or undefined when unset means "none") and what it accepts. */
export interface KeyFacts {
  default?: string;
  accepts: string;
}

export function createReader(env: Env, keys: (key: string) => KeyFacts | undefined) {
  /** The keys read so far (for the tests that check every key read is in the schema). */
  const read = new Set<string>();
  const raw = (key: string): string | undefined => {
    read.add(key);
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
  const fail = (key: string, value: string): never => {
    // A bad URL may still carry a password: never echo it.
    throw new ConfigError(`${key}=${JSON.stringify(redactUrl(value))} is invalid: expected ${keys(key)?.accepts ?? 'a valid value'}`, key);
  };
  const str = (key: string): string => {
    const v = raw(key) ?? keys(key)?.default;
    if (v === undefined) throw new Error(`config schema: ${key} has no default`);
    return v;
  };
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
  return { str, opt, int, num, bool, url, oneOf, fail, read };
}

export type Reader = ReturnType<typeof createReader>;
