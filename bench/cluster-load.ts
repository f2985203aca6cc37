/**
 * The load the cluster bench and its test put through a system: K conversations of T turns
 * submitted at once, waited for until each one is over — for the pipeline, terminal and its
 * transcript file written; for the bare BullMQ chain, its last turn done — then a short settle so
 * the last jobs' completions are inside the window too. Instant emulators; nothing is read from
 * Redis while it runs (a poll would be counted as the system's commands).
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseConversationRequest } from '../conversation/conversation-request';
import type { Config } from '../shared/config';
import { sleep } from './bench-context';
import type { BullmqChain } from './bullmq-chain';
import type { PipelineRig } from './pipeline-rig';

export interface LoadSpec {
  conversations: number;
  turns: number;
  /** Label of the initial queries (and of the error when the wait times out). */
  label: string;
  timeoutMs?: number;
}

/** Time after the last conversation is over for the jobs that end it to complete, ms. */
export const SETTLE_MS = 250;

const transcripts = (dir: string) => fs.readdirSync(dir).filter((n) => !n.startsWith('.')).length;

/**
 * K conversations through the pipeline's producer service; resolves with their ids once every one
 * is terminal and has its transcript (files in the rig's OUTPUT_DIR) and the settle is over.
 */
export async function runPipelineLoad(rig: PipelineRig, spec: LoadSpec): Promise<string[]> {
  const timeoutMs = spec.timeoutMs ?? 120_000;
  const finished0 = rig.events.finishedCount;
  const files0 = transcripts(rig.outputDir);
  const ids: string[] = [];
  for (let i = 0; i < spec.conversations; i++)
    ids.push((await rig.service.submit({ initialQuery: `${spec.label} question ${i}?`, maxTurns: spec.turns })).id);
  await rig.events.until(
    () => rig.events.finishedCount >= finished0 + spec.conversations,
    timeoutMs,
    `${spec.conversations} ${spec.label} conversations`,
  );
  const deadline = Date.now() + timeoutMs;
  while (transcripts(rig.outputDir) < files0 + spec.conversations) {
    if (Date.now() > deadline) throw new Error(`${spec.label}: ${spec.conversations} transcripts not written within ${timeoutMs} ms`);
    await sleep(10);
  }
  await sleep(SETTLE_MS);
  return ids;
}

/**
 * K conversations through the bare chain, each on the chain `route(id)` picks (one per shard);
 * resolves once every one's last turn is done and the settle is over.
 */
export async function runChainLoad(
  chains: readonly BullmqChain[],
  route: (id: string) => number,
  config: Config,
  spec: LoadSpec,
): Promise<void> {
  const body = { initialQuery: `${spec.label} question?`, maxTurns: spec.turns };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${spec.label}: chain conversations not done within ${spec.timeoutMs ?? 120_000} ms`)),
      spec.timeoutMs ?? 120_000,
    );
  });
  try {
    await Promise.race([
      Promise.all(
        Array.from({ length: spec.conversations }, () => {
          const id = randomUUID();
          return chains[route(id)]!.run(id, parseConversationRequest(body, config, id));
        }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
  await sleep(SETTLE_MS);
}
