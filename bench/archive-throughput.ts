/**
 * `archive_pipeline_throughput_ratio`: finished conversations per second through the whole
 * pipeline (instant emulators, the real workers in this process) with the archive on (SQLite,
 * the embedded default) ÷ with it off (`ARCHIVE_URL=off`). Each round submits K conversations of
 * 2 turns to one pipeline and times them until every one is terminal, its transcript written and
 * (archive on) `<p>:unarchived` empty; the two pipelines take turns, several rounds, to share the
 * machine's drift. The bare BullMQ chain is the same for both, so this is also the ratio of their
 * ratios against it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTerminal } from '../conversation/model';
import { sleep, type BenchContext } from './bench-context';
import { startPipelineRig, type PipelineRig } from './pipeline-rig';

export interface ArchiveThroughputResult {
  conversations: number;
  rounds: number;
  offPerSec: number;
  onPerSec: number;
  ratio: number;
}

async function round(rig: PipelineRig, k: number, doneBefore: number, archiving: boolean): Promise<number> {
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < k; i++) ids.push((await rig.service.submit({ initialQuery: `Archive throughput ${i}?`, maxTurns: 2 })).id);
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`archive throughput: ${k} conversations not finished within 120 s`);
    if (fs.readdirSync(rig.outputDir).length >= doneBefore + k) {
      const records = await Promise.all(ids.map((id) => rig.store.get(id)));
      if (records.every((r) => r && isTerminal(r.status)) && (!archiving || (await rig.store.unarchivedCount()) === 0)) break;
    }
    await sleep(5);
  }
  return (performance.now() - t0) / 1000;
}

export async function measureArchiveThroughput(ctx: BenchContext): Promise<ArchiveThroughputResult> {
  const k = ctx.quick ? 100 : 300;
  const rounds = ctx.quick ? 2 : 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-archive-tput-'));
  const env = { CLOUD_CONCURRENCY: '8', LOCAL_CONCURRENCY: '8', TRANSCRIPT_CONCURRENCY: '8', RECONCILE_INTERVAL_MS: '0' };
  const off = await startPipelineRig({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('arch-off'),
    latencyMs: 0,
    env: { ...env, ARCHIVE_URL: 'off' },
  });
  const on = await startPipelineRig({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('arch-on'),
    latencyMs: 0,
    env: { ...env, ARCHIVE_URL: `sqlite:${path.join(dir, 'archive.sqlite')}`, REDIS_RETENTION_SECONDS: '60' },
  });
  try {
    if (!on.store.archiving || off.store.archiving) throw new Error('archive throughput: the two pipelines are not archive on / off');
    off.cloud.recording = off.local.recording = on.cloud.recording = on.local.recording = false;
    // Warm-up: one small round each, not counted.
    await round(off, 20, 0, false);
    await round(on, 20, 0, true);
    let offSeconds = 0;
    let onSeconds = 0;
    for (let r = 0; r < rounds; r++) {
      offSeconds += await round(off, k, 20 + r * k, false);
      onSeconds += await round(on, k, 20 + r * k, true);
      ctx.progress(`archive throughput: round ${r + 1}: off ${offSeconds.toFixed(2)} s, on ${onSeconds.toFixed(2)} s so far`);
    }
    const total = k * rounds;
    return { conversations: total, rounds, offPerSec: total / offSeconds, onPerSec: total / onSeconds, ratio: offSeconds / onSeconds };
  } finally {
    await on.close();
    await off.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
