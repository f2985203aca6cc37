/**
 * The conversation store in Redis: one hash per conversation (settings, status, reasons), one hash
 * of step records per conversation, written only if absent (HSETNX) so a re-run step never
 * records twice. Terminal transitions are atomic (Lua) and happen once. Every change is
 * published on one channel for live progress (SSE).
 *
 * Keys (under the BullMQ prefix, so a `{hash tag}` prefix keeps them in the queues' slot):
 *   <prefix>:conv:{<id>}          hash   settings, status, stopReason, error, times, transcriptPath
 *   <prefix>:conv:{<id>}:turns    hash   cloud:<k> / local:<k> → step records (shared/record-codec.ts)
 *   <prefix>:idem:<sha256(key)>   string Idempotency-Key → conversation id
 *   <prefix>:recent               zset   conversation ids by creation time (trimmed)
 *   <prefix>:events               pubsub channel of ConversationEvent JSON
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from './config';
import { decodeCloudStep, decodeLocalStep, decodeSettings, encodeCloudStep, encodeLocalStep, encodeSettings } from './record-codec';

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled', 'timed_out'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export type ConversationStatus = 'queued' | 'running' | TerminalStatus;

export const isTerminal = (s: string | undefined): s is TerminalStatus =>
  (TERMINAL_STATUSES as readonly string[]).includes(s ?? '');

/** Why a conversation stopped (machine-readable). */
export type StopReason =
  | 'max_turns'
  | 'stop_phrase'
  | 'deadline_exceeded'
  | 'cancelled'
  | 'provider_error'
  | 'retries_exhausted'
  | 'stalled'
  | 'internal_error';

/** The validated settings of one conversation (defaults already applied). */
export interface ConversationSettings {
  initialQuery: string;
  outputFile: string;
  maxTurns: number;
  timeoutMinutes: number;
  cloudModel: string;
  localModel: string;
  temperature?: number;
  maxTokens?: number;
  stopPhrase?: string;
  contextTurns: number;
  templates: { followUp: string; nextQuery: string };
  systemPrompts: { cloud?: string; local?: string };
}

export interface ConversationRecord {
  id: string;
  status: ConversationStatus;
  settings: ConversationSettings;
  createdAt: number;
  updatedAt: number;
  /** Epoch ms after which the conversation is `timed_out`. */
  deadline: number;
  stopReason?: StopReason;
  error?: string;
  /** Set when the last step ended the chain normally; the transcript step then completes it. */
  pendingStop?: StopReason;
  transcriptPath?: string;
  finishedAt?: number;
}

export interface CloudStep {
  question: string;
  answer: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  stopReason: string;
  startedAt: number;
  at: number;
}

export interface LocalStep {
  prompt: string;
  followUp: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  stopReason: string;
  at: number;
}

export interface TurnRecord {
  turn: number;
  cloud?: CloudStep;
  local?: LocalStep;
}

export type ConversationEvent =
  | { type: 'cloud' | 'local'; conversationId: string; turn: number }
  | { type: 'status'; conversationId: string; status: ConversationStatus; stopReason?: StopReason; error?: string };

export interface ConversationStoreOptions {
  /** BullMQ prefix (QUEUE_PREFIX). */
  prefix: string;
  /** TTL of finished conversations, seconds. */
  retentionSeconds: number;
  /** How many ids the recent list keeps. Default 10000. */
  recentLimit?: number;
}

const FINISH_SCRIPT = `
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -1 end
if s == 'completed' or s == 'failed' or s == 'cancelled' or s == 'timed_out' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'stopReason', ARGV[2], 'updatedAt', ARGV[4], 'finishedAt', ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
`;

/**
 * Scripts rather than MULTI: ioredis builds every MULTI as a Pipeline that copies each script
 * defined on the connection — BullMQ defines dozens — which made `create()` the producer's
 * hottest code. Without an idempotency key the record and its recent-list entry are written in one
 * round trip (KEYS[2] given); both keys share the prefix's hash tag, like BullMQ's own keys.
 */
const CREATE_SCRIPT = `
redis.call('HSET', KEYS[1], 'status', 'queued', 'settings', ARGV[1], 'createdAt', ARGV[2], 'updatedAt', ARGV[2], 'deadline', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if KEYS[2] then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, ARGV[6])
end
`;

