/**
 * The floor of any BullMQ-based pipeline: the direct loop's calls (same arguments, same order),
 * each made inside a BullMQ job — a cloud queue and a local queue, each step adding the next — with
 * the worker settings the pipeline uses (concurrency, lock, stall check) but no conversation store,
 * no QueueEvents, no cancel registry and no logging: the conversation lives in this process's memory.
 * What the pipeline adds beyond this chain is its own cost; the chain's cost over the direct loop is
 * BullMQ's (two hops and two job completions per turn).
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Config } from '../shared/config';
import type { ConversationSettings, TurnRecord } from '../conversation/model';
import type { LlmProvider } from '../providers/llm-provider';
import { createWorkerConnection, waitReady } from '../shared/redis-connection';
import type { RedisTarget } from '../shared/redis-target';
import { turnCalls } from './turn-calls';

export interface BullmqChain {
  /** Runs one conversation through the two queues; resolves after its last turn. */
  run(id: string, s: ConversationSettings): Promise<void>;
  /** Local jobs waiting for a slot. */
  localWaiting(): Promise<number>;
  /** Stops taking jobs (resolves when the running ones are done) / takes jobs again. */
  pause(): Promise<void>;
  resume(): void;
  close(): Promise<void>;
}

interface Conversation {
  s: ConversationSettings;
  turns: TurnRecord[];
  done: () => void;
}

export async function startBullmqChain(opts: {
  /** A redis-server's URL, or a cluster's nodes (shared/redis-target.ts). */
  redisUrl: RedisTarget;
  prefix: string;
  config: Config;
  cloud: LlmProvider;
  local: LlmProvider;
}): Promise<BullmqChain> {
  const { config, prefix } = opts;
  const conn = createWorkerConnection(opts.redisUrl);
  await waitReady(conn);
  const connection = conn as unknown as ConnectionOptions;
  const jobOpts = { removeOnComplete: true, attempts: config.jobAttempts };
  const cloudQ = new Queue('chain-cloud', { connection, prefix });
  const localQ = new Queue('chain-local', { connection, prefix });
  const live = new Map<string, Conversation>();
  const workerOpts = {
    connection,
    prefix,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
  };
  const cloudW = new Worker<{ id: string; turn: number }>(
    'chain-cloud',
    async (job) => {
      const { id, turn } = job.data;
      const c = live.get(id)!;
      const call = turnCalls.cloud(id, c.s, c.turns, turn, config.apiGatewayTimeoutMs);
      const startedAt = Date.now();
      c.turns.push({ turn, cloud: turnCalls.cloudStep(call, await opts.cloud.generate(call), startedAt) });
      await localQ.add('local', { id, turn }, { ...jobOpts, jobId: `${id}-local-${turn}` });
    },
    { ...workerOpts, concurrency: config.cloudConcurrency },
  );
  const localW = new Worker<{ id: string; turn: number }>(
    'chain-local',
    async (job) => {
      const { id, turn } = job.data;
      const c = live.get(id)!;
      const rec = c.turns.find((t) => t.turn === turn)!;
      const call = turnCalls.local(id, c.s, c.turns, turn, rec.cloud!, config.ollamaTimeoutMs);
      rec.local = turnCalls.localStep(call, await opts.local.generate(call));
      if (turn >= c.s.maxTurns) c.done();
      else await cloudQ.add('cloud', { id, turn: turn + 1 }, { ...jobOpts, jobId: `${id}-cloud-${turn + 1}` });
    },
    { ...workerOpts, concurrency: config.localConcurrency },
  );
  await Promise.all([cloudW.waitUntilReady(), localW.waitUntilReady()]);
  return {
    async run(id, s) {
      const finished = new Promise<void>((done) => live.set(id, { s, turns: [], done }));
      await cloudQ.add('cloud', { id, turn: 1 }, { ...jobOpts, jobId: `${id}-cloud-1` });
      await finished;
      live.delete(id);
    },
    localWaiting: () => localQ.getWaitingCount(),
    async pause() {
      await Promise.all([cloudW.pause(), localW.pause()]);
    },
    resume() {
      void cloudW.resume();
      void localW.resume();
    },
    async close() {
      await Promise.all([cloudW.close(), localW.close()]);
      await Promise.all([cloudQ.close(), localQ.close()]);
      conn.disconnect();
    },
  };
}
