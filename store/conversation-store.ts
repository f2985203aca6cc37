/**
 * The conversation store in Redis: one hash per conversation (settings, status, reasons), one hash
 * of step records per conversation, written only if absent (HSETNX) so a re-run step never
 * records twice. Terminal transitions are atomic (Lua) and happen once. Every change is
 * published on one channel for live progress (SSE).
 *
 * Keys (under the BullMQ prefix, so a `{hash tag}` prefix keeps them in the queues' slot; the
 * field layout of the two hashes is in store/record-codec.ts):
 *   <prefix>:conv:{<id>}          hash   status, times, reasons, settings as small fields, transcript
 *   <prefix>:conv:{<id>}:turns    hash   the texts: initial query, templates, c<k> / l<k> step records
 *   <prefix>:idem:<sha256(key)>   string Idempotency-Key → conversation id (per caller: sha256(owner \n key))
 *   <prefix>:idem:<…>:body        string the SHA-256 of the canonical body the key was first used with
 *   <prefix>:latest               list   conversation ids, newest first (trimmed)
 *   <prefix>:output-dirs          hash   transcript directory id → OUTPUT_DIR of the host that wrote it
 *   <prefix>:events               pubsub channel of ConversationEvent JSON
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config';
import {
  decodeCloudStep, decodeLegacyCloudStep, decodeLegacyLocalStep, decodeLegacySettings, decodeLocalStep, decodeSettingsFields,
  encodeCloudStep, encodeLegacyCloudStep, encodeLegacyLocalStep, encodeLocalStep, encodeSettingsFields, legacyStepField, parseStepField, stepField, type StepContext,
} from './record-codec';
import { RedisScript } from './redis-script';
import { callerKey, callerLatestKey } from './caller-store';
import type { ConversationEvent, ConversationRecord, ConversationSettings, ConversationStatus, ConversationWithTurns, CloudStep, LocalStep, StopReason, TerminalStatus, TurnRecord, Side, StepOf } from '../conversation/model';


/** How `create` records a conversation. */
export interface CreateOptions {
  idempotencyKey?: string;
  /** The SHA-256 of the request's canonical body, kept with the idempotency key. */
  bodyHash?: string;
  /** The caller's key id (docs/callers.md). */
  owner?: string;
}

export interface CreateResult {
  id: string;
  created: boolean;
  record?: ConversationRecord;
  /** The idempotency key was first used with another body; `id` is the first conversation. */
  mismatch?: boolean;
  /** The owner is at its `maxActive`; nothing was written. */
  busy?: { maxActive: number; active: number };
}

export interface ConversationStoreOptions {
  /** BullMQ prefix (QUEUE_PREFIX). */
  prefix: string;
  /** TTL of finished conversations, seconds. */
  retentionSeconds: number;
  /** How many ids the list of latest conversations keeps. Default 10000. */
  recentLimit?: number;
}

/**
 * Scripts rather than MULTI: ioredis builds every MULTI as a Pipeline that copies each script
 * defined on the connection — BullMQ defines dozens — which made `create()` the producer's
 * hottest code. Both hashes and the latest list are written in one round trip; all keys share
 * the prefix's hash tag (or the id's), like BullMQ's own keys.
 * ARGV: ttl, #conv args, #steps args, conv field/values…, steps field/values…, [id, limit].
 */
const CREATE = new RedisScript(`
local nc, ns = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + nc))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 4 + nc, 3 + nc + ns))
redis.call('EXPIRE', KEYS[2], ARGV[1])
if KEYS[3] then
  redis.call('LPUSH', KEYS[3], ARGV[4 + nc + ns])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5 + nc + ns]) - 1)
end
`);

/**
 * CREATE with an owner and/or an Idempotency-Key, in one step (docs/callers.md):
 *  - a known key answers the first conversation's id ('replay'), or 'mismatch' when the first
 *    request's body hash differs;
 *  - an owner at its `maxActive` (the caller hash) gets 'busy' with the limit and the count;
 *  - else the record is written, the key set (with its body hash), the owner's slot, count and
 *    latest list updated.
 * KEYS: conv, steps, latest, idem, idem body, caller hash, caller latest.
 * ARGV: ttl, #conv args, #steps args, conv…, steps…, id, limit, idem ('1'|''), body hash, owned ('1'|'').
 */
