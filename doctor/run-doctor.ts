/**
 * The doctor's runner: every check against one config, in a fixed order (the lines read top to
 * bottom as the data flows: AWS, the cloud model, API Gateway, the probe, Ollama, Redis, the
 * output dir). Checks run concurrently; each is bounded, and a check that throws becomes a `fail`
 * line instead of stopping the others.
 *
 * @example
 * const report = await runDoctor({ config: loadConfig(), env: process.env });
 * if (!report.ok) process.exitCode = 1;
 */
import type { Redis } from 'ioredis';
import type { Config, Env } from '../shared/config';
import { loadModelCatalog, type ModelCatalog } from '../shared/model-catalog';
import { apiGatewayCheck } from './api-gateway-check';
import { awsIdentityCheck } from './aws-identity-check';
import { bedrockModelCheck } from './bedrock-model-check';
import { type Check, type CheckResult, describeError, type DoctorContext } from './check-result';
import { cloudProbeCheck } from './cloud-probe-check';
import { ollamaCheck } from './ollama-check';
import { outputDirCheck } from './output-dir-check';
import { redisCheck } from './redis-check';

export interface DoctorOptions {
  config: Config;
  env: Env;
  /** `--probe`: the paid 1-token call. Default false. */
  probe?: boolean;
  /** Bound of each outside call, ms. Default 8000. */
  timeoutMs?: number;
  /** A Redis connection to check instead of one to REDIS_URL (the producer's). */
  redis?: Redis;
  /** The catalogue; default MODEL_CATALOG_FILE's (then the shipped one). */
  catalog?: ModelCatalog;
  /** Where notes (the probe's cost) go before its line; default nowhere. */
  note?(line: string): void;
}

export interface DoctorReport {
  /** False when any line failed. */
  ok: boolean;
  checks: CheckResult[];
}

/** The catalogue a config names (MODEL_CATALOG_FILE), read as the rest of the stack reads it. */
export function catalogOf(config: Config): ModelCatalog {
  return loadModelCatalog(config.modelCatalogFile);
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  let catalog: ModelCatalog;
  try {
    catalog = opts.catalog ?? catalogOf(opts.config);
  } catch (err) {
    // A bad MODEL_CATALOG_FILE is a line like any other (the producer keeps answering).
    const key = (err as { key?: string }).key ?? 'MODEL_CATALOG_FILE';
    return { ok: false, checks: [{ check: 'config', status: 'fail', found: describeError(err), fix: `fix ${key}`, setting: key }] };
  }
  const ctx: DoctorContext = {
    config: opts.config,
    env: opts.env,
    catalog,
    probe: opts.probe ?? false,
    timeoutMs: opts.timeoutMs ?? 8000,
    note: opts.note ?? (() => undefined),
  };
  const checks: [string, Check][] = [
    ['aws.identity', awsIdentityCheck],
    ['bedrock.model', bedrockModelCheck],
    ['api-gateway', apiGatewayCheck],
    ['ollama.server', ollamaCheck],
    ['redis', redisCheck(opts.redis)],
    ['output-dir', outputDirCheck],
  ];
  const settled = await Promise.all(
    checks.map(([name, check]) =>
      check(ctx).catch((err: unknown): CheckResult[] => [
        {
          check: name,
          status: 'fail',
          found: `the check itself failed: ${describeError(err)}`,
          fix: 'report this with the line above',
          setting: '(none)',
        },
      ]),
    ),
  );
  // The probe spends money: only after the free checks, and only when they found no failure.
  const lines = settled.flat();
  if (ctx.probe) {
    const cloudFailed = lines.some((l) => l.status === 'fail' && /^(aws|bedrock|api-gateway)/.test(l.check));
    const probeLines: CheckResult[] = cloudFailed
      ? [
          {
            check: 'cloud.probe',
            status: 'skip',
            found: 'not run: a cloud check above failed (fix it first; the probe would only pay for the same error)',
          },
        ]
      : await cloudProbeCheck(ctx).catch((err: unknown): CheckResult[] => [
          { check: 'cloud.probe', status: 'fail', found: describeError(err), fix: 'report this', setting: '(none)' },
        ]);
    const at = lines.findIndex((l) => l.check.startsWith('ollama'));
    lines.splice(at < 0 ? lines.length : at, 0, ...probeLines);
  }
  return { ok: !lines.some((l) => l.status === 'fail'), checks: lines };
}
