/**
 * What the producer's small HTML pages share (the home page, the runs list, a run's page): the
 * headers (a nonce-based Content-Security-Policy that lets nothing load from another origin, no
 * sniffing, no caching), the look, the navigation bar, and the script helpers that build the DOM
 * with `textContent` only (values never become markup) and draw bar charts as inline SVG.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

/** Sets the page headers on `ctx` and returns the nonce its inline script and style carry. */
export function pageHeaders(ctx: Context): string {
  const nonce = randomBytes(16).toString('base64');
  ctx.set(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/html; charset=utf-8';
  return nonce;
}

/** A value as a JavaScript literal inside `<script>`: never closes the element. */
export const scriptLiteral = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --fg:#1d2330; --muted:#6b7385; --line:#dde1e8; --bar:#4f7cf7; --ok:#067647; --bad:#b42318; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--fg); }
nav { background:var(--card); border-bottom:1px solid var(--line); padding:10px 20px; display:flex; gap:18px; align-items:center; }
nav b { margin-right:8px; }
main { max-width:1000px; margin:0 auto; padding:16px 20px 40px; }
h1 { font-size:20px; margin:8px 0 12px; }
h2 { font-size:15px; margin:22px 0 8px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 16px; margin:12px 0; }
section > h2:first-child { margin-top:0; }
table { border-collapse:collapse; width:100%; }
td, th { padding:4px 8px; text-align:left; border-bottom:1px solid #eef0f4; vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; }
.muted { color:var(--muted); }
.empty { color:var(--muted); font-style:italic; }
.badge { display:inline-block; padding:0 8px; border-radius:10px; font-size:12px; font-weight:600; background:#eef0f4; }
.badge.active, .badge.running, .badge.queued { background:#fff4d6; color:#8a5a00; }
.badge.finished, .badge.completed { background:#dcfae6; color:var(--ok); }
.badge.failed, .badge.timed_out, .badge.cancelled, .badge.budget_exhausted { background:#fee4e2; color:var(--bad); }
.bar { height:10px; background:#eef0f4; border-radius:5px; overflow:hidden; min-width:80px; }
.bar > div { height:100%; width:0; background:var(--bar); }
.charts { display:flex; flex-wrap:wrap; gap:16px; }
.chart { flex:1 1 280px; }
.chart h3 { font-size:13px; margin:0 0 4px; }
svg.bars text { font-size:11px; fill:var(--fg); }
svg.bars rect.bar { fill:var(--bar); }
a { color:#2f5bd3; }
`;

/** The head, the style and the navigation bar of a page titled `title`. */
export function pageHead(title: string, nonce: string): string {
  const t = title.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t}</title>
<style nonce="${nonce}">${STYLE}</style></head><body>
<nav><b>llmconv</b><a href="/">Home</a><a href="/runs">Runs</a><a href="/admin/queues">Queues (Bull Board)</a><a href="/metrics">Metrics</a><a href="/docs">Docs</a></nav>`;
}

/**
 * Script helpers every page gets: `el(tag, attrs, ...children)` (text children only),
 * `badge(state)`, `when(iso)`, `usd(n)`, and `barChart(entries, opts)`: an SVG of one horizontal
 * bar per `[label, count]` (`rect.bar`, each with a `<title>` "label: count").
 */
export const PAGE_SCRIPT_HELPERS = String.raw`
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function badge(state) { return el('span', { class: 'badge ' + state }, state); }
function when(iso) { return iso ? iso.replace('T', ' ').slice(0, 19) : ''; }
function usd(n) { return n == null ? '–' : '$' + n.toFixed(n === 0 || n >= 1 ? 2 : n >= 0.01 ? 4 : 6); }
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = String(text);
  return e;
}
function barChart(entries, opts) {
  const o = Object.assign({ width: 300, row: 20, label: 110 }, opts || {});
  const max = Math.max(1, ...entries.map((e) => e[1]));
  const s = svg('svg', { class: 'bars', width: o.width, height: entries.length * o.row + 4, role: 'img', 'aria-label': o.title || 'chart' });
  entries.forEach(([label, n], i) => {
    const y = i * o.row + 2;
    const w = Math.round(((o.width - o.label - 40) * n) / max);
    s.append(svg('text', { x: o.label - 6, y: y + o.row * 0.7, 'text-anchor': 'end' }, label));
    const r = svg('rect', { class: 'bar', x: o.label, y: y + 3, width: Math.max(w, n > 0 ? 2 : 0), height: o.row - 6, 'data-label': label, 'data-count': n });
    r.append(svg('title', {}, label + ': ' + n));
    s.append(r, svg('text', { x: o.label + w + 4, y: y + o.row * 0.7 }, n));
  });
  return s;
}
`;
