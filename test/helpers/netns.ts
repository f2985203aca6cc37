/**
 * A small network lab made of Linux network namespaces, for tests that need several "hosts":
 * one namespace per node, each with its own loopback and an `eth0` on a private bridge that
 * lives in a namespace of its own. Nothing is created in the caller's namespace (no interface,
 * no route, no address), so the lab's 10.200.0.0/24 exists only inside it and no traffic can
 * leave it. The test process reaches services inside the lab through Unix sockets (a tiny
 * forwarder runs in the node's namespace), since socket files are shared across namespaces.
 *
 * Needs root and `ip netns`; {@link netnsSupport} says whether and why not.
 *
 * @example
 * const lab = await createNetnsLab(['redis', 'host1']);
 * const redis = lab.spawn('redis', 'redis-server', ['--bind', lab.address('redis')]);
 * const [sock] = await lab.forward('host1', [11434]);  // axios({ socketPath: sock })
 * await lab.close();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';

const NAME_PREFIX = 'llmc';
/** First three octets of the lab subnet; node i gets .(10 + i). Only ever assigned inside the lab. */
const SUBNET = '10.200.0';

/** Whether this process can build a lab, and if not, why. */
export interface NetnsSupport {
  ok: boolean;
  reason?: string;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw new Error(`ip ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`);
}

