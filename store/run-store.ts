/**
 * A run in Redis: its hash, its compact backlog of waiting seeds, its admitted conversations and
 * its rejected lines (keys in store/run-keys.ts, plus two of this file's own below). Every change
 * that must not be lost or doubled is one Lua script:
 *  - ADD_SEEDS: a batch of seeds joins the backlog unless its conversation id is already waiting
 *    or admitted (a resubmitted file, a duplicate line);
 *  - FILL: admission claims backlog seeds while fewer than `maxActive` of the run are in flight,
 *    moving each to the `conversations` set and the `admitting` hash in the same step; the caller
 *    then creates the record and queues turn 1 (both idempotent) and clears `admitting`; a sweep
 *    redoes what a crash left in `admitting`;
 *  - the slot is freed in the store's terminal transition (store/lua/conversation/finish.lua),
 *    which happens once per conversation, so `active` never drifts.
 *
 * Run hash fields: id, name, createdAt, updatedAt, maxActive, state (`active` | `cancelled`),
 * seeds (accepted), duplicates, rejected, admitted (admission sequence), active (in flight),
 * unadmitted (backlog dropped by a cancel), retried (seeds put back by retryFailed), tokens, `n:<status>` and `r:<stopReason>` counts,
 * and for a run created by a key of API_KEYS_FILE `owner` and `ids` (docs/callers.md), and `settings`
 * (the conversation settings it was created with, canonical JSON: runs/run-settings.ts).
 * Extra keys: `<backlog>:seeds` hash (waiting id → payload), `<run>:admitting` hash (id →
 * `<ms>|<payload>`), and over all runs `<prefix>:backlog-totals` (`seeds`, `bytes` waiting; the
 * run hash's `backlogBytes` is its share, so a cancel takes it off in one step).
 *
 * With REDIS_SHARDS=N (issue 26 part 4; shared/redis-shards.ts) every key of a run is at its own
 * shard, `shards.at(runId)`: its hash and sets, its budget, and that shard's runs index, backlog
 * totals and runs waiting for the archive, and the owner's caller keys its scripts touch. The ids
 * make each script's keys one shard's: a run's conversation ids are on the run's shard
 * (runs/seed-identity.ts), and a run of a key with a limit is on that key's shard, where its
 * limits are (runs/run-ids.ts; an unlimited key's runs spread). Readers over all runs (`list`, `liveList`, `unarchived`,
 * `backlogTotals`) fan out over the shards and merge. Backlog caps are per shard: each shard
 * gets ceil(cap / N), so the whole stays within the cap. `idSecret` is fleet-wide (`shards.global`).
 *
 * With an archive (issue 25 part 4): a finished run is written there (ending/archive-run.ts,
 * {@link RunStore.finishedRun} then ARCHIVED), its keys expire after REDIS_RETENTION_SECONDS, and
 * `get`, `list`, `exists`, `owner`, `conversations` and `rejected` fall through to the archive for
 * a run whose hash Redis no longer has.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { mergeScored, ShardSet } from '../shared/redis-shards';
import { loadScript } from './redis-script';
import { CallerStore, callerKey, callerRunsKey } from './caller-store';
import { BudgetStore, runBudgetKey, writeBudgetLimits } from './budget-store';
import { runJudgeSummary } from './judge-store';
import { runKeys, runsIndexKey, type RunKeys } from './run-keys';
import type { ArchivedRun, ArchiveStore } from './interfaces/archive-store';
import type { AddSeedsResult, BacklogCaps, RefusedBy, RejectedLine, RunState, RunStore as RunStoreInterface } from './interfaces/run-store';

export type { AddSeedsResult, BacklogCaps, RefusedBy, RejectedLine, RunState } from './interfaces/run-store';

// The scripts, one file each in store/lua/run/ (headers there name KEYS, ARGV and the reply).
const CREATE_RUN = loadScript('run/create', 4);
const ADD_SEEDS = loadScript('run/add-seeds', 5);
const FILL = loadScript('run/fill', 7);
const CANCEL = loadScript('run/cancel', 4);
const RETRY = loadScript('run/retry', 7);
const DISCARD = loadScript('run/discard', 6);
const ARCHIVED = loadScript('run/archived', 13);

/** What the run store reads of the archive. */
export type RunArchiveReader = Pick<ArchiveStore, 'getRun' | 'runIds'>;

