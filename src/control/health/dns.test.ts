import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DnsChecker, encodeName } from './dns.js';
import { closedUdpPort, loopback, udpServer, within } from './test-helpers.js';

// A small real DNS responder: parses the wire-format query and answers per `mode`.
type Mode = 'ok' | 'nxdomain' | 'servfail' | 'wrong-id' | 'no-qr' | 'silent';
let mode: Mode = 'ok';
const queries: { id: number; flags: number; qdcount: number; qname: string; qtype: number; qclass: number }[] = [];
let srv: { port: number; close: () => Promise<void> };

function parseQuery(m: Buffer): (typeof queries)[number] {
  const labels: string[] = [];
  let at = 12;
  while (m[at] !== 0) {
    const len = m[at]!;
    labels.push(m.subarray(at + 1, at + 1 + len).toString('ascii'));
    at += 1 + len;
  }
  at++;
  return { id: m.readUInt16BE(0), flags: m.readUInt16BE(2), qdcount: m.readUInt16BE(4), qname: labels.join('.') + '.', qtype: m.readUInt16BE(at), qclass: m.readUInt16BE(at + 2) };
}

function soaAnswer(): Buffer {
  // Root SOA: owner ".", type SOA, class IN, TTL 86400, rdata: mname a.root.test., rname hostmaster., 5 counters.
  const rdata = Buffer.concat([encodeName('a.root.test.'), encodeName('hostmaster.'), Buffer.alloc(20)]);
  rdata.writeUInt32BE(2024010101, rdata.length - 20);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(6, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(86400, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([Buffer.from([0]), fixed, rdata]);
}

before(async () => {
  srv = await udpServer((m) => {
    const q = parseQuery(m);
    queries.push(q);
    if (mode === 'silent') return undefined;
    const question = m.subarray(12);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(mode === 'wrong-id' ? (q.id + 1) & 0xffff : q.id, 0);
    const rcode = mode === 'nxdomain' ? 3 : mode === 'servfail' ? 2 : 0;
    header.writeUInt16BE((mode === 'no-qr' ? 0 : 0x8000) | 0x0100 | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(rcode === 0 ? 1 : 0, 6);
    return Buffer.concat([header, question, rcode === 0 ? soaAnswer() : Buffer.alloc(0)]);
  });
});

after(() => srv.close());

test('DNS_CHECK sends an SOA query for "." with RD set by default (spec §7.3 DNS_CHECK)', async () => {
  mode = 'ok';
  queries.length = 0;
  const c = new DnsChecker({ target: loopback(srv.port) });
  assert.equal(c.describe(), `DNS_CHECK 127.0.0.1:${srv.port} SOA .`);
  const r = await c.check(within(5000));
  assert.equal(r.ok, true, r.detail);
  assert.equal(r.detail, `DNS SOA . query to 127.0.0.1:${srv.port}: NOERROR, 1 answers`);
  assert.equal(queries.length, 1);
  const q = queries[0]!;
  assert.deepEqual({ flags: q.flags, qdcount: q.qdcount, qname: q.qname, qtype: q.qtype, qclass: q.qclass }, { flags: 0x0100, qdcount: 1, qname: '.', qtype: 6, qclass: 1 });
});

test('DNS_CHECK encodes the configured type and name', async () => {
  mode = 'ok';
  queries.length = 0;
  const rows = [{ type: 'A', num: 1 }, { type: 'AAAA', num: 28 }, { type: 'MX', num: 15 }, { type: 'TXT', num: 16 }] as const;
  for (const row of rows) {
    assert.equal((await new DnsChecker({ target: loopback(srv.port), type: row.type, name: 'www.example.test' }).check(within(5000))).ok, true);
  }
  assert.deepEqual(queries.map((q) => [q.qname, q.qtype]), rows.map((r) => ['www.example.test.', r.num]));
  assert.deepEqual([...encodeName('a.bc')], [1, 0x61, 2, 0x62, 0x63, 0]);
});

test('DNS_CHECK fails on an RCODE error, a wrong id, QR clear, silence and ICMP unreachable', async () => {
  const closed = await closedUdpPort();
  const rows: { mode: Mode; port?: number; ms?: number; detail: RegExp }[] = [
    { mode: 'nxdomain', detail: /: RCODE 3 \(NXDOMAIN\)$/ },
    { mode: 'servfail', detail: /: RCODE 2 \(SERVFAIL\)$/ },
    { mode: 'wrong-id', detail: /: reply id \d+ does not match query id \d+$/ },
    { mode: 'no-qr', detail: /: reply has QR clear \(a query, not a response\)$/ },
    { mode: 'silent', ms: 300, detail: /: timed out$/ },
    { mode: 'ok', port: closed, detail: new RegExp(`^DNS SOA \\. query to 127\\.0\\.0\\.1:${closed}: connection refused$`) },
  ];
  for (const row of rows) {
    mode = row.mode;
    const r = await new DnsChecker({ target: loopback(row.port ?? srv.port) }).check(within(row.ms ?? 5000));
    assert.equal(r.ok, false, row.mode);
    assert.match(r.detail, row.detail);
  }
});

test('DNS_CHECK validates type and name at construction', () => {
  assert.throws(() => new DnsChecker({ target: loopback(53), type: 'PTR' as never }), /'type' must be one of A\|NS\|CNAME\|SOA\|MX\|TXT\|AAAA: current value is PTR/);
  assert.throws(() => new DnsChecker({ target: loopback(53), name: 'a..b' }), /every label of 'name' must be 1\.\.63 bytes/);
});
