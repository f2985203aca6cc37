/**
 * docker-compose.yml and the Dockerfile checked against the code, without a Docker engine:
 * every environment key is one the code reads, every command is a file `npm run build` emits
 * from a real source file, every port and host name lines up, Redis runs with the compose
 * command as configured, and finally the offline rig runs: each service started from the
 * compiled output with its compose environment (only host names, ports and paths mapped to this
 * machine) passes its own healthcheck command, and a conversation goes through all of them.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { parse } from 'yaml';
import { CONFIG_KEYS, loadConfig, PLACEHOLDER } from '../../shared/config';
import { freePort } from '../../shared/embedded-redis';
import { EMULATOR_CONFIG_KEYS, loadEmulatorConfig } from '../../emulators/emulator-config';
import { createTestSchema, type TestSchema } from '../helpers/postgres';
import { testRedisUrl, uniquePrefix } from '../helpers/redis';
import { OLDEST_SUPPORTED_MAJOR } from '../../stack/node-support';

const ROOT = path.resolve(__dirname, '../..');
const OUR_IMAGE = 'llmconv:local';
/** Keys read by the AWS SDK's default credential chain (not by shared/config). */
const AWS_SDK_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
const KNOWN_KEYS = new Set([...CONFIG_KEYS, ...EMULATOR_CONFIG_KEYS].map((k) => k.key).concat(AWS_SDK_KEYS));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean>;
  profiles?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
  restart?: string;
  volumes?: string[];
  pull_policy?: string;
  stop_grace_period?: string;
}

const composeText = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean; driver_opts?: Record<string, string> } | null>;
};
const services = compose.services;
const ours = Object.entries(services).filter(([, s]) => s.image === OUR_IMAGE);

/** Compose interpolation with nothing set in the shell: `${X:-d}`/`${X-d}` → d, `${X}` → '', `$$` → `$`. */
function interpolate(value: string, shell: Record<string, string> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
    (all, name: string | undefined, op: string | undefined, def: string | undefined) => {
      if (all === '$$') return '$';
      const v = shell[name!];
      if (op === ':-') return v ? v : (def ?? '');
      if (op === '-') return v !== undefined ? v : (def ?? '');
      return v ?? '';
    },
  );
}

/**
 * What an operator puts in `.env` for the placeholders the compose file ships (`${API_KEY:-__SET_ME__}`):
 * without them the producer and the online gateway refuse to start (test/security/deploy-files.test.ts).
 */
const OPERATOR: Record<string, string> = { API_KEY: 'compose-test-api-key', API_GATEWAY_API_KEY: 'compose-test-gateway-key' };

function envOf(s: Service, shell: Record<string, string> = OPERATOR): Record<string, string> {
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), shell)]));
}

function defaultOf(key: string): string {
  return [...CONFIG_KEYS, ...EMULATOR_CONFIG_KEYS].find((k) => k.key === key)!.default;
}

/** The environment keys that set the ports a service of ours listens on, by the entry point it runs. */
function portKeysOf(s: Service): string[] {
  const cmd = (s.command ?? []).join(' ');
  if (cmd.includes('producer/')) return ['PORT'];
  if (cmd.includes('lambda/')) return ['GATEWAY_PORT'];
  if (cmd.includes('workers/')) return ['METRICS_PORT'];
  if (cmd.includes('emulators/')) return ['BEDROCK_EMULATOR_PORT', 'OLLAMA_EMULATOR_PORT'];
  return [];
}

/** The ports a service of ours listens on, from its environment or the config defaults. */
function listenPorts(name: string): number[] {
  const s = services[name]!;
  const env = envOf(s);
  return portKeysOf(s).map((k) => Number(env[k] || defaultOf(k)));
}

/** Ports of the third-party services, from their own documented defaults (the one our config assumes for Ollama). */
const THIRD_PARTY_PORTS: Record<string, number[]> = {
  'redis:7': [6379],
  'postgres:15': [5432],
  'ollama/ollama': [Number(new URL(defaultOf('OLLAMA_HOST')).port)],
};

