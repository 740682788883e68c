// Golden tests for the connection listings: test/fixtures/ipvsadm/conns/conns.json rendered as
// `ipvsadm -L -c` (with -n, names, --persistent-conn) and as /proc/net/ip_vs_conn[_sync]; the
// expected texts come from conns/derive.sh (ipvsadm's and the kernel's printf formats).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpoint } from '../../core/net/addr.js';
import { formatConnections } from './format-conns.js';
import { formatProcIpVsConn, formatProcIpVsConnSync } from './proc.js';
import { fixture, resolverFromJson } from './testing.js';
import type { ConnEntryView } from './views.js';

interface RawConn {
  protocol: string; client: string; virtual: string; dest: string; state: string; expires: number;
  peName?: string; peData?: string; fromSync?: boolean;
}

function entries(): ConnEntryView[] {
  const ep = (s: string) => parseEndpoint(s)!;
  return (JSON.parse(fixture('conns/conns.json')) as RawConn[]).map((c) => ({
    protocol: c.protocol, client: ep(c.client), virtual: ep(c.virtual), dest: ep(c.dest), stateName: c.state,
    expiresS: c.expires, peName: c.peName, peData: c.peData, fromSync: c.fromSync,
  }));
}

describe('golden: connection entries (spec §5.5)', () => {
  const conns = entries();
  it('ipvsadm -L -c -n = conns-n.txt', () => {
    assert.equal(formatConnections(conns, { numeric: true, persistentConn: false }), fixture('conns/conns-n.txt'));
  });
  it('ipvsadm -L -c -n --persistent-conn = conns-pc-n.txt', () => {
    assert.equal(formatConnections(conns, { numeric: true, persistentConn: true }), fixture('conns/conns-pc-n.txt'));
  });
  it('ipvsadm -L -c (names resolved by protocol) = conns-names.txt', () => {
    const resolver = resolverFromJson(fixture('conns/names.json'));
    assert.equal(formatConnections(conns, { numeric: false, persistentConn: false, resolver }), fixture('conns/conns-names.txt'));
  });
  it('/proc/net/ip_vs_conn = proc-ip_vs_conn.txt', () => {
    assert.equal(formatProcIpVsConn(conns), fixture('conns/proc-ip_vs_conn.txt'));
  });
  it('/proc/net/ip_vs_conn_sync = proc-ip_vs_conn_sync.txt', () => {
    assert.equal(formatProcIpVsConnSync(conns), fixture('conns/proc-ip_vs_conn_sync.txt'));
  });
  it('an empty table prints only the headers', () => {
    assert.equal(formatConnections([], { numeric: true, persistentConn: false }),
      'IPVS connection entries\npro expire state       source             virtual            destination\n');
  });
});
