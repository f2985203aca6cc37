/** docs/architecture.md names only paths that exist: every backticked file or folder is in the repository. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { backtickedPaths, missingPaths, ROOT } from '../../helpers/markdown';

describe('docs/architecture.md: the paths it names', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');

  it('every backticked path exists (from the root, or in the folder of its table row)', () => {
    assert.ok(backtickedPaths(doc).length > 200, 'the page names the files it describes');
    assert.deepEqual(missingPaths(doc), []);
  });

  it('finds a path that does not exist, in prose and in a folder row, and reads placeholders and routes', () => {
    const text = [
      'The record is written by `store/no-such-store.ts`; `store/lua/<store>/<name>.lua`, `GET /runs`, `/metrics`, `CLOUD=gateway`.',
      '| `store/` | `conversation-store.ts`, `missing-file.ts`, `interfaces/` |',
      '| `queue/` | `conversation-store.ts` |',
      '`nowhere/<x>.lua` and `gone.lua`',
    ].join('\n');
    assert.deepEqual(missingPaths(text), [
      'store/no-such-store.ts',
      'missing-file.ts (row store/)',
      'conversation-store.ts (row queue/)',
      'nowhere/<x>.lua',
      'gone.lua',
    ]);
  });
});
