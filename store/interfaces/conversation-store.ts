/**
 * What the domain needs of a conversation store, apart from where it keeps the records (as
 * BullMQ's `interfaces/` are apart from its `classes/`). The Redis implementation is
 * store/conversation-store.ts; a second (an archive) implements the same.
 */
import type {
  CloudStep,
  ConversationRecord,
  ConversationSettings,
  ConversationStatus,
  ConversationWithTurns,
  LocalStep,
  Side,
  StepOf,
  StopReason,
  TerminalStatus,
} from '../../conversation/model';

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

/** What `fork` did: as `create`, or `gone` when the parent's record went away before the write. */
export interface ForkResult extends CreateResult {
  gone?: boolean;
}

/**
 * A conversation's record and its steps. A step is recorded once (a re-run reads the recorded
 * one), and the terminal transition happens once, counting in the conversation's run and owner.
 */
export interface ConversationStore {
  /**
   * Creates the record; with an idempotency key the first caller wins (`created: false` for every
   * later one, `mismatch` when its body differs); with an owner, the owner's `maxActive` applies.
   */
  create(id: string, settings: ConversationSettings, opts?: string | CreateOptions): Promise<CreateResult>;
  /**
   * Creates a fork of `parent` (loaded with its turns) sharing its turns 1..settings.fork.atTurn-1
   * (copied, never asked again), and lists it in the parent's forks; idempotent like `create`.
   */
  fork(parent: ConversationWithTurns, id: string, settings: ConversationSettings, opts?: CreateOptions): Promise<ForkResult>;
  /** The forks of a conversation: each fork's id and the turn it re-asks. */
  forks(parentId: string): Promise<{ id: string; atTurn: number }[]>;
  /** Whether the caller's Idempotency-Key is taken, on `shard` (REDIS_SHARDS: where its conversation was placed; default 0). */
  hasIdempotencyKey(key: string, owner?: string, shard?: number): Promise<boolean>;
  /** Creates the record unless it exists (a run's admission): null when created, else the existing status. */
  createIfAbsent(id: string, settings: ConversationSettings, owner?: string): Promise<ConversationStatus | null>;
  get(id: string): Promise<ConversationRecord | null>;
  /** The record and all its turns, oldest first. */
  getConversation(id: string): Promise<ConversationWithTurns | null>;
  /** The record and the turns a step of `turn` needs (its context window). */
  loadStep(id: string, turn: number): Promise<ConversationWithTurns | null>;
  getStep(record: ConversationRecord, side: 'cloud', turn: number): Promise<CloudStep | null>;
  getStep(record: ConversationRecord, side: 'local', turn: number): Promise<LocalStep | null>;
  getStep<S extends Side>(record: ConversationRecord, side: S, turn: number): Promise<StepOf<S> | null>;
  hasStep(record: ConversationRecord, side: Side, turn: number): Promise<boolean>;
  /** Records a step once; false when it was recorded already (a re-run). */
  recordStep(record: ConversationRecord, side: 'cloud', turn: number, step: CloudStep): Promise<boolean>;
  recordStep(record: ConversationRecord, side: 'local', turn: number, step: LocalStep): Promise<boolean>;
  recordStep<S extends Side>(record: ConversationRecord, side: S, turn: number, step: StepOf<S>): Promise<boolean>;
  /** queued → running (false otherwise). */
  markRunning(id: string): Promise<boolean>;
  /** Notes that the chain ended normally (the transcript step completes it). */
  setPendingStop(id: string, reason: StopReason, note?: string): Promise<void>;
  /** Moves to a terminal state once; false when already terminal or unknown. */
  finish(
    id: string,
    status: TerminalStatus,
    stopReason: StopReason,
    error?: string,
    record?: Pick<ConversationRecord, 'settings' | 'owner'>,
  ): Promise<boolean>;
  /** Flags a finished conversation as a near-duplicate of `of` of its run (once). */
  setNearDuplicate(id: string, of: string, similarity: number): Promise<boolean>;
  /** Notes where the transcript was written; false (nothing written) when the record is no longer in Redis. */
  setTranscriptPath(record: ConversationRecord, file: string): Promise<boolean>;
  /** Most recent conversation ids, newest first (of one owner when given). */
  recent(limit?: number, owner?: string): Promise<string[]>;
}
