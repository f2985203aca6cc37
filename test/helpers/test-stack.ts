/**
 * A full pipeline on the test run's Redis with a unique queue prefix, a temp OUTPUT_DIR, the real
 * emulators, local gateway, workers and producer — everything real, only the endpoints local.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { Shutdown } from '../../assembly/shutdown';
import type { Env } from '../../shared/config';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../stack/local-stack';
import { testRedisUrl, uniquePrefix } from './redis';

export interface TestStack extends LocalStack {
  http: AxiosInstance;
  outputDir: string;
}

/** Fast retry settings so fault tests finish in seconds. */
export const FAST_ENV: Env = {
  BACKOFF_DELAY_MS: '50',
  JOB_ATTEMPTS: '6',
  LOCK_DURATION_MS: '5000',
  STALLED_INTERVAL_MS: '2000',
  LOG_LEVEL: 'silent',
  PORT: '0',
  CLOUD_THROTTLE_BACKOFF_MS: '200',
};

/** TEST_REDIS_SHARDS=N runs every test stack with REDIS_SHARDS=N (the suites again over shards: `npm run test:shards`). */
function shardsEnv(): Env {
  const n = process.env.TEST_REDIS_SHARDS;
  return n ? { REDIS_SHARDS: n } : {};
}

export async function startTestStack(env: Env = {}, opts: Omit<LocalStackOptions, 'env'> = {}): Promise<TestStack> {
  // The output dir goes after the stack has stopped (and when it fails to start), once.
  const stop = new Shutdown();
  const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-out-'));
  stop.add('output dir', () => fs.rmSync(outputDir, { recursive: true, force: true }));
  const stack = await startLocalStack({
    ...opts,
    env: { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: uniquePrefix(), OUTPUT_DIR: outputDir, ...FAST_ENV, ...shardsEnv(), ...env },
  }).catch(async (err: unknown) => {
    await stop.close();
    throw err;
  });
  stop.add('stack', stack.close);
  const http = axios.create({ baseURL: stack.producerUrl, validateStatus: () => true });
  return Object.assign(stack, { http, outputDir, close: () => stop.close() });
}

const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out'];

/** Polls GET /conversation/:id until terminal (and, unless told otherwise, the transcript is written). */
export async function waitForConversation(stack: TestStack, id: string, timeoutMs = 20_000, needTranscript = true): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await stack.http.get(`/conversation/${id}`);
    const view = res.data;
    if (res.status === 200 && TERMINAL.includes(view.status) && (!needTranscript || view.transcriptFile)) return view;
    if (Date.now() > deadline)
      throw new Error(`conversation ${id} not finished after ${timeoutMs} ms: ${JSON.stringify(view).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until `check` returns true. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
