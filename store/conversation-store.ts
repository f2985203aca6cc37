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
 *   <prefix>:conv:{<id>}:forks    zset   the forks of conversation <id> (fork id, score: the turn it re-asks)
 *   <prefix>:idem:<sha256(key)>   string Idempotency-Key → conversation id (per caller: sha256(owner \n key))
 *   <prefix>:idem:<…>:body        string the SHA-256 of the canonical body the key was first used with
 *   <prefix>:latest               list   conversation ids, newest first (trimmed)
 *   <prefix>:output-dirs          hash   transcript directory id → OUTPUT_DIR of the host that wrote it
 *   <prefix>:events               pubsub channel of ConversationEvent JSON
 *
 * With REDIS_SHARDS=N each conversation's keys (and its idempotency key, its entry in `latest` and
 * `unarchived`) are under the prefix of its id's shard (shared/redis-shards.ts, `at(id)`); the run
 * and API key a script also touches are on the same shard because their conversations' ids are drawn
 * there ({@link ConversationStore.shardForNew}). `output-dirs` and `events` stay on QUEUE_PREFIX.
 * Lists (`recent`, `unarchived`) read every shard and merge.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config';
import {
  decodeCloudStep,
  decodeLegacyCloudStep,
  decodeLegacyLocalStep,
  decodeLegacySettings,
  decodeLocalStep,
  decodeSettingsFields,
  encodeCloudStep,
  encodeLegacyCloudStep,
  encodeLegacyLocalStep,
  encodeLocalStep,
  encodeSettingsFields,
  legacyStepField,
  parseStepField,
  stepField,
  type StepContext,
} from './record-codec';
import type {
  ConversationStore as ConversationStoreInterface,
  CreateOptions,
  CreateResult,
  ForkResult,
} from './interfaces/conversation-store';
import { DEFAULT_CONTEXT_TOKENS } from '../conversation/turn-rules';
import { loadScript } from './redis-script';
import { runKeys } from './run-keys';
import { callerKey, callerLatestKey } from './caller-store';
import { mergeScored, ShardSet } from '../shared/redis-shards';
import type {
  ConversationEvent,
  ConversationRecord,
  ConversationSettings,
  ConversationStatus,
  ConversationWithTurns,
  CloudStep,
  LocalStep,
  StopReason,
  TerminalStatus,
  TurnRecord,
  Side,
  StepOf,
} from '../conversation/model';

export type { CreateOptions, CreateResult, ForkResult } from './interfaces/conversation-store';
import type { ArchivedConversation, ArchiveStore } from './interfaces/archive-store';

export interface ConversationStoreOptions {
  /** BullMQ prefix (QUEUE_PREFIX), or its shards (REDIS_SHARDS). */
  prefix: string | ShardSet;
  /** TTL of finished conversations, seconds. */
  retentionSeconds: number;
  /** How many ids the list of latest conversations keeps. Default 10000. */
  recentLimit?: number;
  /**
   * Events on each shard's own channel with sharded pub/sub (SPUBLISH), so that a Redis Cluster
   * sends an event to its shard's nodes only, not to every node (REDIS_SHARDS on REDIS_CLUSTER_NODES).
   * Default: one channel, PUBLISH.
   */
  shardedEvents?: boolean;
  /**
   * With an archive: a finished conversation joins `<prefix>:unarchived` at its transition, and
   * once archived ({@link ConversationStore.archived}) its keys expire after this many seconds
   * (REDIS_RETENTION_SECONDS). Absent: no archive, finished conversations live RETENTION_SECONDS.
   */
  archivedRetentionSeconds?: number;
}

// The scripts, one file each in store/lua/conversation/ (headers there name KEYS, ARGV and the reply).
const CREATE = loadScript('conversation/create', 3);
const CREATE_CHECKED = loadScript('conversation/create-checked', 7);
const CREATE_NX = loadScript('conversation/create-if-absent', 2);
const LOAD = loadScript('conversation/load', 2);
const RECORD_STEP = loadScript('conversation/record-step', 4);
const MARK_RUNNING = loadScript('conversation/mark-running', 1);
const FINISH = loadScript('conversation/finish', 5);
const FORK = loadScript('conversation/fork', 9);
const SET_IF_PRESENT = loadScript('conversation/set-field-if-present', 1);

