/**
 * Admission: moves a run's waiting seeds into the pipeline while fewer than its `maxActive` are in
 * flight. The claim is atomic in Redis (store/run-store.ts), so two callers never over-admit;
 * creating the record and queueing turn 1 are idempotent, so a sweep may redo what a crash
 * interrupted. Called after a seed upload, after each conversation of a run is over (the ending's
 * fan-out, once its transcript is written) and by the reconciler's sweep.
 */
import type { PricedFn } from '../conversation/model-admission';
import type { Logger } from '../shared/logger';
import type { Config } from '../shared/config';
import { parseConversationRequest } from '../conversation/conversation-request';
import type { ConversationStore } from '../store/conversation-store';
import { RunStore } from '../store/run-store';
import type { PipelineQueues } from '../queue/pipeline-queues';
import { ConversationEnding, type EndingDeps } from '../ending/end-conversation';

export interface RunAdmissionDeps {
  config: Config;
  store: ConversationStore;
  queues: PipelineQueues;
  /** Whether a cloud model has a price (PRICES_FILE, then the catalogue), for USD budgets at submission; default: the catalogue's. */
  priced?: PricedFn;
  /** Legacy-model warnings of a run submission are logged here too. */
  logger?: Logger;
  /** Observers of the transitions admission makes (a cancel racing it). */
  hooks?: EndingDeps['hooks'];
}

/** A waiting seed as stored: the request (run defaults merged), its hash, its meta. */
export interface SeedPayload {
  r: Record<string, unknown>;
  h: string;
  m?: Record<string, unknown>;
}

/** How many seeds one claim takes (the run's free slots bound it too). */
const CLAIM_BATCH = 200;

export class RunAdmission {
  readonly runs: RunStore;
  private readonly ending: ConversationEnding;

  constructor(private readonly deps: RunAdmissionDeps) {
    this.runs = new RunStore(deps.store.redis, deps.store.shards, deps.store.archive);
    // No logger: a run's cancel ends each of its conversations, one line each would flood the log.
    this.ending = new ConversationEnding({ config: deps.config, store: deps.store, queues: deps.queues, hooks: deps.hooks });
  }

  /** Admits waiting seeds of `runId` up to its free slots; resolves with how many it admitted. */
  async fill(runId: string): Promise<number> {
    let n = 0;
    for (;;) {
      const claimed = await this.runs.claim(runId, CLAIM_BATCH);
      if (!claimed.length) return n;
      await this.materialize(runId, claimed);
      n += claimed.length;
    }
  }

  /** Creates the records of claimed seeds (unless they exist) and queues their turn 1. */
  private async materialize(runId: string, claimed: [string, string][]): Promise<void> {
    const { store, queues, config } = this.deps;
    // A run's conversations belong to the run's owner (docs/callers.md).
    const owner = await this.runs.owner(runId);
    await Promise.all(
      claimed.map(async ([id, raw]) => {
        const p = JSON.parse(raw) as SeedPayload;
        const settings = parseConversationRequest(p.r, config, id);
        settings.run = { id: runId, seedHash: p.h, ...(p.m !== undefined ? { meta: p.m } : {}) };
        const existing = await store.createIfAbsent(id, settings, owner);
        if (existing === null || existing === 'queued') await queues.enqueueCloud(id, 1);
      }),
    );
    await this.runs.admitted(
      runId,
      claimed.map(([id]) => id),
    );
    // A cancel that raced this admission: what was claimed before it ends as cancelled too.
    if (await this.runs.isCancelled(runId)) {
      for (const [id] of claimed) await this.ending.end(id, { cause: 'cancelled', error: 'run cancelled' });
    }
  }

  /**
   * One sweep over the newest `limit` runs: redo admissions a crash left half done (claimed at
   * least `graceMs` ago), then fill free slots. Returns how many seeds it admitted or repaired.
   */
  async sweep(graceMs: number, limit = 1000): Promise<number> {
    let n = 0;
    for (const runId of await this.runs.liveList(limit)) {
      const stranded = await this.runs.stranded(runId, graceMs);
      if (stranded.length) {
        await this.materialize(runId, stranded);
        n += stranded.length;
      }
      n += await this.fill(runId);
    }
    return n;
  }
}
