/**
 * `npm start` on its embedded Redis, as real processes (stack/main.ts), surviving what a laptop
 * does: its redis-server killed (supervised restart on the same port and data dir, AOF replayed),
 * Ctrl-C mid-run and a new start (resume from REDIS_DATA_DIR), a second stack on the same data
 * dir (refused), a long Redis outage (bounded log lines) and SIGTERM while Redis is gone (bounded
 * stop). Every test uses its own temp REDIS_DATA_DIR and OUTPUT_DIR and free ports (PORT=0).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { Redis } from 'ioredis';
import { isTerminal } from '../../../conversation/model';
import { ConversationStore } from '../../../store/conversation-store';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../shared/embedded-redis';
import { pidAlive } from '../../../stack/data-dir-lock';
import { SHUTDOWN_BOUND_MS } from '../../../stack/shutdown-bounds';
import { checkCompleteTranscript } from '../../faults/fixtures/transcript-check';
import { until } from '../../helpers/test-stack';
import { startProcess, type RunningProcess } from './processes';

/** Redis answers again within this after a kill -9 (100 ms backoff + start + AOF load; loaded CI). */
const REDIS_BACK_MS = 5000;
const MAX_TURNS = 4;

interface Started {
  proc: RunningProcess;
  url: string;
  redisUrl: string;
  resumed?: number;
}