/** Who holds a conversation's counters besides itself, as finish.lua / record-step.lua name them: '' none, else '=' + id. */
const holder = (id: string | undefined): string => (id === undefined ? '' : `=${id}`);
const unholder = (h: string): string | undefined => (h === '' ? undefined : h.slice(1));

type LoadReply = [string[], (string[] | null)?] | null;

const pairs = (flat: string[]): Record<string, string> => {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
};

/** A transcript directory's id: the first 12 hex digits of its SHA-256. */
const dirId = (dir: string) => createHash('sha256').update(dir).digest('hex').slice(0, 12);

/** The conversation store in Redis (the interface: store/interfaces/conversation-store.ts). */
export class ConversationStore implements ConversationStoreInterface {
  /** QUEUE_PREFIX: the global tag (the events channel, the transcript directories). */
  readonly prefix: string;
  /** The shards every conversation's keys are spread over (one: QUEUE_PREFIX's). */
  readonly shards: ShardSet;
  /** Events go out on each shard's channel by SPUBLISH ({@link ConversationStoreOptions.shardedEvents}). */
  readonly shardedEvents: boolean;
  private readonly retentionSeconds: number;
  private readonly recentLimit: number;
  private readonly archivedRetentionSeconds?: number;
  private archiveReader?: ArchiveStore;
  private archiveBatch?: {
    waiting: Map<string, ((v: ArchivedConversation | null) => void)[]>;
    failed: Map<string, ((err: unknown) => void)[]>;
  };
  /** Transcript directories by id, as registered in `<prefix>:output-dirs` (they never change). */
  private readonly outputDirs = new Map<string, string>();

  /** The store for `QUEUE_PREFIX` and `RETENTION_SECONDS` of a loaded config. */
  static fromConfig(
    redis: Redis,
    config: Pick<Config, 'queuePrefix' | 'retentionSeconds'> &
      Partial<Pick<Config, 'archive' | 'redisRetentionSeconds' | 'redisShards' | 'redisClusterNodes'>>,
  ): ConversationStore {
    const archiving = config.archive !== undefined && config.archive.kind !== 'off';
    return new ConversationStore(redis, {
      prefix: ShardSet.fromConfig(config),
      retentionSeconds: config.retentionSeconds,
      shardedEvents: (config.redisClusterNodes?.length ?? 0) > 0,
      ...(archiving ? { archivedRetentionSeconds: config.redisRetentionSeconds ?? 300 } : {}),
    });
  }

  constructor(
    readonly redis: Redis,
    opts: ConversationStoreOptions,
  ) {
    this.shards = ShardSet.of(opts.prefix);
    this.prefix = this.shards.global;
    this.shardedEvents = (opts.shardedEvents ?? false) && this.shards.count > 1;
    this.retentionSeconds = opts.retentionSeconds;
    this.recentLimit = opts.recentLimit ?? 10_000;
    this.archivedRetentionSeconds = opts.archivedRetentionSeconds;
  }

  /**
   * Reads fall through to `archive` for a conversation Redis no longer has (finished, archived and
   * expired: ending/archive-finished.ts). Set once at start by the process's assembly.
   */
  useArchive(archive: ArchiveStore): void {
    this.archiveReader = archive;
  }

  /** The archive reads fall through to, when there is one. */
  get archive(): ArchiveStore | undefined {
    return this.archiveReader;
  }

  /** Reads of the archive batched with this store's own (the judge store's fall-through uses it). */
  get archiveReads(): Pick<ArchiveStore, 'get'> | undefined {
    return this.archiveReader ? { get: (id) => this.archiveBatched(id) } : undefined;
  }

  /** A conversation from the archive, as `load` answers one from Redis (all turns: it is finished, no step reads it). */
  private async fromArchive(id: string, mode: 'record' | 'all' | number): Promise<ConversationWithTurns | null> {
    if (!this.archiveReader) return null;
    const got = await this.archiveBatched(id);
    if (!got) return null;
    return { record: got.record, turns: mode === 'record' ? [] : got.turns };
  }