function portsOf(name: string): number[] {
  const s = services[name]!;
  return s.image === OUR_IMAGE ? listenPorts(name) : (THIRD_PARTY_PORTS[s.image ?? ''] ?? []);
}

/** Services running under a profile: the unprofiled ones plus that profile's. */
function active(profile: string): string[] {
  return Object.entries(services)
    .filter(([, s]) => !s.profiles || s.profiles.includes(profile))
    .map(([n]) => n);
}

/** The network aliases of a service, on any of its networks. */
function aliasesOf(s: Service): string[] {
  return Array.isArray(s.networks) ? [] : Object.values(s.networks ?? {}).flatMap((n) => n?.aliases ?? []);
}

/** The networks a service is on (compose's `default` when none are named). */
function networksOf(s: Service): string[] {
  return Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? { default: null });
}

/** Which active service answers to a host name (its name or a network alias). */
function resolveHost(host: string, profile: string): string | undefined {
  const names = active(profile);
  const matches = names.filter((n) => n === host || aliasesOf(services[n]!).includes(host));
  assert.ok(matches.length <= 1, `host ${host} is ambiguous in profile ${profile}: ${matches.join(', ')}`);
  return matches[0];
}

/** The URL a healthcheck fetches, if it is a `node -e fetch(...)` check. */
function healthUrl(s: Service): URL | undefined {
  const m = /fetch\('([^']+)'\)/.exec((s.healthcheck?.test ?? []).join(' '));
  return m ? new URL(m[1]!) : undefined;
}

