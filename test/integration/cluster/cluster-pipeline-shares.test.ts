/**
 * The pipeline itself on 3 shards of a real cluster (3 masters + 3 replicas, `bench/cluster-rig.ts`
 * over test/helpers/redis-cluster.ts): REDIS_CLUSTER_NODES and REDIS_SHARDS=3 through the bench's
 * pipeline rig (built through assembly/, instant emulators). Every conversation completes with each
 * turn recorded once, and each master served 0.33 ± 0.08 of the Redis commands of the run (INFO
 * commandstats, before and after; replicas out). The same measure on REDIS_SHARDS=1 puts the run on
 * one master: a share outside the band fails the check (the control below).
 */
import assert from 'node:assert/strict';
import { runPipelineLoad } from '../../../bench/cluster-load';
import { describeRun, startClusterRig, type ClusterRig } from '../../../bench/cluster-rig';
import { startPipelineRig, type PipelineRig } from '../../../bench/pipeline-rig';
import { checkCompleteTranscript } from '../../faults/fixtures/transcript-check';
import { uniquePrefix } from '../../helpers/redis';

const TURNS = 2;
const ENV = { CLOUD_CONCURRENCY: '8', LOCAL_CONCURRENCY: '8', TRANSCRIPT_CONCURRENCY: '8', RECONCILE_INTERVAL_MS: '0' };

/** Each master's share is 1/3 ± 0.08. */
function assertEvenShares(shares: number[], text: string): void {
  for (const share of shares) assert.ok(Math.abs(share - 1 / 3) <= 0.08, `shares outside 0.33 ± 0.08: ${text}`);
}

describe("Redis Cluster, REDIS_SHARDS=3: the pipeline's conversations complete once each and each master serves 0.33 ± 0.08 of the commands", function () {
  this.timeout(180_000);
  let rig: ClusterRig;
  const pipelines: PipelineRig[] = [];

  before(async () => {
    rig = await startClusterRig();
  });
  afterEach(async () => {
    for (const p of pipelines.splice(0)) await p.close();
  });
  after(async () => {
    await rig?.stop();
  });

  async function measure(pipeline: PipelineRig, conversations: number) {
    // Warm-up (scripts loaded on every master, slot maps made), then the counted run.
    await runPipelineLoad(pipeline, { conversations: 12, turns: 1, label: 'warm-up' });
    const before = await rig.sample();
    const ids = await runPipelineLoad(pipeline, { conversations, turns: TURNS, label: 'shares', timeoutMs: 150_000 });
    const run = await rig.since(before);
    return { ids, run, text: describeRun(run) };
  }

  it('600 conversations of 2 turns: each completes with each turn recorded once; every master 0.33 ± 0.08 of the commands', async () => {
    // Each keyless conversation draws a random shard, so a shard's count is binomial: with 600 a
    // share's standard deviation is 0.019, and ± 0.08 is four of them (a draw outside: 1 in 10,000).
    const conversations = 600;
    const pipeline = await startPipelineRig({
      redisUrl: rig.target,
      prefix: '{llmconv}',
      env: { ...ENV, REDIS_SHARDS: '3' },
    });
    pipelines.push(pipeline);
    const shardMasters = await rig.mastersOfShards('{llmconv}', 3);
    assert.equal(new Set(shardMasters).size, 3, `one shard tag per master: ${shardMasters.join(', ')}`);
    const measured = await measure(pipeline, conversations);
    const { ids, run } = measured;
    const perShard = [0, 0, 0];
    for (const id of ids) perShard[pipeline.store.shards.shardOf(id)]! += 1;
    const text = `${measured.text}; conversations per shard ${perShard.join(' / ')} on masters ${shardMasters.join(', ')}`;
    assert.equal(
      pipeline.events.terminal.get('completed'),
      conversations + 12,
      `completed: ${JSON.stringify([...pipeline.events.terminal])}`,
    );
    for (const id of ids) await checkCompleteTranscript(pipeline.store, pipeline.outputDir, id, TURNS);
    assert.ok(run.commands > conversations * TURNS * 20, `commands served: ${text}`);
    console.log(`      pipeline shard spread: ${text}`);
    assertEvenShares(
      run.nodes.map((m) => m.share),
      text,
    );
  });

  it('the control: REDIS_SHARDS=1 puts the run on one master, outside the band (the check above would fail it)', async () => {
    const conversations = 60;
    const pipeline = await startPipelineRig({ redisUrl: rig.target, prefix: uniquePrefix('one'), env: ENV });
    pipelines.push(pipeline);
    const { ids, run, text } = await measure(pipeline, conversations);
    for (const id of ids) await checkCompleteTranscript(pipeline.store, pipeline.outputDir, id, TURNS);
    assert.ok(run.shareMax > 0.9, `one master serves the run: ${text}`);
    assert.throws(
      () =>
        assertEvenShares(
          run.nodes.map((m) => m.share),
          text,
        ),
      /outside 0\.33 ± 0\.08/,
    );
  });
});
