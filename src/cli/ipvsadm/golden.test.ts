// Golden tests: rules files under test/fixtures/ipvsadm/<case>/ are applied to a service table,
// counters set from counters.json, and every output format compared byte for byte with the
// expected texts, which derive.sh in each case directory produces from ipvsadm's printf formats.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ListFormat } from './format-list.js';
import { formatList, formatListService } from './format-list.js';
import { formatProcIpVs, formatProcIpVsStats } from './proc.js';
import { formatSave } from './save.js';
import { applyCounters, fixture, resolverFromJson, tableFromRules } from './testing.js';

const BASE: ListFormat = { numeric: true, exact: false, nosort: false, stats: false, rate: false, thresholds: false, persistentConn: false, tunInfo: false };

function load(name: string) {
  const table = tableFromRules(fixture(`${name}/rules`));
  const { ratesOf, totalRates } = applyCounters(table, fixture(`${name}/counters.json`));
  return { table, ratesOf, totalRates };
}

describe('golden: basic (the spec §5.3-§5.7 table)', () => {
  const { table, ratesOf, totalRates } = load('basic');
  const svcs = table.services();
  const cases: [string, Partial<ListFormat>][] = [
    ['list-n', {}], ['stats-n', { stats: true }], ['rate-n', { rate: true }], ['thresholds-n', { thresholds: true }],
    ['persistent-conn-n', { persistentConn: true }], ['tun-info-n', { tunInfo: true }],
  ];
  for (const [file, flags] of cases) {
    it(`ipvsadm -L -n ${Object.keys(flags).map((k) => `--${k}`).join(' ')} = ${file}.txt`, () => {
      assert.equal(formatList(svcs, { ...BASE, ...flags }, { ratesOf }), fixture(`basic/${file}.txt`));
    });
  }
  it('ipvsadm -L -n -t 192.168.10.100:80 = list-n-one-service.txt (no version line)', () => {
    const svc = svcs.find((s) => s.key.kind === 'addr' && s.key.port === 80)!;
    assert.equal(formatListService(svc, BASE), fixture('basic/list-n-one-service.txt'));
  });
  it('ipvsadm -S -n = save-n.txt (thresholds not saved)', () => {
    assert.equal(formatSave(svcs, { numeric: true }), fixture('basic/save-n.txt'));
  });
  it('-S -n output restores to the same -S -n output', () => {
    const again = tableFromRules(fixture('basic/save-n.txt'));
    assert.equal(formatSave(again.services(), { numeric: true }), fixture('basic/save-n.txt'));
  });
  it('/proc/net/ip_vs (HZ=250) = proc-ip_vs.txt', () => {
    assert.equal(formatProcIpVs(svcs), fixture('basic/proc-ip_vs.txt'));
  });
  it('/proc/net/ip_vs_stats = proc-ip_vs_stats.txt', () => {
    assert.equal(formatProcIpVsStats(table.totals.snapshot(), totalRates), fixture('basic/proc-ip_vs_stats.txt'));
  });
});

describe('golden: edge (names, truncation, big numbers, IPv6, wrap-around sort, --nosort)', () => {
  const { table, ratesOf } = load('edge');
  const svcs = table.services();
  const resolver = resolverFromJson(fixture('edge/names.json'));
  const cases: [string, Partial<ListFormat>][] = [
    ['list-n', {}], ['list-names', { numeric: false }], ['list-nosort-n', { nosort: true }],
    ['stats-n', { stats: true }], ['stats-exact-n', { stats: true, exact: true }], ['rate-n', { rate: true }],
    ['rate-exact-n', { rate: true, exact: true }], ['thresholds-n', { thresholds: true }],
    ['persistent-conn-n', { persistentConn: true }], ['tun-info-n', { tunInfo: true }],
  ];
  for (const [file, flags] of cases) {
    it(`${file}.txt`, () => {
      assert.equal(formatList(svcs, { ...BASE, ...flags }, { ratesOf, resolver }), fixture(`edge/${file}.txt`));
    });
  }
  it('save-n.txt and save-names.txt', () => {
    assert.equal(formatSave(svcs, { numeric: true }), fixture('edge/save-n.txt'));
    assert.equal(formatSave(svcs, { numeric: false, resolver }), fixture('edge/save-names.txt'));
  });
  it('proc-ip_vs.txt (HZ=1000, size 65536)', () => {
    assert.equal(formatProcIpVs(svcs, { hz: 1000, connTabSize: 65536 }), fixture('edge/proc-ip_vs.txt'));
  });
});