const ADD_RECENT_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, ARGV[3])
`;

/** HSETNX the step; only when it was written: bump updatedAt and publish the event. One round trip. */
const RECORD_STEP_SCRIPT = `
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
-- The steps expire with their conversation, finished or not.
local ttl = redis.call('TTL', KEYS[1])
if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

const MARK_RUNNING_SCRIPT = `
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'queued' then redis.call('HSET', KEYS[1], 'status', 'running', 'updatedAt', ARGV[1]) return 1 end
return 0
`;

export class ConversationStore {
  readonly prefix: string;
  private readonly retentionSeconds: number;
  private readonly recentLimit: number;

  /** The store for `QUEUE_PREFIX` and `RETENTION_SECONDS` of a loaded config. */
  static fromConfig(redis: Redis, config: Pick<Config, 'queuePrefix' | 'retentionSeconds'>): ConversationStore {
    return new ConversationStore(redis, { prefix: config.queuePrefix, retentionSeconds: config.retentionSeconds });
  }

  constructor(private readonly redis: Redis, opts: ConversationStoreOptions) {
    this.prefix = opts.prefix;
    this.retentionSeconds = opts.retentionSeconds;
    this.recentLimit = opts.recentLimit ?? 10_000;
  }

  private key(id: string) {
    return `${this.prefix}:conv:{${id}}`;
  }
  private turnsKey(id: string) {
    return `${this.prefix}:conv:{${id}}:turns`;
  }
  private idemKey(key: string) {
    return `${this.prefix}:idem:${createHash('sha256').update(key).digest('hex')}`;
  }
  get eventsChannel(): string {
    return `${this.prefix}:events`;
  }
  private get recentKey() {
    return `${this.prefix}:recent`;
  }

  /**
   * Creates the record. With an idempotency key, the first caller wins and every later caller
   * gets the winner's id with `created: false`. `record` is the record as written (only when created).
   */
  async create(id: string, settings: ConversationSettings, idempotencyKey?: string): Promise<{ id: string; created: boolean; record?: ConversationRecord }> {
    const now = Date.now();
    const deadline = now + Math.round(settings.timeoutMinutes * 60_000);
    // Unstarted records expire too: deadline plus retention, so nothing lingers forever.
    const ttl = Math.ceil((deadline - now) / 1000) + this.retentionSeconds;
    const record: ConversationRecord = { id, status: 'queued', settings, createdAt: now, updatedAt: now, deadline };
    const args = [encodeSettings(settings, id), String(now), String(deadline), String(ttl)];
    if (idempotencyKey === undefined) {
      await this.redis.eval(CREATE_SCRIPT, 2, this.key(id), this.recentKey, ...args, id, String(-(this.recentLimit + 1)));
      return { id, created: true, record };
    }
    await this.redis.eval(CREATE_SCRIPT, 1, this.key(id), ...args);
    const won = await this.redis.set(this.idemKey(idempotencyKey), id, 'EX', ttl, 'NX');
    if (won !== 'OK') {
      await this.redis.del(this.key(id));
      const existing = await this.redis.get(this.idemKey(idempotencyKey));
      if (existing) return { id: existing, created: false };
    }
    await this.redis.eval(ADD_RECENT_SCRIPT, 1, this.recentKey, String(now), id, String(-(this.recentLimit + 1)));
    return { id, created: true, record };
  }

  async get(id: string): Promise<ConversationRecord | null> {
    const h = await this.redis.hgetall(this.key(id));
    if (!h.status) return null;
    const num = (v?: string) => (v === undefined ? undefined : Number(v));
    return {
      id,
      status: h.status as ConversationStatus,
      settings: decodeSettings(h.settings!, id),
      createdAt: Number(h.createdAt),
      updatedAt: Number(h.updatedAt),
      deadline: Number(h.deadline),
      stopReason: h.stopReason as StopReason | undefined,
      error: h.error,
      pendingStop: h.pendingStop as StopReason | undefined,
      transcriptPath: h.transcriptPath,
      finishedAt: num(h.finishedAt),
    };
  }

