import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { SeededRandom } from '../random.js';
import { ep, ip } from '../sched/testing.js';
import { ConnKey } from './conn-key.js';
import { CF_MASQ, CF_DROUTE, CF_HASHED, CF_TEMPLATE, IPPROTO_TCP, IPPROTO_UDP } from './conn-flags.js';
import { ConnTable } from './conn-table.js';

function inKey(proto: number, client: string, virt: string, template = false): ConnKey {
  const c = ep(client);
  const v = ep(virt);
  const k = new ConnKey().setFirst(c.addr, c.port).setSecond(v.addr, v.port);
  k.proto = proto;
  k.template = template;
  return k;
}

function outKey(proto: number, server: string, client: string): ConnKey {
  const s = ep(server);
  const c = ep(client);
  const k = new ConnKey().setFirst(s.addr, s.port).setSecond(c.addr, c.port);
  k.proto = proto;
  return k;
}

// A minimal stand-in for a Destination: the table only reads addr (and keeps the reference).
const dest = (addr: string) => ({ addr: ip(addr), port: 80 }) as never;

function table(maxConns = 1 << 16, initialCapacity = 4): ConnTable {
  return new ConnTable({ maxConns, initialCapacity, seed: 12345, clock: new ManualClock(0) });
}

describe('connection table storage (spec §2.1, §2.2)', () => {
  it('a new entry has state 0, the initial 3 s timeout and no controller (spec §2.4)', () => {
    const t = table();
    const s = t.create(inKey(IPPROTO_TCP, '192.0.2.1:1000', '198.18.0.1:80'), dest('10.0.0.2'), 80, CF_DROUTE, 0);
    assert.equal(t.state(s), 0);
    assert.equal(t.timeout(s), 3000);
    assert.equal(t.control(s), -1);
    assert.equal(t.count, 1);
    assert.ok(t.flags(s) & CF_HASHED);
  });

  it('in-lookup matches protocol, client and virtual endpoints exactly (spec §2.1)', () => {
    const t = table();
    const s = t.create(inKey(IPPROTO_TCP, '192.0.2.1:1000', '198.18.0.1:80'), dest('10.0.0.2'), 80, CF_DROUTE, 0);
    assert.equal(t.findIn(inKey(IPPROTO_TCP, '192.0.2.1:1000', '198.18.0.1:80')), s);
    for (const [p, c, v] of [
      [IPPROTO_UDP, '192.0.2.1:1000', '198.18.0.1:80'], [IPPROTO_TCP, '192.0.2.1:1001', '198.18.0.1:80'],
      [IPPROTO_TCP, '192.0.2.2:1000', '198.18.0.1:80'], [IPPROTO_TCP, '192.0.2.1:1000', '198.18.0.1:81'],
      [IPPROTO_TCP, '192.0.2.1:1000', '198.18.0.2:80'],
    ] as const) assert.equal(t.findIn(inKey(p, c, v)), -1, `${p} ${c} ${v}`);
  });

  it('templates and conns with the same tuple are distinct; templates never answer in-lookups (spec §2.1)', () => {
    const t = table();
    const tpl = t.create(inKey(IPPROTO_TCP, '192.0.2.0:0', '198.18.0.1:80', true), dest('10.0.0.2'), 80, CF_TEMPLATE, 0);
    assert.equal(t.findIn(inKey(IPPROTO_TCP, '192.0.2.0:0', '198.18.0.1:80')), -1);
    assert.equal(t.findIn(inKey(IPPROTO_TCP, '192.0.2.0:0', '198.18.0.1:80', true)), tpl);
  });

  it('out-lookup finds NAT conns by (server, client) and ignores DR conns (spec §2.1)', () => {
    const t = table();
    const nat = t.create(inKey(IPPROTO_TCP, '192.0.2.1:1000', '198.18.0.1:80'), dest('10.0.0.2'), 8080, CF_MASQ, 0);
    t.create(inKey(IPPROTO_TCP, '192.0.2.1:1001', '198.18.0.1:80'), dest('10.0.0.2'), 8080, CF_DROUTE, 0);
    assert.equal(t.findOut(outKey(IPPROTO_TCP, '10.0.0.2:8080', '192.0.2.1:1000')), nat);
    assert.equal(t.findOut(outKey(IPPROTO_TCP, '10.0.0.2:8080', '192.0.2.1:1001')), -1);
    assert.equal(t.findOut(outKey(IPPROTO_TCP, '10.0.0.2:80', '192.0.2.1:1000')), -1);
  });

  it('IPv6 entries are found by full addresses, not just their fold (spec §2.1)', () => {
    const t = table();
    const s = t.create(inKey(IPPROTO_TCP, '[2001:db8::1]:1000', '[2001:db8::80]:80'), dest('2001:db8::2'), 80, CF_MASQ, 0);
    assert.equal(t.findIn(inKey(IPPROTO_TCP, '[2001:db8::1]:1000', '[2001:db8::80]:80')), s);
    // Same XOR fold (words swapped), different address.
    assert.equal(t.findIn(inKey(IPPROTO_TCP, '[0:1:2001:db8::]:1000', '[2001:db8::80]:80')), -1);
    assert.equal(t.findOut(outKey(IPPROTO_TCP, '[2001:db8::2]:80', '[2001:db8::1]:1000')), s);
    assert.equal(t.get(s)?.client.addr.bytes[15], 1);
  });

  it('refuses a new entry at maxConns and reuses freed slots', () => {
    const t = table(3, 1);
    const a = t.create(inKey(IPPROTO_UDP, '192.0.2.1:1', '198.18.0.1:53'), dest('10.0.0.2'), 53, CF_DROUTE, 0);
    t.create(inKey(IPPROTO_UDP, '192.0.2.1:2', '198.18.0.1:53'), dest('10.0.0.2'), 53, CF_DROUTE, 0);
    t.create(inKey(IPPROTO_UDP, '192.0.2.1:3', '198.18.0.1:53'), dest('10.0.0.2'), 53, CF_DROUTE, 0);
    assert.equal(t.create(inKey(IPPROTO_UDP, '192.0.2.1:4', '198.18.0.1:53'), dest('10.0.0.2'), 53, CF_DROUTE, 0), -1);
    t.free(a);
    assert.equal(t.findIn(inKey(IPPROTO_UDP, '192.0.2.1:1', '198.18.0.1:53')), -1);
    assert.equal(t.create(inKey(IPPROTO_UDP, '192.0.2.1:4', '198.18.0.1:53'), dest('10.0.0.2'), 53, CF_DROUTE, 0), a);
    assert.equal(t.count, 3);
  });

  it('stays consistent with a Map model under random inserts and deletes (backward-shift deletion)', () => {
    const t = table(1 << 14, 2);
    const rng = new SeededRandom(99);
    const model = new Map<string, number>();
    const d = dest('10.0.0.2');
    for (let i = 0; i < 20000; i++) {
      const port = rng.nextU32() % 3000;
      const name = `192.0.2.${port % 7}:${port}`;
      const k = inKey(IPPROTO_TCP, name, '198.18.0.1:80');
      const have = model.get(name);
      if (have === undefined) {
        const s = t.create(k, d, 80, CF_MASQ, 0);
        assert.ok(s >= 0);
        model.set(name, s);
      } else if (rng.nextU32() % 2 === 0) {
        t.free(have);
        model.delete(name);
      }
      if (i % 1000 === 0) {
        for (const [n, s] of model) assert.equal(t.findIn(inKey(IPPROTO_TCP, n, '198.18.0.1:80')), s);
      }
    }
    assert.equal(t.count, model.size);
    for (const [n, s] of model) {
      assert.equal(t.findIn(inKey(IPPROTO_TCP, n, '198.18.0.1:80')), s);
      assert.equal(t.findOut(outKey(IPPROTO_TCP, '10.0.0.2:80', n)), s);
    }
  });
});
