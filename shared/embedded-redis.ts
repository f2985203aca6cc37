/**
 * Spawns a private `redis-server` on a free loopback port with AOF in a temp dir, for
 * `npm start`, `npm run demo` and the tests. The server can be killed (`kill('SIGKILL')`) and
 * restarted on the same port and data dir, which the fault tests use.
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
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new PipelineError(`redis-server exited with code ${child.exitCode}: ${output().slice(-500)}`, { code: 'redis_start_failed' });
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.write('PING\r\n');
      });
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new PipelineError(`redis-server did not answer on port ${port} within ${timeoutMs} ms: ${output().slice(-500)}`, { code: 'redis_start_failed' });
}

export async function startEmbeddedRedis(opts: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const binary = findRedisBinary(opts.binary);
  const port = opts.port ?? (await freePort());
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', opts.appendfsync ?? 'everysec',
    '--save', '',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    '--logfile', '',
    ...(opts.args ?? []),
  ];
  let child!: ChildProcess;
  let out = '';
  const launch = async () => {
    out = '';
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => (out = (out + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d) => (out = (out + d.toString()).slice(-4000)));
    await waitForPort(port, child, () => out);
  };
  await launch();
  const onExit = () => child.exitCode === null && child.kill('SIGKILL');
  process.once('exit', onExit);

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
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
    async stop() {
      await kill('SIGTERM');
      process.removeListener('exit', onExit);
      if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
