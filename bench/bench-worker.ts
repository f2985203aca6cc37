/**
 * A worker process for the scaling benchmark, started by `bench/scaling.ts` as
 * `node --import tsx bench/bench-worker.ts` with an IPC channel. It is `workers/main.ts` minus the
 * process-level extras (no metrics port, no signal handlers), with its settings sent over IPC rather
 * than the environment: the bench Redis and prefix, the emulator URLs, config overrides. Like a
 * worker without API_GATEWAY_URL it runs the real Lambda handler behind its own local gateway.
 *
 * Protocol: parent → `{type:'start', ...}`; child → `{type:'ready'}` (or `{type:'error'}`);
 * parent → `{type:'cpu'}`; child → `{type:'cpu', cpuMs}` (CPU used so far, user + system);
 * parent → `{type:'stop'}`; child → `{type:'stopped', cpuMs}` and exits.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Env } from '../shared/config';
import { startInProcessGateway } from '../lambda/in-process-gateway';
import { startWorkers } from '../workers/start-workers';
import { benchLogger } from './pipeline-rig';

/** What the parent sends to start a worker process. */
export interface BenchWorkerStart {
  type: 'start';
  redisUrl: string;
  prefix: string;
  bedrockUrl: string;
  ollamaUrl: string;
  /** Extra config keys (concurrency...). */
  env?: Env;
}

type Message = BenchWorkerStart | { type: 'cpu' } | { type: 'stop' };

const send = (msg: object, then?: () => void) => process.send?.(msg, undefined, {}, () => then?.());
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function start(msg: BenchWorkerStart): Promise<() => Promise<void>> {
  const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-bench-worker-'));
  const base = loadConfig({
    REDIS_URL: msg.redisUrl,
    QUEUE_PREFIX: msg.prefix,
    BEDROCK_ENDPOINT: msg.bedrockUrl,
    OLLAMA_HOST: msg.ollamaUrl,
    OUTPUT_DIR: outputDir,
    ...msg.env,
  });
  const logger = benchLogger();
  const gateway = await startInProcessGateway({ config: base, logger });
  const config = { ...base, apiGatewayUrl: gateway.url };
  const workers = await startWorkers({ config, logger, name: `bench-${process.pid}` });
  return async () => {
    await workers.close(10_000);
    await gateway.close();
    fs.rmSync(outputDir, { recursive: true, force: true });
  };
}

let stop: (() => Promise<void>) | undefined;
process.on('message', (msg: Message) => {
  if (msg.type === 'start') {
    start(msg).then(
      (s) => {
        stop = s;
        send({ type: 'ready' });
      },
      (err: Error) => {
        send({ type: 'error', message: err.message }, () => process.exit(1));
      },
    );
  } else if (msg.type === 'cpu') {
    send({ type: 'cpu', cpuMs: cpuMs() });
  } else if (msg.type === 'stop') {
    void (async () => {
      await stop?.().catch(() => undefined);
      send({ type: 'stopped', cpuMs: cpuMs() }, () => process.exit(0));
    })();
  }
});
// The parent going away ends this process too.
process.on('disconnect', () => process.exit(0));