  /**
   * The recorded turns, oldest first: all of them, or only turns `from`..`to` (inclusive). A step
   * reads only the window it needs, so a step of a long conversation costs the same as an early one.
   */
  async getTurns(id: string, range?: { from: number; to: number }): Promise<TurnRecord[]> {
    let entries: [string, string | null][];
    if (range) {
      const fields: string[] = [];
      for (let k = Math.max(1, range.from); k <= range.to; k++) fields.push(`cloud:${k}`, `local:${k}`);
      const values = fields.length ? await this.redis.hmget(this.turnsKey(id), ...fields) : [];
      entries = fields.map((f, i) => [f, values[i] ?? null]);
    } else {
      entries = Object.entries(await this.redis.hgetall(this.turnsKey(id)));
    }
    const turns = new Map<number, TurnRecord>();
    for (const [field, json] of entries) {
      if (json === null) continue;
      const [side, k] = field.split(':');
      const turn = Number(k);
      const rec = turns.get(turn) ?? { turn };
      if (side === 'cloud') rec.cloud = decodeCloudStep(json);
      else if (side === 'local') rec.local = decodeLocalStep(json);
      turns.set(turn, rec);
    }
    return [...turns.values()].sort((a, b) => a.turn - b.turn);
  }

  async getStep(id: string, side: 'cloud', turn: number): Promise<CloudStep | null>;
  async getStep(id: string, side: 'local', turn: number): Promise<LocalStep | null>;
  async getStep(id: string, side: 'cloud' | 'local', turn: number): Promise<CloudStep | LocalStep | null> {
    const json = await this.redis.hget(this.turnsKey(id), `${side}:${turn}`);
    if (!json) return null;
    return side === 'cloud' ? decodeCloudStep(json) : decodeLocalStep(json);
  }

  /** Records a step once; returns false when it was already recorded (a re-run). */
  async recordStep(id: string, side: 'cloud', turn: number, step: CloudStep): Promise<boolean>;
  async recordStep(id: string, side: 'local', turn: number, step: LocalStep): Promise<boolean>;
  async recordStep(id: string, side: 'cloud' | 'local', turn: number, step: CloudStep | LocalStep): Promise<boolean> {
    const event: ConversationEvent = { type: side, conversationId: id, turn };
    const written = await this.redis.eval(
      RECORD_STEP_SCRIPT, 2, this.key(id), this.turnsKey(id), `${side}:${turn}`, side === 'cloud' ? encodeCloudStep(step as CloudStep) : encodeLocalStep(step as LocalStep), String(Date.now()), this.eventsChannel, JSON.stringify(event),
    );
    return written === 1;
  }

  /** queued → running (no-op otherwise). */
  async markRunning(id: string): Promise<boolean> {
    const r = await this.redis.eval(MARK_RUNNING_SCRIPT, 1, this.key(id), String(Date.now()));
    if (r === 1) await this.publish({ type: 'status', conversationId: id, status: 'running' });
    return r === 1;
  }

  /** Notes that the chain ended normally; the transcript step turns it into `completed`. */
  async setPendingStop(id: string, reason: StopReason): Promise<void> {
    await this.redis.hsetnx(this.key(id), 'pendingStop', reason);
  }

  /** Moves to a terminal state once; returns false when already terminal (or unknown). */
  async finish(id: string, status: TerminalStatus, stopReason: StopReason, error?: string): Promise<boolean> {
    const now = String(Date.now());
    const r = await this.redis.eval(
      FINISH_SCRIPT, 2, this.key(id), this.turnsKey(id), status, stopReason, error ?? '', now, String(this.retentionSeconds),
    );
    if (r === 1) await this.publish({ type: 'status', conversationId: id, status, stopReason, error });
    return r === 1;
  }

  async setTranscriptPath(id: string, file: string): Promise<void> {
    await this.redis.hset(this.key(id), 'transcriptPath', file);
  }

  /** Most recent conversation ids, newest first. */
  async recent(limit = 20): Promise<string[]> {
    return this.redis.zrevrange(this.recentKey, 0, Math.max(0, limit - 1));
  }

  private async publish(ev: ConversationEvent): Promise<void> {
    await this.redis.publish(this.eventsChannel, JSON.stringify(ev));
  }
}
