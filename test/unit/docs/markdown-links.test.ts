/**
 * The README's and docs/'s relative links lead somewhere: every `[text](target)` that is not a URL
 * names a file that exists, and a `#anchor` names a heading of that file (GitHub's slugs).
 */
import assert from 'node:assert/strict';
import path from 'node:path';

import { brokenLinks, headingSlugs, markdownFiles, ROOT } from '../../helpers/markdown';

describe('Markdown links in the README and docs/', () => {
  it('every relative link names a file that exists and, with #anchor, one of its headings', () => {
    const broken = markdownFiles().flatMap((f) => brokenLinks(f));
    assert.deepEqual(broken, []);
  });

  it('finds a missing file, a missing heading, and reads GitHub-style anchors', () => {
    const readme = path.join(ROOT, 'README.md');
    assert.deepEqual(brokenLinks(readme, '[a](docs/no-such-page.md) [b](#no-such-heading) [c](https://example.com/x)'), [
      'README.md: docs/no-such-page.md (no such file)',
      'README.md: #no-such-heading (no heading #no-such-heading in README.md)',
    ]);
    const slugs = headingSlugs('# Node.js and npm\n## Several callers (`API_KEYS_FILE`)\n## Preflight: llmconv doctor\n## Runs\n## Runs\n');
    assert.deepEqual([...slugs], ['nodejs-and-npm', 'several-callers-api_keys_file', 'preflight-llmconv-doctor', 'runs', 'runs-1']);
  });
});
