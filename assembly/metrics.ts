/**
 * The process's metrics: bounded `model` labels from the configured models, the queue counts of
 * the queues given (the producer's and the stack's; a worker's come from the producer).
 */
import type { Config } from '../shared/config';
import { createMetrics, type PipelineMetrics, type PipelineMetricsOptions } from '../shared/metrics';
import { configuredModels } from '../shared/model-label';

export function buildMetrics(config: Config, opts: Omit<PipelineMetricsOptions, 'models'> = {}): PipelineMetrics {
  return createMetrics({ ...opts, models: configuredModels(config) });
}
