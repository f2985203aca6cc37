/**
 * The run page (`GET /runs/:id/page`): the run's progress, live from `GET /runs/:id/events`. Plain
 * HTML and an inline script under a nonce-based Content-Security-Policy; all values are inserted as
 * text, never as HTML.
 */

/** The page of run `runId` (already checked to exist); `nonce` authorises its inline script and style. */
export function runPageHtml(runId: string, nonce: string): string {
  const id = JSON.stringify(runId).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Run</title>
<style nonce="${nonce}">
body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}
.bar{height:1.2em;background:#eee;border-radius:4px;overflow:hidden}
.bar div{height:100%;background:#4a8;width:0}
table{border-collapse:collapse;margin-top:1em}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}
</style></head><body>
<h1>Run <code id="id"></code> <small id="state"></small></h1>
<div class="bar"><div id="fill"></div></div>
<p id="line"></p>
<table><tbody id="counts"></tbody></table>
<h2>Rejected lines</h2><ul id="rejected"></ul>
<script nonce="${nonce}">
const runId = ${id};
document.getElementById('id').textContent = runId;
function row(k, v) { const tr = document.createElement('tr'); const a = document.createElement('th'); a.textContent = k; const b = document.createElement('td'); b.textContent = String(v); tr.append(a, b); return tr; }
function show(v) {
  document.getElementById('state').textContent = v.state;
  const total = v.seeds + 0;
  document.getElementById('fill').style.width = (total ? Math.round(100 * v.finished / total) : 0) + '%';
  document.getElementById('line').textContent = v.finished + ' / ' + total + ' finished, ' + v.active + ' in flight, ' + v.waiting + ' waiting; ' +
    v.throughputPerSecond + '/s' + (v.etaSeconds != null ? ', ETA ' + v.etaSeconds + ' s' : '');
  const t = document.getElementById('counts'); t.replaceChildren();
  for (const [k, n] of Object.entries(v.byStatus)) t.append(row(k, n));
  for (const [k, n] of Object.entries(v.byStopReason)) t.append(row('stop: ' + k, n));
  t.append(row('duplicates', v.duplicates), row('rejected', v.rejected), row('tokens', v.tokens));
  if (v.costUsd != null) t.append(row('cost', '$' + v.costUsd.toFixed(4)));
  if (v.budget) t.append(row('budget', (v.budget.usd != null ? '$' + v.budget.usd : '') + (v.budget.tokens != null ? ' ' + v.budget.tokens + ' tokens' : '') + (v.budget.exhausted ? ' (exhausted: ' + v.budget.exhausted + ')' : '')));
  if (v.judge) for (const [c, j] of Object.entries(v.judge.criteria)) t.append(row('judge ' + c, 'mean ' + j.mean + ' ' + JSON.stringify(j.distribution)));
}
fetch('/runs/' + encodeURIComponent(runId)).then(r => r.json()).then(v => {
  show(v);
  const ul = document.getElementById('rejected');
  for (const r of v.rejectedLines || []) { const li = document.createElement('li'); li.textContent = 'line ' + r.line + ': ' + r.reason; ul.append(li); }
});
const es = new EventSource('/runs/' + encodeURIComponent(runId) + '/events');
es.addEventListener('progress', e => show(JSON.parse(e.data)));
es.addEventListener('end', e => { show(JSON.parse(e.data)); es.close(); });
</script></body></html>`;
}