const CREATE_CHECKED = new RedisScript(`
local nc, ns = tonumber(ARGV[2]), tonumber(ARGV[3])
local base = 3 + nc + ns
local id, limit, idem, body, owned = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3] == '1', ARGV[base + 4], ARGV[base + 5] == '1'
if idem then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    local first = redis.call('GET', KEYS[5])
    if first and body ~= '' and first ~= body then return {'mismatch', existing} end
    return {'replay', existing}
  end
end
if owned then
  local max = tonumber(redis.call('HGET', KEYS[6], 'maxActive') or '')
  local active = tonumber(redis.call('HGET', KEYS[6], 'active') or '0')
  if max and active >= max then return {'busy', tostring(max), tostring(active)} end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + nc))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 4 + nc, base))
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], id)
redis.call('LTRIM', KEYS[3], 0, limit - 1)
if idem then
  redis.call('SET', KEYS[4], id, 'EX', ARGV[1])
  if body ~= '' then redis.call('SET', KEYS[5], body, 'EX', ARGV[1]) end
end
if owned then
  redis.call('HINCRBY', KEYS[6], 'active', 1)
  redis.call('HINCRBY', KEYS[6], 'conversations', 1)
  redis.call('LPUSH', KEYS[7], id)
  redis.call('LTRIM', KEYS[7], 0, limit - 1)
end
return {'created', id}
`);

/** CREATE for a run's admission (which may be repeated after a crash): only when absent; returns the existing status otherwise. */
const CREATE_NX = new RedisScript(`
local s = redis.call('HGET', KEYS[1], 'status')
if s then return s end
local nc, ns = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + nc))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 4 + nc, 3 + nc + ns))
redis.call('EXPIRE', KEYS[2], ARGV[1])
return false
`);

/**
 * One round trip for what a reader needs: the conversation hash, then from the steps hash
 *  - ARGV[1] = 'record': the initial query and templates (q, x);
 *  - ARGV[1] = 'all': everything;
 *  - ARGV[1] = <turn>: q, x and the steps of the turn and of the `contextTurns` before it (at
 *    least one), so a step of a long conversation reads no more than an early one.
 * Format 1 records (a `settings` field) get only the hash for a window; the store reads on.
 */
const LOAD = new RedisScript(`
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
local mode = ARGV[1]
if mode == 'all' then return {h, redis.call('HGETALL', KEYS[2])} end
local ctx = 0
for i = 1, #h, 2 do
  if h[i] == 'settings' then return {h} end
  if h[i] == 'contextTurns' then ctx = tonumber(h[i + 1]) end
end
local fields = {'q', 'x', 'm'}
if mode ~= 'record' then
  local turn = tonumber(mode)
  for k = math.max(1, turn - math.max(1, ctx)), turn do
    fields[#fields + 1] = 'c' .. k
    fields[#fields + 1] = 'l' .. k
  end
end
local v = redis.call('HMGET', KEYS[2], unpack(fields))
local out = {}
for i = 1, #fields do
  if v[i] then
    out[#out + 1] = fields[i]
    out[#out + 1] = v[i]
  end
end
return {h, out}
`);

/** HSETNX the step; only when it was written: bump updatedAt and publish the event. One round trip. */
const RECORD_STEP = new RedisScript(`
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
-- The steps expire with their conversation, finished or not.
local ttl = redis.call('TTL', KEYS[1])
if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
-- A run's conversation adds its tokens to the run (store/run-store.ts reads them).
local run = redis.call('HGET', KEYS[1], 'run')
if run then
  local rk = ARGV[6] .. ':run:' .. run
  if redis.call('EXISTS', rk) == 1 then redis.call('HINCRBY', rk, 'tokens', ARGV[7]) end
end
return 1
`);

const MARK_RUNNING = new RedisScript(`
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'queued' then redis.call('HSET', KEYS[1], 'status', 'running', 'updatedAt', ARGV[1]) return 1 end
return 0
`);

