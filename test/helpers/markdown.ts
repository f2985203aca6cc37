/** Markdown helpers for the docs' tests: GitHub's heading anchors, relative links, backticked paths. */
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.join(__dirname, '../..');

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