/** The hash of the backlog totals over all runs (`seeds`, `bytes`), beside the runs' keys. */
export const backlogTotalsKey = (prefix: string): string => `${prefix}:backlog-totals`;

/** The runs of one shard waiting for the archive (sorted set: run id → when noted), beside the runs' keys. */
export const runsUnarchivedKey = (prefix: string): string => `${prefix}:runs-unarchived`;

/** The rejected list keeps this many lines; the `rejected` count keeps counting past it. */
export const REJECTED_KEPT = 10_000;

/** The run store in Redis (the interface: store/interfaces/run-store.ts). */
export class RunStore implements RunStoreInterface {
  /** The owner of each run claimed from ('' none, else '=' + the key id), as run/fill.lua names it. */
  private readonly owners = new Map<string, string>();

  /** The last archived run read (an archived run never changes: an append is refused), for an export's pages. */
  private lastArchived?: ArchivedRun;

  /** The shards runs are spread over (one: QUEUE_PREFIX itself, today's keys). */
  readonly shards: ShardSet;
  /** QUEUE_PREFIX, the global prefix (a run's own keys are at `shards.at(runId)`). */
  readonly prefix: string;

  /** `prefix`: QUEUE_PREFIX (one shard) or the deployment's shards; `archive`: the archive reads fall through to (absent: Redis only). */
  constructor(
    readonly redis: Redis,
    prefix: string | ShardSet,
    readonly archive?: RunArchiveReader,
  ) {
    this.shards = ShardSet.of(prefix);
    this.prefix = this.shards.global;
  }

  /**
   * The key prefix of run `runId`'s shard: its own keys, and the owner's caller keys its scripts
   * touch (a key with a limit has all its runs on its own shard, where its limits are; an
   * unlimited key's counters are on every shard it used, store/caller-store.ts sums them).
   */
  private at(runId: string): string {
    return this.shards.at(runId);
  }

  /** The run from the archive when Redis no longer has its hash (null: none, or it is live). */
  private async archivedRun(runId: string): Promise<ArchivedRun | null> {
    if (!this.archive) return null;
    if (this.lastArchived?.state.id === runId) return this.lastArchived;
    if ((await this.redis.exists(this.keys(runId).run)) === 1) return null;
    const got = await this.archive.getRun(runId);
    if (got) this.lastArchived = got;
    return got;
  }

  keys(runId: string): RunKeys & { seeds: string; admitting: string } {
    const k = runKeys(this.at(runId), runId);
    return { ...k, seeds: `${k.backlog}:seeds`, admitting: `${k.run}:admitting` };
  }

  /**
   * Creates the run (true), of `owner` when given, with its conversation `settings` (canonical
   * JSON, kept as they are), or, when it exists, updates its `maxActive` if given (false).
   */
  async create(
    runId: string,
    name: string,
    maxActive: number | undefined,
    defaultMaxActive: number,
    owner?: string,
    settings = '',
  ): Promise<boolean> {
    const o = owner ?? '';
    const op = this.at(runId);
    const r = await CREATE_RUN.run(
      this.redis,
      [this.keys(runId).run, runsIndexKey(this.at(runId)), callerRunsKey(op, o), callerKey(op, o)],
      [runId, name, String(Date.now()), maxActive === undefined ? '' : String(maxActive), String(defaultMaxActive), o, settings],
    );
    if (r === 1 && this.owners.size < 10_000) this.owners.set(runId, owner ? `=${owner}` : '');
    return r === 1;
  }

