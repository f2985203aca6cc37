/**
 * The pipeline's queues as the assembly opens them: on a connection, with their `error` events on
 * the process's outage log, closed by the shutdown before their connection.
 */
import type { Redis } from 'ioredis';
import { PipelineQueues } from '../queue/pipeline-queues';
import type { Config } from '../shared/config';
import type { OutageLog } from '../shared/redis-outage-log';
import type { Shutdown } from './shutdown';

export interface OpenQueuesOptions {
  outage?: OutageLog;
  /** Registers the queues' close. */
  stop?: Shutdown;
}

/** The queues of `config`'s prefix on `conn`. */
export function openQueues(conn: Redis, config: Config, opts: OpenQueuesOptions = {}): PipelineQueues {
  const { outage } = opts;
  const queues = PipelineQueues.fromConfig(conn, config);
  if (outage) for (const q of queues.all) q.on('error', (err: Error) => outage.error(err, { queue: q.name }));
  opts.stop?.add('queues', () => queues.close());
  return queues;
}
