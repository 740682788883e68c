/* eslint-disable @typescript-eslint/no-require-imports -- copied verbatim from the shared peer benchmark (CommonJS) */
'use strict';
// Summarise raw.csv from run.sh into one table (median over repetitions).
// usage: node summarize.js results/<ts>/raw.csv [env.txt]
const fs = require('fs');

const [rawPath, envPath] = process.argv.slice(2);
const lines = fs.readFileSync(rawPath, 'utf8').trim().split('\n');
const cols = lines[0].split(',');
const rows = lines.slice(1).map((l) => {
  const v = l.split(',');
  const o = {};
  cols.forEach((c, i) => { o[c] = v[i]; });
  return o;
});
const num = (x) => (x === '' || x === undefined ? NaN : Number(x));

function median(xs) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}
function fmt(x, d = 0) {
  if (!Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

const groups = new Map();
for (const r of rows) {
  const k = `${r.mode}\t${r.lb}`;
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(r);
}

const header = [
  'mode', 'LB',
  'conn/s (close)', 'p50 ms', 'p99 ms',
  'req/s (keep-alive)', 'p50 ms', 'p99 ms',
  'bulk Gbit/s',
  'LB CPU us/conn', 'LB CPU us/req', 'LB CPU s/GB',
  'LB cores close/ka/bulk', 'host cores busy', 'foreign cores max', 'errors',
];
const FOREIGN_MAX = Number(process.env.FOREIGN_MAX || 0.15);
const table = [];
const detail = [];
const direct = {};
for (const [k, rs] of groups) {
  const [mode, lb] = k.split('\t');
  const t = (name) => rs.filter((r) => r.test === name);
  const close = t('close');
  const ka = t('ka');
  const bulk = t('bulk');
  const m = (arr, f) => median(arr.map(f));
  const cps = m(close, (r) => num(r.rate));
  const rps = m(ka, (r) => num(r.rate));
  if (lb === 'direct') direct[mode] = { cps, rps };
  const usConn = m(close, (r) => (num(r.lb_cpu_s) / num(r.requests)) * 1e6);
  const usReq = m(ka, (r) => (num(r.lb_cpu_s) / num(r.requests)) * 1e6);
  const sPerGB = m(bulk, (r) => num(r.lb_cpu_s) / (num(r.bytes) / 1e9));
  const cores = (arr) => m(arr, (r) => num(r.lb_cpu_s) / num(r.elapsed_s));
  const errors = rs.reduce((s, r) => s + (num(r.errors) || 0), 0);
  const hostBusy = m(rs, (r) => num(r.host_busy_cores));
  const foreign = rs.map((r) => num(r.foreign_cores)).filter(Number.isFinite);
  const foreignMax = foreign.length ? Math.max(...foreign) : NaN;
  const flagged = foreign.filter((f) => f > FOREIGN_MAX).length;
  const perCore = (arr) => {
    if (!arr.length || arr.some((r) => !r.cores_busy)) return '-';
    const split = arr.map((r) => r.cores_busy.split(' ').map(Number));
    const n = Math.max(0, ...split.map((x) => x.length));
    if (!n || split.some((x) => x.length !== n || x.some((v) => !Number.isFinite(v)))) return '-';
    return Array.from({ length: n }, (_, i) => fmt(median(split.map((x) => x[i])), 2)).join('/');
  };
  detail.push([
    mode, lb, perCore(close), perCore(ka), perCore(bulk),
    lb === 'direct' ? '-' : fmt(1e6 / usConn), lb === 'direct' ? '-' : fmt(1e6 / usReq),
    lb === 'direct' ? '-' : fmt(8 / sPerGB, 1),
  ]);
  table.push({
    mode, lb, cps, rps,
    cells: [
      mode, lb,
      fmt(cps), fmt(m(close, (r) => num(r.p50_ms)), 2), fmt(m(close, (r) => num(r.p99_ms)), 2),
      fmt(rps), fmt(m(ka, (r) => num(r.p50_ms)), 2), fmt(m(ka, (r) => num(r.p99_ms)), 2),
      fmt(m(bulk, (r) => num(r.gbps)), 2),
      fmt(usConn, 1), fmt(usReq, 2), fmt(sPerGB, 3),
      lb === 'direct' ? '-' : `${fmt(cores(close), 2)}/${fmt(cores(ka), 2)}/${fmt(cores(bulk), 2)}`,
      fmt(hostBusy, 2),
      fmt(foreignMax, 2) + (flagged ? ` (${flagged} noisy run${flagged > 1 ? 's' : ''})` : ''),
      String(errors),
    ],
  });
}
// relative-to-direct annotations
for (const row of table) {
  const d = direct[row.mode];
  if (d && row.lb !== 'direct') {
    if (Number.isFinite(row.cps) && d.cps) row.cells[2] += ` (${Math.round((100 * row.cps) / d.cps)}%)`;
    if (Number.isFinite(row.rps) && d.rps) row.cells[5] += ` (${Math.round((100 * row.rps) / d.rps)}%)`;
  }
}

function render(hdr, body) {
  const w = hdr.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  return [line(hdr), '|' + w.map((x, i) => (i < 2 ? '-'.repeat(x + 2) : '-'.repeat(x + 1) + ':')).join('|') + '|', ...body.map(line)];
}
const out = [];
if (envPath && fs.existsSync(envPath)) out.push(fs.readFileSync(envPath, 'utf8').trim(), '');
const n = Math.max(...[...groups.values()].map((rs) => rs.filter((r) => r.test === 'ka').length));
const dur = rows[0] ? rows[0].duration_s : '?';
out.push(`Medians of ${n} runs x ${dur} s each. (xx%) = relative to the direct row of the same mode.`);
out.push(...render(header, table.map((r) => r.cells)));
out.push('');
out.push('conn/s (close): wrk -H "Connection: close" (1 request per TCP connection; LB opens 1 backend connection per request)');
out.push('req/s (keep-alive): wrk default keep-alive; bulk: iperf3 single TCP stream through the LB (receiver rate)');
out.push('LB CPU: utime+stime of all LB processes/threads over the run (/proc/PID/stat, tick-based, incl. softirq work done in the LB\'s context)');
out.push('LB cores: average cores used by the LB during the close/keep-alive/bulk runs; host cores busy: whole machine (max ' + require('os').cpus().length + ')');
out.push('foreign cores: host busy minus (LB + backends + load generator + ksoftirqd), i.e. CPU used by other tenants of the machine; runs above ' + FOREIGN_MAX + ' were repeated (max attempts) and "noisy run" marks ones kept anyway');
out.push('errors: wrk socket errors + non-2xx responses + failed iperf3 runs, summed over all runs of the row');
out.push('');
out.push('Where the CPU went (median busy cores per CPU, cpu0/cpu1) and what one LB core would do if the LB were the only limit');
out.push('(= 1e6 / LB CPU us per conn or per req, 8 / LB CPU s per GB):');
out.push(...render(['mode', 'LB', 'cpu0/cpu1 close', 'cpu0/cpu1 ka', 'cpu0/cpu1 bulk',
  'conn/s per LB core', 'req/s per LB core', 'Gbit/s per LB core'], detail));
out.push('pinned: cpu0 = wrk/iperf3 client + backends, cpu1 = LB. If cpu0 is ~1.00 while the LB core is not, the load generator/backends');
out.push('are the limit, not the LB (the pinned "direct" row is that ceiling); compare LB CPU cost instead of throughput there.');
console.log(out.join('\n'));
