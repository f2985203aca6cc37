/**
 * A run's conversation settings: the run-level defaults every seed of it runs with (and that enter
 * each seed's hash, runs/seed-identity.ts). They are stored when the run is created; an append
 * that names none uses them, one that names the same ones is the same, one that names others is a
 * different set of seeds (other hashes) and is refused, or starts a new run when asked.
 */
import { canonicalJson } from '../shared/canonical-json';
import { PipelineError } from '../shared/errors';

/** One setting an append names differently from the run: `run` undefined when the run has none. */
export interface SettingDifference {
  field: string;
  run?: unknown;
  upload: unknown;
}

/** The settings `named` gives differently from the run's `stored` ones (a setting it leaves out is the run's). */
export function settingsDifference(stored: Record<string, unknown>, named: Record<string, unknown>): SettingDifference[] {
  const out: SettingDifference[] = [];
  for (const field of Object.keys(named).sort()) {
    if (named[field] === undefined) continue;
    if (canonicalJson(stored[field]) === canonicalJson(named[field])) continue;
    out.push({ field, ...(stored[field] !== undefined ? { run: stored[field] } : {}), upload: named[field] });
  }
  return out;
}

const shown = (v: unknown) => {
  const s = canonicalJson(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** "maxTurns: the run has 3, this upload names 5", one per difference. */
export function describeDifferences(diff: SettingDifference[]): string[] {
  return diff.map((d) => `${d.field}: the run has ${d.run === undefined ? 'none' : shown(d.run)}, this upload names ${shown(d.upload)}`);
}

/** The 409 for an append to `runId` whose settings differ from the run's. */
export function settingsConflict(runId: string, diff: SettingDifference[]): PipelineError {
  const lines = describeDifferences(diff);
  return new PipelineError(
    `run ${runId} was created with other conversation settings (${lines.join('; ')}): append without them (the run's are used) or with the same ones, or pass newRun=true (llmconv run --new-run) to start a new run with these`,
    {
      code: 'settings_conflict',
      status: 409,
      details: diff.map((d) => ({ field: d.field, run: d.run ?? null, upload: d.upload })),
    },
  );
}
