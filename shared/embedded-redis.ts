/**
 * Spawns a private `redis-server` on a free loopback port with AOF in a data dir (a temp dir
 * unless given), for `npm start`, `npm run demo` and the tests. The server can be killed
 * (`kill('SIGKILL')`) and restarted on the same port and data dir, which the fault tests use.
 * With `supervise`, a server that dies on its own is restarted on the same port and dir with
 * backoff; after repeated failures the supervisor gives up and reports Redis's last log lines.
 *
 * @example
 * const redis = await startEmbeddedRedis();
 * console.log(redis.url); // redis://127.0.0.1:40123
 * await redis.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PipelineError } from './errors';

export interface EmbeddedRedisOptions {
  /** Port to listen on; default a free port chosen by the OS. */
  port?: number;
  /** Data dir for the AOF; default a new temp dir, removed by `stop()`. */
  dir?: string;
  /** `redis-server` binary; default `redis-server` from PATH. */
  binary?: string;
  /** appendfsync policy; default `everysec`. */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** Extra `--key value` arguments. */
  args?: string[];
  /** Restart the server when it dies on its own (not through `kill`/`stop`). */
  supervise?: SuperviseOptions;
}

/** What the supervisor saw; one event per line worth logging. */
export type SupervisorEvent =
  | { kind: 'down'; pid: number | undefined; code: number | null; signal: NodeJS.Signals | null; restartInMs: number; attempt: number }
  | { kind: 'restarted'; pid: number | undefined; afterMs: number; attempt: number; aofLoaded?: string }
  | { kind: 'restart-failed'; attempt: number; error: string; retryInMs: number };

export interface SuperviseOptions {
  onEvent(event: SupervisorEvent): void;
  /** Called once when restarts keep failing; the server stays down. */
  onGiveUp(error: Error, logTail: string): void;
  /** Deaths within `windowMs` that make the supervisor give up. Default 5. */
  maxRestarts?: number;
  /** Default 60 000 ms. */
  windowMs?: number;
  /** Backoff before restart n (1-based): min(baseDelayMs * 2^(n-1), maxDelayMs). Defaults 100 / 3200. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  dir: string;
  readonly process: ChildProcess;
  /** Kill the server (default SIGKILL) without removing its data. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and data dir (after `kill`). */
  restart(): Promise<void>;
  /** Stop it and remove the temp dir. */
  stop(): Promise<void>;
  /** The last lines Redis logged (across restarts). */
  logTail(lines?: number): string;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function findRedisBinary(binary = 'redis-server'): string {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new PipelineError(
      `cannot run "${binary}": Redis is not installed. Install it (Debian/Ubuntu: "sudo apt-get install -y redis-server", ` +
        'macOS: "brew install redis") or set REDIS_URL to an existing Redis.',
      { code: 'redis_missing' },
    );
  }
  return binary;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string, timeoutMs = 10_000): Promise<void> {
  let deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new PipelineError(`redis-server exited with code ${child.exitCode}: ${output().slice(-500)}`, { code: 'redis_start_failed' });
    }
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.write('PING\r\n');
      });
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString());
      });
      s.once('error', () => resolve(''));
    });
    if (reply.startsWith('+PONG')) return;
    // Still replaying a large AOF: alive and busy, not stuck; keep waiting while it loads.
    if (reply.startsWith('-LOADING')) deadline = Date.now() + timeoutMs;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new PipelineError(`redis-server did not answer on port ${port} within ${timeoutMs} ms: ${output().slice(-500)}`, {
    code: 'redis_start_failed',
  });
}

export async function startEmbeddedRedis(opts: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const binary = findRedisBinary(opts.binary);
  const port = opts.port ?? (await freePort());
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    opts.appendfsync ?? 'everysec',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--logfile',
    '',
    ...(opts.args ?? []),
  ];
  let child!: ChildProcess;
  let out = '';
  let launchOut = '';
  // Own process group: a terminal's Ctrl-C reaches the stack, which stops Redis itself (after
  // its workers), instead of Redis dying first and racing the supervisor.
  const detached = opts.supervise !== undefined;
  const launch = async () => {
    launchOut = '';
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached });
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-8000);
      launchOut = (launchOut + d.toString()).slice(-8000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const mine = child;
    await waitForPort(port, child, () => out);
    if (opts.supervise) mine.once('exit', (code, signal) => onDeath(mine, code, signal));
  };
  await launch();
  const onExit = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  process.once('exit', onExit);

  /** Deaths we caused (kill/stop) are not restarted. */
  const intended = new WeakSet<ChildProcess>();
  let stopped = false;
  const deaths: number[] = [];
  const sup = opts.supervise;
  const onDeath = (dead: ChildProcess, code: number | null, signal: NodeJS.Signals | null) => {
    if (!sup || stopped || intended.has(dead) || dead !== child) return;
    const windowMs = sup.windowMs ?? 60_000;
    const maxRestarts = sup.maxRestarts ?? 5;
    const now = Date.now();
    deaths.push(now);
    while (deaths.length && now - deaths[0]! > windowMs) deaths.shift();
    const attempt = deaths.length;
    if (attempt > maxRestarts) {
      stopped = true;
      sup.onGiveUp(
        new PipelineError(`redis-server died ${attempt} times within ${windowMs} ms; giving up`, { code: 'redis_crash_loop' }),
        tail(20),
      );
      return;
    }
    const delay = (n: number) => Math.min((sup.baseDelayMs ?? 100) * 2 ** (n - 1), sup.maxDelayMs ?? 3200);
    sup.onEvent({ kind: 'down', pid: dead.pid, code, signal, restartInMs: delay(attempt), attempt });
    const downAt = now;
    const tryStart = async (n: number): Promise<void> => {
      await new Promise((r) => setTimeout(r, delay(n)));
      if (stopped) return;
      try {
        await launch();
        const aofLoaded = /DB loaded from append only file[^\n]*/.exec(launchOut)?.[0] ?? /Done loading[^\n]*/.exec(launchOut)?.[0];
        sup.onEvent({ kind: 'restarted', pid: child.pid, afterMs: Date.now() - downAt, attempt, aofLoaded });
      } catch (err) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (stopped) return;
        if (n >= (sup.maxRestarts ?? 5)) {
          stopped = true;
          sup.onGiveUp(err as Error, tail(20));
          return;
        }
        sup.onEvent({ kind: 'restart-failed', attempt: n, error: (err as Error).message, retryInMs: delay(n + 1) });
        await tryStart(n + 1);
      }
    };
    void tryStart(attempt);
  };
  const tail = (lines = 20) => out.trimEnd().split('\n').slice(-lines).join('\n');

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    intended.add(child);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get process() {
      return child;
    },
    kill,
    restart: launch,
    logTail: tail,
    async stop() {
      stopped = true;
      await kill('SIGTERM');
      process.removeListener('exit', onExit);
      if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
