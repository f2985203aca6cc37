/**
 * Transcript file names: a client's `outputFile` becomes a bare name inside OUTPUT_DIR, never a
 * path. The seed's examples sent absolute paths (`/opt/app/conversation.csv`); those keep working
 * as their base name. Anything with `..`, control characters or an odd alphabet is rejected.
 */
import path from 'node:path';
import { ValidationError } from '../shared/errors';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Validates and normalises a client-supplied name; returns a bare `name.csv`. */
export function safeOutputName(input: string | undefined, conversationId: string): string {
  if (input === undefined || input.trim() === '') return `conversation-${conversationId}.csv`;
  const raw = input.trim();
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw))
    throw new ValidationError('outputFile must not contain control characters', { field: 'outputFile' });
  const segments = raw.split(/[\\/]+/);
  if (segments.some((s) => s === '..' || s === '.')) {
    throw new ValidationError('outputFile must be a file name inside OUTPUT_DIR; ".." and "." are not allowed', { field: 'outputFile' });
  }
  let name = segments[segments.length - 1] ?? '';
  if (!SAFE_NAME.test(name)) {
    throw new ValidationError('outputFile must be a file name of letters, digits, ".", "_" or "-" (max 128), not starting with "."', {
      field: 'outputFile',
    });
  }
  if (!name.toLowerCase().endsWith('.csv')) name = `${name}.csv`;
  return name;
}

/** The absolute path of `name` inside `outputDir`; throws if it would leave the directory. */
export function resolveInOutputDir(outputDir: string, name: string): string {
  const dir = path.resolve(outputDir);
  const full = path.resolve(dir, name);
  if (path.dirname(full) !== dir) throw new ValidationError(`outputFile "${name}" resolves outside OUTPUT_DIR`, { field: 'outputFile' });
  return full;
}
