/**
 * The compose rig, run for real: `docker compose --profile offline up -d --build` of this
 * repository's docker-compose.yml and Dockerfile on a real Docker engine, driven only through the
 * producer's published port (a free host port via PRODUCER_HOST_PORT) and the docker CLI, with
 * `.env.example` as the env file, exactly as the rig section of docs/deploy.md tells a user to,
 * with what it asks the user to fill in filled (a board password of one's own, an API_KEY).
 *
 * Docker comes from `../shared/rig/setup-docker.sh` beside the checkout (as in CI; idempotent,
 * needs root). Where Docker cannot run at all (not root and no engine) the test prints why and
 * skips; under CI as root a missing engine is a failure.
 *
 * Printed figures: build time and builds per `up`, image size, time to healthy, the kill and the
 * Redis restart, the SIGTERM drain.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { parse as parseCsv } from 'csv-parse/sync';
import { freePort } from '../../shared/embedded-redis';
import { CSV_COLUMNS } from '../../transcript/transcript-csv';

const ROOT = path.resolve(__dirname, '../..');
const SETUP_SCRIPT = path.resolve(ROOT, '..', 'shared', 'rig', 'setup-docker.sh');
const IMAGE = 'llmconv:local';
const PREFIX = '{llmconv}';
const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out'];
/** Per emulated call: long enough that jobs are in flight when a container is killed. */
const EMULATOR_LATENCY_MS = 200;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end; `onLine` sees each output line as it comes (for timing). */
function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onLine?: (line: string) => void } = {},
): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines = (d: Buffer) => {
      if (!opts.onLine) return;
      partial += d.toString();
      const all = partial.split('\n');
      partial = all.pop()!;
      all.forEach(opts.onLine);
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      lines(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      lines(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${(r.stdout + r.stderr).slice(-4000)}`);
  return r.stdout;
}

const dockerUp = () => spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 }).status === 0;

/**
 * Makes Docker available with that script when it is not yet (as CI does on a fresh
 * machine). Returns why Docker cannot run here, or undefined when it runs.
 */
async function ensureDocker(): Promise<string | undefined> {
  if (dockerUp()) return undefined;
  const root = process.getuid?.() === 0;
  if (!root) return 'no running Docker engine, and installing one (../shared/rig/setup-docker.sh) needs root';
  if (!fs.existsSync(SETUP_SCRIPT)) return `no running Docker engine and no ${path.relative(ROOT, SETUP_SCRIPT)} to install one`;
  const r = await run('bash', [SETUP_SCRIPT], { timeoutMs: 15 * 60_000 });
  console.log(`      setup-docker.sh: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s`);
  if (r.code !== 0 || !dockerUp()) return `setup-docker.sh could not start Docker:\n${(r.stdout + r.stderr).slice(-2000)}`;
  return undefined;
}

async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, diagnose?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${diagnose ? `\n${await diagnose()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

describe('the compose rig, run for real (docker compose --profile offline)', function () {
  // Each step sets its own bound; the build dominates (npm ci in the image, about 1-2.5 min).
  this.timeout(5 * 60_000);
  const project = `llmconv-rig-${process.pid}`;
  let port = 0;
  let http: AxiosInstance;
  let env: NodeJS.ProcessEnv;
  let upDone = false;
  // .env.example as a user fills it: the shipped "change-me" and the API_KEY placeholder refuse to start.
  const apiKey = `rig-api-key-${process.pid}`;
  const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-rig-env-')), '.env');
  fs.writeFileSync(
    envFile,
    fs
      .readFileSync(path.join(ROOT, '.env.example'), 'utf8')
      .replace(/^BOARD_PASSWORD=change-me$/m, 'BOARD_PASSWORD=rig-board-password')
      .replace(/^API_KEY=__SET_ME__$/m, `API_KEY=${apiKey}`),
  );
  const board = (() => {
    const lines = fs.readFileSync(envFile, 'utf8').split('\n');
    const get = (k: string) =>
      lines
        .find((l) => l.startsWith(`${k}=`))!
        .slice(k.length + 1)
        .trim();
    return { username: get('BOARD_USERNAME'), password: get('BOARD_PASSWORD') };
  })();

  const compose = (args: string[], opts: { timeoutMs?: number; onLine?: (line: string) => void } = {}) =>
    run('docker', ['compose', '-p', project, '--env-file', envFile, '--profile', 'offline', ...args], { env, ...opts });
  const containers = async (service: string) =>
    ok(await compose(['ps', '-q', service]), `ps ${service}`)
      .split('\n')
      .filter(Boolean);
  const redisCli = async (...args: string[]) =>
    ok(await compose(['exec', '-T', 'redis', 'redis-cli', '--raw', ...args]), `redis-cli ${args[0]}`).trim();
  /** The `/metrics` text of one worker container, read inside it (the port is not published). */
  const metricsOf = async (id: string) =>
    ok(
      await run('docker', [
        'exec',
        id,
        'node',
        '-e',
        "fetch('http://127.0.0.1:9464/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))",
      ]),
      `metrics of ${id}`,
    );
  const callsIn = (metrics: string) =>
    metrics
      .split('\n')
      .filter((l) => l.startsWith('llmconv_turn_latency_seconds_count'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  /** A transcript as the worker wrote it, read straight from the volume. */
  const readTranscript = async (file: string) =>
    ok(
      await run(
        'docker',
        ['run', '--rm', '--network', 'none', '-v', `${project}_transcripts:/data/output:ro`, '--entrypoint', 'cat', IMAGE, file],
        { env },
      ),
      `cat ${file}`,
    );
  /** A test script of test/integration/lua/ (its header names KEYS and ARGV). */
  const luaFile = (name: string) => fs.readFileSync(path.join(__dirname, 'lua', `${name}.lua`), 'utf8');
  // BullMQ's job hash fields, as its Lua scripts write them (taskforcesh/bullmq, read in
  // node_modules/bullmq/dist/cjs/commands/): `pb` = the worker's name, set when a job is taken
  // (includes/prepareJobForProcessing.lua); `stc` = times found stalled (moveStalledJobsToWait-9.lua).
  /** The active cloud and local jobs with the worker holding each (`pb`: `<hostname>-<pid>`, the hostname being the container's short id), read in one script. */
  const activeJobs = async (): Promise<[string, string][]> => {
    const out = await redisCli('EVAL', luaFile('active-jobs'), '1', PREFIX, 'cloud', 'local');
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]);
  };
  /** The worker holding each job (`pb`) and its stalled count (`stc`); `pb` undefined once the job is gone. */
  const jobStates = async (jobs: string[]): Promise<{ pb?: string; stc: number }[]> => {
    const lines = (await redisCli('EVAL', luaFile('job-states'), '1', PREFIX, ...jobs)).split('\n');
    return jobs.map((_, i) => {
      const [pb, stc] = lines[i]!.split(' ');
      return { pb: pb === 'gone' ? undefined : pb, stc: Number(stc) };
    });
  };
  /** Sets both emulators' latency per call at run time (`POST /_emulator/faults`), or back to the start-up value. */
  const emulatorLatency = async (latencyMs: number | undefined) => {
    const init = latencyMs === undefined ? "{ method: 'DELETE' }" : `{ method: 'POST', body: JSON.stringify({ latencyMs: ${latencyMs} }) }`;
    const code = `Promise.all([4010, 11434].map((p) => fetch('http://127.0.0.1:' + p + '/_emulator/faults', ${init}).then((r) => { if (!r.ok) throw new Error(p + ': ' + r.status); }))).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })`;
    ok(await compose(['exec', '-T', 'emulators', 'node', '-e', code]), `emulator latency ${latencyMs}`);
  };
  const logsTail = async () => (await compose(['logs', '--no-color', '--tail', '30'])).stdout;

  const submit = async (body: Record<string, unknown>) => {
    const res = await http.post('/conversation', body);
    assert.equal(res.status, 202, JSON.stringify(res.data));
    return res.data.conversationId as string;
  };
  const finished = (ids: string[], timeoutMs: number) =>
    poll(
      `${ids.length} conversations to finish`,
      timeoutMs,
      async () => {
        const views = await Promise.all(ids.map(async (id) => (await http.get(`/conversation/${id}`)).data));
        return views.every((v) => TERMINAL.includes(v.status) && (v.status !== 'completed' || v.transcriptFile)) ? views : undefined;
      },
      logsTail,
    );
  /** Every conversation completed with exactly its turns, each turn once in the view and in its CSV. */
  const assertEachTurnOnce = async (views: any[], turns: number) => {
    for (const v of views) {
      assert.equal(v.status, 'completed', `${v.conversationId}: ${v.status} ${v.error ?? ''}`);
      assert.equal(v.turnsCompleted, turns, v.conversationId);
      assert.deepEqual(
        v.turns.map((t: { turn: number }) => t.turn),
        Array.from({ length: turns }, (_, i) => i + 1),
        v.conversationId,
      );
      const rows = parseCsv(await readTranscript(v.transcriptFile), { columns: true }) as Record<string, string>[];
      assert.deepEqual(
        rows.map((r) => Number(r.turn)),
        Array.from({ length: turns }, (_, i) => i + 1),
        `${v.transcriptFile}: one row per turn`,
      );
      assert.ok(rows.every((r) => r.conversation_id === v.conversationId));
    }
  };

  before(async function () {
    this.timeout(20 * 60_000);
    const reason = await ensureDocker();
    if (reason) {
      if (process.env.CI && process.getuid?.() === 0) assert.fail(`CI runs as root, so Docker must run here: ${reason}`);
      console.log(`      skipping the compose rig: ${reason}`);
      this.skip();
    }
    port = await freePort();
    // Only what the rig needs: a developer's shell (API_KEY, MAX_TURNS...) must not change it.
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DOCKER_HOST: process.env.DOCKER_HOST,
      DOCKER_BUILDKIT: '0',
      PRODUCER_HOST_PORT: String(port),
      EMULATOR_LATENCY_MS: String(EMULATOR_LATENCY_MS),
    };
    http = axios.create({
      baseURL: `http://127.0.0.1:${port}`,
      validateStatus: () => true,
      timeout: 10_000,
      headers: { 'x-api-key': apiKey },
    });
  });

  after(async function () {
    this.timeout(120_000);
    if (!env) return;
    // Always leave nothing behind, also when a step failed.
    await compose(['down', '-v', '--remove-orphans', '-t', '5']);
  });

  it('up -d --build builds the image once and every service becomes healthy', async function () {
    this.timeout(15 * 60_000);
    const started = Date.now();
    let builtAt = 0;
    let builds = 0;
    const up = await compose(['up', '-d', '--build'], {
      timeoutMs: 14 * 60_000,
      onLine: (l) => {
        if (/^Successfully tagged /.test(l.trim())) builtAt = Date.now();
        if (/^Step 1\/\d+ :/.test(l.trim())) builds += 1;
      },
    });
    ok(up, 'docker compose up -d --build');
    upDone = true;
    assert.equal(builds, 1, `the image is built once per up (saw ${builds} builds)`);
    const services = ok(await compose(['config', '--services']), 'config --services')
      .split('\n')
      .filter(Boolean);
    const healthyAt = await poll(
      'every service healthy',
      120_000,
      async () => {
        const ps = ok(await compose(['ps', '-a', '--format', '{{.Service}} {{.Health}}']), 'ps');
        const health = new Map(
          ps
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(' ') as [string, string]),
        );
        return services.every((s) => health.get(s) === 'healthy') ? Date.now() : undefined;
      },
      logsTail,
    );
    console.log(
      `      build ${((builtAt - started) / 1000).toFixed(1)} s (${builds} build for ${services.length - 1} services of the image); healthy ${((healthyAt - builtAt) / 1000).toFixed(1)} s after the build (${((healthyAt - started) / 1000).toFixed(1)} s from up)`,
    );
  });

  it('the image is small: production dependencies only, no tests or unused source maps, runs as non-root', async function () {
    if (!upDone) this.skip();
    const size = Number(ok(await run('docker', ['image', 'inspect', IMAGE, '--format', '{{.Size}}'], { env }), 'inspect').trim());
    const baseImage = `node:${/^ARG NODE_VERSION=(\d+)$/m.exec(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))![1]}-bookworm-slim`;
    const base = Number(ok(await run('docker', ['image', 'inspect', baseImage, '--format', '{{.Size}}'], { env }), 'inspect base').trim());
    console.log(`      image ${IMAGE}: ${mb(size)}, of which ${mb(size - base)} over ${baseImage} (${mb(base)})`);
    // Our layers: dist/ and production node_modules (about 40 MB when measured); a dev dependency
    // (TypeScript's native compiler alone is 30 MB) would break this.
    assert.ok(size - base < 60e6, `our layers are ${mb(size - base)}`);
    const probe = ok(
      await run(
        'docker',
        [
          'run',
          '--rm',
          '--network',
          'none',
          '--entrypoint',
          'sh',
          IMAGE,
          '-c',
          [
            'id -u',
            'ls node_modules/typescript node_modules/mocha node_modules/tsx node_modules/@types node_modules/playwright-core 2>/dev/null | wc -l',
            'ls dist/test dist/scripts dist/bench 2>/dev/null | wc -l',
            "find dist -name '*.test.js' | wc -l",
            "find node_modules -name '*.map' | wc -l",
            "find dist -name '*.js.map' | wc -l",
            "find dist/store/lua dist/coordination/lua -name '*.lua' | wc -l",
          ].join('; '),
        ],
        { env },
      ),
      'probe',
    )
      .trim()
      .split('\n')
      .map(Number);
    const [uid, devDeps, testDirs, testFiles, depMaps, distMaps, luaFiles] = probe;
    assert.notEqual(uid, 0, 'not root');
    assert.deepEqual({ devDeps, testDirs, testFiles, depMaps }, { devDeps: 0, testDirs: 0, testFiles: 0, depMaps: 0 });
    // dist's own maps stay: NODE_OPTIONS=--enable-source-maps maps stack traces to the TypeScript.
    assert.ok(distMaps! > 0);
    // The Lua scripts, which `npm run build` copies beside store/redis-script.js and coordination/redis-script.js.
    const luaIn = (dir: string) =>
      fs.readdirSync(path.join(__dirname, '../..', dir), { recursive: true }).filter((f) => String(f).endsWith('.lua')).length;
    assert.equal(luaFiles, luaIn('store/lua') + luaIn('coordination/lua'));
    assert.match(
      ok(await run('docker', ['image', 'inspect', IMAGE, '--format', '{{json .Config.Env}}'], { env }), 'env'),
      /--enable-source-maps/,
    );
  });

  it("a conversation with the seed's curl body completes through the published port, its CSV in the transcript volume", async function () {
    if (!upDone) this.skip();
    const id = await submit({ initialQuery: 'What is the meaning of life?', outputFile: '/opt/conversation-client/conversation.csv' });
    const [view] = await finished([id], 60_000);
    assert.equal(view.status, 'completed', view.error);
    assert.equal(view.maxTurns, 5, 'MAX_TURNS default');
    // The seed's absolute path is kept to its file name inside OUTPUT_DIR (the volume).
    assert.equal(view.transcriptFile, '/data/output/conversation.csv');
    const csv = await readTranscript(view.transcriptFile);
    const rows = parseCsv(csv, { columns: true }) as Record<string, string>[];
    assert.deepEqual(Object.keys(rows[0]!), [...CSV_COLUMNS]);
    assert.deepEqual(
      rows.map((r) => Number(r.turn)),
      [1, 2, 3, 4, 5],
    );
    assert.equal(rows[0]!.query, 'What is the meaning of life?');
    assert.ok(rows.every((r) => r.cloud_response && r.ollama_response));
  });

  it('Bull Board opens from the host with the .env credentials, and asks for them (Basic) without', async function () {
    if (!upDone) this.skip();
    const bare = await http.get('/admin/queues');
    assert.equal(bare.status, 401);
    assert.match(String(bare.headers['www-authenticate']), /^Basic /, 'the browser asks for the login');
    const wrong = await http.get('/admin/queues', { auth: { username: board.username, password: `${board.password}x` } });
    assert.equal(wrong.status, 401);
    const page = await http.get('/admin/queues', { auth: board });
    assert.equal(page.status, 200);
    assert.match(String(page.data), /llmconv queues/);
    const api = await http.get('/admin/queues/api/queues', { auth: board });
    assert.equal(api.status, 200);
    assert.deepEqual(api.data.queues.map((q: { name: string }) => q.name).sort(), ['cloud', 'judge', 'local', 'transcript']);
  });

  it("--scale worker-local=2 --scale worker-cloud=2 splits the work: each container's /metrics shows calls", async function () {
    if (!upDone) this.skip();
    this.timeout(5 * 60_000);
    ok(
      await compose(['up', '-d', '--no-build', '--wait', '--scale', 'worker-local=2', '--scale', 'worker-cloud=2'], { timeoutMs: 180_000 }),
      'scale up',
    );
    const local = await containers('worker-local');
    const cloud = await containers('worker-cloud');
    assert.equal(local.length, 2);
    assert.equal(cloud.length, 2);
    const before = new Map(await Promise.all([...local, ...cloud].map(async (c) => [c, callsIn(await metricsOf(c))] as const)));
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => submit({ initialQuery: `Split the work ${i}`, maxTurns: 3 })));
    await assertEachTurnOnce(await finished(ids, 120_000), 3);
    const calls = new Map(
      await Promise.all([...local, ...cloud].map(async (c) => [c, callsIn(await metricsOf(c)) - before.get(c)!] as const)),
    );
    const line = (cs: string[]) => cs.map((c) => calls.get(c)).join('/');
    console.log(`      work split over 2+2 replicas: local calls ${line(local)}, cloud calls ${line(cloud)} (8 conversations x 3 turns)`);
    for (const c of [...local, ...cloud]) assert.ok(calls.get(c)! > 0, `${c.slice(0, 12)} made no call: ${line(local)} / ${line(cloud)}`);
    assert.equal(
      local.reduce((n, c) => n + calls.get(c)!, 0),
      24,
    );
    assert.equal(
      cloud.reduce((n, c) => n + calls.get(c)!, 0),
      24,
    );
  });

  it('docker kill -s KILL of a worker container holding jobs: every conversation still completes, each turn once', async function () {
    if (!upDone) this.skip();
    this.timeout(5 * 60_000);
    const workers = [...(await containers('worker-cloud')), ...(await containers('worker-local'))];
    // Slow calls for the moment of the kill, so the jobs are still running when it lands.
    await emulatorLatency(2500);
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => submit({ initialQuery: `Survive a kill ${i}`, maxTurns: 3 })));
    const { victim, held } = await poll('a worker container holding active jobs', 30_000, async () => {
      const holders = new Map<string, string[]>();
      for (const [job, pb] of await activeJobs()) {
        const c = workers.find((w) => pb.startsWith(`${w.slice(0, 12)}-`));
        if (c) holders.set(c, [...(holders.get(c) ?? []), job]);
      }
      const best = [...holders].sort((a, b) => b[1].length - a[1].length)[0];
      return best ? { victim: best[0], held: best[1] } : undefined;
    });
    const killedAt = Date.now();
    ok(await run('docker', ['kill', '-s', 'KILL', victim], { env }), 'docker kill');
    const me = `${victim.slice(0, 12)}-`;
    // Landed mid-job: the held jobs are still there, still marked as the dead container's.
    const atKill = await jobStates(held);
    const interrupted = held.filter((_, i) => atKill[i]!.pb?.startsWith(me));
    const deadWorker = atKill.find((st) => st.pb?.startsWith(me))?.pb;
    assert.ok(interrupted.length > 0, `the kill interrupted none of ${held.join(', ')}: ${JSON.stringify(atKill)}`);
    // Watch each one go back to work (a completed job keeps its last worker, JOB_HISTORY): the stalled
    // check finds it without its lock, counts it ("stc") and another worker process takes it ("pb").
    const recoveredMs = new Map<string, number>();
    await poll('the interrupted jobs to run again in another worker process', 60_000, async () => {
      const states = await jobStates(interrupted);
      states.forEach((st, i) => {
        if (!recoveredMs.has(interrupted[i]!) && st.pb && st.pb !== '-' && st.pb !== deadWorker && st.stc >= 1)
          recoveredMs.set(interrupted[i]!, Date.now() - killedAt);
      });
      const lost = interrupted.filter((j, i) => !states[i]!.pb && !recoveredMs.has(j));
      assert.deepEqual(lost, [], 'finished without being seen on another container');
      return recoveredMs.size === interrupted.length ? true : undefined;
    });
    await emulatorLatency(undefined);
    const views = await finished(ids, 180_000);
    const doneMs = Date.now() - killedAt;
    await assertEachTurnOnce(views, 3);
    const restarted = ok(
      await run('docker', ['inspect', '--format', '{{.State.Running}} {{.RestartCount}}', victim], { env }),
      'inspect',
    ).trim();
    const times = [...recoveredMs.values()].map((ms) => (ms / 1000).toFixed(1));
    console.log(
      `      kill -s KILL of ${victim.slice(0, 12)} holding ${interrupted.length} running job(s): each stalled once and ran again in another worker process ${times.join(', ')} s after the kill (lock 10 s, stalled check 5 s); all ${ids.length} conversations completed ${(doneMs / 1000).toFixed(1)} s after it, each turn once (victim running/restarts: ${restarted})`,
    );
  });

  it('docker compose restart redis mid-run loses nothing (AOF on the volume)', async function () {
    if (!upDone) this.skip();
    this.timeout(5 * 60_000);
    assert.equal(await redisCli('CONFIG', 'GET', 'appendonly'), 'appendonly\nyes');
    const earlier = (await http.get('/conversations?limit=100')).data.conversations.map(
      (c: { conversationId: string }) => c.conversationId,
    ) as string[];
    await emulatorLatency(1000);
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => submit({ initialQuery: `Survive a Redis restart ${i}`, maxTurns: 3 })),
    );
    await poll('turns under way', 30_000, async () => {
      const views = await Promise.all(ids.map(async (id) => (await http.get(`/conversation/${id}`)).data));
      return views.some((v) => v.turnsCompleted >= 1) ? true : undefined;
    });
    const turnsBefore = (
      await Promise.all(ids.map(async (id) => (await http.get(`/conversation/${id}`)).data.turnsCompleted as number))
    ).reduce((a, b) => a + b, 0);
    const restart = await compose(['restart', 'redis'], { timeoutMs: 120_000 });
    ok(restart, 'restart redis');
    const restartedAt = Date.now();
    await emulatorLatency(undefined);
    const views = await finished(ids, 180_000);
    const doneMs = Date.now() - restartedAt;
    await assertEachTurnOnce(views, 3);
    assert.ok(turnsBefore < ids.length * 3, 'the restart came mid-run');
    // What was there before the restart is still there (read back from the AOF).
    const after = new Set(
      ((await http.get('/conversations?limit=200')).data.conversations as { conversationId: string }[]).map((c) => c.conversationId),
    );
    for (const id of earlier) assert.ok(after.has(id), `${id} survived the restart`);
    console.log(
      `      redis restarted with ${turnsBefore} of ${ids.length * 3} turns done (restart took ${(restart.ms / 1000).toFixed(1)} s): all ${ids.length} conversations completed ${(doneMs / 1000).toFixed(1)} s after, each turn once; the ${earlier.length} earlier conversations all still there`,
    );
  });

  it('SIGTERM drains the workers within stop_grace_period: running calls finish and are recorded, nothing is left locked', async function () {
    if (!upDone) this.skip();
    this.timeout(4 * 60_000);
    const roles = ['worker-cloud', 'worker-local', 'worker-transcript'];
    const workers = (await Promise.all(roles.map(containers))).flat();
    await emulatorLatency(2000);
    const ids = await Promise.all(Array.from({ length: 4 }, (_, i) => submit({ initialQuery: `Drain on SIGTERM ${i}`, maxTurns: 2 })));
    const steps = async () =>
      (
        await Promise.all(
          ids.map(
            async (id) =>
              (
                await http.get(`/conversation/${id}`)
              ).data.turns as { cloudResponse: string | null; ollamaResponse: string | null }[],
          ),
        )
      )
        .flat()
        .reduce((n, t) => n + (t.cloudResponse ? 1 : 0) + (t.ollamaResponse ? 1 : 0), 0);
    const running = await poll('calls in flight', 30_000, async () => {
      const active = await activeJobs();
      return active.length > 0 ? active.length : undefined;
    });
    const stepsAtStop = await steps();
    const stop = await compose(['stop', ...roles], { timeoutMs: 120_000 });
    ok(stop, 'stop the workers');
    const exits = ok(await run('docker', ['inspect', '--format', '{{.Name}} {{.State.ExitCode}}', ...workers], { env }), 'inspect')
      .trim()
      .split('\n');
    for (const e of exits) assert.match(e, / 0$/, `exit code on SIGTERM (137: killed after the grace period): ${e}`);
    assert.ok(stop.ms < 30_000, `stopped in ${stop.ms} ms`);
    const stepsAfterStop = await steps();
    assert.ok(stepsAfterStop > stepsAtStop, 'the calls running at SIGTERM finished and were recorded');
    assert.deepEqual(await activeJobs(), [], 'no job left locked by a stopped worker');
    await emulatorLatency(undefined);
    ok(await compose(['start', ...roles], { timeoutMs: 120_000 }), 'start the workers');
    await assertEachTurnOnce(await finished(ids, 120_000), 2);
    console.log(
      `      SIGTERM to ${workers.length} worker containers with ${running} job(s) running: all exited 0 in ${(stop.ms / 1000).toFixed(1)} s (grace 30 s), ${stepsAfterStop - stepsAtStop} running call(s) recorded during the drain, none left locked; after start every conversation completed, each turn once`,
    );
  });

  it('docker compose stop: every container exits 0 on SIGTERM; down -v leaves nothing behind', async function () {
    if (!upDone) this.skip();
    this.timeout(3 * 60_000);
    const all = ok(await compose(['ps', '-q']), 'ps')
      .split('\n')
      .filter(Boolean);
    const stop = await compose(['stop'], { timeoutMs: 120_000 });
    ok(stop, 'stop');
    const exits = ok(await run('docker', ['inspect', '--format', '{{.Name}} {{.State.ExitCode}}', ...all], { env }), 'inspect')
      .trim()
      .split('\n')
      .map((l) => {
        const [name, code] = l.split(' ');
        return { name: name!.replace(/^\//, ''), code: Number(code) };
      });
    // 137 would mean Docker had to SIGKILL it after the grace period.
    for (const e of exits) assert.equal(e.code, 0, `${e.name} exited ${e.code} on SIGTERM`);
    ok(await compose(['down', '-v', '--remove-orphans']), 'down -v');
    const label = `label=com.docker.compose.project=${project}`;
    const left = await Promise.all([
      run('docker', ['ps', '-aq', '--filter', label], { env }),
      run('docker', ['volume', 'ls', '-q', '--filter', label], { env }),
      run('docker', ['network', 'ls', '-q', '--filter', label], { env }),
    ]);
    assert.deepEqual(
      left.map((r) => ok(r, 'list').trim()),
      ['', '', ''],
      'no container, volume or network of the project left',
    );
    console.log(
      `      docker compose stop: ${exits.length} containers exited 0 on SIGTERM in ${(stop.ms / 1000).toFixed(1)} s (grace 30 s); down -v left no container, volume or network`,
    );
  });
});
