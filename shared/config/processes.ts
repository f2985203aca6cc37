/**
 * The processes that read configuration, each loading only the keys it reads (schema.ts `readBy`):
 * a worker process is the union of its roles' parts. `npm start` (the stack), `llmconv doctor`
 * (it checks the whole deployment) and the tests load and validate every key. The CLI
 * (`llmconv`) reads no key: it is an HTTP client of the producer.
 */
import { WORKER_ROLES, type WorkerRole } from './types';

export const CONFIG_PROCESSES = [
  /** `npm run producer`: the HTTP API, `/api/v1/generate` (the cloud side's backend), `/ready?verbose=1`. */
  'producer',
  /** `npm run worker` with role `cloud`, `local`, `transcript` or `judge` (WORKER_ROLES). */
  'cloud-worker',
  'local-worker',
  'transcript-worker',
  'judge-worker',
  /** The Lambda handler in AWS (`lambda/lambda-config.ts`). */
  'lambda',
  /** `npm run gateway`: the local API Gateway host running the Lambda handler. */
  'gateway',
  /** `npm start`: the whole stack in one process; `for: 'stack'` loads every key. Named alone on the keys only it reads. */
  'stack',
] as const;
export type ConfigProcess = (typeof CONFIG_PROCESSES)[number];

/** Every worker role's process. */
export const WORKERS: readonly ConfigProcess[] = WORKER_ROLES.map((r) => workerProcess(r));

/** The process name of a worker role. */
export function workerProcess(role: WorkerRole): ConfigProcess {
  return `${role}-worker`;
}

/** How the README's table names the processes that read a key: `producer, workers (cloud, local), lambda`. */
export function describeReaders(readers: readonly ConfigProcess[]): string {
  const set = new Set(readers);
  const roles = WORKER_ROLES.filter((r) => set.has(workerProcess(r)));
  const out: string[] = [];
  if (set.has('producer')) out.push('producer');
  if (roles.length === WORKER_ROLES.length) out.push('workers');
  else if (roles.length) out.push(`${roles.length === 1 ? 'worker' : 'workers'} (${roles.join(', ')})`);
  for (const p of ['lambda', 'gateway', 'stack'] as const) if (set.has(p)) out.push(p);
  return out.join(', ');
}
