/**
 * The fleet, for real: Redis, the producer and two worker hosts each in its own network
 * namespace on a private bridge (see test/helpers/netns.ts), every process started from its
 * role entry point (`producer/main.ts`, `workers/main.ts`, `emulators/main.ts`) with only
 * environment variables, as on EC2. Each worker host has its own Bedrock and Ollama emulators on
 * its own loopback, so the emulators' counters tell which host did which call.
 *
 * Needs root and `ip netns` (CI has both); otherwise it prints why and skips.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AxiosInstance } from 'axios';
import { Queue, type Job } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import { QUEUE_NAMES } from '../../queue/job-types';
import { createNetnsLab, netnsSupport, poll, viaSocket, type NetnsLab, type NsProcess } from '../helpers/netns';
import { uniquePrefix } from '../helpers/redis';

const REDIS_PORT = 6379;
const PRODUCER_PORT = 8080;
const BEDROCK_PORT = 4010;
const OLLAMA_PORT = 11434;
const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out'];

interface WorkerHostNode {
  node: string;
  emulators?: NsProcess;
  worker?: NsProcess;
  bedrock: AxiosInstance;
  ollama: AxiosInstance;
  outputDir: string;
}

interface Calls {
  cloud: number;
  local: number;
}

describe('multi-host: Redis, producer and two worker hosts in separate network namespaces', function () {
  this.timeout(240_000);
  let lab: NetnsLab | undefined;
  let redis: Redis;
  let queues: Queue[] = [];
  let producer: AxiosInstance;
  const hosts: WorkerHostNode[] = [];
  const prefix = uniquePrefix('mh');
  const procs: NsProcess[] = [];

  const diagnose = () => procs.map((p) => `--- ${p.label} (${p.running() ? 'running' : 'exited'})\n${p.output().slice(-1500)}`).join('\n');

  function workerEnv(h: WorkerHostNode): Record<string, string> {
    return {
      REDIS_URL: `redis://${lab!.address('redis')}:${REDIS_PORT}`,
      QUEUE_PREFIX: prefix,
      WORKER_ROLES: 'cloud,local,transcript',
      BEDROCK_ENDPOINT: `http://127.0.0.1:${BEDROCK_PORT}`,
      OLLAMA_HOST: `http://127.0.0.1:${OLLAMA_PORT}`,
      OUTPUT_DIR: h.outputDir,
      CLOUD_CONCURRENCY: '2',
      LOCAL_CONCURRENCY: '1',
      LOCK_DURATION_MS: '3000',
      STALLED_INTERVAL_MS: '1000',
      BACKOFF_DELAY_MS: '100',
      LOG_LEVEL: 'info',
    };
  }

  /** Names of the BullMQ workers registered on each queue (from CLIENT LIST: `<queue client>:w:<name>`). */
  async function namesPerQueue(): Promise<string[][]> {
    return Promise.all(
      queues.map(async (q) => (await q.getWorkers()).map((w) => String(w.rawname ?? '').split(':w:')[1] ?? '').filter(Boolean)),
    );
  }

  async function workerNames(): Promise<string[]> {
    return [...new Set((await namesPerQueue()).flat())];
  }

  /** The BullMQ worker name `workers/main.ts` gives itself: `<hostname>-<pid>`. */
  const nameOf = (p: NsProcess) => names.get(p.pid);
  const names = new Map<number, string>();

  async function startWorker(h: WorkerHostNode): Promise<NsProcess> {
    const worker = lab!.spawn(h.node, process.execPath, ['--import', 'tsx', 'workers/main.ts'], workerEnv(h), `${h.node}:worker`);
    procs.push(worker);
    const name = await poll(
      `${h.node}'s workers to register in Redis`,
      60_000,
      async () => {
        if (!worker.running()) throw new Error(`worker on ${h.node} exited:\n${worker.output()}`);
        // One BullMQ Worker per role, each named `<hostname>-<pid>`.
        const perQueue = (await namesPerQueue()).map((list) => list.find((n) => n.endsWith(`-${worker.pid}`)));
        return perQueue.every(Boolean) ? perQueue[0] : undefined;
      },
      diagnose,
    );
    names.set(worker.pid, name);
    h.worker = worker;
    return worker;
  }

  async function calls(h: WorkerHostNode): Promise<Calls> {
    const [b, o] = await Promise.all([h.bedrock.get('/_emulator/stats'), h.ollama.get('/_emulator/stats')]);
    assert.equal(b.status, 200);
    assert.equal(o.status, 200);
    return { cloud: sumModelCalls(b.data), local: sumModelCalls(o.data) };
  }

  /** Model calls only (the emulators also count `/api/tags`-style routes). */
  function sumModelCalls(stats: { byModel: Record<string, number> }): number {
    return Object.values(stats.byModel).reduce((a, b) => a + b, 0);
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

  async function activeJobs(): Promise<Job[]> {
    return (await Promise.all(queues.map((q) => q.getJobs(['active'])))).flat().filter(Boolean);
  }

  before(async function () {
    const support = netnsSupport();
    if (!support.ok) {
      console.log(`    skipping the multi-host test: ${support.reason}`);
      this.skip();
    }
    lab = await createNetnsLab(['redis', 'producer', 'host1', 'host2']);

    // Redis: reachable by the other namespaces on the bridge; by this test through a Unix socket.
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
          '--appendonly',
          'yes',
          '--save',
          '',
          '--maxmemory-policy',
          'noeviction',
        ],
        {},
        'redis',
      ),
    );
    redis = new IORedis({ path: sock, maxRetriesPerRequest: null, lazyConnect: true });
    await poll(
      'redis-server',
      10_000,
      async () => (fs.existsSync(sock) ? ((await redis.ping().catch(() => undefined)) as string | undefined) : undefined),
      diagnose,
    );
    // The queues of the roles the hosts run (WORKER_ROLES below; no judge: JUDGE_RUBRIC_FILE is unset).
    queues = Object.values(QUEUE_NAMES)
      .filter((name) => name !== QUEUE_NAMES.judge)
      .map((name) => new Queue(name, { connection: redis, prefix }));

    const producerProc = lab.spawn(
      'producer',
      process.execPath,
      ['--import', 'tsx', 'producer/main.ts'],
      {
        REDIS_URL: `redis://${lab.address('redis')}:${REDIS_PORT}`,
        QUEUE_PREFIX: prefix,
        PORT: String(PRODUCER_PORT),
        HOST: '0.0.0.0',
        // Inside the lab's private network only; the test reaches it through a socket.
        ALLOW_UNAUTHENTICATED: 'true',
        // axios over a unix socket sends `Host: [::1]` (no port).
        ALLOWED_HOSTS: 'lab,[::1]',
        LOG_LEVEL: 'warn',
      },
      'producer',
    );
    procs.push(producerProc);
    const [producerSock] = await lab.forward('producer', [PRODUCER_PORT]);
    producer = viaSocket(producerSock!);

    for (const node of ['host1', 'host2']) {
      const outputDir = path.join(lab.dir, `${node}-out`);
      fs.mkdirSync(outputDir);
      const emulators = lab.spawn(
        node,
        process.execPath,
        ['--import', 'tsx', 'emulators/main.ts'],
        {
          EMULATOR_HOST: '127.0.0.1',
          BEDROCK_EMULATOR_PORT: String(BEDROCK_PORT),
          OLLAMA_EMULATOR_PORT: String(OLLAMA_PORT),
          OPENAI_EMULATOR_PORT: '0',
          EMULATOR_LATENCY_MS: '60',
        },
        `${node}:emulators`,
      );
      procs.push(emulators);
      const [b, o] = await lab.forward(node, [BEDROCK_PORT, OLLAMA_PORT]);
      hosts.push({ node, emulators, bedrock: viaSocket(b!), ollama: viaSocket(o!), outputDir });
    }
    await poll(
      'the producer to be ready',
      60_000,
      async () => ((await producer.get('/ready')).status === 200 ? true : undefined),
      diagnose,
    );
    for (const h of hosts)
      await poll(
        `${h.node}'s emulators`,
        60_000,
        async () => ((await h.ollama.get('/api/version')).status === 200 ? true : undefined),
        diagnose,
      );
    for (const h of hosts) await startWorker(h);
  });

  after(async function () {
    this.timeout(30_000);
    for (const q of queues) await q.close().catch(() => undefined);
    await redis?.quit().catch(() => redis.disconnect());
    await lab?.close();
  });

  it('the hosts reach Redis only over the lab network, and each sees only its own loopback emulators', async () => {
    // The worker hosts were given REDIS_URL with Redis's bridge address; the emulators they use
    // are on 127.0.0.1 inside their own namespace, which is a different loopback per host.
    const [one, two] = hosts;
    await one!.ollama.delete('/_emulator/stats');
    await two!.ollama.delete('/_emulator/stats');
    await one!.ollama.get('/api/tags');
    const s1 = (await one!.ollama.get('/_emulator/stats')).data;
    const s2 = (await two!.ollama.get('/_emulator/stats')).data;
    assert.equal(s1.calls, 1);
    assert.equal(s2.calls, 0);
    const clients = String(await redis.client('LIST'));
    for (const h of hosts)
      assert.match(clients, new RegExp(`addr=${lab!.address(h.node).replace(/\./g, '\\.')}:`), `${h.node} connects from its own address`);
  });

  it('conversations complete with the work spread over both hosts', async () => {
    for (const h of hosts) await Promise.all([h.bedrock.delete('/_emulator/stats'), h.ollama.delete('/_emulator/stats')]);
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => submit(`Spread question ${i + 1}`, 3)));
    const views = await waitAll(ids, 90_000);
    for (const v of views) {
      assert.equal(v.status, 'completed', JSON.stringify(v));
      assert.equal(v.turnsCompleted, 3);
    }
    const [c1, c2] = await Promise.all(hosts.map(calls));
    const files = hosts.map((h) => fs.readdirSync(h.outputDir).length);
    console.log(
      `      work split: host1 cloud ${c1!.cloud} local ${c1!.local} transcripts ${files[0]}; host2 cloud ${c2!.cloud} local ${c2!.local} transcripts ${files[1]}`,
    );
    // Exactly one model call per side and turn (no failures injected), over both hosts.
    assert.equal(c1!.cloud + c2!.cloud, 18);
    assert.equal(c1!.local + c2!.local, 18);
    assert.equal(files[0]! + files[1]!, 6);
    for (const c of [c1!, c2!]) {
      assert.ok(c.cloud >= 2, `each host did cloud calls: ${JSON.stringify([c1, c2])}`);
      assert.ok(c.local >= 2, `each host did local calls: ${JSON.stringify([c1, c2])}`);
    }
    // The transcript is served by the producer from Redis, whichever host wrote the file.
    const csv = await producer.get(`/conversation/${ids[0]}/transcript`);
    assert.equal(csv.status, 200);
    assert.equal(String(csv.data).trim().split('\n').length, 1 + 3);
  });

  it("kill -9 of one host's workers mid-turn: the other host picks the job up after the lock expires and finishes everything", async () => {
    const [one, two] = hosts;
    for (const h of hosts) await h.ollama.post('/_emulator/faults', { latencyMs: 400 });
    const ids = await Promise.all(Array.from({ length: 4 }, (_, i) => submit(`Failover question ${i + 1}`, 4)));
    const victim = one!.worker!;
    const victimName = nameOf(victim)!;
    const job = await poll(
      'host1 to be working on a job',
      30_000,
      async () => (await activeJobs()).find((j) => j.processedBy === victimName),
      diagnose,
    );
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    // A request the victim sent just before dying may still be counted on arrival: settle first.
    await new Promise((r) => setTimeout(r, 500));
    const before = await calls(one!);

    // The job host1 held comes back (stalled → waiting) and host2 runs it, or has finished it.
    const survivor = nameOf(two!.worker!)!;
    const queue = queues.find((q) => q.name === job.queueName)!;
    await poll(
      `job ${job.id} to move to host2`,
      30_000,
      async () => {
        const now = await queue.getJob(job.id!);
        return !now || now.processedBy === survivor || (await now.getState()) === 'completed' ? true : undefined;
      },
      diagnose,
    );
    const failoverMs = Date.now() - killedAt;

    const views = await waitAll(ids, 120_000);
    const doneMs = Date.now() - killedAt;
    for (const v of views) {
      assert.equal(v.status, 'completed', JSON.stringify(v));
      assert.equal(v.turnsCompleted, 4);
      // Exactly-once effects: the re-run job did not add a row.
      const csv = await producer.get(`/conversation/${v.conversationId}/transcript`);
      assert.equal(String(csv.data).trim().split('\n').length, 1 + 4);
    }
    const after = await calls(one!);
    assert.deepEqual(after, before, 'host1 made no call after its workers died');
    console.log(
      `      failover: job ${job.id} (${job.queueName}) back on host2 ${failoverMs} ms after kill -9 (lock 3000 ms, stalled check 1000 ms); all 4 conversations done ${doneMs} ms after`,
    );
    assert.ok(failoverMs < 15_000, `failover took ${failoverMs} ms`);
  });

  it("SIGTERM of a host's workers: they stop cleanly and the remaining host takes the queue", async () => {
    const [one, two] = hosts;
    await startWorker(one!); // host1 back in the fleet
    for (const h of hosts) await h.ollama.post('/_emulator/faults', { latencyMs: 300 });
    const ids = await Promise.all(Array.from({ length: 3 }, (_, i) => submit(`Drain question ${i + 1}`, 4)));
    const leaving = two!.worker!;
    await poll(
      'host2 to be working on a job',
      30_000,
      async () => ((await activeJobs()).some((j) => j.processedBy === nameOf(leaving)) ? true : undefined),
      diagnose,
    );
    const stoppingAt = Date.now();
    const exit = await leaving.stop('SIGTERM', 20_000);
    const shutdownMs = Date.now() - stoppingAt;
    assert.equal(exit.code, 0, `graceful exit, got ${JSON.stringify(exit)}\n${leaving.output().slice(-2000)}`);
    assert.ok(!(await workerNames()).includes(nameOf(leaving)!), 'host2 deregistered from Redis');
    const before = await calls(two!);

    const views = await waitAll(ids, 120_000);
    for (const v of views) {
      assert.equal(v.status, 'completed', JSON.stringify(v));
      assert.equal(v.turnsCompleted, 4);
    }
    assert.deepEqual(await calls(two!), before, 'host2 made no call after it stopped');
    console.log(
      `      graceful stop: host2's worker exited ${shutdownMs} ms after SIGTERM; host1 finished the ${ids.length} conversations`,
    );
  });
});
