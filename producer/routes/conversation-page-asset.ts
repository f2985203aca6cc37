/**
 * The conversation page's HTML, CSS and JS: one self-contained document, no build step. Kept as a
 * TypeScript string so every way of running the producer (tsx, tsc output, a bundle) ships it.
 * The script only ever sets `textContent`, so model output cannot inject markup.
 *
 * Placeholders replaced by `conversation-page.ts`: __NONCE__, __CONFIG__ (JSON).
 */
export const CONVERSATION_PAGE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conversation</title>
<style nonce="__NONCE__">
  :root { --bg:#f6f7f9; --card:#fff; --fg:#1d2330; --muted:#6b7385; --cloud:#e8f0fe; --cloud-b:#9bb8f5; --local:#e9f7ef; --local-b:#8fd1a8; --user:#fff7e0; --user-b:#e8c66a; --bad:#b42318; --ok:#067647; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--fg); }
  header { position:sticky; top:0; background:var(--card); border-bottom:1px solid #dde1e8; padding:12px 20px; z-index:1; }
  header h1 { font-size:17px; margin:0 0 4px; font-weight:600; }
  .meta { color:var(--muted); font-size:13px; display:flex; flex-wrap:wrap; gap:4px 16px; }
  .badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; background:#eef0f4; }
  .badge.running, .badge.queued { background:#fff4d6; color:#8a5a00; }
  .badge.completed { background:#dcfae6; color:var(--ok); }
  .badge.failed, .badge.timed_out, .badge.cancelled { background:#fee4e2; color:var(--bad); }
  .progress { height:6px; background:#eef0f4; border-radius:3px; margin-top:8px; overflow:hidden; }
  .progress > div { height:100%; width:0; background:#4f7cf7; transition:width .3s; }
  main { max-width:900px; margin:0 auto; padding:16px 20px 40px; }
  .turn-label { text-align:center; color:var(--muted); font-size:12px; margin:18px 0 6px; }
  .row { display:flex; margin:6px 0; }
  .row.cloud { justify-content:flex-start; }
  .row.local, .row.user { justify-content:flex-end; }
  .bubble { max-width:75%; padding:8px 12px; border-radius:12px; border:1px solid; white-space:pre-wrap; word-wrap:break-word; }
  .bubble.cloud { background:var(--cloud); border-color:var(--cloud-b); border-top-left-radius:3px; }
  .bubble.local { background:var(--local); border-color:var(--local-b); border-top-right-radius:3px; }
  .bubble.user { background:var(--user); border-color:var(--user-b); }
  .who { font-size:12px; font-weight:600; color:var(--muted); margin-bottom:2px; }
  .stats { font-size:11.5px; color:var(--muted); margin-top:4px; }
  .pending { color:var(--muted); font-style:italic; }
  #final { margin:20px 0; padding:12px 14px; border-radius:8px; background:var(--card); border:1px solid #dde1e8; display:none; }
  #final.show { display:block; }
  #conn { font-size:12px; color:var(--muted); }
  a { color:#2f5bd3; }
</style>
</head>
<body>
<header>
  <h1>Conversation <span id="cid"></span> <span id="status" class="badge">loading</span></h1>
  <div class="meta">
    <span>cloud: <b id="cloud-model">–</b></span>
    <span>local: <b id="local-model">–</b></span>
    <span>turns: <b id="turns">0</b> / <b id="max-turns">?</b></span>
    <span>tokens: <b id="tokens">0</b></span>
    <span><a id="csv" href="#">transcript CSV</a></span>
    <span id="conn">connecting…</span>
  </div>
  <div class="progress"><div id="bar"></div></div>
</header>
<main>
  <div id="chat"></div>
  <div id="waiting" class="pending">waiting for the cloud model…</div>
  <div id="final"></div>
</main>
<script nonce="__NONCE__">
(function () {
  'use strict';
  var cfg = __CONFIG__;
  var id = cfg.conversationId;
  var state = { maxTurns: 0, steps: {}, tokens: 0, done: false };
  function $(sel) { return document.getElementById(sel); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  $('cid').textContent = id.slice(0, 8);
  $('csv').href = cfg.transcriptUrl;
  document.title = 'Conversation ' + id.slice(0, 8);

  function turnBox(turn) {
    var box = document.querySelector('[data-turn="' + turn + '"]');
    if (box) return box;
    box = el('section', 'turn');
    box.setAttribute('data-turn', String(turn));
    box.appendChild(el('div', 'turn-label', 'turn ' + turn));
    var boxes = document.querySelectorAll('#chat .turn');
    var before = null;
    for (var i = 0; i < boxes.length; i++) {
      if (Number(boxes[i].getAttribute('data-turn')) > turn) { before = boxes[i]; break; }
    }
    $('chat').insertBefore(box, before);
    return box;
  }
  function stats(s) {
    var cost = s.costUsd === undefined ? '' : ' · ' + (s.costUsd === null ? 'cost unknown' : '$' + s.costUsd.toFixed(6));
    return s.model + ' · ' + s.inputTokens + ' in / ' + s.outputTokens + ' out tokens · ' + s.latencyMs + ' ms' + cost;
  }
  function bubble(kind, who, text, s) {
    var row = el('div', 'row ' + kind);
    var b = el('div', 'bubble ' + kind);
    b.appendChild(el('div', 'who', who));
    b.appendChild(el('div', 'text', text));
    if (s) b.appendChild(el('div', 'stats', stats(s)));
    row.appendChild(b);
    return row;
  }
  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }
  function follow(stick) {
    if (stick) window.scrollTo(0, document.body.scrollHeight);
  }
  function addStep(d) {
    var key = d.side + ':' + d.turn;
    if (state.steps[key]) return;
    var stick = nearBottom();
    state.steps[key] = d;
    state.tokens += d.inputTokens + d.outputTokens;
    var box = turnBox(d.turn);
    if (d.side === 'cloud') {
      if (d.turn === 1 && d.question) box.appendChild(bubble('user', 'opening question', d.question));
      var row = bubble('cloud', 'cloud model', d.text, d);
      var local = box.querySelector('.row.local');
      box.insertBefore(row, local);
    } else {
      box.appendChild(bubble('local', 'local model', d.text, d));
    }
    refresh();
    follow(stick);
  }
  function completedTurns() {
    var n = 0;
    for (var k in state.steps) if (k.indexOf('local:') === 0) n++;
    return n;
  }
  function setStatus(s) {
    var b = $('status');
    b.textContent = s.replace('_', ' ');
    b.className = 'badge ' + s;
  }
  function refresh() {
    var n = completedTurns();
    $('turns').textContent = String(n);
    $('tokens').textContent = String(state.tokens);
    if (state.maxTurns) $('bar').style.width = Math.min(100, Math.round(100 * n / state.maxTurns)) + '%';
    var cloudNext = !state.steps['cloud:' + (n + 1)];
    $('waiting').textContent = state.done ? '' : (cloudNext ? 'waiting for the cloud model…' : 'waiting for the local model…');
  }
  function fromView(v) {
    state.maxTurns = v.maxTurns;
    $('max-turns').textContent = String(v.maxTurns);
    $('cloud-model').textContent = v.cloudModel;
    $('local-model').textContent = v.localModel;
    setStatus(v.status);
    v.turns.forEach(function (t) {
      if (t.cloud) addStep({ side: 'cloud', turn: t.turn, question: t.question, text: t.cloudResponse, model: t.cloud.model, inputTokens: t.cloud.inputTokens, outputTokens: t.cloud.outputTokens, latencyMs: t.cloud.latencyMs, costUsd: t.cloud.costUsd });
      if (t.local) addStep({ side: 'local', turn: t.turn, text: t.ollamaResponse, model: t.local.model, inputTokens: t.local.inputTokens, outputTokens: t.local.outputTokens, latencyMs: t.local.latencyMs, costUsd: t.local.costUsd });
    });
    refresh();
  }
  function showEnd(e) {
    var stick = nearBottom();
    state.done = true;
    fromView(e.view);
    var f = $('final');
    f.textContent = '';
    f.className = 'show ' + e.status;
    var line = el('div', null, 'Finished: ' + e.status.replace('_', ' ') + (e.stopReason ? ' (' + e.stopReason + ')' : '') + ' after ' + completedTurns() + ' turn(s). ');
    var a = el('a', null, 'Download the transcript (CSV)');
    a.href = e.transcriptUrl;
    line.appendChild(a);
    f.appendChild(line);
    if (e.error) f.appendChild(el('div', 'stats', e.error));
    $('bar').style.width = '100%';
    refresh();
    follow(stick);
  }

  var es = new EventSource(cfg.eventsUrl);
  es.addEventListener('open', function () { $('conn').textContent = 'live'; });
  es.addEventListener('error', function () { if (!state.done) $('conn').textContent = 'reconnecting…'; });
  es.addEventListener('snapshot', function (m) { fromView(JSON.parse(m.data)); });
  es.addEventListener('cloud', function (m) { addStep(JSON.parse(m.data)); });
  es.addEventListener('local', function (m) { addStep(JSON.parse(m.data)); });
  es.addEventListener('status', function (m) { setStatus(JSON.parse(m.data).status); });
  es.addEventListener('end', function (m) {
    es.close();
    $('conn').textContent = 'finished';
    showEnd(JSON.parse(m.data));
  });
})();
</script>
</body>
</html>
`;
