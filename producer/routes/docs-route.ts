/**
 * `GET /docs` and `GET /docs/<name>.md`: the README and the files of `docs/` as plain text, from
 * the checkout the producer runs from (the pages link here, so no link leaves the machine). A
 * build without them (a bare `dist/`) answers a page saying where they are.
 */
import fs from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import { errorBody } from '../error-middleware';
import { pageHead, pageHeaders } from './page-shell';

/** The checkout's root: the nearest directory up from here holding `docs/architecture.md`. */
function repoRoot(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'docs', 'architecture.md'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

const NAME = /^[a-z][a-z0-9-]*\.md$/;

/** The docs served, by name: `README.md` and each `docs/*.md`. */
export function docFiles(root = repoRoot()): Map<string, string> {
  const out = new Map<string, string>();
  if (!root) return out;
  if (fs.existsSync(path.join(root, 'README.md'))) out.set('README.md', path.join(root, 'README.md'));
  for (const f of fs.readdirSync(path.join(root, 'docs')).sort()) if (NAME.test(f)) out.set(f, path.join(root, 'docs', f));
  return out;
}

export function docsRoute(): Router {
  const router = new Router();
  const files = docFiles();
  router.get('/docs', (ctx) => {
    const nonce = pageHeaders(ctx);
    const items = [...files.keys()].map((n) => `<li><a href="/docs/${n}">${n}</a></li>`).join('');
    ctx.body = `${pageHead('Docs', nonce)}<main><h1>Docs</h1><section>${
      items ? `<ul>${items}</ul>` : '<p class="empty">This build has no docs beside it: read README.md and docs/ in the repository.</p>'
    }</section></main></body></html>`;
  });
  router.get('/docs/:name', (ctx) => {
    const file = files.get(ctx.params.name!);
    if (!file) {
      ctx.status = 404;
      ctx.body = errorBody('not_found', `no doc named ${ctx.params.name!.slice(0, 100)} (GET /docs lists them)`);
      return;
    }
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = fs.readFileSync(file, 'utf8');
  });
  return router;
}
