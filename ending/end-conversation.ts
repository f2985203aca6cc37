/**
 * A conversation's end, written once for every cause (docs/architecture.md, "The end"): the
 * domain decides what the cause means (`conversation/conversation-end.ts`), one store script does
 * the transition (`store/lua/conversation/finish.lua`: once per conversation, and with it the
 * run's and the owner's slots are freed), and what follows fans out from here:
 *
 *  1. at the transition: the status event (published by the store), the terminal metric, the log
 *     line, and the transcript job (`<id>-transcript`);
 *  2. once the transcript is written ({@link ConversationEnding.transcriptWritten}, the
 *     transcript step's last act): a normal stop is completed, the run's free slots are refilled,
 *     the judge job (`<id>-judge`) is queued, and a completed conversation with `branches` forks
 *     itself (docs/branches.md); with an archive (ARCHIVE_URL), the finished conversation is
 *     written there first (ending/archive-finished.ts).
 *
 * Called twice (two causes racing, a job run twice), the transition happens once and only its
 * winner queues the transcript; the rest is idempotent (deterministic job ids, a refill that
 * claims only free slots). Used by the producer (cancel), runs (run cancel, a cancel racing an
 * admission) and the workers (step failures, deadlines, stops, a job's final failure, the
 * transcript step), so it imports none of them.
 */
import { completionReason, endFor, type ConversationEnd, type EndCause } from '../conversation/conversation-end';
import { branchId, branchSettings, branchTurn } from '../conversation/fork-rules';
import { isTerminal, type ConversationRecord, type TurnRecord } from '../conversation/model';
import type { PipelineQueues } from '../queue/pipeline-queues';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import type { ConversationStore } from '../store/conversation-store';
import type { ArchiveStore } from '../store/interfaces/archive-store';
import { JudgeStore } from '../store/judge-store';
import { RunStore } from '../store/run-store';
import { archiveFinished } from './archive-finished';

export interface EndingDeps {
  config: Pick<Config, 'judgeRubricFile'>;
  store: ConversationStore;
  queues: PipelineQueues;
  /** The transition's log line (absent: none). */
  logger?: Logger;
  /** Observers of each transition this process makes (the workers' metrics; the producer counts its cancels itself). */
  hooks?: { onTerminal?(status: string, reason: string): void };
  /** Refills a run's free slots once a conversation of it is over (runs/run-admission.ts); absent: the reconciler's sweep fills them. */
  runSlots?: { fill(runId: string): Promise<number> };
  /** The archive (ARCHIVE_URL): a finished conversation goes there once its transcript is written (absent: none). */
  archive?: ArchiveStore;
}

export interface EndOptions {
  /** The record, when the caller has it: names the run and owner the transition counts in (else the script answers them). */
  record?: Pick<ConversationRecord, 'settings' | 'owner'>;
  /** Fields for the log line (the job's, when a step ends it). */
  log?: Record<string, unknown>;
}

/** What {@link ConversationEnding.end} did: moved it now, noted a normal stop for the transcript step to complete, or nothing (already over). */
export type EndOutcome = 'ended' | 'pending' | 'already';

export class ConversationEnding {
  constructor(private readonly deps: EndingDeps) {}

  /** Ends conversation `id` for `cause`, and queues its transcript. */
  async end(id: string, cause: EndCause, opts: EndOptions = {}): Promise<EndOutcome> {
    const { store, queues } = this.deps;
    const end = endFor(cause);
    if (end.afterTranscript) {
      // Completed with its transcript: the transcript step completes it (transcriptWritten).
      await store.setPendingStop(id, end.stopReason, end.error);
      await queues.enqueueTranscript(id);
      return 'pending';
    }
    if (!(await this.transition(id, end, opts))) return 'already';
    await queues.enqueueTranscript(id);
    return 'ended';
  }