function tryIp(args: string[]): void {
  spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs whatever still runs inside the namespace (only processes a lab started live there), then deletes it. */
function destroyNamespace(name: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids
    .split('\n')
    .map(Number)
    .filter((n) => n > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tryIp(['netns', 'del', name]);
}

/** Removes lab namespaces left behind by runs whose process is gone (names carry the creator's pid). */
function removeStaleNamespaces(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${NAME_PREFIX}-(\\d+)-[0-9a-f]+-[a-z0-9]+$`).exec(name);
    if (m && !pidAlive(Number(m[1]))) destroyNamespace(name);
  }
}

/**
 * Probes for root, `ip netns`, bridges and veth pairs by building and removing a throwaway pair
 * of namespaces. Never touches the caller's namespace.
 */
export function netnsSupport(): NetnsSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { ok: false, reason: 'creating network namespaces needs root (CI runs as root); run as root to include this test' };
  }
  const probe = `${NAME_PREFIX}-${process.pid}-${randomBytes(2).toString('hex')}`;
  try {
    ip(['netns', 'add', `${probe}-a`]);
    ip(['netns', 'add', `${probe}-b`]);
    ip(['-n', `${probe}-a`, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', `${probe}-a`, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', `${probe}-b`]);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `network namespaces are unavailable here: ${(err as Error).message}` };
  } finally {
    tryIp(['netns', 'del', `${probe}-a`]);
    tryIp(['netns', 'del', `${probe}-b`]);
  }
}

/** A process running inside a lab node. */
export interface NsProcess {
  readonly label: string;
  readonly child: ChildProcess;
  /** The process id (`ip netns exec` execs, so this is the command's own pid). */
  readonly pid: number;
  /** The last 64 kB of stdout and stderr, for failure messages. */
  output(): string;
  /** Every complete stdout line so far. */
  lines(): string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs. Resolves with how it ended. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A running lab. */
export interface NetnsLab {
  /** Unique per run, part of every namespace name. */
  readonly id: string;
  /** A temp dir for sockets and data, removed by {@link NetnsLab.close}. */
  readonly dir: string;
  readonly nodes: string[];
  /** The node's address on the lab bridge. */
  address(node: string): string;
  /** The node's namespace name. */
  namespace(node: string): string;
  /** Runs `command args` inside the node's namespace with exactly `env` (plus PATH and HOME). */
  spawn(node: string, command: string, args: string[], env?: Record<string, string>, label?: string): NsProcess;
  /** Unix socket paths forwarding to 127.0.0.1:port inside the node, one per port, once they accept. */
  forward(node: string, ports: number[]): Promise<string[]>;
  /** Stops every process, deletes every namespace and the temp dir. Safe to call twice. */
  close(): Promise<void>;
}

const FORWARDER = `
const net = require('net'), fs = require('fs');
for (const pair of process.argv.slice(1)) {
  const [sock, port] = pair.split('=');
  try { fs.unlinkSync(sock); } catch {}
  net.createServer((c) => {
    const u = net.connect(Number(port), '127.0.0.1');
    const end = () => { c.destroy(); u.destroy(); };
    c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
    c.pipe(u).pipe(c);
  }).listen(sock);
}
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Builds the lab: a namespace per node plus one for the bridge, veth pairs, addresses
 * 10.200.0.10, .11, ... in `nodes` order, loopback up everywhere. On any failure, what was
 * built is removed before the error is thrown.
 */
export async function createNetnsLab(nodes: string[]): Promise<NetnsLab> {
  if (nodes.some((n) => !/^[a-z0-9]{1,10}$/.test(n))) throw new Error('node names: 1-10 of [a-z0-9]');
  removeStaleNamespaces();
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const ns = (node: string) => `${NAME_PREFIX}-${id}-${node}`;
  const bridgeNs = ns('net');
  const created: string[] = [];
  const procs: NsProcess[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmc-lab-'));
  let closed = false;

  const removeAllSync = () => {
    for (const p of procs) if (p.running()) p.child.kill('SIGKILL');
    for (const name of created) destroyNamespace(name);
  };
  // A crash must not leave namespaces or processes behind.
  process.once('exit', removeAllSync);

  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 3000)));
    removeAllSync();
    process.removeListener('exit', removeAllSync);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const name of [bridgeNs, ...nodes.map(ns)]) {
      ip(['netns', 'add', name]);
      created.push(name);
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
    }
    ip(['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    nodes.forEach((node, i) => {
      const port = `v${i}`;
      ip(['-n', bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(node)]);
      ip(['-n', bridgeNs, 'link', 'set', port, 'master', 'br0']);
      ip(['-n', bridgeNs, 'link', 'set', port, 'up']);
      ip(['-n', ns(node), 'addr', 'add', `${SUBNET}.${10 + i}/24`, 'dev', 'eth0']);
      ip(['-n', ns(node), 'link', 'set', 'eth0', 'up']);
    });
  } catch (err) {
    await close();
    throw err;
  }

  const address = (node: string) => {
    const i = nodes.indexOf(node);
    if (i < 0) throw new Error(`no node ${node} in this lab`);
    return `${SUBNET}.${10 + i}`;
  };

  const spawnIn = (
    node: string,
    command: string,
    args: string[],
    env: Record<string, string> = {},
    label = `${node}:${path.basename(command)}`,
  ): NsProcess => {
    address(node);
    const child = spawn('ip', ['netns', 'exec', ns(node), command, ...args], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    let partial = '';
    const lines: string[] = [];
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-65_536);
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-65_536)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const running = () => child.exitCode === null && child.signalCode === null;
    const proc: NsProcess = {
      label,
      child,
      pid: child.pid ?? -1,
      output: () => tail,
      lines: () => lines,
      exited,
      running,
      async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000) {
        if (!running()) return exited;
        child.kill(signal);
        const timer = setTimeout(() => running() && child.kill('SIGKILL'), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      },
    };
    procs.push(proc);
    return proc;
  };

  return {
    id,
    dir,
    nodes,
    address,
    namespace: ns,
    spawn: spawnIn,
    async forward(node: string, ports: number[]) {
      const socks = ports.map((p) => path.join(dir, `${node}-${p}.sock`));
      const proc = spawnIn(node, process.execPath, ['-e', FORWARDER, ...ports.map((p, i) => `${socks[i]}=${p}`)], {}, `${node}:forwarder`);
      const deadline = Date.now() + 10_000;
      while (!socks.every((s) => fs.existsSync(s))) {
        if (!proc.running()) throw new Error(`forwarder in ${node} exited: ${proc.output()}`);
        if (Date.now() > deadline) throw new Error(`forwarder in ${node} did not listen: ${proc.output()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return socks;
    },
    close,
  };
}

/** An HTTP client to a server inside the lab, through the Unix socket its `ip netns exec` proxy listens on. */
export function viaSocket(socketPath: string): AxiosInstance {
  return axios.create({ socketPath, baseURL: 'http://lab', validateStatus: () => true, timeout: 10_000 });
}

/** Polls `fn` every 100 ms until it yields a value; on timeout throws naming `what` (and `diagnose()`). */
export async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, diagnose?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${diagnose ? `\n${diagnose()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
