/**
 * `turn_overhead_ms_p50/p99`: what the pipeline adds to a turn. One conversation at a time, instant
 * emulators; conversations alternate between the pipeline (submitted through the producer's
 * ConversationService, run by the BullMQ workers), the direct loop (same provider objects, same
 * calls, same order) and the bare BullMQ chain (`bullmq-chain.ts`: the direct loop's calls inside
 * BullMQ jobs — the floor of any BullMQ pipeline). A turn's time is from the start of its cloud call to the start of the next
 * turn's cloud call, so it holds both provider calls and everything between them. The overhead
 * percentile is the pipeline's turn-time percentile minus the direct loop's; the chain's minus the
 * direct loop's is the part BullMQ itself costs.
 */
import { randomUUID } from 'node:crypto';
import { parseConversationRequest } from '../conversation/conversation-request';
import type { BenchContext } from './bench-context';
import { startBullmqChain } from './bullmq-chain';
import { runDirectConversation } from './direct-loop';
import { startPipelineRig } from './pipeline-rig';
import { summarize, type Summary } from './stats';
import type { CallTiming } from './timed-provider';

export interface TurnOverheadResult {
  turnsPerConversation: number;
  conversations: number;
  pipelineTurnMs: Summary;
  directTurnMs: Summary;
  /** The bare BullMQ chain (floor of a BullMQ pipeline). */
  chainTurnMs: Summary;
  /** Time of a turn outside its two provider calls. */
  pipelineOutsideCallsMs: Summary;
  directOutsideCallsMs: Summary;
  /** Provider call durations inside the pipeline vs the direct loop (same calls). */
  pipelineCallsMs: Summary;
  directCallsMs: Summary;
  overheadP50Ms: number;
  overheadP99Ms: number;
  /** The chain's turn time over the direct loop's: what BullMQ alone costs per turn. */
  chainOverheadP50Ms: number;
  chainOverheadP99Ms: number;
}

/** Turn times and time-outside-calls of one conversation from its call timings. */
export function turnTimes(timings: CallTiming[]): { turn: number[]; outside: number[]; calls: number[] } {
  const cloud = new Map<number, CallTiming>();
  const local = new Map<number, CallTiming>();
  for (const t of timings) (t.side === 'cloud' ? cloud : local).set(t.turn, t);
  const turn: number[] = [];
  const outside: number[] = [];
  const calls: number[] = [];
  for (const [k, c] of cloud) {
    const next = cloud.get(k + 1);
    const l = local.get(k);
    if (!next || !l) continue;
    const span = next.start - c.start;
    const inCalls = c.end - c.start + (l.end - l.start);
    turn.push(span);
    calls.push(inCalls);
    outside.push(span - inCalls);
  }
  return { turn, outside, calls };
}

export async function measureTurnOverhead(ctx: BenchContext): Promise<TurnOverheadResult> {
  const rig = await startPipelineRig({ redisUrl: ctx.redisUrl, prefix: ctx.prefix('turn'), latencyMs: 0 });
  const chain = await startBullmqChain({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('chain'),
    config: rig.config,
    cloud: rig.cloud,
    local: rig.local,
  });
  const maxTurns = 20;
  const conversations = ctx.quick ? 8 : 40;
  const warmup = 3;
  const body = { initialQuery: 'What is the meaning of life?', maxTurns };
  const direct = {
    cloud: rig.cloud,
    local: rig.local,
    cloudTimeoutMs: rig.config.apiGatewayTimeoutMs,
    localTimeoutMs: rig.config.ollamaTimeoutMs,
  };
  const modes = ['direct', 'chain', 'pipeline'] as const;
  const acc = Object.fromEntries(modes.map((m) => [m, { turn: [] as number[], outside: [] as number[], calls: [] as number[] }])) as Record<
    (typeof modes)[number],
    { turn: number[]; outside: number[]; calls: number[] }
  >;
  try {
    for (let i = 0; i < conversations + warmup; i++) {
      for (const mode of modes) {
        rig.timings.length = 0;
        if (mode === 'direct') {
          const id = randomUUID();
          await runDirectConversation(id, parseConversationRequest(body, rig.config, id), direct);
        } else if (mode === 'chain') {
          const id = randomUUID();
          await chain.run(id, parseConversationRequest(body, rig.config, id));
        } else {
          const { id } = await rig.service.submit(body);
          await rig.events.finishedOne(id);
        }
        if (i < warmup) continue;
        const t = turnTimes(rig.timings);
        acc[mode].turn.push(...t.turn);
        acc[mode].outside.push(...t.outside);
        acc[mode].calls.push(...t.calls);
      }
    }
  } finally {
    await chain.close();
    await rig.close();
  }
  const p = summarize(acc.pipeline.turn);
  const d = summarize(acc.direct.turn);
  const c = summarize(acc.chain.turn);
  return {
    turnsPerConversation: maxTurns,
    conversations,
    pipelineTurnMs: p,
    directTurnMs: d,
    chainTurnMs: c,
    pipelineOutsideCallsMs: summarize(acc.pipeline.outside),
    directOutsideCallsMs: summarize(acc.direct.outside),
    pipelineCallsMs: summarize(acc.pipeline.calls),
    directCallsMs: summarize(acc.direct.calls),
    overheadP50Ms: p.p50 - d.p50,
    overheadP99Ms: p.p99 - d.p99,
    chainOverheadP50Ms: c.p50 - d.p50,
    chainOverheadP99Ms: c.p99 - d.p99,
  };
}