describe('npm start on the embedded Redis: kills, restarts and outages', function () {
  this.timeout(120_000);
  const running: RunningProcess[] = [];
  const dirs: string[] = [];
  const redises: EmbeddedRedis[] = [];
  const conns: Redis[] = [];
  const tmp = (name: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `llmconv-${name}-`));
    dirs.push(d);
    return d;
  };

  /** redis-servers a killed stack left behind, stopped here if a test fails before its successor does. */
  const orphans: number[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill()));
    for (const pid of orphans.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const c of conns.splice(0)) c.disconnect();
    await Promise.all(redises.splice(0).map((r) => r.stop()));
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function env(dataDir: string, outputDir: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      REDIS_DATA_DIR: dataDir,
      OUTPUT_DIR: outputDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      EMULATOR_LATENCY_MS: '150',
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      BACKOFF_DELAY_MS: '50',
      ...extra,
    };
  }

  /** Starts stack/main.ts and reads the producer and Redis URLs from its banner. */
  async function startStack(e: Record<string, string>): Promise<Started> {
    const proc = startProcess('stack/main.ts', e);
    running.push(proc);
    await until(() => /output dir/.test(proc.output()) || proc.child.exitCode !== null, 60_000, 'the start-up banner');
    const out = proc.output();
    const url = /producer\s+(http:\/\/\S+)/.exec(out)?.[1];
    const redisUrl = /redis\s+(redis:\/\/\S+)/.exec(out)?.[1];
    assert.ok(url && redisUrl, `banner with URLs:\n${out.slice(-2000)}`);
    const resumed = /resumed\s+(\d+) unfinished/.exec(out)?.[1];
    return { proc, url, redisUrl, resumed: resumed === undefined ? undefined : Number(resumed) };
  }

  async function post(url: string, n: number, maxTurns = MAX_TURNS): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await axios.post(
        `${url}/conversation`,
        { initialQuery: `Laptop question ${i}`, maxTurns },
        { validateStatus: () => true },
      );
      assert.equal(res.status, 202, JSON.stringify(res.data));
      ids.push(res.data.conversationId);
    }
    return ids;
  }

  async function storeOf(redisUrl: string): Promise<ConversationStore> {
    const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
    conn.on('error', () => undefined);
    conns.push(conn);
    return new ConversationStore(conn, { prefix: '{llmconv}', retentionSeconds: 86_400 });
  }

  async function allTerminal(store: ConversationStore, ids: string[]): Promise<boolean> {
    for (const id of ids) if (!isTerminal((await store.get(id))?.status)) return false;
    return true;
  }

  /** The step jobs a process's logs say it recorded ("cloud reply recorded", "follow-up recorded"). */
  const recordedJobs = (p: RunningProcess) =>
    new Set(p.logs.filter((l) => typeof l.jobId === 'string' && /recorded/.test(String(l.msg))).map((l) => String(l.jobId)));

  it(`kill -9 of the embedded redis-server mid-run: it is back within ${REDIS_BACK_MS} ms, every conversation completes, each turn once`, async () => {
    const outputDir = tmp('out');
    const s = await startStack(env(path.join(tmp('data'), 'redis'), outputDir));
    const ready = await s.proc.waitForLog((l) => l.msg === 'embedded redis-server ready');
    const redisPid = Number(ready.redisPid);
    const ids = await post(s.url, 10);
    const store = await storeOf(s.redisUrl);
    await until(async () => (await store.getConversation(ids[0]!))!.turns.length >= 1, 20_000, 'the run to be under way');
    assert.equal(await allTerminal(store, ids), false, 'the kill lands mid-run');

    process.kill(redisPid, 'SIGKILL');
    const killedAt = Date.now();
    const down = await s.proc.waitForLog((l) => /embedded redis-server died/.test(String(l.msg)), 10_000);
    const back = await s.proc.waitForLog((l) => /embedded redis-server restarted/.test(String(l.msg)), 20_000);
    assert.equal(down.signal, 'SIGKILL');
    assert.ok(Number(back.afterMs) <= REDIS_BACK_MS, `Redis back after ${back.afterMs} ms`);
    assert.ok(Date.now() - killedAt < 20_000);
    assert.match(String(back.aof), /loaded from append only file/, 'the AOF was replayed');
    assert.notEqual(Number(back.redisPid), redisPid);

    await until(() => allTerminal(store, ids), 60_000, 'every conversation to finish');
    let rows = 0;
    for (const id of ids) rows += await checkCompleteTranscript(store, outputDir, id, MAX_TURNS);
    assert.equal(rows, ids.length * MAX_TURNS);
    assert.doesNotMatch(s.proc.output(), /Unhandled error event/);
    const deaths = s.proc.logs.filter((l) => /embedded redis-server (died|restarted)/.test(String(l.msg)));
    assert.equal(deaths.length, 2, 'one line for the death, one for the restart');
    console.log(
      `      [figures] embedded-redis-kill ${JSON.stringify({ restartAfterMs: back.afterMs, aof: back.aof, rows, outageLines: s.proc.logs.filter((l) => /Redis (unreachable|still unreachable|reachable again)/.test(String(l.msg))).length })}`,
    );
  });

  it('SIGINT mid-run, then npm start again on the same REDIS_DATA_DIR: the banner counts the unfinished conversations and they complete from where they were', async () => {
    const outputDir = tmp('out');
    const dataDir = path.join(tmp('data'), 'redis');
    const e = env(dataDir, outputDir, { EMULATOR_LATENCY_MS: '250' });
    const first = await startStack(e);
    const ids = await post(first.url, 8, 6);
    const store1 = await storeOf(first.redisUrl);
    await until(async () => (await store1.getConversation(ids[0]!))!.turns.length >= 2, 30_000, 'a few turns done');
    for (const c of conns.splice(0)) c.disconnect();
    const stopAt = Date.now();
    first.proc.child.kill('SIGINT');
    const { code, at } = await first.proc.exited;
    assert.equal(code, 0, first.proc.output().slice(-2000));
    assert.ok(at - stopAt <= SHUTDOWN_BOUND_MS, `stopped in ${at - stopAt} ms`);
    assert.ok(!fs.existsSync(path.join(dataDir, 'llmconv.lock')), 'the lock is released on stop');

    const second = await startStack(e);
    const store = await storeOf(second.redisUrl);
    await until(() => allTerminal(store, ids), 60_000, 'the resumed conversations to finish');
    // The banner's count is what was unfinished at the stop: those finished by the second stack.
    const finishedLater = (await Promise.all(ids.map((id) => store.get(id)))).filter((r) => (r!.finishedAt ?? 0) >= at).length;
    assert.ok(finishedLater > 0, 'the stop landed mid-run');
    assert.equal(second.resumed, finishedLater, 'the banner says how many conversations it resumes');
    let rows = 0;
    for (const id of ids) rows += await checkCompleteTranscript(store, outputDir, id, 6);
    // From where they were: no step the first stack recorded was recorded again by the second.
    const before = recordedJobs(first.proc);
    const redone = [...recordedJobs(second.proc)].filter((j) => before.has(j));
    assert.deepEqual(redone, [], 'no step done twice');
    assert.ok(before.size > 0 && recordedJobs(second.proc).size > 0);
    console.log(
      `      [figures] embedded-resume ${JSON.stringify({ conversations: ids.length, unfinishedAtStop: finishedLater, stepsBefore: before.size, stepsAfter: recordedJobs(second.proc).size, stopMs: at - stopAt, rows })}`,
    );
  });

  it('kill -9 of npm start itself mid-run: the next start stops the orphaned redis-server, re-queues the interrupted steps at once (well before their locks expire) and completes everything', async () => {
    const LOCK_MS = 60_000;
    const outputDir = tmp('out');
    const dataDir = path.join(tmp('data'), 'redis');
    const e = env(dataDir, outputDir, { EMULATOR_LATENCY_MS: '400', LOCK_DURATION_MS: String(LOCK_MS), STALLED_INTERVAL_MS: '1000' });
    const first = await startStack(e);
    const orphan = Number((await first.proc.waitForLog((l) => l.msg === 'embedded redis-server ready')).redisPid);
    orphans.push(orphan);
    const ids = await post(first.url, 6, 5);
    const store1 = await storeOf(first.redisUrl);
    await until(async () => (await store1.getConversation(ids[0]!))!.turns.length >= 1, 30_000, 'the run to be under way');
    for (const c of conns.splice(0)) c.disconnect();
    first.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.proc.exited;
    assert.ok(pidAlive(orphan), 'its redis-server outlives it (own process group)');

    const second = await startStack(e);
    const took = await second.proc.waitForLog((l) => l.msg === 'took over the lock of a stack that is gone');
    assert.equal((took.previousOwner as { pid: number; redisPid: number }).pid, first.proc.child.pid);
    assert.equal((took.previousOwner as { redisPid: number }).redisPid, orphan);
    assert.equal(pidAlive(orphan), false, 'the orphaned redis-server was stopped before a new one started on the dir');
    const resuming = await second.proc.waitForLog((l) => /^resuming \d+ unfinished conversations/.test(String(l.msg)));
    assert.ok(Number(resuming.activeReleased) >= 1, `steps left active by the killed stack were released: ${JSON.stringify(resuming)}`);
    assert.match(second.proc.output(), /interrupted steps? re-queued/);
    const store = await storeOf(second.redisUrl);
    await until(() => allTerminal(store, ids), LOCK_MS - 5000, 'every conversation to finish before the old locks would have expired');
    assert.ok(Date.now() - killedAt < LOCK_MS, 'recovered through the released locks, not their expiry');
    let rows = 0;
    for (const id of ids) rows += await checkCompleteTranscript(store, outputDir, id, 5);
    console.log(
      `      [figures] embedded-stack-kill ${JSON.stringify({ conversations: ids.length, unfinished: resuming.unfinished, activeReleased: resuming.activeReleased, recoveredMs: Date.now() - killedAt, lockMs: LOCK_MS, rows })}`,
    );
  });

  it("a redis-server that keeps dying: restarted 5 times, then the stack gives up loudly (exit 1, Redis's last log lines)", async () => {
    const s = await startStack(env(path.join(tmp('data'), 'redis'), tmp('out')));
    let pid = Number((await s.proc.waitForLog((l) => l.msg === 'embedded redis-server ready')).redisPid);
    const restarted = () => s.proc.logs.filter((l) => /embedded redis-server restarted/.test(String(l.msg)));
    for (let death = 1; death <= 6; death++) {
      process.kill(pid, 'SIGKILL');
      if (death === 6) break;
      await until(() => restarted().length >= death, 20_000, `restart ${death}`);
      pid = Number(restarted()[death - 1]!.redisPid);
    }
    const { code } = await s.proc.exited;
    assert.equal(code, 1, 'exits non-zero');
    const out = s.proc.output();
    assert.match(out, /embedded redis-server keeps dying \(redis-server died 6 times within 60000 ms; giving up\); its last log lines:\n/);
    assert.match(out.split('its last log lines:')[1]!, /Ready to accept connections/, "the tail is Redis's own log");
    // One line per event, no silent loop: 5 deaths announced, 5 restarts, then the give-up.
    assert.equal(s.proc.logs.filter((l) => /embedded redis-server died/.test(String(l.msg))).length, 5);
    assert.equal(restarted().length, 5);
  });

  it('a second stack on the same data dir refuses with a message naming the first', async () => {
    const dataDir = path.join(tmp('data'), 'redis');
    const first = await startStack(env(dataDir, tmp('out')));
    const second = startProcess('stack/main.ts', env(dataDir, tmp('out')));
    running.push(second);
    const { code } = await second.exited;
    assert.equal(code, 1);
    assert.match(
      second.output(),
      new RegExp(
        `data dir ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another llmconv stack \\(pid ${first.proc.child.pid}`,
      ),
    );
    assert.match(second.output(), /REDIS_DATA_DIR/);
    // The first is untouched.
    assert.equal((await axios.get(`${first.url}/ready`, { validateStatus: () => true })).status, 200);
  });

  it('a stale lock from a dead process is taken over', async () => {
    const dataDir = path.join(tmp('data'), 'redis');
    fs.mkdirSync(dataDir, { recursive: true });
    // A pid that cannot be alive: above Linux's pid_max limit (4194304).
    fs.writeFileSync(path.join(dataDir, 'llmconv.lock'), JSON.stringify({ pid: 4_194_305, startedAt: '2020-01-01T00:00:00.000Z' }));
    const s = await startStack(env(dataDir, tmp('out')));
    const line = await s.proc.waitForLog((l) => l.msg === 'took over the lock of a stack that is gone');
    assert.equal((line.previousOwner as { pid: number }).pid, 4_194_305);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dataDir, 'llmconv.lock'), 'utf8')).pid, s.proc.child.pid);
  });

  it('a 10 s Redis outage logs a bounded number of lines, /ready says why, and SIGTERM then ends the stack within the bound', async () => {
    // An external Redis here (REDIS_URL), so the outage lasts as long as the test wants.
    const redis = await startEmbeddedRedis();
    redises.push(redis);
    const e = env('', tmp('out'), { REDIS_URL: redis.url });
    delete e.REDIS_DATA_DIR;
    const s = await startStack(e);
    await post(s.url, 3);
    await redis.kill('SIGKILL');
    const downAt = Date.now();
    const linesBefore = s.proc.logs.length;
    await new Promise((r) => setTimeout(r, 10_500));
    const ready = await axios.get(`${s.url}/ready`, { validateStatus: () => true });
    assert.equal(ready.status, 503);
    assert.match(JSON.stringify(ready.data), /Redis is not reachable/);
    const during = s.proc.logs.slice(linesBefore);
    const warnOrWorse = during.filter((l) => Number(l.level) >= 40);
    const outageLines = during.filter((l) => /Redis (unreachable|still unreachable)/.test(String(l.msg)));
    assert.ok(outageLines.length >= 1 && outageLines.length <= 3, `outage reported once, then every 10 s: ${outageLines.length} lines`);
    assert.ok(
      warnOrWorse.length <= 10,
      `at most 10 warning/error lines in a 10 s outage, got ${warnOrWorse.length}: ${JSON.stringify(warnOrWorse.map((l) => l.msg))}`,
    );
    assert.doesNotMatch(s.proc.output(), /Unhandled error event/);

    const stopAt = Date.now();
    s.proc.child.kill('SIGTERM');
    const { code, at } = await s.proc.exited;
    assert.equal(code, 0, s.proc.output().slice(-2000));
    assert.ok(at - stopAt <= SHUTDOWN_BOUND_MS, `stopped in ${at - stopAt} ms (bound ${SHUTDOWN_BOUND_MS})`);
    console.log(
      `      [figures] embedded-outage ${JSON.stringify({ outageMs: stopAt - downAt, linesDuring: during.length, warnOrWorse: warnOrWorse.length, outageLines: outageLines.length, sigtermToExitMs: at - stopAt, boundMs: SHUTDOWN_BOUND_MS })}`,
    );
  });
});
