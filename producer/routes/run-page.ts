/**
 * The run page (`GET /runs/:id/page`): the run's name, progress, cost and budget, charts (stop
 * reasons, turns and cost per conversation, a histogram of each judge criterion's scores), its exports and
 * its conversations, live from `GET /runs/:id/events`. A section appears only once it has
 * something to show (no empty headings). All values are inserted as text or SVG attributes,
 * never as HTML; the page shell (`page-shell.ts`) sets a nonce-based Content-Security-Policy.
 */
import { PAGE_SCRIPT_HELPERS, pageHead, scriptLiteral } from './page-shell';

/** The conversations the page lists and charts: the first this many of the run. */
export const RUN_PAGE_CONVERSATIONS = 1000;

/**
 * The page of run `runId` (already checked to exist); `nonce` authorises its inline script and
 * style; `judging` (JUDGE_RUBRIC_FILE is set) keeps it reading the run after the end until every
 * finished conversation is judged.
 */
export function runPageHtml(runId: string, nonce: string, judging = false): string {
  return `${pageHead('Run', nonce)}
<main>
<h1><span id="title"></span> <span id="state"></span></h1>
<p class="muted">run <code id="id"></code> · created <span id="created"></span></p>
<div class="bar"><div id="fill"></div></div>
<p id="line"></p>
<section id="numbers-section" hidden><h2>Numbers</h2><table><tbody id="counts"></tbody></table></section>
<section id="cost-section" hidden><h2>Cost</h2><table><tbody id="cost"></tbody></table></section>
<section id="charts-section" hidden><h2>Charts</h2><div class="charts" id="charts"></div></section>
<section id="exports-section" hidden><h2>Exports</h2><ul id="exports"></ul></section>
<section id="conversations-section" hidden><h2>Conversations</h2><p class="muted" id="conversations-note"></p><table><tbody id="conversations"></tbody></table></section>
<section id="rejected-section" hidden><h2>Rejected lines</h2><ul id="rejected"></ul></section>
</main>
<script nonce="${nonce}">
${PAGE_SCRIPT_HELPERS}
const runId = ${scriptLiteral(runId)};
const LIMIT = ${RUN_PAGE_CONVERSATIONS};
const JUDGING = ${judging ? 'true' : 'false'};
const $ = (id) => document.getElementById(id);
const json = (u) => fetch(u, { headers: { accept: 'application/json' } }).then((r) => (r.ok ? r.json() : Promise.reject(new Error(u + ': ' + r.status))));
const base = '/runs/' + encodeURIComponent(runId);
let conversations = [];
function row(k, v) { return el('tr', {}, el('th', {}, k), el('td', {}, v)); }
function showSection(id, on) { $(id).hidden = !on; }
function chart(title, entries, key, opts) {
  const box = el('div', { class: 'chart', 'data-chart': key }, el('h3', {}, title));
  box.append(barChart(entries, Object.assign({ title }, opts)));
  return box;
}
/** Up to 6 equal-width bins from the cheapest to the dearest conversation, as [label, count]. */
function costBins(costs) {
  const lo = Math.min(...costs), hi = Math.max(...costs);
  const n = hi > lo ? Math.min(6, costs.length) : 1;
  const width = (hi - lo) / n;
  const counts = new Array(n).fill(0);
  for (const c of costs) counts[Math.min(n - 1, width ? Math.floor((c - lo) / width) : 0)]++;
  return counts.map((k, i) => [n === 1 ? usd(lo) : usd(lo + i * width) + '–' + usd(lo + (i + 1) * width), k]);
}
function drawCharts(v) {
  const charts = [];
  const stops = Object.entries(v.byStopReason).sort((a, b) => b[1] - a[1]);
  if (stops.length) charts.push(chart('Stop reasons', stops, 'stop-reasons'));
  const done = conversations.filter((c) => c.status !== 'queued' && c.status !== 'running' && c.status !== 'expired');
  if (done.length) {
    const turns = new Map();
    for (const c of done) turns.set(c.turnsCompleted, (turns.get(c.turnsCompleted) || 0) + 1);
    const entries = [...turns.entries()].sort((a, b) => a[0] - b[0]).map(([t, n]) => [t + (t === 1 ? ' turn' : ' turns'), n]);
    charts.push(chart('Turns per conversation', entries, 'turns'));
  }
  const costs = done.map((c) => c.costUsd).filter((n) => typeof n === 'number');
  if (costs.length) charts.push(chart('Cost per conversation', costBins(costs), 'cost', { label: 170, width: 360 }));
  if (v.judge) for (const [criterion, j] of Object.entries(v.judge.criteria)) {
    const entries = Object.entries(j.distribution).sort((a, b) => Number(a[0]) - Number(b[0])).map(([s, n]) => ['score ' + s, n]);
    if (entries.length) charts.push(chart('Scores: ' + criterion + ' (mean ' + j.mean + ')', entries, 'score-' + criterion));
  }
  $('charts').replaceChildren(...charts);
  showSection('charts-section', charts.length > 0);
}
function show(v) {
  document.title = 'Run ' + (v.name || v.runId);
  $('title').textContent = v.name || 'Run ' + v.runId;
  $('id').textContent = v.runId;
  $('created').textContent = when(v.createdAt) + ' UTC';
  $('state').replaceChildren(badge(v.state));
  $('fill').style.width = (v.seeds ? Math.round((100 * v.finished) / v.seeds) : 0) + '%';
  $('line').textContent = v.finished + ' / ' + v.seeds + ' finished, ' + v.active + ' in flight, ' + v.waiting + ' waiting; ' +
    v.throughputPerSecond + '/s' + (v.state === 'active' && v.etaSeconds != null ? ', ETA ' + v.etaSeconds + ' s' : '');
  const t = $('counts'); t.replaceChildren();
  for (const [k, n] of Object.entries(v.byStatus)) t.append(row(k, n));
  if (v.duplicates) t.append(row('duplicates', v.duplicates));
  if (v.rejected) t.append(row('rejected', v.rejected));
  if (v.retried) t.append(row('retried', v.retried));
  showSection('numbers-section', t.children.length > 0);
  const c = $('cost'); c.replaceChildren();
  if (v.costUsd != null) c.append(row('cost so far', usd(v.costUsd)));
  if (v.tokens) c.append(row('tokens', v.tokens));
  if (v.costUsd != null && v.finished) c.append(row('per finished conversation', usd(v.costUsd / v.finished)));
  if (v.budget) {
    const parts = [];
    if (v.budget.usd != null) parts.push(usd(v.budget.spentUsd) + ' of ' + usd(v.budget.usd));
    if (v.budget.tokens != null) parts.push(v.budget.spentTokens + ' of ' + v.budget.tokens + ' tokens');
    c.append(row('budget', parts.join(', ') + (v.budget.exhausted ? ' (exhausted: ' + v.budget.exhausted + ')' : '')));
  }
  if (v.judge) c.append(row('judged', v.judge.scored + ' scored, ' + v.judge.unscored + ' unscored'));
  showSection('cost-section', c.children.length > 0);
  const ex = $('exports'); ex.replaceChildren();
  if (v.finished) {
    for (const [label, q] of [['OpenAI chat JSONL', 'format=openai'], ['ShareGPT JSONL', 'format=sharegpt'], ['CSV', 'format=csv'], ['OpenAI JSONL, the local model as assistant', 'format=openai&assistant=local']])
      ex.append(el('li', {}, el('a', { href: v.exportUrl + '?' + q }, label)));
  }
  showSection('exports-section', ex.children.length > 0);
  drawCharts(v);
}
function showConversations(v) {
  const t = $('conversations');
  const rows = conversations.map((c, i) => el('tr', { 'data-conversation': c.conversationId },
    el('td', {}, String(i + 1)),
    el('td', {}, el('a', { href: c.pageUrl || '/conversations/' + c.conversationId }, c.initialQuery || c.conversationId)),
    el('td', {}, badge(c.status), c.stopReason ? ' ' + c.stopReason : ''),
    el('td', {}, (c.turnsCompleted ?? 0) + ((c.turnsCompleted ?? 0) === 1 ? ' turn' : ' turns'))));
  t.replaceChildren(...rows);
  $('conversations-note').textContent = v && v.admitted > conversations.length
    ? 'the first ' + conversations.length + ' of ' + v.admitted + ' admitted' : conversations.length + ' admitted';
  showSection('conversations-section', rows.length > 0);
}
async function loadConversations() {
  const all = [];
  for (let start = 0; start < LIMIT; start += 200) {
    const page = await json(base + '/conversations?start=' + start + '&limit=200');
    all.push(...page.conversations);
    if (!page.next) break;
  }
  conversations = all.slice(0, LIMIT);
}
let last;
let pending = null;
let loadedAt = 0;
function refreshConversations(force) {
  if (pending || (!force && Date.now() - loadedAt < 2000)) return;
  pending = loadConversations().then(() => { loadedAt = Date.now(); pending = null; showConversations(last); if (last) drawCharts(last); }, () => { pending = null; });
}
json(base).then((v) => {
  last = v;
  show(v);
  const ul = $('rejected');
  for (const r of v.rejectedLines || []) ul.append(el('li', {}, 'line ' + r.line + ': ' + r.reason));
  showSection('rejected-section', ul.children.length > 0);
  refreshConversations(true);
});
const es = new EventSource(base + '/events');
es.addEventListener('progress', (e) => { last = JSON.parse(e.data); show(last); refreshConversations(false); });
es.addEventListener('end', (e) => {
  last = JSON.parse(e.data); show(last); es.close();
  // The last conversations may have ended while a read was under way: read them once more.
  const again = () => (pending ? setTimeout(again, 100) : refreshConversations(true));
  again();
  // The judge scores after a conversation ends: read the run until every finished one is judged.
  let reads = 0;
  const scores = () => {
    if (!JUDGING || (last.judge && last.judge.scored + last.judge.unscored >= last.finished) || ++reads > 120) return;
    setTimeout(() => json(base).then((v) => { last = v; show(v); scores(); }, scores), 1000);
  };
  scores();
});
</script></body></html>`;
}
