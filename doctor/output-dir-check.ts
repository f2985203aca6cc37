/**
 * `output-dir`: OUTPUT_DIR exists (or can be made) and takes a file: a probe file is written and
 * removed, the way transcripts are (transcript/transcript-file.ts writes there).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type Check, fail, ok } from './check-result';

export const outputDirCheck: Check = async (ctx) => {
  const dir = ctx.config.outputDir;
  const probe = path.join(dir, `.llmconv-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(probe, 'llmconv doctor\n', { flag: 'wx' });
    await fs.rm(probe, { force: true });
    return [ok('output-dir', `${dir} is writable`)];
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    return [
      fail(
        'output-dir',
        `${dir} is not writable (${code})`,
        'point OUTPUT_DIR at a directory this user can write, or fix its permissions',
        'OUTPUT_DIR',
      ),
    ];
  }
};