const FINISH = new RedisScript(`
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -1 end
if s == 'completed' or s == 'failed' or s == 'cancelled' or s == 'timed_out' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'stopReason', ARGV[2], 'updatedAt', ARGV[4], 'finishedAt', ARGV[4])
redis.call('HDEL', KEYS[1], 'pendingStop')
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
-- Once per conversation, with the transition: a run's conversation frees its admission slot
-- (store/run-store.ts). The run hash shares the prefix's hash tag.
local run = redis.call('HGET', KEYS[1], 'run')
if run then
  local rk = ARGV[6] .. ':run:' .. run
  if redis.call('EXISTS', rk) == 1 then
    redis.call('HINCRBY', rk, 'active', -1)
    redis.call('HINCRBY', rk, 'n:' .. ARGV[1], 1)
    redis.call('HINCRBY', rk, 'r:' .. ARGV[2], 1)
    redis.call('HSET', rk, 'updatedAt', ARGV[4])
  end
end
-- And the owner's slot (counted at creation or admission; docs/callers.md).
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then redis.call('HINCRBY', ARGV[6] .. ':caller:' .. owner, 'active', -1) end
return 1
`);

type LoadReply = [string[], (string[] | null)?] | null;

const pairs = (flat: string[]): Record<string, string> => {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
};

/** A transcript directory's id: the first 12 hex digits of its SHA-256. */
const dirId = (dir: string) => createHash('sha256').update(dir).digest('hex').slice(0, 12);

export class ConversationStore {
  readonly prefix: string;
  private readonly retentionSeconds: number;
  private readonly recentLimit: number;
  /** Transcript directories by id, as registered in `<prefix>:output-dirs` (they never change). */
  private readonly outputDirs = new Map<string, string>();

  /** The store for `QUEUE_PREFIX` and `RETENTION_SECONDS` of a loaded config. */
  static fromConfig(redis: Redis, config: Pick<Config, 'queuePrefix' | 'retentionSeconds'>): ConversationStore {
    return new ConversationStore(redis, { prefix: config.queuePrefix, retentionSeconds: config.retentionSeconds });
  }

  constructor(readonly redis: Redis, opts: ConversationStoreOptions) {
    this.prefix = opts.prefix;
    this.retentionSeconds = opts.retentionSeconds;
    this.recentLimit = opts.recentLimit ?? 10_000;
  }

  /** The record's two hashes (a run's retry deletes them with its own script, store/run-store.ts). */
  recordKeys(id: string): [string, string] {
    return [this.key(id), this.turnsKey(id)];
  }

  private key(id: string) {
    return `${this.prefix}:conv:{${id}}`;
  }
  private turnsKey(id: string) {
    return `${this.prefix}:conv:{${id}}:turns`;
  }
  /** Per owner (docs/callers.md); an owner-less caller keeps the key's own hash, as before callers. */
  private idemKey(key: string, owner?: string) {
    return `${this.prefix}:idem:${createHash('sha256').update(owner === undefined ? key : `${owner}\n${key}`).digest('hex')}`;
  }
  get eventsChannel(): string {
    return `${this.prefix}:events`;
  }
  private get latestKey() {
    return `${this.prefix}:latest`;
  }
  private get outputDirsKey() {
    return `${this.prefix}:output-dirs`;
  }

