// tsvs dashboard: services, real servers, rates and live events from the REST API (/v1).
// Dependency-free. Text from the server is only ever put into the page with textContent.
'use strict';

const state = { token: sessionStorage.getItem('tsvs-token') || '', events: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function headers(extra) {
  const h = Object.assign({}, extra);
  if (state.token) h.Authorization = 'Bearer ' + state.token;
  return h;
}

function setStatus(text, cls) {
  const s = $('status');
  s.textContent = text;
  s.className = 'status ' + (cls || '');
}

async function api(method, path, body) {
  const init = { method, headers: headers(body ? { 'Content-Type': 'application/json' } : {}) };
  if (body) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  if (res.status === 401) {
    $('token-form').hidden = false;
    throw new Error('a token is required');
  }
  if (res.status === 204) return null;
  const data = await res.json();
  if (!res.ok) throw new Error(data && data.error ? data.error.message : 'HTTP ' + res.status);
  return data;
}

function fmt(n) {
  if (n >= 1e12) return (n / 1e12).toFixed(1) + 'T';
  if (n >= 1e9) return (n / 1e9).toFixed(1) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'K';
  return String(n);
}

function statsCells(s) {
  const r = s.rates;
  return [s.conns, s.inPkts, s.outPkts, s.inBytes, s.outBytes, r.cps, r.inpps, r.outpps, r.inbps, r.outbps]
    .map((n) => el('td', { class: 'num' }, fmt(n)));
}

function healthCell(rs) {
  if (!rs.health) return el('td', { class: 'unknown' }, '—');
  return rs.health.alive ? el('td', { class: 'up' }, 'up') : el('td', { class: 'down' }, 'down');
}

async function setWeight(svc, rs, weight) {
  const path = '/v1/services/' + encodeURIComponent(svc.id) + '/realservers/' + encodeURIComponent(rs.id);
  try {
    await api('PATCH', path, { weight });
    await refresh();
  } catch (e) {
    setStatus('change failed: ' + e.message, 'bad');
  }
}

function describeService(svc) {
  const parts = ['scheduler ' + svc.scheduler];
  if (svc.schedFlags.length) parts.push('flags ' + svc.schedFlags.join(','));
  if (svc.persistence) parts.push('persistent ' + svc.persistence.timeout + ' s, mask ' + svc.persistence.netmask);
  if (svc.ops) parts.push('one-packet');
  return parts.join(' · ');
}

function renderService(svc) {
  const rows = svc.realServers.map((rs) => {
    const drained = rs.weight === 0;
    const button = drained
      ? el('button', { onclick: () => setWeight(svc, rs, rs.lastWeight > 0 ? rs.lastWeight : 1) }, 'Restore')
      : el('button', { onclick: () => { if (confirm('Drain ' + rs.id + ' (weight 0)?')) setWeight(svc, rs, 0); } }, 'Drain');
    return el('tr', {},
      el('td', {}, rs.id), el('td', {}, rs.forwarding),
      el('td', { class: 'num' + (drained ? ' drained' : '') }, rs.weight),
      el('td', { class: 'num' }, rs.activeConns), el('td', { class: 'num' }, rs.inactiveConns),
      healthCell(rs),
      el('td', { class: 'num' }, fmt(rs.stats.rates.cps)),
      el('td', { class: 'num' }, fmt(rs.stats.rates.inbps)), el('td', { class: 'num' }, fmt(rs.stats.rates.outbps)),
      el('td', {}, button));
  });
  const r = svc.stats.rates;
  return el('div', { class: 'service' },
    el('h3', {}, svc.id),
    el('div', { class: 'meta' }, describeService(svc) + ' · ' + fmt(r.cps) + ' conn/s · in ' + fmt(r.inbps) + ' B/s · out ' + fmt(r.outbps) + ' B/s'),
    svc.realServers.length === 0 ? el('p', { class: 'empty' }, 'No real servers.') : el('table', {},
      el('thead', {}, el('tr', {}, ...['Real server', 'Forward', 'Weight', 'Active', 'Inactive', 'Health', 'CPS', 'InBPS', 'OutBPS', ''].map((t) => el('th', {}, t)))),
      el('tbody', {}, ...rows)));
}

async function refresh() {
  try {
    const [services, stats] = await Promise.all([api('GET', '/v1/services'), api('GET', '/v1/stats')]);
    $('totals').tBodies[0].replaceChildren(el('tr', {}, ...statsCells(stats.totals)));
    const box = $('services');
    box.replaceChildren(...(services.services.length ? services.services.map(renderService) : [el('p', { class: 'empty' }, 'No services.')]));
    if (!$('status').classList.contains('bad')) setStatus('live', 'ok');
  } catch (e) {
    setStatus(e.message, 'bad');
  }
}

function addEvent(kind, data) {
  const list = $('events');
  let text = kind;
  try {
    const e = JSON.parse(data);
    text = e.time + ' ' + e.kind + ': ' + e.message;
  } catch { /* keep the kind */ }
  list.prepend(el('li', { class: kind }, text));
  while (list.children.length > 100) list.lastChild.remove();
  if (kind === 'applied' || kind === 'health' || kind === 'reload') refresh();
}

// EventSource cannot send an Authorization header, so the stream is read with fetch.
async function streamEvents() {
  if (state.events) state.events.abort();
  const ctl = new AbortController();
  state.events = ctl;
  try {
    const res = await fetch('/v1/events', { headers: headers({ Accept: 'text/event-stream' }), signal: ctl.signal });
    if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let kind = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) kind = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length) addEvent(kind, data.join('\n'));
      }
    }
  } catch {
    if (ctl.signal.aborted) return;
  }
  setTimeout(streamEvents, 3000);
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = $('token').value.trim();
  sessionStorage.setItem('tsvs-token', state.token);
  $('token-form').hidden = true;
  setStatus('connecting…');
  refresh();
  streamEvents();
});

refresh();
streamEvents();
setInterval(refresh, 2000);
