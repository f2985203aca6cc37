/**
 * What the domain needs of the archive: where every finished conversation is kept once Redis lets
 * it go (issue 25: Redis is the working set, not the archive). The implementation is
 * store/archive/sql-archive.ts over PostgreSQL or SQLite (ARCHIVE_URL).
 */
import type { ConversationRecord, TurnRecord } from '../../conversation/model';
import type { Judgement } from './judge-store';
import type { RejectedLine, RunState } from './run-store';

/** A fork of an archived conversation: its id and the turn it asks again (as `<p>:conv:{<id>}:forks` in Redis). */
export interface ArchivedFork {
  id: string;
  atTurn: number;
}

/** A finished conversation as archived: the record (settings, provenance), every turn, the judgement. */
export interface ArchivedConversation {
  record: ConversationRecord;
  turns: TurnRecord[];
  judgement?: Judgement;
  /**
   * Its forks known at the write (Redis's forks list), added to the archive's; a fork archived
   * later adds itself (its record names its parent), so the list is whole once every fork is.
   */
  forks?: ArchivedFork[];
}

/** A finished run as archived: its state as read from Redis, its conversations in admission order, its rejected lines. */
export interface ArchivedRun {
  /** The run as `RunStore.get` answered it (settings, counters, judge summary, budget used); read back, `archived` is the row's write time. */
  state: RunState;
  /** Its admitted conversation ids, in admission order. */
  conversations: string[];
  /** The rejected lines Redis kept (at most REJECTED_KEPT; `state.rejected` counts them all). */
  rejected: RejectedLine[];
}

/** A page of archived run ids, newest first, and the cursor of the next page. */
export interface ArchivedRunPage {
  ids: string[];
  /** Each id's creation time (ms), in the same order. */
  createdAt: number[];
  /** Pass as `before` for the next page; undefined on the last page. */
  next?: string;
}

/** One page of a run's archived conversation ids, in id order, and the cursor of the next page. */
export interface ArchivePage {
  ids: string[];
  /** The last id of this page, to pass as `after` for the next; undefined on the last page. */
  next?: string;
}

export interface ArchiveStore {
  /** Writes a finished conversation: an upsert keyed by its id, so a re-run or a repair writes the same row again, never a second one. */
  write(conv: ArchivedConversation): Promise<void>;
  /** The archived conversation, or null. */
  get(id: string): Promise<ArchivedConversation | null>;
  /** Several at once (one statement per few hundred): those archived, by id. */
  getMany(ids: string[]): Promise<Map<string, ArchivedConversation>>;
  /** The archived forks of `parentId`, as Redis orders them: by the turn they ask again, then by id. */
  forks(parentId: string): Promise<ArchivedFork[]>;
  /** Which of `ids` are archived. */
  has(ids: string[]): Promise<Set<string>>;
  /** A page of run `runId`'s archived ids after `after` (a cursor: the page's last id), `limit` at most. */
  runPage(runId: string, after: string | undefined, limit: number): Promise<ArchivePage>;
  /** How many conversations are archived (of run `runId` when given). */
  count(runId?: string): Promise<number>;
  /** Removes conversations finished before `beforeMs` (of run `runId` when given); answers the removed ones' transcript paths by id (their fork links go with them). */
  prune(opts: { beforeMs?: number; runId?: string }): Promise<{ id: string; transcriptPath?: string }[]>;
  /** Writes a finished run: an upsert keyed by its id (a repair writes the same row again). */
  writeRun(run: ArchivedRun): Promise<void>;
  /** The archived run, or null. */
  getRun(id: string): Promise<ArchivedRun | null>;
  /** Archived run ids newest first (by creation time, then id), of `owner` when given, from cursor `before`, `limit` at most. */
  runIds(opts: { limit: number; owner?: string; before?: string }): Promise<ArchivedRunPage>;
  close(): Promise<void>;
}