  /**
   * Creates the record. With an idempotency key, the first caller wins and every later caller
   * gets the winner's id with `created: false` (`mismatch` when its body hash differs from the
   * first's). With an owner, the record carries it and the owner's `maxActive` applies (`busy`).
   * `record` is the record as written (only when created). A string is the idempotency key alone.
   */
  async create(id: string, settings: ConversationSettings, opts?: string | CreateOptions): Promise<CreateResult> {
    const o: CreateOptions = typeof opts === 'string' ? { idempotencyKey: opts } : (opts ?? {});
    const now = Date.now();
    const deadline = deadlineOf(now, settings.timeoutMinutes);
    // Unstarted records expire too: deadline plus retention, so nothing lingers forever.
    const ttl = Math.ceil((deadline - now) / 1000) + this.retentionSeconds;
    const record: ConversationRecord = { id, status: 'queued', settings, createdAt: now, updatedAt: now, deadline, format: 2, ...(o.owner !== undefined ? { owner: o.owner } : {}) };
    const fields = encodeSettingsFields(settings, id);
    const conv = ['status', 'queued', 'createdAt', String(now), 'updatedAt', String(now), ...Object.entries(fields.conv).flat()];
    if (o.owner !== undefined) conv.push('owner', o.owner);
    const steps = Object.entries(fields.steps).flat();
    const args = [String(ttl), conv.length, steps.length, ...conv, ...steps];
    const keys = [this.key(id), this.turnsKey(id)];
    if (o.idempotencyKey === undefined && o.owner === undefined) {
      await CREATE.run(this.redis, [...keys, this.latestKey], [...args, id, this.recentLimit]);
      return { id, created: true, record };
    }
    const idem = this.idemKey(o.idempotencyKey ?? '', o.owner);
    const owner = o.owner ?? '';
    const [outcome, a, b] = (await CREATE_CHECKED.run(
      this.redis,
      [...keys, this.latestKey, idem, `${idem}:body`, callerKey(this.prefix, owner), callerLatestKey(this.prefix, owner)],
      [...args, id, this.recentLimit, o.idempotencyKey === undefined ? '' : '1', o.bodyHash ?? '', o.owner === undefined ? '' : '1'],
    )) as [string, string, string?];
    if (outcome === 'replay') return { id: a, created: false };
    if (outcome === 'mismatch') return { id: a, created: false, mismatch: true };
    if (outcome === 'busy') return { id, created: false, busy: { maxActive: Number(a), active: Number(b) } };
    return { id, created: true, record };
  }

  /** Whether the caller's Idempotency-Key is taken (its `create` would replay or answer a mismatch, never create). */
  async hasIdempotencyKey(key: string, owner?: string): Promise<boolean> {
    return (await this.redis.exists(this.idemKey(key, owner))) === 1;
  }

  /**
   * Creates the record unless it exists (a run's admission, which a sweep may repeat after a
   * crash). Returns null when created, else the existing record's status.
   */
  async createIfAbsent(id: string, settings: ConversationSettings, owner?: string): Promise<ConversationStatus | null> {
    const now = Date.now();
    const deadline = deadlineOf(now, settings.timeoutMinutes);
    const ttl = Math.ceil((deadline - now) / 1000) + this.retentionSeconds;
    const fields = encodeSettingsFields(settings, id);
    const conv = ['status', 'queued', 'createdAt', String(now), 'updatedAt', String(now), ...Object.entries(fields.conv).flat()];
    // The run's owner (its admission counted the owner's slot already, store/run-store.ts FILL).
    if (owner !== undefined) conv.push('owner', owner);
    const steps = Object.entries(fields.steps).flat();
    const r = await CREATE_NX.run(this.redis, [this.key(id), this.turnsKey(id)], [String(ttl), conv.length, steps.length, ...conv, ...steps]);
    return (r as ConversationStatus | null) ?? null;
  }

  async get(id: string): Promise<ConversationRecord | null> {
    return (await this.load(id, 'record'))?.record ?? null;
  }

  /** The record and all its turns, oldest first, in one round trip. */
  async getConversation(id: string): Promise<ConversationWithTurns | null> {
    return this.load(id, 'all');
  }

  /**
   * What the step of `turn` needs, in one round trip: the record, and the turn with the
   * `contextTurns` turns before it (at least the previous one), oldest first.
   */
  async loadStep(id: string, turn: number): Promise<ConversationWithTurns | null> {
    const loaded = await this.load(id, turn);
    if (!loaded || loaded.record.format === 2) return loaded;
    const from = Math.max(1, turn - Math.max(1, loaded.record.settings.contextTurns));
    const fields: string[] = [];
    for (let k = from; k <= turn; k++) fields.push(legacyStepField('cloud', k), legacyStepField('local', k));
    const values = await this.redis.hmget(this.turnsKey(id), ...fields);
    return { record: loaded.record, turns: this.turnsFrom(loaded.record, fields.flatMap((f, i) => (values[i] == null ? [] : [f, values[i]!]))) };
  }

