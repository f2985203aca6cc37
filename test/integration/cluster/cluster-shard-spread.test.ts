/**
 * What 3 shards buy on a real cluster (3 masters + 3 replicas): the bare BullMQ chain
 * (bench/bullmq-chain.ts, two queues, each step adding the next) run once per shard prefix of
 * `{llmconv}` (shared/redis-shards.ts), each conversation on the chain of its shard (`shardOf`):
 * each master's share of the commands it served during the run (INFO commandstats, before and
 * after, every `calls=` summed) is within 0.33 ± 0.08. Both models are the Ollama emulator behind
 * the real `ollama` client. The pipeline itself is not sharded yet (REDIS_SHARDS, issue 26 part 4).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startBullmqChain, type BullmqChain } from '../../../bench/bullmq-chain';
import { parseConversationRequest } from '../../../conversation/conversation-request';
import { startOllamaEmulator, type OllamaEmulatorHandle } from '../../../emulators/ollama-emulator';
import { createOllamaBackend } from '../../../providers/create-providers';
import { loadConfig } from '../../../shared/config';
import { shardOf, shardPrefixes } from '../../../shared/redis-shards';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster';

const CONVERSATIONS = 300;

/** Every command a node has served (INFO commandstats: the sum of each command's `calls=`). */
async function commandsServed(cluster: RedisCluster, port: number): Promise<number> {
  const info = await cluster.admin(port).info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe("Redis Cluster, 3 shards: the bare BullMQ chain over {llmconv-0..2}, each master's share of commands", function () {
  this.timeout(120_000);
  let cluster: RedisCluster;
  let ollama: OllamaEmulatorHandle;
  const chains: BullmqChain[] = [];

  before(async () => {
    cluster = await startRedisCluster();
    const config = loadConfig({});
    ollama = await startOllamaEmulator({ models: [config.ollamaModel, config.bedrockModelId] });
  });
  after(async () => {
    for (const c of chains) await c.close();
    await ollama?.close();
    await cluster?.stop();
  });

  it(`${CONVERSATIONS} conversations of 4 turns complete; each master served 0.33 ± 0.08 of the commands`, async () => {
    const config = loadConfig({ CLOUD_CONCURRENCY: '4', LOCAL_CONCURRENCY: '4' });
    const model = createOllamaBackend(config, ollama.url);
    const prefixes = shardPrefixes('{llmconv}', 3);
    for (const prefix of prefixes)
      chains.push(await startBullmqChain({ redisUrl: { clusterNodes: cluster.addresses }, prefix, config, cloud: model, local: model }));
    const masters = await cluster.masters();
    assert.equal(new Set(await Promise.all(prefixes.map((p) => cluster.masterOf(p)))).size, 3, 'one shard per master');
    const before = await Promise.all(masters.map((port) => commandsServed(cluster, port)));
    const body = { initialQuery: 'What is the meaning of life?', maxTurns: 4 };
    // By hash, each shard's count of conversations is binomial: with 300 the share's standard
    // deviation is 0.027, so ± 0.08 is three of them (30 conversations measured 0.23 / 0.32 / 0.45).
    const perShard = [0, 0, 0];
    await Promise.all(
      Array.from({ length: CONVERSATIONS }, () => {
        const id = randomUUID();
        const shard = shardOf(id, 3);
        perShard[shard]! += 1;
        return chains[shard]!.run(id, parseConversationRequest(body, config, id));
      }),
    );
    const after = await Promise.all(masters.map((port) => commandsServed(cluster, port)));
    const served = masters.map((_, i) => after[i]! - before[i]!);
    const total = served.reduce((a, b) => a + b, 0);
    const shares = served.map((n) => n / total);
    const text = `${masters.map((port, i) => `${port}: ${served[i]} (${shares[i]!.toFixed(3)})`).join(', ')}; conversations per shard ${perShard.join(' / ')}`;
    assert.ok(total > CONVERSATIONS * 4 * 4, `commands served: ${text}`);
    console.log(`      shard spread: ${text}`);
    for (const share of shares) assert.ok(Math.abs(share - 1 / 3) <= 0.08, `shares: ${text}`);
  });
});
