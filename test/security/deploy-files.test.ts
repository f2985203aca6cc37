/**
 * Issue 21, part 1: the shipped deploy files carry placeholders that fail start-up until filled,
 * and once filled every process they bind off loopback has its key (or says
 * ALLOW_UNAUTHENTICATED on purpose). Read as the processes read them: systemd env files per unit,
 * docker-compose.yml with `.env.example` (the image binds 0.0.0.0), and the shipped placeholder
 * rule itself.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig, PLACEHOLDER, type Config } from '../../shared/config';
import { openBindProblem } from '../../shared/bind-guard';
import { ConfigError } from '../../shared/errors';

const ROOT = path.resolve(__dirname, '..', '..');
const envFile = (file: string): Record<string, string> =>
  Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
const systemd = (name: string) => envFile(path.join(ROOT, 'deploy', 'systemd', 'env', name));
const fill = (env: Record<string, string>) =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, PLACEHOLDER.test(v) ? `filled-${k.toLowerCase()}` : v]));

/** The refusal `loadConfig` gives, or undefined when it loads. */
function loadError(env: Record<string, string>): ConfigError | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
}

const producerBind = (c: Config) =>
  openBindProblem({
    what: 'producer',
    hostKey: 'HOST',
    host: c.host,
    keyName: 'API_KEY',
    keySet: Boolean(c.apiKey),
    allowUnauthenticated: c.allowUnauthenticated,
  });
const gatewayBind = (c: Config) =>
  openBindProblem({
    what: 'gateway',
    hostKey: 'HOST',
    host: c.host,
    keyName: 'API_GATEWAY_API_KEY',
    keySet: Boolean(c.apiGatewayApiKey),
    allowUnauthenticated: c.allowUnauthenticated,
  });

describe('security: deploy files fail start-up until filled', () => {
  it('a placeholder value is refused naming its key', () => {
    for (const key of ['API_KEY', 'API_GATEWAY_API_KEY', 'ALLOWED_HOSTS', 'BOARD_PASSWORD']) {
      const err = loadError({ [key]: '__SET_ME__', ...(key === 'BOARD_PASSWORD' ? { BOARD_USERNAME: 'ops' } : {}) });
      assert.ok(err, key);
      assert.equal(err.key, key);
      assert.match(err.message, /placeholder "__SET_ME__"/);
    }
  });

  it('deploy/redis/redis.conf ships a placeholder password, and a REDIS_URL carrying it (or the old "change-me") is refused', () => {
    const conf = fs.readFileSync(path.join(ROOT, 'deploy', 'redis', 'redis.conf'), 'utf8');
    const password = /^requirepass (\S+)$/m.exec(conf)![1]!;
    assert.match(password, PLACEHOLDER);
    for (const pw of [password, 'change-me']) {
      const err = loadError({ REDIS_URL: `redis://:${pw}@redis.internal:6379` });
      assert.equal(err?.key, 'REDIS_URL', pw);
    }
    assert.equal(loadError({ REDIS_URL: 'redis://:a-real-one@redis.internal:6379' }), undefined);
  });

  it('systemd: the producer and the gateway (and the workers, through common.env) refuse as shipped; filled, the producer and gateway on 0.0.0.0 have their keys', () => {
    const common = systemd('common.env');
    const producer = { ...common, ...systemd('producer.env') };
    const gateway = { ...common, ...systemd('gateway.env') };
    assert.equal(systemd('producer.env').HOST, '0.0.0.0');
    assert.equal(systemd('gateway.env').HOST, '0.0.0.0');
    assert.ok(loadError(producer), 'producer.env as shipped');
    assert.equal(loadError(gateway)?.key, 'API_GATEWAY_API_KEY', 'gateway.env as shipped');
    assert.equal(loadError({ ...systemd('common.env'), API_GATEWAY_API_KEY: 'k', ...systemd('producer.env') })?.key, 'API_KEY');
    for (const role of ['cloud', 'local', 'transcript'])
      assert.ok(loadError({ ...common, ...systemd(`worker-${role}.env`) }), `worker-${role}`);
    const filledProducer = loadConfig(fill(producer));
    assert.equal(producerBind(filledProducer), undefined);
    assert.ok(filledProducer.allowedHosts.length > 0, 'ALLOWED_HOSTS is asked for');
    assert.equal(gatewayBind(loadConfig(fill(gateway))), undefined);
    // Had the key lines been left empty (as they shipped before), the bind check refuses.
    assert.match(producerBind(loadConfig({ ...fill(producer), API_KEY: '' }))!, /API_KEY is not set/);
    assert.match(gatewayBind(loadConfig({ ...fill(gateway), API_GATEWAY_API_KEY: '' }))!, /API_GATEWAY_API_KEY is not set/);
  });

  describe('docker compose with .env.example', () => {
    const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, unknown> }>;
    };
    const dotenv = envFile(path.join(ROOT, '.env.example'));
    const imageHost = /HOST=(\S+)/.exec(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))![1]!;
    /** A service's environment as compose interpolates it from `shell`, with the image's HOST. */
    const envOf = (service: string, shell: Record<string, string>) => ({
      HOST: imageHost,
      ...Object.fromEntries(
        Object.entries(compose.services[service]!.environment ?? {}).map(([k, v]) => [
          k,
          String(v).replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_m, n: string, d?: string) => shell[n] || (d ?? '')),
        ]),
      ),
    });

    it('the image binds 0.0.0.0, so the producer and the online gateway refuse until .env sets their keys and a board password', () => {
      assert.equal(imageHost, '0.0.0.0');
      assert.equal(loadError(envOf('producer', {}))?.key, 'API_KEY', 'nothing set');
      assert.equal(loadError(envOf('producer', dotenv))?.key, 'BOARD_PASSWORD', '.env.example as shipped: change-me');
      assert.equal(loadError(envOf('producer', { ...dotenv, BOARD_PASSWORD: 'mine' }))?.key, 'API_KEY', '.env.example: API_KEY=__SET_ME__');
      assert.equal(loadError(envOf('lambda', dotenv))?.key, 'API_GATEWAY_API_KEY', 'online gateway: real Bedrock');
      const filled = { ...dotenv, BOARD_PASSWORD: 'mine', API_KEY: 'k1', API_GATEWAY_API_KEY: 'k2' };
      const producer = loadConfig(envOf('producer', filled));
      assert.equal(producerBind(producer), undefined);
      // The published port's names, so a browser on the host passes the Host check.
      assert.deepEqual(producer.allowedHosts, ['localhost:8080', '127.0.0.1:8080']);
      assert.equal(gatewayBind(loadConfig(envOf('lambda', filled))), undefined);
      // The offline gateway (emulated Bedrock, internal network only) is open on purpose, and says so.
      const offline = loadConfig(envOf('lambda-offline', {}));
      assert.equal(offline.allowUnauthenticated, true);
      assert.equal(gatewayBind(offline), undefined);
    });
  });
});