  private async load(id: string, mode: 'record' | 'all' | number): Promise<ConversationWithTurns | null> {
    const reply = (await LOAD.run(this.redis, [this.key(id), this.turnsKey(id)], [String(mode)])) as LoadReply;
    if (!reply) return null;
    const h = pairs(reply[0]);
    const data = reply[1] ?? [];
    const texts = pairs(data);
    const legacy = h.settings !== undefined;
    const createdAt = Number(h.createdAt);
    const settings = legacy ? decodeLegacySettings(h.settings!, id) : decodeSettingsFields(h, texts.q ?? '', texts.x, id, texts.m);
    const record: ConversationRecord = {
      id,
      status: h.status as ConversationStatus,
      settings,
      createdAt,
      updatedAt: Number(h.updatedAt),
      deadline: legacy ? Number(h.deadline) : deadlineOf(createdAt, settings.timeoutMinutes),
      stopReason: h.stopReason as StopReason | undefined,
      error: h.error,
      pendingStop: h.pendingStop as StopReason | undefined,
      transcriptPath: legacy ? h.transcriptPath : await this.transcriptPathOf(h.transcript, settings.outputFile),
      finishedAt: h.finishedAt === undefined ? undefined : Number(h.finishedAt),
      format: legacy ? 1 : 2,
      ...(h.owner !== undefined ? { owner: h.owner } : {}),
    };
    return { record, turns: mode === 'record' ? [] : this.turnsFrom(record, data) };
  }

