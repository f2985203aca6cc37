/**
 * The README's and docs/'s relative links lead somewhere: every `[text](target)` that is not a URL
 * names a file that exists, and a `#anchor` names a heading of that file (GitHub's slugs).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../../..');

/** GitHub's heading anchor: lower case, punctuation dropped (but `-` and `_`), spaces as `-`; repeats get `-1`, `-2`… */
export function headingSlugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    const m = !fence && /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** The broken relative links of one Markdown file (`file: target (why)`), none when all resolve. */
export function brokenLinks(file: string, text = fs.readFileSync(file, 'utf8')): string[] {
  const broken: string[] = [];
  const body = text.replace(/```[\s\S]*?```/g, '');
  for (const m of body.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^(https?:|mailto:)/.test(target)) continue;
    const [rel, anchor] = target.split('#') as [string, string | undefined];
    const dest = rel ? path.resolve(path.dirname(file), rel) : file;
    const name = `${path.relative(ROOT, file)}: ${target}`;
    if (!fs.existsSync(dest)) {
      broken.push(`${name} (no such file)`);
      continue;
    }
    if (anchor && dest.endsWith('.md') && !headingSlugs(fs.readFileSync(dest, 'utf8')).has(anchor)) {
      broken.push(`${name} (no heading #${anchor} in ${path.relative(ROOT, dest)})`);
    }
  }
  return broken;
}

export function markdownFiles(): string[] {
  const top = ['README.md', 'SECURITY.md', 'RELIABILITY.md', 'BENCHMARKS.md', 'lambda/README.md', 'emulators/README.md'];
  const docs = fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return [...top, ...docs].map((f) => path.join(ROOT, f)).filter((f) => fs.existsSync(f));
}

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
