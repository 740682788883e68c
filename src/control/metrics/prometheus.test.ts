import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import { DEST_DEFAULTS, type DestConfig, type ServiceConfig, type ServiceKey, defaultNetmask } from '../../core/service/types.js';
import type { TableOp } from '../director-api.js';
import { makeTestDirector, type TestDirector } from '../api/testing.js';
import { ControlEventTally, escapeLabelValue, goIpString, renderMetrics } from './prometheus.js';

const ip = (t: string) => parseIp(t)!;
const addrKey = (protocol: 'tcp' | 'udp' | 'sctp', a: string, port: number): ServiceKey => ({ kind: 'addr', protocol, addr: ip(a), port });
const fwm = (fwmark: number, family: 4 | 6 = 4): ServiceKey => ({ kind: 'fwmark', fwmark, family });
const svc = (key: ServiceKey): ServiceConfig => ({ key, scheduler: 'wlc', flags: 0, timeoutS: 0, netmask: defaultNetmask(key.kind === 'addr' ? key.addr.family : key.family) });
const dest = (a: string, port: number, weight: number, extra: Partial<DestConfig> = {}): DestConfig => ({ ...DEST_DEFAULTS, addr: ip(a), port, weight, ...extra });

/** Parses the text format 0.0.4 strictly; returns samples by family. Throws on any malformed line. */
function parseExposition(text: string): Map<string, { type: string; samples: Map<string, number> }> {
  assert.ok(text.endsWith('\n'), 'ends with a line feed');
  const families = new Map<string, { type: string; samples: Map<string, number> }>();
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(\\{(.*)\\})? (-?[0-9.e+]+|NaN|[+-]Inf)$`);
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
  let current: string | undefined;
  const helped = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      assert.ok(!helped.has(m[1]), `one HELP for ${m[1]}`);
      helped.add(m[1]);
      continue;
    }
    if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      assert.ok(!families.has(m[1]), `one TYPE for ${m[1]}`);
      families.set(m[1], { type: m[2], samples: new Map() });
      current = m[1];
      continue;
    }
    m = sampleRe.exec(line);
    assert.ok(m, `malformed line: ${JSON.stringify(line)}`);
    assert.equal(m[1], current, `sample ${m[1]} outside its family`);
    const labels = m[3] ?? '';
    labelRe.lastIndex = 0;
    let pos = 0;
    const names: string[] = [];
    while (pos < labels.length) {
      labelRe.lastIndex = pos;
      const l = labelRe.exec(labels);
      assert.ok(l, `malformed labels: ${labels}`);
      names.push(l[1]);
      pos = labelRe.lastIndex;
    }
    assert.equal(new Set(names).size, names.length, `duplicate label name in ${line}`);
    const fam = families.get(m[1])!;
    assert.ok(!fam.samples.has(labels), `duplicate series ${line}`);
    fam.samples.set(labels, Number(m[4].replace('+Inf', 'Infinity').replace('-Inf', '-Infinity')));
    if (fam.type === 'counter') assert.ok(Number(m[4]) >= 0, `negative counter ${line}`);
  }
  return families;
}

describe('Prometheus metrics (spec §8)', () => {
  let td: TestDirector;
  let text: string;
  before(async () => {
    td = await makeTestDirector();
    const ops: TableOp[] = [
      { op: 'add-service', service: svc(addrKey('tcp', '10.0.0.1', 80)) },
      { op: 'add-dest', key: addrKey('tcp', '10.0.0.1', 80), dest: dest('10.0.0.2', 80, 3) },
      { op: 'add-dest', key: addrKey('tcp', '10.0.0.1', 80), dest: dest('10.0.0.3', 80, 1, { method: 'masq' }) },
      { op: 'add-service', service: svc(addrKey('udp', '2001:db8::1', 53)) },
      { op: 'add-dest', key: addrKey('udp', '2001:db8::1', 53), dest: dest('2001:db8:0:0:0:0:0:2', 53, 2) },
      { op: 'add-dest', key: addrKey('udp', '2001:db8::1', 53), dest: dest('::ffff:10.0.0.8', 53, 1) },
      { op: 'add-service', service: svc(fwm(7)) },
      { op: 'add-dest', key: fwm(7), dest: dest('10.0.0.9', 0, 1) },
      { op: 'add-service', service: svc(fwm(7, 6)) },
      { op: 'add-dest', key: fwm(7, 6), dest: dest('10.0.0.9', 0, 4, { method: 'tunnel' }) },
      { op: 'add-service', service: svc(fwm(0x1badbeef)) },
      { op: 'add-dest', key: fwm(0x1badbeef), dest: dest('10.0.0.10', 0, 1) },
      { op: 'add-service', service: svc(addrKey('sctp', '10.0.0.1', 5060)) },
      { op: 'add-dest', key: addrKey('sctp', '10.0.0.1', 5060), dest: dest('10.0.0.5', 5060, 1) },
    ];
    const r = td.director.applyOps(ops);
    assert.ok(r.ok, r.error?.message);
    const t = td.director.table;
    const d = (k: ServiceKey, a: string, port: number) => t.findDest(t.getService(k)!, ip(a), port)!;
    Object.assign(d(addrKey('tcp', '10.0.0.1', 80), '10.0.0.2', 80), { activeConns: 5, inactConns: 20 });
    Object.assign(d(fwm(7), '10.0.0.9', 0), { activeConns: 1, inactConns: 2 });
    Object.assign(d(fwm(7, 6), '10.0.0.9', 0), { activeConns: 2, inactConns: 3 });
    Object.assign(t.totals, { conns: 15, inPkts: 120, outPkts: 100, inBytes: 9840, outBytes: 65230 });
    const web = t.getService(addrKey('tcp', '10.0.0.1', 80))!;
    web.stats.conns = 10; web.stats.inPkts = 100; web.stats.inBytes = 8000;
    web.stats.estimatorStep();
    td.conns.drops = { no_service: 3, 'quote"back\\slash\nnewline': 1 };
    td.conns.connsMax = 4096;
    td.conns.packetWorkers = [{ index: 0, up: true, rxFrames: 120, txFrames: 118, ringDrops: 0 }, { index: 1, up: false, rxFrames: 95, txFrames: 95, ringDrops: 4 }];
    td.conns.packetHeldFrames = { held: 5, released: 4, dropped: 1 };
    td.conns.proxy = { tcp: { connectFailures: 2, retries: 1 }, udp: { sessionsEvicted: 7 }, udpSockets: { used: 3, limit: 10 } };
    td.setHealth([{ service: web, dest: web.destinations[0], addr: web.destinations[0].addr, port: web.destinations[0].port, alive: false, checkers: [] }]);
    text = renderMetrics(td.director);
  });

  test('totals: the five node_ipvs counters without labels', () => {
    for (const line of [
      'node_ipvs_connections_total 15', 'node_ipvs_incoming_packets_total 120', 'node_ipvs_outgoing_packets_total 100',
      'node_ipvs_incoming_bytes_total 9840', 'node_ipvs_outgoing_bytes_total 65230',
    ]) assert.ok(text.split('\n').includes(line), line);
    assert.match(text, /^# TYPE node_ipvs_connections_total counter$/m);
    assert.match(text, /^# HELP node_ipvs_connections_total The total number of connections made\.$/m);
  });

  test('backend labels as node_exporter makes them: TCP, UDP over IPv6, FWM with %08X marks; collapsing sets are summed', () => {
    const L = (la: string, lp: number, ra: string, rp: number, proto: string, mark: string) =>
      `{local_address="${la}",local_port="${lp}",remote_address="${ra}",remote_port="${rp}",proto="${proto}",local_mark="${mark}"}`;
    const expected = [
      `node_ipvs_backend_connections_active${L('10.0.0.1', 80, '10.0.0.2', 80, 'TCP', '')} 5`,
      `node_ipvs_backend_connections_inactive${L('10.0.0.1', 80, '10.0.0.2', 80, 'TCP', '')} 20`,
      `node_ipvs_backend_weight${L('10.0.0.1', 80, '10.0.0.2', 80, 'TCP', '')} 3`,
      `node_ipvs_backend_weight${L('10.0.0.1', 80, '10.0.0.3', 80, 'TCP', '')} 1`,
      `node_ipvs_backend_weight${L('2001:db8::1', 53, '2001:db8::2', 53, 'UDP', '')} 2`,
      // Go's net.IP.String prints an IPv4-mapped address as plain IPv4.
      `node_ipvs_backend_weight${L('2001:db8::1', 53, '10.0.0.8', 53, 'UDP', '')} 1`,
      // fwm:7 and fwm6:7 print the same "FWM  00000007" line: their shared backend is summed.
      `node_ipvs_backend_connections_active${L('', 0, '10.0.0.9', 0, 'FWM', '00000007')} 3`,
      `node_ipvs_backend_connections_inactive${L('', 0, '10.0.0.9', 0, 'FWM', '00000007')} 5`,
      `node_ipvs_backend_weight${L('', 0, '10.0.0.9', 0, 'FWM', '00000007')} 5`,
      `node_ipvs_backend_weight${L('', 0, '10.0.0.10', 0, 'FWM', '1BADBEEF')} 1`,
    ];
    const lines = text.split('\n');
    for (const line of expected) assert.ok(lines.includes(line), `missing ${line}`);
    const fams = parseExposition(text);
    assert.equal(fams.get('node_ipvs_backend_weight')!.samples.size, 6);
    assert.equal(fams.get('node_ipvs_backend_weight')!.type, 'gauge');
    // procfs does not recognise SCTP service lines: no node_ipvs series for them.
    assert.doesNotMatch(text, /^node_ipvs_.*5060/m);
  });

  test('tsvs metrics: drops (escaped), connection table, rates, real server up, per-service counters', () => {
    const lines = text.split('\n');
    for (const line of [
      'tsvs_drops_total{reason="no_service"} 3',
      'tsvs_drops_total{reason="quote\\"back\\\\slash\\nnewline"} 1',
      'tsvs_connection_table_entries 0',
      'tsvs_connection_table_capacity 4096',
      'tsvs_proxy_events_total{protocol="tcp",event="connect_failures"} 2',
      'tsvs_proxy_events_total{protocol="tcp",event="retries"} 1',
      'tsvs_proxy_events_total{protocol="udp",event="sessions_evicted"} 7',
      'tsvs_proxy_udp_sockets 3',
      'tsvs_packet_rx_frames_total{worker="0"} 120',
      'tsvs_packet_rx_frames_total{worker="1"} 95',
      'tsvs_packet_tx_frames_total{worker="0"} 118',
      'tsvs_packet_ring_drops_total{worker="1"} 4',
      'tsvs_packet_worker_up{worker="0"} 1',
      'tsvs_packet_worker_up{worker="1"} 0',
      'tsvs_packet_held_frames_total{outcome="held"} 5',
      'tsvs_packet_held_frames_total{outcome="released"} 4',
      'tsvs_packet_held_frames_total{outcome="dropped"} 1',
      'tsvs_proxy_udp_sockets_limit 10',
      // One 2 s period: 100 pkts -> avg 12800 -> 12; 8000 B -> avg 32000 -> 1000; 10 conns -> 1280 -> 1 (spec §5.8).
      'tsvs_service_rate_incoming_packets_per_second{service="tcp:10.0.0.1:80"} 12',
      'tsvs_service_rate_incoming_bytes_per_second{service="tcp:10.0.0.1:80"} 1000',
      'tsvs_service_rate_connections_per_second{service="tcp:10.0.0.1:80"} 1',
      'tsvs_service_connections_total{service="tcp:10.0.0.1:80"} 10',
      'tsvs_service_rate_incoming_packets_per_second{service="fwm6:7"} 0',
      'tsvs_realserver_rate_incoming_bytes_per_second{service="udp:[2001:db8::1]:53",realserver="[2001:db8::2]:53"} 0',
      'tsvs_realserver_up{service="tcp:10.0.0.1:80",realserver="10.0.0.3:80"} 0',
      'tsvs_config_reloads_total{result="success"} 0',
      'tsvs_health_transitions_total 0',
    ]) assert.ok(lines.includes(line), `missing ${line}`);
  });

  test('the text parses as exposition format 0.0.4 (HELP/TYPE once, no duplicate series)', () => {
    const fams = parseExposition(text);
    for (const [name, f] of fams) {
      if (f.type === 'counter') assert.match(name, /_total$/, name);
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'));
    }
  });

  test('promtool check metrics accepts it', (t) => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      t.skip('promtool is not installed (apt-get install -y prometheus): skipping the promtool check');
      return;
    }
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  });

  test('control counters come from the director when it has them, else from its events', async () => {
    const tally = new ControlEventTally(td.director);
    td.director.emit('health', 'down');
    td.director.emit('health', 'up');
    td.director.emit('reload', 'reloaded', { ok: true });
    td.director.emit('reload', 'reload failed', { ok: false });
    td.director.emit('reload', 'reload failed', { result: 'failure' });
    const out = renderMetrics(td.director, tally.counters()).split('\n');
    tally.stop();
    assert.ok(out.includes('tsvs_health_transitions_total 2'));
    assert.ok(out.includes('tsvs_config_reloads_total{result="success"} 1'));
    assert.ok(out.includes('tsvs_config_reloads_total{result="failure"} 2'));
    const own = Object.assign(Object.create(td.director) as typeof td.director, {
      controlCounters: () => ({ healthTransitions: 7, configReloads: { success: 4, failure: 1 } }),
    });
    assert.ok(renderMetrics(own, tally.counters()).split('\n').includes('tsvs_health_transitions_total 7'));
  });

  test('label and address helpers', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(goIpString(ip('::ffff:192.0.2.1')), '192.0.2.1');
    assert.equal(goIpString(ip('2001:db8:0:1:0:0:0:1')), '2001:db8:0:1::1');
    assert.equal(goIpString(ip('2001:db8:0:1:1:1:1:1')), '2001:db8:0:1:1:1:1:1');
    assert.equal(goIpString(ip('::192.0.2.1')), '::c000:201');
  });
});