  private turnsFrom(record: ConversationRecord, flat: string[]): TurnRecord[] {
    const ctx = this.stepContext(record);
    const turns = new Map<number, TurnRecord>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const f = parseStepField(flat[i]!);
      if (!f) continue;
      const rec = turns.get(f.turn) ?? { turn: f.turn };
      if (f.side === 'cloud') rec.cloud = this.decode(record, 'cloud', flat[i + 1]!, ctx) as CloudStep;
      else rec.local = this.decode(record, 'local', flat[i + 1]!, ctx) as LocalStep;
      turns.set(f.turn, rec);
    }
    return [...turns.values()].sort((a, b) => a.turn - b.turn);
  }

  private decode(record: ConversationRecord, side: Side, json: string, ctx: StepContext): CloudStep | LocalStep {
    if (record.format === 1) return side === 'cloud' ? decodeLegacyCloudStep(json) : decodeLegacyLocalStep(json);
    return side === 'cloud' ? decodeCloudStep(json, ctx) : decodeLocalStep(json, ctx);
  }

  private field(record: ConversationRecord, side: Side, turn: number): string {
    return record.format === 1 ? legacyStepField(side, turn) : stepField(side, turn);
  }

  private stepContext(record: ConversationRecord): StepContext {
    return { cloudModel: record.settings.cloudModel, localModel: record.settings.localModel, createdAt: record.createdAt };
  }

  async getStep(record: ConversationRecord, side: 'cloud', turn: number): Promise<CloudStep | null>;
  async getStep(record: ConversationRecord, side: 'local', turn: number): Promise<LocalStep | null>;
  async getStep<S extends Side>(record: ConversationRecord, side: S, turn: number): Promise<StepOf<S> | null>;
  async getStep(record: ConversationRecord, side: Side, turn: number): Promise<CloudStep | LocalStep | null> {
    const json = await this.redis.hget(this.turnsKey(record.id), this.field(record, side, turn));
    return json ? this.decode(record, side, json, this.stepContext(record)) : null;
  }

  /** Whether the step is recorded (without reading it). */
  async hasStep(record: ConversationRecord, side: Side, turn: number): Promise<boolean> {
    return (await this.redis.hexists(this.turnsKey(record.id), this.field(record, side, turn))) === 1;
  }

  /** Records a step once; returns false when it was already recorded (a re-run). */
  async recordStep(record: ConversationRecord, side: 'cloud', turn: number, step: CloudStep): Promise<boolean>;
  async recordStep(record: ConversationRecord, side: 'local', turn: number, step: LocalStep): Promise<boolean>;
  async recordStep<S extends Side>(record: ConversationRecord, side: S, turn: number, step: StepOf<S>): Promise<boolean>;
  async recordStep(record: ConversationRecord, side: Side, turn: number, step: CloudStep | LocalStep): Promise<boolean> {
    const { id } = record;
    const ctx = this.stepContext(record);
    const json = record.format === 1
      ? (side === 'cloud' ? encodeLegacyCloudStep(step as CloudStep) : encodeLegacyLocalStep(step as LocalStep))
      : (side === 'cloud' ? encodeCloudStep(step as CloudStep, ctx) : encodeLocalStep(step as LocalStep, ctx));
    const event: ConversationEvent = { type: side, conversationId: id, turn };
    const written = await RECORD_STEP.run(
      this.redis, [this.key(id), this.turnsKey(id)], [this.field(record, side, turn), json, String(Date.now()), this.eventsChannel, JSON.stringify(event), this.prefix, step.inputTokens + step.outputTokens],
    );
    return written === 1;
  }

  /** queued → running (no-op otherwise). */
  async markRunning(id: string): Promise<boolean> {
    const r = await MARK_RUNNING.run(this.redis, [this.key(id)], [String(Date.now())]);
    if (r === 1) await this.publish({ type: 'status', conversationId: id, status: 'running' });
    return r === 1;
  }

  /** Notes that the chain ended normally; the transcript step turns it into `completed`. `note` (why) goes to the record's `error`. */
  async setPendingStop(id: string, reason: StopReason, note?: string): Promise<void> {
    if (await this.redis.hsetnx(this.key(id), 'pendingStop', reason) && note) await this.redis.hsetnx(this.key(id), 'error', note);
  }

  /** Moves to a terminal state once; returns false when already terminal (or unknown). */
  async finish(id: string, status: TerminalStatus, stopReason: StopReason, error?: string): Promise<boolean> {
    const now = String(Date.now());
    const r = await FINISH.run(this.redis, [this.key(id), this.turnsKey(id)], [status, stopReason, error ?? '', now, String(this.retentionSeconds), this.prefix]);
    if (r === 1) await this.publish({ type: 'status', conversationId: id, status, stopReason, error });
    return r === 1;
  }

  /**
   * Notes where the transcript was written. The directory is registered once under a short id
   * (`<prefix>:output-dirs`) and the record keeps `<dir id>/<name>`, the name left out when it is
   * the conversation's `outputFile`: an absolute path would push the record out of Redis's
   * compact hash encoding.
   */
  async setTranscriptPath(record: ConversationRecord, file: string): Promise<void> {
    if (record.format === 1) {
      await this.redis.hset(this.key(record.id), 'transcriptPath', file);
      return;
    }
    const dir = path.dirname(file);
    const name = path.basename(file);
    const did = dirId(dir);
    if (this.outputDirs.get(did) !== dir) {
      await this.redis.hset(this.outputDirsKey, did, dir);
      this.outputDirs.set(did, dir);
    }
    await this.redis.hset(this.key(record.id), 'transcript', `${did}/${name === record.settings.outputFile ? '' : name}`);
  }

  private async transcriptPathOf(stored: string | undefined, outputFile: string): Promise<string | undefined> {
    if (stored === undefined) return undefined;
    const slash = stored.indexOf('/');
    const did = stored.slice(0, slash);
    const name = stored.slice(slash + 1) || outputFile;
    let dir = this.outputDirs.get(did);
    if (dir === undefined) {
      dir = (await this.redis.hget(this.outputDirsKey, did)) ?? undefined;
      if (dir !== undefined) this.outputDirs.set(did, dir);
    }
    // A directory nobody registered (the registry key was deleted): the name is all there is.
    return dir === undefined ? name : path.join(dir, name);
  }

  /** Most recent conversation ids, newest first (of one owner's `POST /conversation`s when given). */
  async recent(limit = 20, owner?: string): Promise<string[]> {
    return this.redis.lrange(owner === undefined ? this.latestKey : callerLatestKey(this.prefix, owner), 0, Math.max(0, limit - 1));
  }

  private async publish(ev: ConversationEvent): Promise<void> {
    await this.redis.publish(this.eventsChannel, JSON.stringify(ev));
  }
}

/** A conversation's deadline: its creation plus `timeoutMinutes`. */
function deadlineOf(createdAt: number, timeoutMinutes: number): number {
  return createdAt + Math.round(timeoutMinutes * 60_000);
}
