/**
 * The producer's callers: the keys of API_KEYS_FILE (JSON or YAML; docs/callers.md) and API_KEY.
 * The file holds the SHA-256 (lowercase hex) of each key, never the key. A presented key is hashed
 * and compared with every entry's hash in constant time, without stopping at a match, so the
 * timing shows neither which entry matched nor how much of a hash did.
 *
 * @example
 * const callers = CallerKeys.fromConfig(config);
 * const caller = callers.authenticate(presentedKey); // undefined: 401
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CALLER_ID, OWNERLESS_ADMIN, type Caller } from '../shared/caller';
import type { Config } from '../shared/config';
import { ConfigError } from '../shared/errors';
import { safeEqual } from './credentials';

const entrySchema = z.strictObject({
  id: z.string().regex(CALLER_ID, 'letters, digits, _ or -, 1-32 characters'),
  name: z.string().max(200).optional(),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the key as 64 hex digits (printf %s "$KEY" | sha256sum)'),
  role: z.enum(['caller', 'admin']).optional(),
  maxActive: z.number().int().min(1).max(100_000).optional(),
  budget: z
    .strictObject({ usd: z.number().positive().optional(), tokens: z.number().int().positive().optional() })
    .refine((b) => b.usd !== undefined || b.tokens !== undefined, 'give usd and/or tokens')
    .optional(),
});
const fileSchema = z.array(entrySchema);

export interface CallerEntry extends Caller {
  id: string;
}

/** The SHA-256 of a key in the file's form (lowercase hex). */
export const keyHash = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Parses an API_KEYS_FILE's text (JSON is YAML too); throws a ConfigError naming the entry. */
export function parseCallerKeys(text: string, source = 'API_KEYS_FILE'): { entries: CallerEntry[]; hashes: Buffer[] } {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source} is neither JSON nor YAML: ${(err as Error).message}`, 'API_KEYS_FILE');
  }
  // A list, or `{ keys: [...] }`.
  const list0 = raw && typeof raw === 'object' && !Array.isArray(raw) && 'keys' in raw ? (raw as { keys: unknown }).keys : raw;
  const parsed = fileSchema.safeParse(list0);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `entry ${p + 1}` : String(p))).join('.');
    throw new ConfigError(
      `${source}: ${where || 'the file'}: ${issue.message} (expected a list of {id, name, sha256, role?, maxActive?, budget?}, see docs/callers.md)`,
      'API_KEYS_FILE',
    );
  }
  const list = parsed.data;
  const ids = new Set<string>();
  const seen = new Set<string>();
  for (const e of list) {
    if (ids.has(e.id)) throw new ConfigError(`${source}: key id "${e.id}" appears twice`, 'API_KEYS_FILE');
    const h = e.sha256.toLowerCase();
    if (seen.has(h)) throw new ConfigError(`${source}: key "${e.id}" has the same hash as another entry`, 'API_KEYS_FILE');
    ids.add(e.id);
    seen.add(h);
  }
  return {
    entries: list.map((e) => ({
      id: e.id,
      name: e.name ?? e.id,
      admin: e.role === 'admin',
      ...(e.maxActive !== undefined ? { maxActive: e.maxActive } : {}),
      ...(e.budget ? { budget: e.budget } : {}),
    })),
    hashes: list.map((e) => Buffer.from(e.sha256.toLowerCase(), 'hex')),
  };
}

export class CallerKeys {
  /** The file's callers, in file order (the metric label set). */
  readonly entries: readonly CallerEntry[];
  private readonly hashes: Buffer[];

  constructor(
    private readonly apiKey: string | undefined,
    file?: { entries: CallerEntry[]; hashes: Buffer[] },
  ) {
    this.entries = file?.entries ?? [];
    this.hashes = file?.hashes ?? [];
  }

  /** API_KEY and API_KEYS_FILE of a config (the file read now; a ConfigError when it is bad). */
  static fromConfig(config: Pick<Config, 'apiKey' | 'apiKeysFile'>): CallerKeys {
    if (!config.apiKeysFile) return new CallerKeys(config.apiKey);
    let text: string;
    try {
      text = fs.readFileSync(config.apiKeysFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`API_KEYS_FILE ${config.apiKeysFile} cannot be read: ${(err as Error).message}`, 'API_KEYS_FILE');
    }
    return new CallerKeys(config.apiKey, parseCallerKeys(text, `API_KEYS_FILE ${config.apiKeysFile}`));
  }

  /** Whether any key is configured (else every route is open to the owner-less admin). */
  get required(): boolean {
    return this.apiKey !== undefined || this.entries.length > 0;
  }

  /** Whether the file has callers (then per-caller rules apply: /metrics and Bull Board for admins only). */
  get multi(): boolean {
    return this.entries.length > 0;
  }

  /** The caller a presented key belongs to, or undefined. */
  authenticate(given: string): Caller | undefined {
    const h = createHash('sha256').update(given, 'utf8').digest();
    let found = -1;
    // Every entry is compared, whatever matched before.
    for (let i = 0; i < this.hashes.length; i++) if (timingSafeEqual(h, this.hashes[i]!) && found < 0) found = i;
    const legacy = this.apiKey !== undefined && safeEqual(given, this.apiKey);
    if (found >= 0) return this.entries[found];
    return legacy ? OWNERLESS_ADMIN : undefined;
  }

  /** Whether a presented key is an admin's (Bull Board). */
  isAdminKey(given: string): boolean {
    return this.authenticate(given)?.admin === true;
  }
}
