/**
 * The local model pool across real hosts: Redis, the producer, two Ollama hosts of 4 and 2 slots
 * and two worker hosts, each in its own network namespace on a private bridge
 * (test/helpers/netns.ts, as test/integration/multi-host.test.ts). The workers run from their role
 * entry point (`workers/main.ts`) with `OLLAMA_HOSTS` naming the two Ollama hosts by their bridge
 * addresses, so the slots are shared only through Redis leases. Real Ollama would queue calls
 * beyond its `OLLAMA_NUM_PARALLEL` (ollama/ollama server/sched.go); the emulators here only count
 * them, so their counters (`maxInFlight`) show whether the pool ever ran more calls on a host
 * than its slots.
 *
 * Needs root and `ip netns`; otherwise it prints why and skips.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AxiosInstance } from 'axios';
import { Queue } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import { QUEUE_NAMES } from '../../../queue/job-types';
import { createNetnsLab, netnsSupport, poll, viaSocket, type NetnsLab, type NsProcess } from '../../helpers/netns';
import { uniquePrefix } from '../../helpers/redis';

const REDIS_PORT = 6379;
const PRODUCER_PORT = 8080;
const BEDROCK_PORT = 4010;
const OLLAMA_PORT = 11434;
const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out'];

interface GpuHost {
  node: string;
  slots: number;
  proc: NsProcess;
  api: AxiosInstance;
}

interface EmulatorStats {
  inFlight: number;
  maxInFlight: number;
  byRoute: Record<string, number>;
}

describe('local model pool across hosts: two Ollama hosts (4 and 2 slots) and two worker hosts in network namespaces', function () {
  this.timeout(180_000);
  let lab: NetnsLab | undefined;
  let redis: Redis | undefined;
  let queues: Queue[] = [];
  let producer: AxiosInstance;
  const gpus: GpuHost[] = [];
  const prefix = uniquePrefix('pmh');
  const procs: NsProcess[] = [];

  const diagnose = () => procs.map((p) => `--- ${p.label} (${p.running() ? 'running' : 'exited'})\n${p.output().slice(-1500)}`).join('\n');

  async function stats(g: GpuHost): Promise<EmulatorStats> {
    const res = await g.api.get('/_emulator/stats');
    assert.equal(res.status, 200);
    return res.data as EmulatorStats;
  }

  async function submit(initialQuery: string, maxTurns: number): Promise<string> {
    const res = await producer.post('/conversation', { initialQuery, maxTurns });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    return res.data.conversationId as string;
  }

  async function waitAll(ids: string[], timeoutMs: number): Promise<any[]> {
    return Promise.all(
      ids.map((id) =>
        poll(
          `conversation ${id}`,
          timeoutMs,
          async () => {
            const res = await producer.get(`/conversation/${id}`);
            return res.status === 200 && TERMINAL.includes(res.data.status) && res.data.transcriptFile ? res.data : undefined;
          },
          diagnose,
        ),
      ),
    );
  }

  before(async function () {
    const support = netnsSupport();
    if (!support.ok) {
      console.log(`    skipping the pool multi-host test: ${support.reason}`);
      this.skip();
    }
    lab = await createNetnsLab(['redis', 'producer', 'gpu1', 'gpu2', 'w1', 'w2']);
    const redisUrl = `redis://${lab.address('redis')}:${REDIS_PORT}`;

    const sock = path.join(lab.dir, 'redis.sock');
    const redisDir = path.join(lab.dir, 'redis-data');
    fs.mkdirSync(redisDir);
    procs.push(
      lab.spawn(
        'redis',
        'redis-server',
        [
          '--bind',
          lab.address('redis'),
          '--port',
          String(REDIS_PORT),
          '--protected-mode',
          'no',
          '--unixsocket',
          sock,
          '--unixsocketperm',
          '700',
          '--dir',
          redisDir,
          '--save',
          '',
          '--maxmemory-policy',
          'noeviction',
        ],
        {},
        'redis',
      ),
    );
    const client = new IORedis({ path: sock, maxRetriesPerRequest: null, lazyConnect: true });
    redis = client;
    await poll(
      'redis-server',
      10_000,
      async () => (fs.existsSync(sock) ? ((await client.ping().catch(() => undefined)) as string | undefined) : undefined),
      diagnose,
    );
    queues = Object.values(QUEUE_NAMES)
      .filter((name) => name !== QUEUE_NAMES.judge)
      .map((name) => new Queue(name, { connection: client, prefix }));

    procs.push(
      lab.spawn(
        'producer',
        process.execPath,
        ['--import', 'tsx', 'producer/main.ts'],
        {
          REDIS_URL: redisUrl,
          QUEUE_PREFIX: prefix,
          PORT: String(PRODUCER_PORT),
          HOST: '0.0.0.0',
          LOG_LEVEL: 'warn',
          // Inside the lab's private network only; reached through a socket.
          // axios over a unix socket sends `Host: [::1]` (no port).
          ALLOW_UNAUTHENTICATED: 'true',
          ALLOWED_HOSTS: 'lab,[::1]',
        },
        'producer',
      ),
    );
    const [producerSock] = await lab.forward('producer', [PRODUCER_PORT]);
    producer = viaSocket(producerSock!);

    // The Ollama hosts listen on their bridge address (for the workers) and loopback (for the forwarder).
    // Their slots are given to the workers (OLLAMA_HOSTS) but not enforced by the emulators (0):
    // an emulator that queued the excess itself would hide a pool that overbooks it.
    for (const [node, slots] of [
      ['gpu1', 4],
      ['gpu2', 2],
    ] as const) {
      const proc = lab.spawn(
        node,
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, 'fixtures', 'ollama-host.ts'), '0.0.0.0', String(OLLAMA_PORT), '0', '150'],
        {},
        `${node}:ollama`,
      );
      procs.push(proc);
      const [api] = await lab.forward(node, [OLLAMA_PORT]);
      gpus.push({ node, slots, proc, api: viaSocket(api!) });
    }
    for (const g of gpus)
      await poll(`${g.node}'s Ollama`, 60_000, async () => ((await g.api.get('/api/version')).status === 200 ? true : undefined), diagnose);

    const ollamaHosts = gpus.map((g) => `http://${lab!.address(g.node)}:${OLLAMA_PORT}*${g.slots}`).join(',');
    for (const node of ['w1', 'w2']) {
      const outputDir = path.join(lab.dir, `${node}-out`);
      fs.mkdirSync(outputDir);
      // Each worker host has its own Bedrock on its loopback; its Ollama emulator there is unused.
      procs.push(
        lab.spawn(
          node,
          process.execPath,
          ['--import', 'tsx', 'emulators/main.ts'],
          {
            EMULATOR_HOST: '127.0.0.1',
            BEDROCK_EMULATOR_PORT: String(BEDROCK_PORT),
            OLLAMA_EMULATOR_PORT: '11435',
            EMULATOR_LATENCY_MS: '20',
          },
          `${node}:emulators`,
        ),
      );
      const worker = lab.spawn(
        node,
        process.execPath,
        ['--import', 'tsx', 'workers/main.ts'],
        {
          REDIS_URL: redisUrl,
          QUEUE_PREFIX: prefix,
          WORKER_ROLES: 'cloud,local,transcript',
          BEDROCK_ENDPOINT: `http://127.0.0.1:${BEDROCK_PORT}`,
          OLLAMA_HOSTS: ollamaHosts,
          OLLAMA_BREAKER_FAILURES: '1',
          OUTPUT_DIR: outputDir,
          CLOUD_CONCURRENCY: '4',
          // 2 x 5 local jobs at once against 6 slots: the leases, not the job counts, keep each host in bounds.
          LOCAL_CONCURRENCY: '5',
          BACKOFF_DELAY_MS: '100',
          LOG_LEVEL: 'warn',
        },
        `${node}:worker`,
      );
      procs.push(worker);
    }
    await poll(
      'the producer to be ready',
      60_000,
      async () => ((await producer.get('/ready')).status === 200 ? true : undefined),
      diagnose,
    );
    const workers = procs.filter((p) => p.label.endsWith(':worker'));
    await poll(
      'both worker hosts to register on every queue',
      60_000,
      async () => {
        for (const w of workers) if (!w.running()) throw new Error(`${w.label} exited:\n${w.output()}`);
        const perQueue = await Promise.all(queues.map(async (q) => (await q.getWorkers()).map((x) => String(x.rawname ?? ''))));
        return perQueue.every((names) => workers.every((w) => names.some((n) => n.endsWith(`-${w.pid}`)))) ? true : undefined;
      },
      diagnose,
    );
  });

  after(async function () {
    this.timeout(30_000);
    for (const q of queues) await q.close().catch(() => undefined);
    await redis?.quit().catch(() => redis?.disconnect());
    await lab?.close();
  });

  it('no Ollama host ever runs more calls than its slots, and both hosts are used', async () => {
    for (const g of gpus) assert.equal((await g.api.delete('/_emulator/stats')).status, 200);
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => submit(`Pool host question ${i + 1}`, 2)));
    const views = await waitAll(ids, 90_000);
    for (const v of views) {
      assert.equal(v.status, 'completed', JSON.stringify(v));
      assert.equal(v.turnsCompleted, 2);
    }
    const [s1, s2] = await Promise.all(gpus.map(stats));
    console.log(
      `      gpu1 (4 slots): ${s1!.byRoute.chat ?? 0} calls, at most ${s1!.maxInFlight} at once; gpu2 (2 slots): ${s2!.byRoute.chat ?? 0} calls, at most ${s2!.maxInFlight} at once`,
    );
    assert.equal((s1!.byRoute.chat ?? 0) + (s2!.byRoute.chat ?? 0), 16, 'one local call per turn');
    assert.ok(s1!.maxInFlight >= 1 && s1!.maxInFlight <= 4, `gpu1 ran ${s1!.maxInFlight} at once (4 slots)`);
    assert.ok(s2!.maxInFlight >= 1 && s2!.maxInFlight <= 2, `gpu2 ran ${s2!.maxInFlight} at once (2 slots)`);
  });

  it('an Ollama host killed mid-run: its work finishes on the other host', async () => {
    const [gpu1, gpu2] = gpus;
    for (const g of gpus) assert.equal((await g.api.post('/_emulator/faults', { latencyMs: 400 })).status, 200);
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => submit(`Pool failover question ${i + 1}`, 2)));
    await poll('gpu1 to be answering', 30_000, async () => ((await stats(gpu1!)).inFlight > 0 ? true : undefined), diagnose);
    const killed = await gpu1!.proc.stop('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    const before = (await stats(gpu2!)).byRoute.chat ?? 0;

    const views = await waitAll(ids, 90_000);
    for (const v of views) {
      assert.equal(v.status, 'completed', JSON.stringify(v));
      assert.equal(v.turnsCompleted, 2);
    }
    const s2 = await stats(gpu2!);
    console.log(
      `      after gpu1 was killed gpu2 answered ${(s2.byRoute.chat ?? 0) - before} more calls, at most ${s2.maxInFlight} at once`,
    );
    assert.ok((s2.byRoute.chat ?? 0) > before, 'the remaining local turns ran on gpu2');
    assert.ok(s2.maxInFlight <= 2, `gpu2 stayed within its 2 slots (${s2.maxInFlight})`);
  });
});
