/**
 * Prints the configuration table (docs/configuration.md) from the config schema
 * (shared/config/schema.ts, with the processes that read each key) and EMULATOR_CONFIG_KEYS, or with
 * `--write` replaces the table between that file's config-table markers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, describeReaders, type KeyDoc } from '../shared/config';
import { EMULATOR_CONFIG_KEYS } from '../emulators/emulator-config';
import { CLI_ENV_KEYS } from '../cli/cli-env';

/** Every documented key with who reads it: the schema's processes, or the emulators. */
export function allKeyDocs(): (KeyDoc & { readers: string })[] {
  const seen = new Set<string>();
  return [
    ...CONFIG_KEYS.map((k) => ({ ...k, readers: describeReaders(k.readBy) })),
    ...EMULATOR_CONFIG_KEYS.map((k) => ({ ...k, readers: 'emulators' })),
    ...CLI_ENV_KEYS.map((k) => ({ ...k, readers: 'cli' })),
  ].filter((k) => !seen.has(k.key) && Boolean(seen.add(k.key)));
}

export function configTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| key | default | accepts | read by | what |', '|---|---|---|---|---|'];
  for (const k of allKeyDocs()) {
    const def = k.default.startsWith('(') ? k.default : `\`${k.default}\``;
    lines.push(`| \`${k.key}\` | ${cell(def)} | ${cell(k.accepts)} | ${cell(k.readers)} | ${cell(k.description)} |`);
  }
  return lines.join('\n');
}

export const START = '<!-- config-table:start -->';
/** The file that holds the table, from the repository's root (the README links to it). */
export const TABLE_FILE = 'docs/configuration.md';
export const END = '<!-- config-table:end -->';

if (require.main === module) {
  if (process.argv.includes('--write')) {
    const file = path.join(__dirname, '..', TABLE_FILE);
    const text = fs.readFileSync(file, 'utf8');
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${TABLE_FILE} lacks ${START} ... ${END}`);
    fs.writeFileSync(file, `${text.slice(0, a + START.length)}\n${configTable()}\n${text.slice(b)}`);
  } else {
    process.stdout.write(`${configTable()}\n`);
  }
}