  /**
   * One archive read for every conversation asked in the same turn of the event loop (an
   * export loads a page of them at once): one statement instead of one each.
   */
  private archiveBatched(id: string): Promise<ArchivedConversation | null> {
    let batch = this.archiveBatch;
    if (!batch) {
      const waiting = new Map<string, ((v: ArchivedConversation | null) => void)[]>();
      const failed = new Map<string, ((err: unknown) => void)[]>();
      batch = this.archiveBatch = { waiting, failed };
      setImmediate(() => {
        this.archiveBatch = undefined;
        this.archiveReader!.getMany([...waiting.keys()]).then(
          (found) => {
            for (const [k, resolvers] of waiting) for (const r of resolvers) r(found.get(k) ?? null);
          },
          (err: unknown) => {
            for (const rejecters of failed.values()) for (const r of rejecters) r(err);
          },
        );
      });
    }
    const { waiting, failed } = batch;
    return new Promise((resolve, reject) => {
      waiting.set(id, [...(waiting.get(id) ?? []), resolve]);
      failed.set(id, [...(failed.get(id) ?? []), reject]);
    });
  }

  /** Whether finished conversations go to an archive (they join `<prefix>:unarchived` when they finish). */
  get archiving(): boolean {
    return this.archivedRetentionSeconds !== undefined;
  }

  /** The unarchived set of `id`'s shard. */
  private unarchivedKey(id: string): string {
    return `${this.shards.at(id)}:unarchived`;
  }

  /** Every shard's unarchived set. */
  private get unarchivedKeys(): string[] {
    return this.shards.prefixes.map((p) => `${p}:unarchived`);
  }

  /** Finished conversations not archived yet that finished before `beforeMs`, oldest first over every shard (the reconciler's repair). */
  async unarchived(beforeMs: number, limit: number): Promise<string[]> {
    const keys = this.unarchivedKeys;
    if (keys.length === 1) return this.redis.zrangebyscore(keys[0]!, '-inf', `(${beforeMs}`, 'LIMIT', 0, limit);
    const each = await Promise.all(keys.map((k) => this.redis.zrangebyscore(k, '-inf', `(${beforeMs}`, 'WITHSCORES', 'LIMIT', 0, limit)));
    return mergeScored(each, 'asc', limit);
  }

  /** Whether any of `ids` is a finished conversation not archived yet (its run waits for it). */
  async anyUnarchived(ids: string[]): Promise<boolean> {
    if (!ids.length || (await this.unarchivedCount()) === 0) return false;
    const byShard = new Map<string, string[]>();
    for (const id of ids) {
      const k = this.unarchivedKey(id);
      byShard.set(k, [...(byShard.get(k) ?? []), id]);
    }
    for (const [key, some] of byShard) {
      for (let i = 0; i < some.length; i += 1000) {
        const scores = await this.redis.zmscore(key, ...some.slice(i, i + 1000));
        if (scores.some((s) => s !== null)) return true;
      }
    }
    return false;
  }

  /** How long an archived conversation's keys stay in Redis (REDIS_RETENTION_SECONDS; a run's follow it alike). */
  get archivedRetention(): number {
    return this.archivedRetentionSeconds ?? this.retentionSeconds;
  }

