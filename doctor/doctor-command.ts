/**
 * `llmconv doctor [--probe] [--json]`: checks the configured deployment (the same environment and
 * config as the stack: every key of shared/config) and exits 1 when any check fails, 2 on a usage or config
 * error. bin/llmconv.js hands `doctor` here, so cli/ stays an HTTP client of the producer.
 */
import { parseArgs } from 'node:util';
import { loadConfig, type Config, type Env } from '../shared/config';
import type { ModelCatalog } from '../shared/model-catalog';
import { ConfigError } from '../shared/errors';
import { formatJson, formatText } from './format';
import { catalogOf, runDoctor } from './run-doctor';

export const DOCTOR_HELP = `llmconv doctor [--probe] [--json]

Checks the configured deployment (the same environment as npm start / the workers): AWS
credentials (STS), the cloud model's lifecycle and inference profile in AWS_REGION (Bedrock
control plane and the model catalogue), API_GATEWAY_URL, Ollama (version, model, context,
thinking), Redis (noeviction, AOF) and OUTPUT_DIR. One line per check: ok, warn, FAIL or skip
(nothing real configured: the emulators run in its place); a warning or failure names the setting.

  --probe   also make one 1-token call through the whole cloud path (costs money: its worst
            case is printed first, from the catalogue's prices)
  --json    print {"ok": bool, "checks": [{check, status, found, fix?, setting?}]}

exit codes: 0 no failure, 1 a check failed, 2 usage or configuration error
`;

export interface DoctorIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export async function doctorCommand(argv: string[], io: DoctorIo, env: Env = process.env): Promise<number> {
  let values: { probe?: boolean; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { probe: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${DOCTOR_HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(DOCTOR_HELP);
    return 0;
  }
  let config: Config;
  let catalog: ModelCatalog;
  try {
    config = loadConfig(env);
    catalog = catalogOf(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const report = {
      ok: false,
      checks: [
        { check: 'config', status: 'fail' as const, found: err.message, fix: `fix ${err.key} (README, "Configuration")`, setting: err.key },
      ],
    };
    io.stdout.write(values.json ? formatJson(report) : formatText(report));
    return 2;
  }
  const report = await runDoctor({
    config,
    env,
    catalog,
    probe: values.probe,
    note: (line) => (values.json ? io.stderr : io.stdout).write(`${line}\n`),
  });
  io.stdout.write(values.json ? formatJson(report) : formatText(report));
  return report.ok ? 0 : 1;
}