  /**
   * The secret that keys owned runs' conversation ids (runs/seed-identity.ts): 32 random bytes
   * made once per queue prefix (SET NX), so every producer agrees and restarts change nothing.
   */
  async idSecret(): Promise<Buffer> {
    if (this.secret) return this.secret;
    const key = `${this.prefix}:id-secret`;
    await this.redis.set(key, randomBytes(32).toString('hex'), 'NX');
    const hex = await this.redis.get(key);
    this.secret = Buffer.from(hex!, 'hex');
    return this.secret;
  }
  private secret?: Buffer;

  /** The hash counting what waits in the backlog of every run of `runId`'s shard together: `seeds` and `bytes` (ids + payloads). */
  totalsKey(runId: string): string {
    return backlogTotalsKey(this.at(runId));
  }

  /** A backlog cap of all runs as one shard's share: ceil(cap / N), so the shards together stay within it. */
  shardCap(cap: number): number {
    return this.shards.count === 1 || !Number.isFinite(cap) ? cap : Math.ceil(cap / this.shards.count);
  }

  /**
   * Adds seeds (conversation id → payload) to the backlog unless waiting or admitted already,
   * within `caps` (see ADD_SEEDS): the new seeds past the first one that would pass a cap are
   * refused (`refused`, and `why` names the cap). Default caps: none. The backlog caps are of all
   * runs; each shard checks its share ({@link shardCap}).
   */
  async addSeeds(runId: string, seeds: [string, string][], caps: Partial<BacklogCaps> = {}): Promise<AddSeedsResult> {
    if (!seeds.length) return { accepted: 0, duplicates: 0, refused: 0 };
    const k = this.keys(runId);
    const limit = (n?: number) => String(n ?? Number.MAX_SAFE_INTEGER);
    const [accepted, duplicates, refused, why, first] = (await ADD_SEEDS.run(
      this.redis,
      [k.run, k.conversations, k.backlog, k.seeds, this.totalsKey(runId)],
      [
        limit(caps.runMaxSeeds),
        limit(caps.backlogMaxSeeds === undefined ? undefined : this.shardCap(caps.backlogMaxSeeds)),
        limit(caps.backlogMaxBytes === undefined ? undefined : this.shardCap(caps.backlogMaxBytes)),
        ...seeds.flat(),
      ],
    )) as [number, number, number, string, number];
    return { accepted, duplicates, refused, ...(why ? { why: why as RefusedBy, firstRefused: first - 1 } : {}) };
  }

  /** What waits in every run's backlog together (every shard's totals summed). */
  async backlogTotals(): Promise<{ seeds: number; bytes: number }> {
    const each = await Promise.all(this.shards.prefixes.map((p) => this.totalsAt(backlogTotalsKey(p))));
    return each.reduce((a, b) => ({ seeds: a.seeds + b.seeds, bytes: a.bytes + b.bytes }), { seeds: 0, bytes: 0 });
  }

  /** What waits in the backlog of the runs of `runId`'s shard, the totals its caps are checked against ({@link shardCap}). */
  async shardBacklogTotals(runId: string): Promise<{ seeds: number; bytes: number }> {
    return this.totalsAt(this.totalsKey(runId));
  }

  private async totalsAt(key: string): Promise<{ seeds: number; bytes: number }> {
    const [seeds, bytes] = await this.redis.hmget(key, 'seeds', 'bytes');
    return { seeds: Number(seeds ?? 0), bytes: Number(bytes ?? 0) };
  }

  /** Records rejected lines (the list is capped at {@link REJECTED_KEPT}). */
  async addRejected(runId: string, lines: RejectedLine[]): Promise<void> {
    if (!lines.length) return;
    const k = this.keys(runId);
    await this.redis
      .multi()
      .rpush(k.rejected, ...lines.map((l) => JSON.stringify(l)))
      .ltrim(k.rejected, 0, REJECTED_KEPT - 1)
      .hincrby(k.run, 'rejected', lines.length)
      .exec();
  }