  /** How many finished conversations wait for the archive. */
  async unarchivedCount(): Promise<number> {
    const counts = await Promise.all(this.unarchivedKeys.map((k) => this.redis.zcard(k)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Conversation `id` is in the archive: it leaves `<prefix>:unarchived`, and its record and turns
   * expire after REDIS_RETENTION_SECONDS (reads then fall through to the archive). `extraKeys`:
   * other stores' keys of the conversation that follow it (each store names its own).
   */
  async archived(id: string, extraKeys: string[] = []): Promise<void> {
    const ttl = this.archivedRetentionSeconds ?? this.retentionSeconds;
    const m = this.redis.multi().zrem(this.unarchivedKey(id), id);
    // The forks list too: the archive has it (archive_forks; a fork made later adds itself when it is archived).
    for (const key of [this.key(id), this.turnsKey(id), this.forksKey(id), ...extraKeys]) m.expire(key, ttl);
    await m.exec();
  }

  /** The record's two hashes, for a run's retry (store/lua/run/retry.lua declares them; this store's fragment conversation/includes/remove-failed.lua deletes them). */
  recordKeys(id: string): [string, string] {
    return [this.key(id), this.turnsKey(id)];
  }

  private key(id: string) {
    return `${this.shards.at(id)}:conv:{${id}}`;
  }
  private turnsKey(id: string) {
    return `${this.shards.at(id)}:conv:{${id}}:turns`;
  }
  private forksKey(id: string) {
    return `${this.shards.at(id)}:conv:{${id}}:forks`;
  }
  /** The key of conversation `id`'s forks list (a test checks that it leaves Redis with its archived parent). */
  forksKeyOf(id: string): string {
    return this.forksKey(id);
  }
  /** The Idempotency-Key's hash: per owner (docs/callers.md); an owner-less caller keeps the key's own hash, as before callers. */
  private idemHash(key: string, owner?: string): string {
    return createHash('sha256')
      .update(owner === undefined ? key : `${owner}\n${key}`)
      .digest('hex');
  }
  /** The Idempotency-Key's key, on the shard of the conversation it names (`id`: placed by {@link shardForNew}). */
  private idemKey(key: string, owner: string | undefined, id: string) {
    return `${this.shards.at(id)}:idem:${this.idemHash(key, owner)}`;
  }

  /**
   * The shard a new conversation (or run) must be created on (REDIS_SHARDS), so that what its
   * scripts touch is on one shard and a replay finds the first: an API key with a limit
   * (maxActive, budget: checked inside the scripts) on its own shard; else the Idempotency-Key's
   * (a replay lands where the first did); else any (the work spreads). Draw the id with
   * `shards.newId(shard, …)`. With one shard: 0. An unlimited key's counters and lists are then
   * on several shards; its readers sum and merge them (store/caller-store.ts).
   */
  shardForNew(opts: { owner?: string; limited?: boolean; idempotencyKey?: string } = {}): number {
    if (this.shards.count === 1) return 0;
    if (opts.owner !== undefined && opts.limited) return this.shards.shardOf(opts.owner);
    if (opts.idempotencyKey !== undefined) return this.shards.shardOf(this.idemHash(opts.idempotencyKey, opts.owner));
    return this.shards.randomShard();
  }

  /** Refuses an id that is not on the shard its creation needs (a script would reach across slots). */
  private checkShard(id: string, shard: number): void {
    if (this.shards.count > 1 && this.shards.shardOf(id) !== shard)
      throw new Error(`conversation id ${id} is on shard ${this.shards.shardOf(id)}, its creation needs shard ${shard}`);
  }
  /** The one events channel (PUBLISH); with sharded events, see {@link eventsChannels}. */
  get eventsChannel(): string {
    return `${this.prefix}:events`;
  }
  /** Every channel events go out on: the one channel, or each shard's (SSUBSCRIBE them one by one). */
  get eventsChannels(): string[] {
    return this.shardedEvents ? this.shards.prefixes.map((p) => `${p}:events`) : [this.eventsChannel];
  }
  /** The channel of conversation `id`'s events. */
  private eventsChannelOf(id: string): string {
    return this.shardedEvents ? `${this.shards.at(id)}:events` : this.eventsChannel;
  }
  /** The latest list of `id`'s shard. */
  private latestKey(id: string) {
    return `${this.shards.at(id)}:latest`;
  }
  private get outputDirsKey() {
    return `${this.prefix}:output-dirs`;
  }

  /** A new queued record and its hash fields (conversation, steps), and its TTL: the deadline plus retention, so an unstarted record expires too. */
  private newRecord(id: string, settings: ConversationSettings, owner: string | undefined) {
    const now = Date.now();
    const deadline = deadlineOf(now, settings.timeoutMinutes);
    const ttl = Math.ceil((deadline - now) / 1000) + this.retentionSeconds;
    const record: ConversationRecord = {
      id,
      status: 'queued',
      settings,
      createdAt: now,
      updatedAt: now,
      deadline,
      format: 2,
      ...(owner !== undefined ? { owner } : {}),
    };
    const fields = encodeSettingsFields(settings, id);
    const conv = ['status', 'queued', 'createdAt', String(now), 'updatedAt', String(now), ...Object.entries(fields.conv).flat()];
    if (owner !== undefined) conv.push('owner', owner);
    const steps = Object.entries(fields.steps).flat();
    return { record, ttl, conv, steps };
  }

  /**
   * Creates the record. With an idempotency key, the first caller wins and every later caller
   * gets the winner's id with `created: false` (`mismatch` when its body hash differs from the
   * first's). With an owner, the record carries it and the owner's `maxActive` applies (`busy`).
   * `record` is the record as written (only when created). A string is the idempotency key alone.
   */
  async create(id: string, settings: ConversationSettings, opts?: string | CreateOptions): Promise<CreateResult> {
    const o: CreateOptions = typeof opts === 'string' ? { idempotencyKey: opts } : (opts ?? {});
    const { record, ttl, conv, steps } = this.newRecord(id, settings, o.owner);
    const args = [String(ttl), conv.length, steps.length, ...conv, ...steps];
    const keys = [this.key(id), this.turnsKey(id)];
    if (o.idempotencyKey === undefined && o.owner === undefined) {
      await CREATE.run(this.redis, [...keys, this.latestKey(id)], [...args, id, this.recentLimit]);
      return { id, created: true, record };
    }
    const idem = this.idemKey(o.idempotencyKey ?? '', o.owner, id);
    const owner = o.owner ?? '';
    const at = this.shards.at(id);
    const [outcome, a, b] = (await CREATE_CHECKED.run(
      this.redis,
      [...keys, this.latestKey(id), idem, `${idem}:body`, callerKey(at, owner), callerLatestKey(at, owner)],
      [...args, id, this.recentLimit, o.idempotencyKey === undefined ? '' : '1', o.bodyHash ?? '', o.owner === undefined ? '' : '1'],
    )) as [string, string, string?];
    if (outcome === 'replay') return { id: a, created: false };
    if (outcome === 'mismatch') return { id: a, created: false, mismatch: true };
    if (outcome === 'busy') return { id, created: false, busy: { maxActive: Number(a), active: Number(b) } };
    return { id, created: true, record };
  }

  /**
   * Creates a fork of `parent` (read by the caller, with all its turns): the fork's record with
   * the parent's turns 1..atTurn-1 copied into its steps (re-encoded for the fork's own models and
   * creation time; never asked or billed again), and its entry in the parent's forks index, in one
   * script (store/lua/conversation/fork.lua). `settings.fork` names the parent and the turn.
   * Idempotent: an Idempotency-Key answers the first fork, and so does a fork id that exists.
   * The caller checks that the parent has the turns (conversation/fork-rules.ts); a step missing
   * here throws.
   */
  async fork(parent: ConversationWithTurns, id: string, settings: ConversationSettings, opts: CreateOptions = {}): Promise<ForkResult> {
    const at = settings.fork?.atTurn;
    if (at === undefined || settings.fork!.parentId !== parent.record.id) throw new Error('fork: settings.fork must name the parent');
    const { record, ttl, conv, steps } = this.newRecord(id, settings, opts.owner);
    const ctx = this.stepContext(record);
    const byTurn = new Map(parent.turns.map((t) => [t.turn, t]));
    for (let k = 1; k < at; k++) {
      const t = byTurn.get(k);
      if (!t?.cloud || !t.local) throw new Error(`fork: the parent ${parent.record.id} has no complete turn ${k}`);
      steps.push(stepField('cloud', k), encodeCloudStep(t.cloud, ctx), stepField('local', k), encodeLocalStep(t.local, ctx));
    }
    const self = this.key(id);
    // A fork shares its parent's shard (its steps are copied from the parent's in one script).
    this.checkShard(id, this.shards.shardOf(parent.record.id));
    const on = this.shards.at(id);
    const idem = opts.idempotencyKey === undefined ? undefined : `${on}:idem:${this.idemHash(opts.idempotencyKey, opts.owner)}`;
    const owner = opts.owner;
    const [outcome, a, b] = (await FORK.run(
      this.redis,
      [
        self,
        this.turnsKey(id),
        this.latestKey(id),
        idem ?? self,
        idem === undefined ? self : `${idem}:body`,
        owner === undefined ? self : callerKey(on, owner),
        owner === undefined ? self : callerLatestKey(on, owner),
        this.key(parent.record.id),
        this.forksKey(parent.record.id),
      ],
      [
        String(ttl),
        conv.length,
        steps.length,
        ...conv,
        ...steps,
        id,
        this.recentLimit,
        idem === undefined ? '' : '1',
        opts.bodyHash ?? '',
        owner === undefined ? '' : '1',
        String(at),
        this.archiving ? '1' : '',
      ],
    )) as [string, string?, string?];
    if (outcome === 'gone') return { id, created: false, gone: true };
    if (outcome === 'replay') return { id: a!, created: false };
    if (outcome === 'mismatch') return { id: a!, created: false, mismatch: true };
    if (outcome === 'busy') return { id, created: false, busy: { maxActive: Number(a), active: Number(b) } };
    return { id, created: true, record };
  }

  /**
   * The forks of a conversation, oldest branch point first (then by id, as the zset orders them):
   * each fork's id and the turn it re-asks. Once its record has left Redis, the archive's list
   * joined with what Redis still has (a fork made in the grace, not archived yet).
   */
  async forks(parentId: string): Promise<{ id: string; atTurn: number }[]> {
    const [[, flat], [, present]] = (await this.redis
      .multi()
      .zrange(this.forksKey(parentId), '0', '-1', 'WITHSCORES')
      .exists(this.key(parentId))
      .exec()) as [[null, string[]], [null, number]];
    const out: { id: string; atTurn: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, atTurn: Number(flat[i + 1]) });
    if (present === 1 || !this.archiveReader) return out;
    const seen = new Set(out.map((f) => f.id));
    for (const f of await this.archiveReader.forks(parentId)) if (!seen.has(f.id)) out.push(f);
    return out.sort((a, b) => a.atTurn - b.atTurn || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Whether the caller's Idempotency-Key is taken (its `create` would replay or answer a mismatch, never create). */
  async hasIdempotencyKey(key: string, owner?: string, shard = 0): Promise<boolean> {
    return (await this.redis.exists(`${this.shards.prefix(shard)}:idem:${this.idemHash(key, owner)}`)) === 1;
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
    // The run's owner (its admission counted the owner's slot already, store/lua/run/fill.lua).
    if (owner !== undefined) conv.push('owner', owner);
    const steps = Object.entries(fields.steps).flat();
    const r = await CREATE_NX.run(
      this.redis,
      [this.key(id), this.turnsKey(id)],
      [String(ttl), conv.length, steps.length, ...conv, ...steps],
    );
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
   * What the step of `turn` needs, in one round trip: the record, and the turn with the turns its
   * context policy keeps before it (at least the previous one), oldest first: `contextTurns` of
   * them (`sliding`), or the kept block range of either side (`blocks`, store/lua/conversation/load.lua).
   */
  async loadStep(id: string, turn: number): Promise<ConversationWithTurns | null> {
    const loaded = await this.load(id, turn);
    if (!loaded || loaded.record.format === 2) return loaded;
    const from = Math.max(1, turn - Math.max(1, loaded.record.settings.contextTurns));
    const fields: string[] = [];
    for (let k = from; k <= turn; k++) fields.push(legacyStepField('cloud', k), legacyStepField('local', k));
    const values = await this.redis.hmget(this.turnsKey(id), ...fields);
    return {
      record: loaded.record,
      turns: this.turnsFrom(
        loaded.record,
        fields.flatMap((f, i) => (values[i] == null ? [] : [f, values[i]!])),
      ),
    };
  }

  private async load(id: string, mode: 'record' | 'all' | number): Promise<ConversationWithTurns | null> {
    const reply = (await LOAD.run(
      this.redis,
      [this.key(id), this.turnsKey(id)],
      [String(mode), String(DEFAULT_CONTEXT_TOKENS)],
    )) as LoadReply;
    if (!reply) return this.fromArchive(id, mode);
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
      ...(h.dup !== undefined ? { nearDuplicateOf: nearDuplicateOf(h.dup) } : {}),
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
    const json =
      record.format === 1
        ? side === 'cloud'
          ? encodeLegacyCloudStep(step as CloudStep)
          : encodeLegacyLocalStep(step as LocalStep)
        : side === 'cloud'
          ? encodeCloudStep(step as CloudStep, ctx)
          : encodeLocalStep(step as LocalStep, ctx);
    const event: ConversationEvent = { type: side, conversationId: id, turn };
    const args = (run: string) => [
      this.field(record, side, turn),
      json,
      String(Date.now()),
      this.eventsChannel,
      JSON.stringify(event),
      run,
      step.inputTokens + step.outputTokens,
      this.shardedEvents ? '1' : '',
    ];
    const keys = (run: string) => [
      this.key(id),
      this.turnsKey(id),
      run === '' ? this.key(id) : runKeys(this.shards.at(id), unholder(run)!).run,
      this.shardedEvents ? this.eventsChannelOf(id) : this.key(id),
    ];
    // The run the record names (its hash's `run`, the same field the record was decoded from); the
    // script answers the hash's own when they differ (see record-step.lua), and is run again with it.
    let run = holder(record.settings.run?.id);
    let written = await RECORD_STEP.run(this.redis, keys(run), args(run));
    // Again only if the record changed between the two calls (a run's retry re-creates it, with the same run).
    for (let i = 0; Array.isArray(written) && i < 3; i++) {
      run = String(written[1]);
      written = await RECORD_STEP.run(this.redis, keys(run), args(run));
    }
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
    if ((await this.redis.hsetnx(this.key(id), 'pendingStop', reason)) && note) await this.redis.hsetnx(this.key(id), 'error', note);
  }

  /**
   * Moves to a terminal state once; returns false when already terminal (or unknown). `record`,
   * when the caller has it, names the run and owner whose counters the transition updates (their
   * keys are declared to the script); without it, or when it is stale, the script answers them and
   * runs a second time (see finish.lua).
   */
  async finish(
    id: string,
    status: TerminalStatus,
    stopReason: StopReason,
    error?: string,
    record?: Pick<ConversationRecord, 'settings' | 'owner'>,
  ): Promise<boolean> {
    const now = String(Date.now());
    const run = (holders: [string, string]) => {
      const [r, o] = holders;
      const self = this.key(id);
      const keys = [
        self,
        this.turnsKey(id),
        r === '' ? self : runKeys(this.shards.at(id), unholder(r)!).run,
        o === '' ? self : callerKey(this.shards.at(id), unholder(o)!),
        this.archiving ? this.unarchivedKey(id) : self,
      ];
      const argv = [status, stopReason, error ?? '', now, String(this.retentionSeconds), r, o, this.archiving ? id : ''];
      return FINISH.run(this.redis, keys, argv);
    };
    let r = await run([holder(record?.settings.run?.id), holder(record?.owner)]);
    for (let i = 0; Array.isArray(r) && i < 3; i++) r = await run([String(r[1]), String(r[2])]);
    if (r === 1) await this.publish({ type: 'status', conversationId: id, status, stopReason, error });
    return r === 1;
  }

  /** Flags the conversation a near-duplicate of `of` (field `dup`: `<id> <similarity>`; written once, a re-run keeps the first). */
  async setNearDuplicate(id: string, of: string, similarity: number): Promise<boolean> {
    return (await this.redis.hsetnx(this.key(id), 'dup', `${of} ${similarity}`)) === 1;
  }

  /**
   * Notes where the transcript was written. The directory is registered once under a short id
   * (`<prefix>:output-dirs`) and the record keeps `<dir id>/<name>`, the name left out when it is
   * the conversation's `outputFile`: an absolute path would push the record out of Redis's
   * compact hash encoding. Only on a record still in Redis: a transcript job that runs after the
   * record left Redis (archived and let go) writes nothing and answers false (issue 25: never a
   * bare hash without expiry; store/lua/conversation/set-field-if-present.lua).
   */
  async setTranscriptPath(record: ConversationRecord, file: string): Promise<boolean> {
    const set = async (field: string, value: string) => (await SET_IF_PRESENT.run(this.redis, [this.key(record.id)], [field, value])) === 1;
    if (record.format === 1) return set('transcriptPath', file);
    const dir = path.dirname(file);
    const name = path.basename(file);
    const did = dirId(dir);
    if (this.outputDirs.get(did) !== dir) {
      await this.redis.hset(this.outputDirsKey, did, dir);
      this.outputDirs.set(did, dir);
    }
    return set('transcript', `${did}/${name === record.settings.outputFile ? '' : name}`);
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
    const listKey = (p: string) => (owner === undefined ? `${p}:latest` : callerLatestKey(p, owner));
    const lists = await Promise.all(this.shards.prefixes.map((p) => this.redis.lrange(listKey(p), 0, Math.max(0, limit - 1))));
    if (lists.length === 1) return lists[0]!;
    // Newest first over every shard: each list is newest first; merged by the records' creation times.
    const ids = lists.flat();
    const created = await Promise.all(ids.map((id) => this.redis.hget(this.key(id), 'createdAt')));
    return ids
      .map((id, i) => [id, Number(created[i] ?? 0)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([id]) => id);
  }

  private async publish(ev: ConversationEvent): Promise<void> {
    if (this.shardedEvents) await this.redis.spublish(this.eventsChannelOf(ev.conversationId), JSON.stringify(ev));
    else await this.redis.publish(this.eventsChannel, JSON.stringify(ev));
  }
}

/** A conversation's deadline: its creation plus `timeoutMinutes`. */
function deadlineOf(createdAt: number, timeoutMinutes: number): number {
  return createdAt + Math.round(timeoutMinutes * 60_000);
}

/** The `dup` field back: the id of the conversation it near-duplicates and the similarity. */
function nearDuplicateOf(field: string): { id: string; similarity: number } {
  const [id, sim] = field.split(' ');
  return { id: id ?? '', similarity: Number(sim) };
}
