// table.mjs: one Markdown table, Tracklet beside each peer, from one peerbench run
// (the bench2-*.json, lowend-*.json and lighthouse-*.json files web/bench/peers.sh keeps).
// Each cell is the median of the interleaved rounds, with [min–max] when they differ;
// the "target" column is issue #10's target for Tracklet.
//
// Usage: node web/bench/table.mjs [--commit C] [--rounds N] FILE.json...
import fs from 'node:fs';
import path from 'node:path';

const argv = process.argv.slice(2);
const opt = (k) => { const i = argv.indexOf('--' + k); if (i < 0) return null; const v = argv[i + 1]; argv.splice(i, 2); return v; };
const commit = opt('commit') || 'unknown';
const rounds = opt('rounds');
if (!argv.length) { console.error('usage: table.mjs [--commit C] [--rounds N] FILE.json...'); process.exit(2); }

// The runs of each bench, by its file name's prefix (peerbench names them bench2-, lowend-, lighthouse-).
const runs = { bench2: [], lowend: [], lighthouse: [] };
let burstN = 1000;
for (const f of argv) {
  const kind = Object.keys(runs).find((k) => path.basename(f).startsWith(k + '-'));
  if (!kind) throw new Error(`${f}: not a bench2-, lowend- or lighthouse- result`);
  const j = JSON.parse(fs.readFileSync(f, 'utf8'));
  if (kind === 'bench2') burstN = j.n;
  runs[kind].push(...j.results);
}

const order = ['none', 'tracklet', 'tracklet-noflush', 'segment', 'snowplow', 'posthog', 'posthog-slim', 'amplitude', 'rudderstack-bundled', 'rudderstack-lite'];
const names = { none: 'no tracker', tracklet: '**Tracklet**', segment: 'Segment', snowplow: 'Snowplow', posthog: 'PostHog', amplitude: 'Amplitude', 'rudderstack-bundled': 'RudderStack', 'rudderstack-lite': 'RudderStack lite', 'posthog-slim': 'PostHog slim' };
const sdks = [...new Set(Object.values(runs).flat().map((r) => r.sdk))]
  .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));

const nums = (xs) => xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
const median = (xs) => { xs = nums(xs); if (!xs.length) return null; const m = xs.length >> 1; return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2; };
const num = (v) => Math.round(v).toLocaleString('en-US');
// cell: median [min–max] of get(run) over the runs of sdk in bench kind; failed runs count as missing.
const values = (kind, sdk, get) => runs[kind].filter((r) => r.sdk === sdk && !r.error).map((r) => { try { return get(r); } catch { return null; } });
const cell = (kind, get) => (sdk) => {
  const xs = nums(values(kind, sdk, get));
  if (!xs.length) return '—';
  const m = median(xs);
  return xs[0] === xs[xs.length - 1] ? num(m) : `${num(m)} [${num(xs[0])}–${num(xs[xs.length - 1])}]`;
};
// delta: median of sdk minus median of the page without a tracker, same bench, same run.
const delta = (kind, get) => (sdk) => {
  if (sdk === 'none') return '—';
  const a = median(values(kind, sdk, get)), b = median(values(kind, 'none', get));
  if (a == null || b == null) return '—';
  return (a - b >= 0 ? '+' : '−') + num(Math.abs(a - b));
};
const only = (kinds, f) => (sdk) => (runs[kinds].some((r) => r.sdk === sdk) ? f(sdk) : '—');

const lh = (get) => only('lighthouse', cell('lighthouse', get));
const lhd = (get) => only('lighthouse', delta('lighthouse', get));
const le = (get) => only('lowend', cell('lowend', get));
const led = (get) => only('lowend', delta('lowend', get));
const bu = (get) => only('bench2', cell('bench2', get));

const lhv = runs.lighthouse[0]?.lighthouse;
const rows = [
  [`Lighthouse ${lhv || ''} mobile: performance score`.replace('  ', ' '), '', lh((r) => r.score * 100)],
  ['… vs no tracker (points)', '≥ −2', lhd((r) => r.score * 100)],
  ['Lighthouse: Total Blocking Time, ms', '', lh((r) => r.tbt)],
  ['… vs no tracker, ms', '≤ +50', lhd((r) => r.tbt)],
  ['Lighthouse: Time to Interactive, ms', '', lh((r) => r.tti)],
  ['… vs no tracker, ms', 'within noise', lhd((r) => r.tti)],
  ['low-end cold visit: load event, ms', 'unchanged', le((r) => r.loadMs)],
  ['low-end: long tasks > 50 ms (whole page)', '', le((r) => r.longTasks)],
  ['… vs no tracker', '+0', led((r) => r.longTasks)],
  ['low-end: longest task, ms', '', le((r) => r.maxLongTaskMs)],
  ['low-end: Total Blocking Time after FCP, ms', '', le((r) => r.tbtMs)],
  ['low-end: tracker ready, ms after navigation', '', le((r) => r.readyMs)],
  ['low-end: first event at the collector, ms after navigation', '', le((r) => r.firstEventMs)],
  ['… minus tracker ready, ms', '≤ 1,000', le((r) => (r.firstEventMs == null || r.readyMs == null ? null : r.firstEventMs - r.readyMs))],
  ['low-end: tracker bytes downloaded', '', le((r) => r.sdkAssetBytes)],
  [`burst of ${burstN}: main-thread ms, first call → all delivered (+1 s)`, '≤ 50', bu((r) => r.taskMs)],
  [`burst: first call → collector has all ${burstN}, ms`, '≤ 600', bu((r) => (r.received >= burstN ? r.deliverMs : null))],
  ['burst: bytes on the wire (both ways, headers incl.)', '≤ 125,000', bu((r) => r.net.burst.beacon.total)],
  ['burst: requests', '', bu((r) => r.net.burst.beacon.requests)],
  [`burst: events stored, per run (of ${burstN})`, `all ${burstN}`, only('bench2', (sdk) => values('bench2', sdk, (r) => r.received).join(' / '))],
  ['cold download, bytes as served', '', bu((r) => r.assetsCdp.cold.bytes)],
];

const n = (kind) => new Set(runs[kind].map((r) => r.round)).size;
console.log(`Same run, ${new Date().toISOString().slice(0, 10)}, commit ${commit}: medians [min–max] of ` +
  `${rounds || Math.max(n('bench2'), n('lowend'), n('lighthouse'))} interleaved rounds (SDK order rotated each round). ` +
  'The machine is shared: compare columns, never absolute figures across runs.\n');
console.log('| measure | target (Tracklet) | ' + sdks.map((s) => names[s] || s).join(' | ') + ' |');
console.log('|---|---|' + sdks.map(() => '---:').join('|') + '|');
for (const [label, target, f] of rows) console.log(`| ${label} | ${target} | ` + sdks.map(f).join(' | ') + ' |');

// Runs that failed or lost events, so a dash or a gap in the table has its reason beside it.
const notes = Object.entries(runs).flatMap(([kind, rs]) => rs
  .filter((r) => r.error || r.initError || r.runtimeError || (kind === 'bench2' && r.received < burstN))
  .map((r) => `- ${kind} ${r.sdk} round ${r.round}: ${(r.error || r.initError || r.runtimeError || `stored ${r.received} of ${burstN}`).split('\n')[0].slice(0, 160)}`));
if (notes.length) console.log('\n' + notes.join('\n'));