  async rejected(runId: string, limit = 100): Promise<RejectedLine[]> {
    const raw = await this.redis.lrange(this.keys(runId).rejected, 0, limit - 1);
    if (!raw.length) return ((await this.archivedRun(runId))?.rejected ?? []).slice(0, limit);
    return raw.map((r) => JSON.parse(r) as RejectedLine);
  }

  /** Claims up to `limit` waiting seeds within the run's free slots: [id, payload] pairs. */
  async claim(runId: string, limit: number): Promise<[string, string][]> {
    const k = this.keys(runId);
    const fill = (owner: string) =>
      FILL.run(
        this.redis,
        [
          k.run,
          k.conversations,
          k.backlog,
          k.seeds,
          k.admitting,
          this.totalsKey(runId),
          owner === '' ? k.run : callerKey(this.at(runId), owner.slice(1)),
        ],
        [String(Date.now()), limit, owner],
      );
    // The owner's caller hash is declared to the script: the owner known for the run, else the
    // script answers it (fill.lua) and is run again. A run's owner never changes.
    let flat = (await fill(this.owners.get(runId) ?? '')) as (string | number)[];
    for (let i = 0; typeof flat[0] === 'number' && i < 3; i++) {
      const owner = String(flat[1]);
      if (this.owners.size >= 10_000) this.owners.clear();
      this.owners.set(runId, owner);
      flat = (await fill(owner)) as (string | number)[];
    }
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), String(flat[i + 1])]);
    return out;
  }

  /** Admission of these ids is complete (record created, turn 1 queued). */
  async admitted(runId: string, ids: string[]): Promise<void> {
    if (ids.length) await this.redis.hdel(this.keys(runId).admitting, ...ids);
  }

  /** Claimed seeds whose admission was not completed `olderThanMs` ago (a crash): [id, payload]. */
  async stranded(runId: string, olderThanMs: number): Promise<[string, string][]> {
    const all = await this.redis.hgetall(this.keys(runId).admitting);
    const before = Date.now() - olderThanMs;
    const out: [string, string][] = [];
    for (const [id, v] of Object.entries(all)) {
      const bar = v.indexOf('|');
      if (Number(v.slice(0, bar)) <= before) out.push([id, v.slice(bar + 1)]);
    }
    return out;
  }

  /** Puts a failed or timed-out conversation's seed back in the backlog (see RETRY); false when it is not one. */
  async retry(runId: string, id: string, payload: string, recordKeys: [string, string]): Promise<boolean> {
    const k = this.keys(runId);
    return (
      (await RETRY.run(this.redis, [k.run, k.conversations, k.backlog, k.seeds, ...recordKeys, this.totalsKey(runId)], [id, payload])) === 1
    );
  }

  /**
   * Removes the run when it holds nothing (no seed accepted, none admitted): an upload that
   * created it and failed leaves no empty run behind. `owner` as given to {@link create}.
   */
  async discardEmpty(runId: string, owner?: string): Promise<boolean> {
    const k = this.keys(runId);
    const p = this.at(runId);
    const keys = [k.run, k.rejected, runBudgetKey(p, runId), runsIndexKey(p), callerRunsKey(this.at(runId), owner ?? '')];
    const removed = (await DISCARD.run(this.redis, [...keys, k.conversations], [runId])) === 1;
    if (removed) this.owners.delete(runId);
    return removed;
  }

  /**
   * Near-duplicate control of finished conversations (runs/conversation-dedup.ts): registers the
   * LSH band keys and the MinHash signature of conversation `id` of the run (a band keeps the
   * first conversation that had it, HSETNX, in one MULTI), both hashes expiring `ttlSeconds` after
   * the last write (the records' RETENTION_SECONDS), and answers the earlier conversations that
   * hold one of its bands. A re-run registers nothing new and answers the same.
   */
  async registerSignature(runId: string, id: string, bands: string[], sig: Buffer, ttlSeconds: number): Promise<string[]> {
    const k = this.dedupKeys(runId);
    const m = this.redis.multi();
    for (const b of bands) m.hsetnx(k.bands, b, id);
    m.hset(k.sigs, id, sig);
    m.expire(k.bands, ttlSeconds);
    m.expire(k.sigs, ttlSeconds);
    const r = (await m.exec()) ?? [];
    const taken = bands.filter((_, i) => r[i]?.[1] === 0);
    if (!taken.length) return [];
    const holders = await this.redis.hmget(k.bands, ...taken);
    return [...new Set(holders.filter((h): h is string => h !== null && h !== id))];
  }

  /** Counts one finished conversation of the run flagged a near-duplicate (`nearDuplicates` on the run hash). */
  async countNearDuplicate(runId: string): Promise<void> {
    await this.redis.hincrby(this.keys(runId).run, 'nearDuplicates', 1);
  }

  /** The stored signatures of conversations `ids` of the run (null: none). */
  async signatures(runId: string, ids: string[]): Promise<(Buffer | null)[]> {
    if (!ids.length) return [];
    return this.redis.hmgetBuffer(this.dedupKeys(runId).sigs, ...ids);
  }

  private dedupKeys(runId: string) {
    const run = this.keys(runId).run;
    return { bands: `${run}:lsh`, sigs: `${run}:sigs`, seeds: `${run}:seedsigs` };
  }

  /**
   * Near-duplicate control of seeds across a run's uploads (runs/seed-dedup.ts): the MinHash
   * records of the seeds `dedup=true` uploads kept, one string of fixed-size records (no per-seed
   * key or field: 272 bytes a seed, so at most RUN_MAX_SEEDS × 272 bytes a run), read whole at the
   * start of the next such upload.
   */
  async seedSignatures(runId: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.dedupKeys(runId).seeds);
  }

  /** Appends seed records ({@link seedSignatures}); the string expires `ttlSeconds` after the last append. */
  async addSeedSignatures(runId: string, records: Buffer, ttlSeconds: number): Promise<void> {
    if (!records.length) return;
    const key = this.dedupKeys(runId).seeds;
    await this.redis.multi().append(key, records).expire(key, ttlSeconds).exec();
  }

  /** Stops admission and empties the backlog; -1 for an unknown run. */
  async cancel(runId: string): Promise<number> {
    const k = this.keys(runId);
    return (await CANCEL.run(this.redis, [k.run, k.backlog, k.seeds, this.totalsKey(runId)], [String(Date.now())])) as number;
  }

  async get(runId: string): Promise<RunState | null> {
    const live = await this.fromRedis(runId);
    if (live) return live;
    return (await this.archivedRun(runId))?.state ?? null;
  }

  /**
   * The run as the archive keeps it, read from Redis: `live` while it holds live work (a seed
   * waiting or being admitted, a conversation in flight), null when Redis has no hash for it.
   * Whether each of its conversations is archived is the caller's to know (the conversation store's).
   */
  async finishedRun(runId: string): Promise<ArchivedRun | 'live' | null> {
    const k = this.keys(runId);
    const [state, admitting] = await Promise.all([this.fromRedis(runId), this.redis.hlen(k.admitting)]);
    if (!state) return null;
    if (state.waiting > 0 || state.active > 0 || admitting > 0) return 'live';
    const { archived: _, ...kept } = state;
    const [conversations, rejected] = await Promise.all([
      this.redis.zrange(k.conversations, '0', '-1'),
      this.redis.lrange(k.rejected, 0, -1),
    ]);
    return { state: kept, conversations, rejected: rejected.map((r) => JSON.parse(r) as RejectedLine) };
  }

  /**
   * The run is written to the archive (see ARCHIVED): unless it holds live work again, it is
   * marked archived, its keys expire after `ttlSeconds` and it leaves the runs indexes. False: live again, or gone.
   */
  async archived(runId: string, ttlSeconds: number): Promise<boolean> {
    const k = this.keys(runId);
    const d = this.dedupKeys(runId);
    const owner = (await this.redis.hget(k.run, 'owner')) ?? '';
    const p = this.at(runId);
    const keys = [
      k.run,
      k.conversations,
      k.backlog,
      k.seeds,
      k.admitting,
      k.rejected,
      runBudgetKey(p, runId),
      d.seeds,
      d.bands,
      d.sigs,
      runsIndexKey(p),
      callerRunsKey(this.at(runId), owner),
      this.unarchivedKey(runId),
    ];
    const r = await ARCHIVED.run(this.redis, keys, [runId, String(Math.max(1, Math.ceil(ttlSeconds))), String(Date.now())]);
    if (r === 1) this.owners.delete(runId);
    return r === 1;
  }

  /** The runs of `runId`'s shard one of whose conversations finished and that are not archived yet, scored by when they were (re)noted. */
  unarchivedKey(runId: string): string {
    return runsUnarchivedKey(this.at(runId));
  }

  /** Notes the run for the archive (before its conversation's archive write, so a crash leaves it for the reconciler); again: moved to the back. */
  async archiveLater(runId: string): Promise<void> {
    await this.redis.zadd(this.unarchivedKey(runId), Date.now(), runId);
  }

  /** The run is gone from Redis: nothing to archive. */
  async forgetArchive(runId: string): Promise<void> {
    await this.redis.zrem(this.unarchivedKey(runId), runId);
  }

  /** Runs noted for the archive before `beforeMs`, oldest first, over every shard (the reconciler's repair). */
  async unarchived(beforeMs: number, limit: number): Promise<string[]> {
    const each = await Promise.all(
      this.shards.prefixes.map(
        async (p) =>
          (await this.redis.zrangebyscore(runsUnarchivedKey(p), '-inf', `(${beforeMs}`, 'WITHSCORES', 'LIMIT', 0, limit)) as string[],
      ),
    );
    return mergeScored(each, 'asc', limit);
  }

  private async fromRedis(runId: string): Promise<RunState | null> {
    const k = this.keys(runId);
    const [h, waiting, budget] = await Promise.all([
      this.redis.hgetall(k.run),
      this.redis.llen(k.backlog),
      new BudgetStore(this.redis).state(runBudgetKey(this.at(runId), runId)),
    ]);
    if (!h.id) return null;
    const num = (f: string) => Number(h[f] ?? 0);
    const byStatus: Record<string, number> = {};
    const byStopReason: Record<string, number> = {};
    for (const [f, v] of Object.entries(h)) {
      if (f.startsWith('n:')) byStatus[f.slice(2)] = Number(v);
      else if (f.startsWith('r:')) byStopReason[f.slice(2)] = Number(v);
    }
    return {
      id: h.id,
      name: h.name ?? '',
      createdAt: num('createdAt'),
      updatedAt: num('updatedAt'),
      maxActive: num('maxActive'),
      state: h.state as RunState['state'],
      seeds: num('seeds'),
      duplicates: num('duplicates'),
      nearDuplicates: num('nearDuplicates'),
      rejected: num('rejected'),
      admitted: num('admitted'),
      active: num('active'),
      unadmitted: num('unadmitted'),
      retried: num('retried'),
      tokens: num('tokens'),
      byStatus,
      byStopReason,
      waiting,
      budget,
      ...(h.budgetExhausted ? { budgetExhausted: h.budgetExhausted } : {}),
      judge: runJudgeSummary(h),
      ...(h.owner ? { owner: h.owner } : {}),
      ids: h.ids === '2' ? 2 : 1,
      ...(h.settings ? { settings: JSON.parse(h.settings) as Record<string, unknown> } : {}),
      ...(h.archived ? { archived: Number(h.archived) } : {}),
    };
  }

  /**
   * Makes the run's budget hash exist (so every call of its conversations books its cost there)
   * and, with `limits`, sets them; a raised budget lets a stopped run admit again.
   */
  async setBudget(runId: string, limits?: { usd?: number; tokens?: number }): Promise<void> {
    const m = this.redis.multi();
    writeBudgetLimits(m, runBudgetKey(this.at(runId), runId), limits, 'merge');
    if (limits) m.hdel(this.keys(runId).run, 'budgetExhausted');
    await m.exec();
  }

  /** Records on the run that its budget refused a call (`message`, the first refusal's): the run admits nothing more (fill.lua). */
  async markBudgetExhausted(runId: string, message: string): Promise<void> {
    await this.redis.hsetnx(this.keys(runId).run, 'budgetExhausted', message);
  }

  /** The ids of the runs Redis holds, newest first, over every shard (the admission sweep's: an archived run admits nothing). */
  async liveList(limit: number): Promise<string[]> {
    if (this.shards.count === 1) return this.redis.zrevrange(runsIndexKey(this.prefix), 0, limit - 1);
    const each = await Promise.all(this.shards.prefixes.map((p) => this.redis.zrevrange(runsIndexKey(p), 0, limit - 1, 'WITHSCORES')));
    return mergeScored(each, 'desc', limit);
  }

  /** Run ids, newest first (of one owner when given: its runs index, at the owner's shard), the archived ones with them. */
  async list(limit = 100, owner?: string): Promise<string[]> {
    const live = owner !== undefined ? await new CallerStore(this.redis, this.shards).runs(owner, limit) : await this.liveList(limit);
    if (!this.archive) return live;
    const archived = await this.archive.runIds({ limit, ...(owner !== undefined ? { owner } : {}) });
    if (!archived.ids.length) return live;
    // Merged newest first as the index orders them (creation time, then id bytes, descending); one archived a moment ago may still be listed in Redis.
    const created = await this.createdAt(live);
    const at = new Map(live.map((id, i) => [id, created[i]!]));
    for (const [i, id] of archived.ids.entries()) if (!at.has(id)) at.set(id, archived.createdAt[i]!);
    const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(b), Buffer.from(a));
    return [...at.keys()].sort((a, b) => at.get(b)! - at.get(a)! || bytes(a, b)).slice(0, limit);
  }

  /** The creation times of runs `ids` (0: gone), one pipeline per shard (a Cluster pipeline keeps to one slot). */
  private async createdAt(ids: string[]): Promise<number[]> {
    const out = new Array<number>(ids.length).fill(0);
    const byShard = new Map<string, number[]>();
    for (const [i, id] of ids.entries()) byShard.set(this.at(id), [...(byShard.get(this.at(id)) ?? []), i]);
    await Promise.all(
      [...byShard.values()].map(async (at) => {
        const p = this.redis.pipeline();
        for (const i of at) p.hget(this.keys(ids[i]!).run, 'createdAt');
        const replies = (await p.exec()) ?? [];
        for (const [j, i] of at.entries()) out[i] = Number(replies[j]?.[1] ?? 0);
      }),
    );
    return out;
  }

  /** Whether the run exists: its hash is there, or it has admitted conversations (the export's check). */
  async exists(runId: string): Promise<boolean> {
    const k = this.keys(runId);
    const [exists, count] = await Promise.all([this.redis.exists(k.run), this.redis.zcard(k.conversations)]);
    return exists === 1 || count > 0 || (await this.archivedRun(runId)) !== null;
  }

  /** The API key id that created the run (docs/callers.md); undefined: no owner, or no such run. */
  async owner(runId: string): Promise<string | undefined> {
    const live = await this.redis.hget(this.keys(runId).run, 'owner');
    return live ?? (await this.archivedRun(runId))?.state.owner;
  }

  /** Whether the run was cancelled (admission ends what it claimed before the cancel). */
  async isCancelled(runId: string): Promise<boolean> {
    return (await this.redis.hget(this.keys(runId).run, 'state')) === 'cancelled';
  }

  /** The admitted conversation ids in admission order, from `start` (inclusive), `count` at most. */
  async conversations(runId: string, start = 0, count = 1000): Promise<string[]> {
    const page = await this.redis.zrange(this.keys(runId).conversations, String(start), String(start + count - 1));
    if (page.length) return page;
    return ((await this.archivedRun(runId))?.conversations ?? []).slice(start, start + count);
  }
}