  /**
   * What follows the transcript, written for `record` (as loaded before it): a conversation still
   * running is completed with its noted stop, the run's free slots are refilled (the slot itself
   * was freed with the transition), and the judge is queued for one with at least one answer when
   * a rubric is configured.
   */
  async transcriptWritten(record: ConversationRecord, turns: TurnRecord[], log?: Record<string, unknown>): Promise<void> {
    const { config, queues, runSlots } = this.deps;
    if (!isTerminal(record.status)) {
      const end: ConversationEnd = { status: 'completed', stopReason: completionReason(record), afterTranscript: true };
      await this.transition(record.id, end, { record, log });
    }
    // Terminal now (moved above, or before the transcript): into the archive; a crash before this
    // leaves it in <p>:unarchived for the reconciler (ending/archive-finished.ts).
    if (this.deps.archive) await this.archive(record.id, record.settings.run?.id);
    if (record.settings.run) await runSlots?.fill(record.settings.run.id);
    if (config.judgeRubricFile && turns.some((t) => t.cloud)) await queues.enqueueJudge(record.id);
    // Completed just now (a pending stop) or before (this step run again): its branches, once.
    if (!isTerminal(record.status) || record.status === 'completed') await this.branch(record, turns);
  }

  /**
   * A completed conversation with `branches: n` forks itself n times at its branch turn
   * (conversation/fork-rules.ts `branchTurn`): the same settings, turns before it shared (copied,
   * not asked again), deterministic ids so a repeat finds the same forks, each queued at that
   * turn. An owner at its `maxActive` gets fewer (logged); a fork is never a run's.
   */
  private async branch(record: ConversationRecord, turns: TurnRecord[]): Promise<void> {
    const at = branchTurn(record.settings, turns);
    if (at === undefined) return;
    const { store, queues, logger } = this.deps;
    const owner = record.owner === undefined ? {} : { owner: record.owner };
    for (let i = 0; i < record.settings.branches!; i++) {
      // On its parent's shard (REDIS_SHARDS), still one id per branch: the first draw that lands there.
      const id = store.shards.newId(store.shards.shardOf(record.id), (a) => branchId(record.id, i, a));
      const res = await store.fork({ record, turns }, id, branchSettings(record.id, record.settings, id, at), owner);
      if (res.busy || res.gone) {
        logger?.warn(
          { conversationId: record.id, branch: id, busy: res.busy },
          'branch not made: its owner is at maxActive, or the record is gone',
        );
        continue;
      }
      const status = res.record?.status ?? (await store.get(id))?.status;
      if (status === 'queued') await queues.enqueueCloud(id, at);
    }
  }

  /**
   * Writes finished conversation `id` to the archive (an upsert; then Redis lets it go). Its run
   * (`runId`, else the record's) is noted for the archive first, so a crash after the write still
   * leaves the run for the reconciler (ending/archive-run.ts).
   */
  async archive(id: string, runId?: string): Promise<void> {
    const { store, archive, logger } = this.deps;
    if (!archive) return;
    const run = runId ?? (await store.get(id))?.settings.run?.id;
    if (run) await new RunStore(store.redis, store.shards).archiveLater(run);
    const outcome = await archiveFinished({ store, archive, judges: new JudgeStore(store.redis, store.shards) }, id);
    if (outcome === 'gone') logger?.warn({ conversationId: id }, 'finished conversation expired from Redis before it was archived');
  }

  /** The one transition (finish.lua, once); the metric and the log line for the one that moved it. */
  private async transition(id: string, end: ConversationEnd, opts: EndOptions): Promise<boolean> {
    const { status, stopReason, error } = end;
    // A completion's note was written with the pending stop; the transition adds no error of its own.
    const moved = await this.deps.store.finish(id, status, stopReason, status === 'completed' ? undefined : error, opts.record);
    if (moved) {
      this.deps.hooks?.onTerminal?.(status, stopReason);
      this.deps.logger?.info({ ...opts.log, conversationId: id, status, reason: stopReason, error }, 'conversation ended');
    }
    return moved;
  }
}
