/**
 * Per-model cloud limits: `{ "<modelId>": { "rpm": N, "tpm": N } }`, from the JSON file named by
 * CLOUD_LIMITS_FILE and/or the inline JSON of CLOUD_LIMITS (inline entries win). Either number
 * may be left out (no limit on that axis). Set them to the account's Bedrock quotas
 * ("On-demand InvokeModel requests/tokens per minute for <model>" in Service Quotas).
 */
import fs from 'node:fs';
import { ConfigError } from './errors';

/** Per-minute limits of one model. */
export interface ModelLimits {
  rpm?: number;
  tpm?: number;
}

export type CloudLimits = Record<string, ModelLimits>;

/** Validates one parsed table; `key` names the config key in the errors. */
export function parseCloudLimits(value: unknown, key: string): CloudLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${key} must be a JSON object { "<modelId>": { "rpm": N, "tpm": N } }`, key);
  }
  const out: CloudLimits = {};
  for (const [model, raw] of Object.entries(value as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ConfigError(`${key}: "${model}" must be an object { "rpm"?: N, "tpm"?: N }`, key);
    const extra = Object.keys(raw).filter((k) => k !== 'rpm' && k !== 'tpm');
    if (extra.length > 0) throw new ConfigError(`${key}: "${model}" has unknown field(s) ${extra.join(', ')}; allowed: rpm, tpm`, key);
    const limits: ModelLimits = {};
    for (const axis of ['rpm', 'tpm'] as const) {
      const v = (raw as Record<string, unknown>)[axis];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || (v as number) < 1)
        throw new ConfigError(`${key}: "${model}".${axis} must be an integer >= 1 (got ${JSON.stringify(v)})`, key);
      limits[axis] = v as number;
    }
    out[model] = limits;
  }
  return out;
}

/** Reads CLOUD_LIMITS_FILE (a path) and CLOUD_LIMITS (inline JSON); {} when neither is set. */
export function loadCloudLimits(file: string | undefined, inline: string | undefined): CloudLimits {
  let fromFile: CloudLimits = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`CLOUD_LIMITS_FILE=${JSON.stringify(file)} cannot be read: ${(err as Error).message}`, 'CLOUD_LIMITS_FILE');
    }
    fromFile = parseCloudLimits(parseJson(text, 'CLOUD_LIMITS_FILE'), 'CLOUD_LIMITS_FILE');
  }
  const fromEnv = inline === undefined ? {} : parseCloudLimits(parseJson(inline, 'CLOUD_LIMITS'), 'CLOUD_LIMITS');
  return { ...fromFile, ...fromEnv };
}

function parseJson(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${key} is not valid JSON: ${(err as Error).message}`, key);
  }
}
