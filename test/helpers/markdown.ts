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

/** The repository's files and folders (relative, `/`-separated; folders end in `/`), without node_modules, dist and dot folders. */
export function repoEntries(root = ROOT): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (['node_modules', 'dist', '.git'].includes(e.name)) continue;
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out.add(`${rel}/`);
        walk(rel);
      } else out.add(rel);
    }
  };
  walk('');
  return out;
}

/** A backticked path of a Markdown text, with the folder of the folder-table row it appears in (if any). */
export interface NamedPath {
  path: string;
  row?: string;
}

const FILE_EXT = /\.(ts|js|lua|json|jsonl|proto|md|ya?ml|conf|service|env)$/;

/**
 * The backticked tokens of `markdown` that name paths: those with a `/` (not a route: `/metrics`)
 * or a file extension, without spaces, `:` or `=`. A token in a row of the folder table
 * (`| \`store/\` | …`) is read in that row's folder too.
 */
export function backtickedPaths(markdown: string): NamedPath[] {
  const out: NamedPath[] = [];
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    if (fence) continue;
    const row = /^\| `([\w.-]+\/)` \|/.exec(line)?.[1];
    for (const m of line.matchAll(/`([^`\n]+)`/g)) {
      const token = m[1]!;
      if (/[\s:=?'"]/.test(token) || token.startsWith('/')) continue;
      if (!token.includes('/') && !FILE_EXT.test(token)) continue;
      out.push({ path: token, ...(row ? { row } : {}) });
    }
  }
  return out;
}

/**
 * The paths of `markdown` that name nothing in the repository. A path with a placeholder
 * (`store/lua/<store>/<name>.lua`) must exist up to the placeholder; a bare file name must exist in
 * its row's folder, or anywhere when it is not in the folder table; a path with `/` from the root,
 * or from its row's folder.
 */
export function missingPaths(markdown: string, entries = repoEntries()): string[] {
  const missing: string[] = [];
  const all = [...entries];
  for (const { path: p, row } of backtickedPaths(markdown)) {
    const cut = p.search(/[<{…*]/);
    const wanted = cut >= 0 ? p.slice(0, p.lastIndexOf('/', cut) + 1) : p;
    if (!wanted) continue;
    const found = wanted.includes('/')
      ? entries.has(wanted) || (row !== undefined && entries.has(`${row}${wanted}`))
      : all.some((e) => (e === wanted || e.endsWith(`/${wanted}`)) && (!row || e.startsWith(row)));
    if (!found) missing.push(row ? `${p} (row ${row})` : p);
  }
  return [...new Set(missing)];
}
