/**
 * `GET /`: the producer's home page for people: the newest runs with their progress, the recent
 * conversations, and links to the runs list, Bull Board, the metrics and the docs. The data comes
 * from the API (`GET /runs`, `GET /conversations`), re-read every 2 s while anything is in flight.
 */
import Router from '@koa/router';
import { PAGE_SCRIPT_HELPERS, pageHead, pageHeaders } from './page-shell';

export function homePageHtml(nonce: string): string {
  return `${pageHead('llmconv', nonce)}
<main>
<h1>llmconv</h1>
<p class="muted">Makes conversation datasets: each seed question becomes a dialogue between a cloud model and a local model, written as a CSV transcript and exported as JSONL or CSV.</p>
<section id="runs-section"><h2>Runs</h2><div id="runs"><p class="empty">loading…</p></div><p><a href="/runs">All runs</a></p></section>
<section id="conversations-section"><h2>Recent conversations</h2><div id="conversations"><p class="empty">loading…</p></div></section>
<section><h2>Operate</h2><ul>
<li><a href="/admin/queues">Queues</a>: Bull Board, the jobs of the cloud, local, transcript and judge queues</li>
<li><a href="/metrics">Metrics</a>: Prometheus</li>
<li><a href="/ready?verbose=1">Readiness</a>: what the producer checks</li>
<li><a href="/docs">Docs</a>: the README and docs/</li>
</ul></section>
</main>
<script nonce="${nonce}">
${PAGE_SCRIPT_HELPERS}
const json = (u) => fetch(u, { headers: { accept: 'application/json' } }).then((r) => (r.ok ? r.json() : Promise.reject(new Error(u + ': ' + r.status))));
function runsTable(runs) {
  if (!runs.length) return el('p', { class: 'empty' }, 'No runs yet: npx llmconv run seeds.jsonl --name my-run');
  const t = el('table', {}, el('tr', {}, el('th', {}, 'run'), el('th', {}, 'state'), el('th', {}, 'progress'), el('th', {}, 'cost'), el('th', {}, 'created (UTC)')));
  for (const r of runs) {
    const fill = el('div'); fill.style.width = (r.seeds ? Math.round((100 * r.finished) / r.seeds) : 0) + '%';
    t.append(el('tr', { 'data-run': r.runId },
      el('td', {}, el('a', { href: r.pageUrl }, r.name || r.runId), r.name ? el('div', { class: 'muted' }, r.runId) : ''),
      el('td', {}, badge(r.state)),
      el('td', {}, el('div', { class: 'bar' }, fill), r.finished + ' / ' + r.seeds + ' finished'),
      el('td', {}, usd(r.costUsd)),
      el('td', {}, when(r.createdAt))));
  }
  return t;
}
function conversationsTable(rows) {
  if (!rows.length) return el('p', { class: 'empty' }, 'No conversations yet: npx llmconv submit "Why is the sky blue?"');
  const t = el('table', {}, el('tr', {}, el('th', {}, 'question'), el('th', {}, 'status'), el('th', {}, 'turns'), el('th', {}, 'created (UTC)')));
  for (const c of rows)
    t.append(el('tr', { 'data-conversation': c.conversationId },
      el('td', {}, el('a', { href: c.pageUrl }, c.initialQuery)),
      el('td', {}, badge(c.status), c.stopReason && c.status !== 'completed' ? ' ' + c.stopReason : ''),
      el('td', {}, c.turnsCompleted + ' / ' + c.maxTurns),
      el('td', {}, when(c.createdAt))));
  return t;
}
async function refresh() {
  const [runs, convs] = await Promise.all([json('/runs?limit=10'), json('/conversations?limit=20')]);
  document.getElementById('runs').replaceChildren(runsTable(runs.runs));
  document.getElementById('conversations').replaceChildren(conversationsTable(convs.conversations));
  const busy = runs.runs.some((r) => r.state === 'active') || convs.conversations.some((c) => c.status === 'queued' || c.status === 'running');
  return busy ? 2000 : 10000;
}
function tick() {
  refresh().then(
    (ms) => setTimeout(tick, ms),
    (e) => {
      document.getElementById('runs').replaceChildren(el('p', { class: 'empty' }, 'could not load: ' + e.message));
      setTimeout(tick, 5000);
    },
  );
}
tick();
</script></body></html>`;
}

export function homePageRoute(): Router {
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.body = homePageHtml(pageHeaders(ctx));
  });
  return router;
}
