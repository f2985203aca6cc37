/**
 * Writing a transcript into OUTPUT_DIR so that concurrent conversations asking for the same file
 * name never overwrite each other, and a re-run of one conversation replaces only its own file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveInOutputDir } from './output-file';

/**
 * Writes to a temp file, then claims the name atomically with link(): of two conversations that
 * asked for the same name at the same moment exactly one gets it. When the name is taken by another
 * conversation's transcript, the conversation id is added to the name instead of overwriting it;
 * a re-run of the same conversation replaces its own file (rename).
 *
 * A re-run first removes the temp files an earlier attempt of this conversation left when its
 * process was killed mid-write (a SIGKILLed worker cannot clean up; its job runs again elsewhere).
 */
export async function writeTranscriptFile(outputDir: string, name: string, id: string, csv: string): Promise<string> {
  await fs.mkdir(outputDir, { recursive: true });
  await removeLeftoverTemps(outputDir, id);
  const preferred = resolveInOutputDir(outputDir, name);
  const tmp = path.join(outputDir, `.${id}.${process.pid}.${Date.now()}.tmp`);
  await fs.writeFile(tmp, csv, 'utf8');
  try {
    await fs.link(tmp, preferred);
    await fs.unlink(tmp);
    return preferred;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EEXIST: taken. Other codes: a file system without hard links; decide by reading, as below.
    if (code !== 'EEXIST' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }
  let head = '';
  try {
    head = (await fs.readFile(preferred, 'utf8')).split('\r\n', 2)[1] ?? '';
  } catch {
    /* no such file (link unsupported and the name is free) */
  }
  const target = head && !head.includes(id) ? resolveInOutputDir(outputDir, name.replace(/\.csv$/i, `-${id}.csv`)) : preferred;
  await fs.rename(tmp, target);
  return target;
}

/** Removes `.<id>.<pid>.<time>.tmp` files of this conversation from attempts that were killed. */
async function removeLeftoverTemps(outputDir: string, id: string): Promise<void> {
  const prefix = `.${id}.`;
  const names = await fs.readdir(outputDir);
  await Promise.all(
    names.filter((n) => n.startsWith(prefix) && n.endsWith('.tmp')).map((n) => fs.rm(path.join(outputDir, n), { force: true })),
  );
}
