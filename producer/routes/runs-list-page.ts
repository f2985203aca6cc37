/**
 * The runs list page (`GET /runs` asked for as HTML, as a browser does; JSON clients keep getting
 * the JSON list): every run the caller may see, newest first, with its progress, failures, cost
 * and links to its page and exports, re-read every 2 s while one is active.
 */
import { PAGE_SCRIPT_HELPERS, pageHead } from './page-shell';

export function runsListPageHtml(nonce: string): string {
  return `${pageHead('Runs', nonce)}
<main>
<h1>Runs</h1>
<section><div id="runs"><p class="empty">loading…</p></div></section>
</main>
<script nonce="${nonce}">
${PAGE_SCRIPT_HELPERS}
async function refresh() {
  const r = await fetch('/runs?limit=100', { headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error('GET /runs: ' + r.status);
  const runs = (await r.json()).runs;
  const box = document.getElementById('runs');
  if (!runs.length) {
    box.replaceChildren(el('p', { class: 'empty' }, 'No runs yet: npx llmconv run seeds.jsonl --name my-run'));
    return 10000;
  }
  const t = el('table', {}, el('tr', {}, ...['run', 'state', 'progress', 'active', 'waiting', 'failed', 'cost', 'tokens', 'created (UTC)', 'export'].map((h) => el('th', {}, h))));
  for (const v of runs) {
    const fill = el('div'); fill.style.width = (v.seeds ? Math.round((100 * v.finished) / v.seeds) : 0) + '%';
    const failed = (v.byStatus.failed || 0) + (v.byStatus.timed_out || 0);
    const exp = el('td', {});
    for (const f of ['openai', 'sharegpt', 'csv']) exp.append(el('a', { href: v.exportUrl + '?format=' + f }, f), ' ');
    t.append(el('tr', { 'data-run': v.runId },
      el('td', {}, el('a', { href: v.pageUrl }, v.name || v.runId), v.name ? el('div', { class: 'muted' }, v.runId) : ''),
      el('td', {}, badge(v.state)),
      el('td', {}, el('div', { class: 'bar' }, fill), v.finished + ' / ' + v.seeds),
      el('td', {}, v.active), el('td', {}, v.waiting), el('td', {}, failed),
      el('td', {}, usd(v.costUsd)), el('td', {}, v.tokens), el('td', {}, when(v.createdAt)), exp));
  }
  box.replaceChildren(t);
  return runs.some((v) => v.state === 'active') ? 2000 : 10000;
}
function tick() {
  refresh().then((ms) => setTimeout(tick, ms), (e) => {
    document.getElementById('runs').replaceChildren(el('p', { class: 'empty' }, 'could not load: ' + e.message));
    setTimeout(tick, 5000);
  });
}
tick();
</script></body></html>`;
}
