/**
 * What the domain needs of the run store (the Redis implementation: store/run-store.ts): a run's
 * settings and counters, its backlog of waiting seeds, its admitted conversations and its
 * rejected lines. Claiming, retrying and cancelling are each one step, so two callers never
 * over-admit or double-count.
 */
import type { BudgetState } from './budget-store';
import type { RunJudgeSummary } from './judge-store';

/** The run hash as read, numbers parsed. */
export interface RunState {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  maxActive: number;
  state: 'active' | 'cancelled';
  seeds: number;
  duplicates: number;
  /** Finished conversations flagged near-duplicates of an earlier one (runs/conversation-dedup.ts). */
  nearDuplicates?: number;
  rejected: number;
  admitted: number;
  active: number;
  unadmitted: number;
  /** Seeds put back in the backlog by `retryFailed` (each admitted again). */
  retried: number;
  tokens: number;
  /** Finished conversations by terminal status. */
  byStatus: Record<string, number>;
  /** Finished conversations by stop reason. */
  byStopReason: Record<string, number>;
  /** Seeds waiting for admission. */
  waiting: number;
  /** What the run's calls cost and its budget (null for a run created before runs tracked it). */
  budget: BudgetState | null;
  /** Why the run stopped admitting: its budget could not cover a call (the refusal's message). */
  budgetExhausted?: string;
  /** The judge's summary of the run's conversations (null when none was judged). */
  judge: RunJudgeSummary | null;
  /** The API key id that created it (docs/callers.md); absent: no owner, admins only. */
  owner?: string;
  /** How its conversation ids are derived (runs/seed-identity.ts): 2 keyed; absent or 1 unkeyed. */
  ids?: 1 | 2;
  /** The conversation settings it was created with (runs/run-settings.ts); absent for a run from before runs kept them. */
  settings?: Record<string, unknown>;
  /** When it was archived (ms; ending/archive-run.ts): it is finished, and an append is refused (409). */
  archived?: number;
}

/** The caps {@link RunStore.addSeeds} keeps (RUN_MAX_SEEDS, BACKLOG_MAX_SEEDS, BACKLOG_MAX_BYTES). */
export interface BacklogCaps {
  runMaxSeeds: number;
  backlogMaxSeeds: number;
  backlogMaxBytes: number;
}

/** Which cap refused seeds: the run's seeds, or the backlog's seeds or bytes over all runs. */
export type RefusedBy = 'run' | 'seeds' | 'bytes' | 'archived';

export interface AddSeedsResult {
  accepted: number;
  duplicates: number;
  /** New seeds not added because a cap was reached (every new seed after the first refused one). */
  refused: number;
  why?: RefusedBy;
  /** Index in the batch of the first refused seed. */
  firstRefused?: number;
}

export interface RejectedLine {
  line: number;
  reason: string;
}

/** A run of many seeds through the pipeline. */
export interface RunStore {
  /** Creates the run (true), of `owner` when given, or, when it exists, updates its `maxActive` if given (false). */
  create(runId: string, name: string, maxActive: number | undefined, defaultMaxActive: number, owner?: string): Promise<boolean>;
  /** The secret that keys owned runs' conversation ids, the same for every producer. */
  idSecret(): Promise<Buffer>;
  /** Registers a finished conversation's MinHash bands and signature; answers the earlier conversations sharing a band. */
  registerSignature(runId: string, id: string, bands: string[], sig: Buffer, ttlSeconds: number): Promise<string[]>;
  /** Counts a finished conversation flagged a near-duplicate. */
  countNearDuplicate(runId: string): Promise<void>;
  /** The stored signatures of conversations of the run. */
  signatures(runId: string, ids: string[]): Promise<(Buffer | null)[]>;
  /** The MinHash records of the run's seeds kept by earlier `dedup=true` uploads (fixed-size, runs/seed-dedup.ts), or null. */
  seedSignatures(runId: string): Promise<Buffer | null>;
  /** Appends seed MinHash records, the whole expiring `ttlSeconds` after this write. */
  addSeedSignatures(runId: string, records: Buffer, ttlSeconds: number): Promise<void>;
  /** Adds seeds (conversation id → payload) to the backlog unless waiting or admitted already, within `caps`. */
  addSeeds(runId: string, seeds: [string, string][], caps?: Partial<BacklogCaps>): Promise<AddSeedsResult>;
  /** What waits in every run's backlog together. */
  backlogTotals(): Promise<{ seeds: number; bytes: number }>;
  addRejected(runId: string, lines: RejectedLine[]): Promise<void>;
  rejected(runId: string, limit?: number): Promise<RejectedLine[]>;
  /** Claims up to `limit` waiting seeds within the run's free slots: [id, payload] pairs. */
  claim(runId: string, limit: number): Promise<[string, string][]>;
  /** Admission of these ids is complete (record created, turn 1 queued). */
  admitted(runId: string, ids: string[]): Promise<void>;
  /** Claimed seeds whose admission was not completed `olderThanMs` ago (a crash). */
  stranded(runId: string, olderThanMs: number): Promise<[string, string][]>;
  /**
   * Puts a failed or timed-out conversation's seed back in the backlog, its record removed with it
   * (`recordKeys`: the record's keys as its conversation store names them); false when it is not one.
   */
  retry(runId: string, id: string, payload: string, recordKeys: [string, string]): Promise<boolean>;
  /** Stops admission and empties the backlog; -1 for an unknown run. */
  cancel(runId: string): Promise<number>;
  get(runId: string): Promise<RunState | null>;
  /** Opens the run's budget and, with `limits`, sets them (a raised budget lets a stopped run admit again). */
  setBudget(runId: string, limits?: { usd?: number; tokens?: number }): Promise<void>;
  /** Records that the run's budget refused a call: it admits nothing more. */
  markBudgetExhausted(runId: string, message: string): Promise<void>;
  /** Run ids, newest first (of one owner when given). */
  list(limit?: number, owner?: string): Promise<string[]>;
  /** Whether the run exists (its hash, or admitted conversations). */
  exists(runId: string): Promise<boolean>;
  /** The API key id that created the run; undefined: no owner, or no such run. */
  owner(runId: string): Promise<string | undefined>;
  isCancelled(runId: string): Promise<boolean>;
  /** The admitted conversation ids in admission order, from `start`, `count` at most. */
  conversations(runId: string, start?: number, count?: number): Promise<string[]>;
}