describe('docker-compose.yml and Dockerfile against the code', function () {
  this.timeout(120_000);

  it("has the rig's services: redis, ollama with a one-shot pull, lambda, producer and a worker per role, plus an offline profile of emulators", () => {
    for (const name of [
      'redis',
      'ollama',
      'ollama-pull',
      'lambda',
      'producer',
      'worker-cloud',
      'worker-local',
      'worker-transcript',
      'emulators',
      'lambda-offline',
    ]) {
      assert.ok(services[name], `service ${name}`);
    }
    assert.equal(services.ollama!.image, 'ollama/ollama');
    assert.deepEqual(services['ollama-pull']!.command?.slice(0, 1), ['pull']);
    assert.equal(services['ollama-pull']!.restart, 'no');
    // The model pulled is the one the local workers ask for.
    assert.equal(interpolate(services['ollama-pull']!.command![1]!), envOf(services['worker-local']!).OLLAMA_MODEL);
    assert.equal(envOf(services['worker-local']!).OLLAMA_MODEL, defaultOf('OLLAMA_MODEL'));
    for (const name of ['ollama', 'ollama-pull', 'lambda']) assert.deepEqual(services[name]!.profiles, ['online'], name);
    for (const name of ['emulators', 'lambda-offline']) assert.deepEqual(services[name]!.profiles, ['offline'], name);
    const roles = Object.fromEntries(
      ['worker-cloud', 'worker-local', 'worker-transcript'].map((n) => [n, envOf(services[n]!).WORKER_ROLES]),
    );
    assert.deepEqual(roles, { 'worker-cloud': 'cloud', 'worker-local': 'local', 'worker-transcript': 'transcript' });
    // Scalable with --scale: no fixed container name and no host port.
    for (const n of ['worker-cloud', 'worker-local', 'worker-transcript']) {
      assert.equal((services[n] as Record<string, unknown>).container_name, undefined);
      assert.equal(services[n]!.ports, undefined);
    }
    // The real Bedrock path takes AWS credentials from the environment.
    assert.match(String(services.lambda!.environment!.AWS_ACCESS_KEY_ID), /^\$\{AWS_ACCESS_KEY_ID/);
    assert.equal(envOf(services.lambda!).BEDROCK_ENDPOINT, undefined);
  });

  it('every environment key of our services is one the code reads, and every value loads', () => {
    for (const [name, s] of ours) {
      const env = envOf(s);
      for (const key of Object.keys(env)) assert.ok(KNOWN_KEYS.has(key), `${name}: ${key} is not in CONFIG_KEYS or EMULATOR_CONFIG_KEYS`);
      if ((s.command ?? []).join(' ').includes('emulators/')) assert.doesNotThrow(() => loadEmulatorConfig(env), name);
      else assert.doesNotThrow(() => loadConfig(env), name);
    }
    // Cluster-safe prefix (docs/architecture.md, "Redis").
    for (const [, s] of ours) if (s.environment?.QUEUE_PREFIX) assert.match(String(s.environment.QUEUE_PREFIX), /^\{[^}]+\}/);
  });

  it('every depends_on names a service, and waits on a healthcheck or a one-shot as its condition says', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        assert.ok(services[dep], `${name} depends on unknown ${dep}`);
        if (cond.condition === 'service_healthy')
          assert.ok(services[dep]!.healthcheck, `${name} waits for ${dep} to be healthy, which has no healthcheck`);
        if (cond.condition === 'service_completed_successfully') assert.equal(services[dep]!.restart, 'no', `${dep} must be one-shot`);
        // A dependency in a profile the dependant is not always in must be optional.
        const depProfiles = services[dep]!.profiles;
        if (depProfiles && !(s.profiles ?? []).every((p) => depProfiles.includes(p)))
          assert.equal(cond.required, false, `${name} → ${dep}`);
      }
    }
    for (const [name, s] of Object.entries(services)) assert.ok(s.healthcheck, `${name} has a healthcheck`);
  });

  it('builds the image once: one service of every profile builds it, the others run the tag and never pull it', () => {
    const builders = ours.filter(([, s]) => s.build !== undefined).map(([n]) => n);
    assert.deepEqual(builders, ['producer'], 'exactly one service has build:');
    assert.equal(services.producer!.profiles, undefined, 'the builder runs in every profile');
    for (const [name, s] of ours)
      if (name !== 'producer') assert.equal(s.pull_policy, 'never', `${name}: llmconv:local is built here, never pulled`);
  });

  it("only the online model services can reach outside: the pipeline's networks are internal or not masqueraded", () => {
    const routesOut = (net: string) => {
      const n = compose.networks[net] ?? {};
      return !n.internal && n.driver_opts?.['com.docker.network.bridge.enable_ip_masquerade'] !== 'false';
    };
    for (const [name, s] of Object.entries(services)) {
      const out = networksOf(s).filter(routesOut);
      if (['lambda', 'ollama'].includes(name)) assert.ok(out.length > 0, `${name} needs a route out (Bedrock, the Ollama registry)`);
      else assert.deepEqual(out, [], `${name} is on a network with a route out`);
    }
    // Whoever calls a service by name shares a network with it.
    for (const profile of ['online', 'offline']) {
      for (const name of active(profile)) {
        for (const value of Object.values(envOf(services[name]!))) {
          if (!/^(redis|https?):\/\//.test(value)) continue;
          const target = resolveHost(new URL(value).hostname, profile)!;
          const shared = networksOf(services[name]!).filter((n) => networksOf(services[target]!).includes(n));
          assert.ok(shared.length > 0, `${profile}/${name} calls ${target} but shares no network with it`);
        }
      }
    }
    // Published ports bind the host's loopback only.
    for (const [name, s] of Object.entries(services)) for (const p of s.ports ?? []) assert.match(String(p), /^127\.0\.0\.1:/, name);
  });

  it("every service of ours drains on SIGTERM within its stop_grace_period (above the processes' own 15 s bound)", () => {
    const seconds = (v: string) => Number(/^(\d+)s$/.exec(v)?.[1] ?? NaN);
    for (const [name, s] of ours)
      assert.ok(seconds(s.stop_grace_period ?? '10s') > 15, `${name}: stop_grace_period ${s.stop_grace_period}`);
  });

  it('.env.example sets only variables the compose file reads, with Bull Board credentials the producer accepts', () => {
    const vars = new Set([...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
    const lines = fs
      .readFileSync(path.join(ROOT, '.env.example'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    const set = Object.fromEntries(
      lines.filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const commented = lines.filter((l) => /^# [A-Z_]+=/.test(l)).map((l) => l.slice(2, l.indexOf('=')));
    for (const key of [...Object.keys(set), ...commented])
      assert.ok(vars.has(key), `.env.example: ${key} is not used by docker-compose.yml`);
    assert.ok(set.BOARD_USERNAME && set.BOARD_PASSWORD, 'BOARD_USERNAME and BOARD_PASSWORD set');
    // As shipped, the producer refuses to start: the example password and the API_KEY placeholder.
    const producerEnv = (shell: Record<string, string>) =>
      Object.fromEntries(Object.entries(services.producer!.environment!).map(([k, v]) => [k, interpolate(String(v), shell)]));
    assert.throws(() => loadConfig(producerEnv(set)), /BOARD_PASSWORD is "change-me"/);
    assert.throws(() => loadConfig(producerEnv({ ...set, BOARD_PASSWORD: 'chosen' })), /API_KEY is still the placeholder/);
    const filled: Record<string, string> = { ...set, BOARD_PASSWORD: 'a-password-of-my-own', API_KEY: 'k-0123456789' };
    const config = loadConfig(producerEnv(filled));
    assert.equal(config.boardUsername, filled.BOARD_USERNAME);
    assert.equal(config.boardPassword, filled.BOARD_PASSWORD);
    assert.equal(config.apiKey, filled.API_KEY);
    assert.match(String(services.producer!.ports![0]), /\$\{PRODUCER_HOST_PORT:-8080\}:8080$/);
  });

  it('ports and host names line up in both profiles: every URL points at a service that listens on that port', () => {
    for (const profile of ['online', 'offline']) {
      for (const name of active(profile)) {
        const s = services[name]!;
        for (const [key, value] of Object.entries(envOf(s))) {
          if (!/^(redis|https?):\/\//.test(value)) continue;
          const u = new URL(value);
          const target = resolveHost(u.hostname, profile);
          assert.ok(target, `${profile}/${name}: ${key}=${value} names no service`);
          const port = Number(u.port || (u.protocol === 'redis:' ? 6379 : 80));
          assert.ok(portsOf(target).includes(port), `${profile}/${name}: ${key}=${value}, but ${target} listens on ${portsOf(target)}`);
        }
        const hc = healthUrl(s);
        if (hc) {
          assert.equal(hc.hostname, '127.0.0.1');
          assert.ok(portsOf(name).includes(Number(hc.port)), `${name}: healthcheck port ${hc.port} vs ${portsOf(name)}`);
        }
        for (const mapping of s.ports ?? []) {
          const container = Number(String(mapping).split(':').pop());
          assert.ok(portsOf(name).includes(container), `${name}: published ${mapping} vs ${portsOf(name)}`);
        }
      }
    }
  });

  it('the Dockerfile is multi-stage, builds with npm run build (tsc), prunes dev dependencies and runs as a non-root user', () => {
    const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const lines = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const stages = lines.filter((l) => /^FROM /i.test(l));
    assert.ok(stages.length >= 2, 'multi-stage');
    const last = text.slice(text.lastIndexOf('\nFROM '));
    assert.match(text, /npm run build/);
    assert.match(text, /npm prune --omit=dev/);
    assert.match(last, /^USER (node|\d+)\s*$/m, 'the runtime stage drops root');
    assert.doesNotMatch(last, /npm (ci|install)/, 'no install in the runtime stage');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.build!, /^tsc\b/);
    const cmd = /^CMD (\[.*\])$/m.exec(last);
    assert.ok(cmd, 'exec-form CMD');
    const ignore = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '.git', '.env']) assert.ok(ignore.includes(p), `.dockerignore lists ${p}`);
    assert.ok(!ignore.includes('.npmrc'), 'the build stage copies .npmrc');
  });

  it("the image's Node line is a supported one, and the one CI runs the unit suite and the demo on", () => {
    const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const major = Number(/^ARG NODE_VERSION=(\d+)$/m.exec(text)?.[1]);
    assert.ok(major >= OLDEST_SUPPORTED_MAJOR && major % 2 === 0, `NODE_VERSION=${major}: an LTS line from ${OLDEST_SUPPORTED_MAJOR} on`);
    assert.match(text, /^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS build$/m);
    assert.match(text, /^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS runtime$/m);
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'node24'), 'utf8');
    assert.match(ci, new RegExp(`npm install .*\\bnode@${major}\\b`), '.ci/node24 fetches the same line');
  });

  it('Redis runs with the compose command: AOF on, noeviction, and its healthcheck answers', async () => {
    const s = services.redis!;
    assert.equal(s.image, 'redis:7');
    const [bin, ...args] = s.command!;
    assert.equal(bin, 'redis-server');
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmc-compose-redis-'));
    const child = spawn(bin, [...args, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''], { stdio: 'ignore' });
    try {
      const [hcBin, ...hcArgs] = s.healthcheck!.test.slice(1);
      let out = '';
      for (let i = 0; i < 100 && out !== 'PONG'; i += 1) {
        await new Promise((r) => setTimeout(r, 50));
        out = spawnSync(hcBin!, ['-p', String(port), ...hcArgs], { encoding: 'utf8' }).stdout.trim();
      }
      assert.equal(out, 'PONG');
      const get = (key: string) =>
        spawnSync('redis-cli', ['-p', String(port), 'CONFIG', 'GET', key], { encoding: 'utf8' })
          .stdout.trim()
          .split('\n')[1];
      assert.equal(get('appendonly'), 'yes');
      assert.equal(get('maxmemory-policy'), 'noeviction');
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the services, built and started as the image runs them', () => {
    const outDir = path.join(ROOT, '.tmp', `compose-dist-${process.pid}`);
    const tmp = path.join(ROOT, '.tmp', `compose-run-${process.pid}`);
    const procs: { name: string; child: ChildProcess; output: () => string }[] = [];
    /** service → (port in the compose file → port on this machine) */
    const portMap = new Map<string, Map<number, number>>();
    let tscOk = false;

    let archive: TestSchema | undefined;
    before(async function () {
      this.timeout(120_000);
      archive = await createTestSchema();
      fs.rmSync(outDir, { recursive: true, force: true });
      // Exactly the Dockerfile's build step, into a scratch dir under the repo (so node_modules resolve).
      const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', '.', '--outDir', outDir], { cwd: ROOT, encoding: 'utf8' });
      tscOk = r.status === 0;
      if (!tscOk) console.log(`      npm run build (tsc) reported errors:\n${(r.stdout + r.stderr).slice(0, 3000)}`);
      fs.copyFileSync(path.join(ROOT, 'proto', 'llm.proto'), path.join(outDir, 'proto', 'llm.proto'));
      // As `npm run build` does: the Lua scripts beside the compiled stores and coordination.
      for (const root of ['store', 'coordination'])
        fs.cpSync(path.join(ROOT, root, 'lua'), path.join(outDir, root, 'lua'), { recursive: true });
      fs.mkdirSync(tmp, { recursive: true });
    });
    after(async function () {
      this.timeout(30_000);
      await Promise.all(
        procs.map(async (p) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return;
          const exited = new Promise((r) => p.child.once('exit', r));
          p.child.kill('SIGTERM');
          const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(t);
        }),
      );
      fs.rmSync(outDir, { recursive: true, force: true });
      fs.rmSync(tmp, { recursive: true, force: true });
      await archive?.drop();
    });

    it("npm run build (tsc) succeeds and emits every command's file from a real source file", () => {
      assert.ok(tscOk, 'tsc -p . exits 0 (see the printed errors)');
      const dockerCmd = JSON.parse(/^CMD (\[.*\])$/m.exec(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))![1]!) as string[];
      for (const [name, command] of [...ours.map(([n, s]) => [n, s.command!] as const), ['Dockerfile CMD', dockerCmd] as const]) {
        assert.equal(command[0], 'node', name);
        const rel = command[1]!;
        assert.match(rel, /^dist\/.+\.js$/, `${name}: ${rel}`);
        const source = path.join(ROOT, rel.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
        assert.ok(fs.existsSync(source), `${name}: source ${path.relative(ROOT, source)} exists`);
        assert.ok(fs.existsSync(path.join(outDir, rel.replace(/^dist\//, ''))), `${name}: tsc emits ${rel}`);
      }
    });

    /** The service's compose environment, mapped onto this machine: Redis, free ports, loopback, temp dirs. */
    async function localEnv(name: string, profile: string, prefix: string): Promise<Record<string, string>> {
      const env = envOf(services[name]!);
      const mine = new Map<number, number>();
      for (const key of portKeysOf(services[name]!)) {
        const original = Number(env[key] || defaultOf(key));
        const local = await freePort();
        mine.set(original, local);
        env[key] = String(local);
      }
      portMap.set(name, mine);
      for (const [key, value] of Object.entries(env)) {
        // The archive: the compose file's postgres service → a schema of this test's on the local server.
        if (/^postgres:\/\//.test(value)) {
          assert.equal(resolveHost(new URL(value).hostname, profile), 'postgres', `${name}: ${key} points at the postgres service`);
          env[key] = archive!.url;
          continue;
        }
        if (!/^(redis|https?):\/\//.test(value)) continue;
        const u = new URL(value);
        const target = resolveHost(u.hostname, profile)!;
        if (target === 'redis') {
          env[key] = testRedisUrl();
        } else {
          const port = portMap.get(target)?.get(Number(u.port));
          assert.ok(port, `${name}: ${key} points at ${target}, which is not started yet or does not listen on port ${u.port}`);
          env[key] = `${u.protocol}//127.0.0.1:${port}${u.pathname === '/' ? '' : u.pathname}`;
        }
      }
      if (env.QUEUE_PREFIX !== undefined) env.QUEUE_PREFIX = prefix;
      if (env.OUTPUT_DIR !== undefined) env.OUTPUT_DIR = path.join(tmp, `${name}-output`);
      if (env.EMULATOR_HOST !== undefined) env.EMULATOR_HOST = '127.0.0.1';
      return { PATH: process.env.PATH ?? '/usr/bin', HOME: tmp, NODE_ENV: 'production', HOST: '127.0.0.1', ...env };
    }

    /** Starts the service's command from the compiled output and runs its own healthcheck until it passes. */
    async function startService(name: string, profile: string, prefix: string): Promise<void> {
      const s = services[name]!;
      const env = await localEnv(name, profile, prefix);
      const [node, rel] = s.command!;
      assert.equal(node, 'node');
      const child = spawn(process.execPath, [path.join(outDir, rel!.replace(/^dist\//, ''))], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (d) => (out = (out + d).slice(-8000)));
      child.stderr!.on('data', (d) => (out = (out + d).slice(-8000)));
      procs.push({ name, child, output: () => out });

      // The healthcheck exactly as compose runs it, with the port mapped.
      const [kind, bin, ...args] = s.healthcheck!.test;
      assert.equal(kind, 'CMD');
      assert.equal(bin, 'node');
      const mapped = args.map((a) =>
        a.replace(/http:\/\/127\.0\.0\.1:(\d+)/, (_m, p: string) => `http://127.0.0.1:${portMap.get(name)!.get(Number(p))}`),
      );
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null) assert.fail(`${name} exited with ${child.exitCode}:\n${out}`);
        const r = spawnSync(process.execPath, mapped, { encoding: 'utf8', timeout: 5000 });
        if (r.status === 0) return;
        if (Date.now() > deadline) assert.fail(`${name}: healthcheck ${mapped.join(' ')} still failing after 30 s:\n${out}`);
        await new Promise((r2) => setTimeout(r2, 200));
      }
    }

    /** Active services of ours in depends_on order. */
    function startOrder(profile: string): string[] {
      const names = active(profile).filter((n) => services[n]!.image === OUR_IMAGE);
      const done: string[] = [];
      const visit = (n: string) => {
        if (done.includes(n) || !names.includes(n)) return;
        for (const dep of Object.keys(services[n]!.depends_on ?? {})) visit(dep);
        // URLs are dependencies too: a worker needs the gateway it points at.
        for (const value of Object.values(envOf(services[n]!))) {
          if (/^https?:\/\//.test(value)) visit(resolveHost(new URL(value).hostname, profile) ?? '');
        }
        done.push(n);
      };
      names.forEach(visit);
      return done;
    }

    it('offline profile: every service passes its own healthcheck and a conversation runs through all of them', async function () {
      if (!tscOk) this.skip();
      const prefix = uniquePrefix('compose');
      const order = startOrder('offline');
      assert.deepEqual([...order].sort(), ['emulators', 'lambda-offline', 'producer', 'worker-cloud', 'worker-local', 'worker-transcript']);
      for (const name of order) await startService(name, 'offline', prefix);

      const producerPort = portMap.get('producer')!.get(8080)!;
      const http = axios.create({
        baseURL: `http://127.0.0.1:${producerPort}`,
        validateStatus: () => true,
        headers: { 'x-api-key': OPERATOR.API_KEY },
      });
      const res = await http.post('/conversation', { initialQuery: 'Does the compose rig work?', maxTurns: 2 });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      const deadline = Date.now() + 30_000;
      let view: any;
      do {
        await new Promise((r) => setTimeout(r, 100));
        view = (await http.get(`/conversation/${res.data.conversationId}`)).data;
      } while (
        !(view.status === 'completed' && view.transcriptFile) &&
        !['failed', 'timed_out'].includes(view.status) &&
        Date.now() < deadline
      );
      assert.equal(
        view.status,
        'completed',
        `${JSON.stringify(view)}\n${procs.map((p) => `--- ${p.name}\n${p.output().slice(-1500)}`).join('\n')}`,
      );
      assert.equal(view.turnsCompleted, 2);
      assert.equal(path.dirname(view.transcriptFile), path.join(tmp, 'worker-transcript-output'));
      assert.ok(fs.existsSync(view.transcriptFile));
    });

    it('online profile: the lambda service (real Bedrock) starts and passes its healthcheck without calling AWS', async function () {
      if (!tscOk) this.skip();
      await startService('lambda', 'online', uniquePrefix('compose'));
    });
  });
});

describe('deploy/systemd units and environment files against the code', () => {
  const dir = path.join(ROOT, 'deploy', 'systemd');
  const readEnv = (file: string): Record<string, string> =>
    Object.fromEntries(
      fs
        .readFileSync(path.join(dir, 'env', file), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => {
          const i = l.indexOf('=');
          assert.ok(i > 0, `${file}: "${l}" is not KEY=VALUE`);
          return [l.slice(0, i), l.slice(i + 1)];
        }),
    );
  const units = fs.readdirSync(dir).filter((f) => f.endsWith('.service'));
  const ROLES = ['cloud', 'local', 'transcript'];
  /** The files as an operator fills them: every `__SET_ME__` placeholder given a value (unfilled, they refuse to start: test/security/deploy-files.test.ts). */
  const filledEnv = (file: string) =>
    Object.fromEntries(Object.entries(readEnv(file)).map(([k, v]) => [k, PLACEHOLDER.test(v) ? `filled-${k.toLowerCase()}` : v]));
  /** The env files a unit loads, with the template instance expanded. */
  const envFilesOf = (unit: string, instance?: string) =>
    [...fs.readFileSync(path.join(dir, unit), 'utf8').matchAll(/^EnvironmentFile=-?\/etc\/llmconv\/(.+)$/gm)].map((m) =>
      m[1]!.replace('%i', instance ?? ''),
    );

  it("every key in the environment files is a config key, and each unit's files load together", () => {
    for (const file of fs.readdirSync(path.join(dir, 'env'))) {
      for (const key of Object.keys(readEnv(file))) assert.ok(KNOWN_KEYS.has(key), `${file}: ${key} is not a config key`);
    }
    for (const unit of units) {
      for (const instance of unit.includes('@') ? ROLES : [undefined]) {
        const files = envFilesOf(unit, instance);
        assert.ok(files.length >= 2, `${unit}: common.env and its own file`);
        for (const f of files)
          assert.ok(fs.existsSync(path.join(dir, 'env', f)), `${unit}${instance ? ` (${instance})` : ''}: env/${f} exists`);
        const env = Object.assign({}, ...files.map(filledEnv)) as Record<string, string>;
        const config = loadConfig(env);
        if (instance) assert.deepEqual(config.workerRoles, [instance], `${unit} @${instance}`);
      }
    }
  });

  it('the worker roles on one host get distinct metrics ports, and the local side stays within OLLAMA_NUM_PARALLEL', () => {
    const ports = ROLES.map((r) => loadConfig({ ...filledEnv('common.env'), ...filledEnv(`worker-${r}.env`) }).metricsPort);
    assert.equal(new Set(ports).size, ROLES.length, `metrics ports ${ports}`);
    const dropIn = fs.readFileSync(path.join(dir, 'ollama.service.d', 'llmconv.conf'), 'utf8');
    const parallel = Number(/OLLAMA_NUM_PARALLEL=(\d+)/.exec(dropIn)![1]);
    const local = loadConfig(readEnv('worker-local.env'));
    assert.ok(local.localConcurrency <= parallel, `LOCAL_CONCURRENCY ${local.localConcurrency} > OLLAMA_NUM_PARALLEL ${parallel}`);
    assert.equal(local.ollamaHost, `http://${/OLLAMA_HOST=([^"]+)/.exec(dropIn)![1]}`);
  });

  it('every ExecStart runs an entry point built from a real source file, and systemd accepts every unit', () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'llmc-units-'));
    try {
      for (const unit of units) {
        const text = fs.readFileSync(path.join(dir, unit), 'utf8');
        const exec = /^ExecStart=\/usr\/bin\/node (dist\/\S+\.js)$/m.exec(text);
        assert.ok(exec, `${unit}: ExecStart=/usr/bin/node dist/...js`);
        assert.ok(fs.existsSync(path.join(ROOT, exec[1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), `${unit}: source of ${exec[1]}`);
        const name = unit.replace('@.service', '@cloud.service');
        // This machine's node binary stands in for /usr/bin/node.
        fs.writeFileSync(path.join(scratch, name), text.replace(/\/usr\/bin\/node/g, process.execPath));
      }
      const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
      if (probe.status !== 0) {
        console.log('      systemd-analyze is not installed: unit syntax not verified');
        return;
      }
      for (const f of fs.readdirSync(scratch)) {
        const r = spawnSync('systemd-analyze', ['verify', path.join(scratch, f)], { encoding: 'utf8' });
        assert.equal(r.status, 0, `systemd-analyze verify ${f}: ${r.stderr}${r.stdout}`);
        assert.doesNotMatch(r.stderr, /Unknown key|Unknown section|ignoring/, f);
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
