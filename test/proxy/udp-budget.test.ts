// UDP sessions hold an upstream socket each for the udp timeout (spec §2.6), so the plane bounds
// them (udp-budget.ts): dig from fresh source ports, as resolvers query, through a budget of a few
// sockets to a real DNS server (dnsmasq). Every query must be answered, the idlest sessions give
// their sockets up, a busy client keeps its session, and an upstream that cannot connect ends its
// session instead of queueing the client's datagrams for five minutes.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultUdpSocketLimit } from '../../src/dataplane/proxy/udp-budget.js';
import type { UdpListener } from '../../src/dataplane/proxy/udp-proxy.js';
import { HAVE_DNS, destCfg, digFresh, dnsQuery, ipvsEngine, key, makeTable, startDnsmasq, startPlane, svcCfg, UDP_IO_PATHS, rrService, udpPort, until } from './helpers.js';

const VIP = '127.0.6.1';
const DNS = '127.0.6.11';
const query = (id: number) => dnsQuery(id, 'who.test');
const freshDig = (port: number) => digFresh(VIP, port, 'who.test');

describe('the UDP socket budget', () => {
  it('defaults to half the descriptor limit, at least 64', () => {
    const limits = (n: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${n}                20000                files\n`;
    assert.equal(defaultUdpSocketLimit(limits('20000')), 10000);
    assert.equal(defaultUdpSocketLimit(limits('100')), 64);
    assert.equal(defaultUdpSocketLimit(limits('unlimited')), 1 << 19);
    assert.equal(defaultUdpSocketLimit(''), 2048, 'no /proc: half of 4096');
  });
});

for (const udpIo of UDP_IO_PATHS) {
  describe(`udp proxy within a socket budget (${udpIo} sockets)`, { skip: HAVE_DNS ? false : 'dnsmasq/dig not installed (apt-get install -y dnsmasq dnsutils)' }, () => {
    let dns: ChildProcess;
    let dnsPort = 0;
    before(async () => { ({ proc: dns, port: dnsPort } = await startDnsmasq(DNS, '10.9.9.1')); });
    after(() => { dns.kill('SIGTERM'); });

    it('answers 30 fresh clients through 4 sockets, evicting the idlest, and keeps a busy client\'s session', async () => {
      const { table, port, k } = await rrService('udp', VIP, [`${DNS}:${dnsPort}`]);
      const engine = ipvsEngine(table);
      const plane = await startPlane(table, engine, { udpIo, maxUdpSockets: 4 });
      const busy = dgram.createSocket('udp4');
      try {
        const l = plane.listenerOf(table.getService(k)!) as UdpListener;
        // A client that keeps querying from one port, every 10 ms, for the whole test.
        await new Promise<void>((r) => busy.bind(0, '127.0.6.99', () => r()));
        let busyAnswers = 0;
        busy.on('message', () => { busyAnswers++; });
        busy.send(query(1), port, VIP);
        await sleep(50);
        // Found by address: the listener's key is the I/O path's own (text, or a number for IPv4).
        const busyClient = () => [...l.clients.values()].find((c) => c.flow.clientIp === '127.0.6.99' && c.flow.clientPort === busy.address().port);
        const busySession = busyClient()?.session;
        assert.ok(busySession, 'the busy client has a session');
        const timer = setInterval(() => busy.send(query(2), port, VIP), 10);
        // The kernel's count, not the budget's own: UDP sockets of this process connected to dnsmasq.
        const upstreamSockets = () => execFileSync('ss', ['-Hun', 'dst', `${DNS}:${dnsPort}`], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
        let maxOpen = 0;
        try {
          for (let i = 0; i < 30; i++) {
            assert.equal(await freshDig(port), '10.9.9.1', `query ${i} answered`);
            maxOpen = Math.max(maxOpen, upstreamSockets());
          }
        } finally { clearInterval(timer); }
        const c = plane.counters().udp;
        assert.equal(maxOpen, 4, `4 upstream sockets open at most, and the budget was used (saw ${maxOpen})`);
        assert.equal(c.sessionsOpened, 31);
        assert.equal(c.sessionsEvicted, 31 - 4, 'each new session past the budget took an idle one\'s socket');
        assert.equal(c.noSocketDrops, 0);
        assert.equal(busyClient()?.session, busySession, 'the busy client was never evicted');
        assert.ok(busyAnswers > 20, `the busy client kept getting answers (${busyAnswers})`);
        // Evicted sessions are IPVS conns that ended early: the engine saw 31 conns.
        assert.equal(table.getService(k)!.stats.conns, 31);
      } finally { busy.close(); await plane.stop(); }
      assert.equal(plane.udpSockets.used, 0, 'stopping gives every socket back');
    });

    it('evicts the least recently active session, however many active ones were opened before it (a client whose port came back keeps its session)', async () => {
      const { table, port, k } = await rrService('udp', VIP, [`${DNS}:${dnsPort}`]);
      const engine = ipvsEngine(table);
      const plane = await startPlane(table, engine, { udpIo, maxUdpSockets: 70 });
      const socks: dgram.Socket[] = [];
      try {
        const l = plane.listenerOf(table.getService(k)!) as UdpListener;
        // One query per socket, each answered before the next round; a socket is one client.
        const ask = async (from: readonly dgram.Socket[], id: number) => {
          await Promise.all(from.map((s) => new Promise<void>((r) => { s.once('message', () => r()); s.send(query(id), port, VIP); })));
        };
        for (let i = 0; i < 71; i++) {
          const s = dgram.createSocket('udp4');
          await new Promise<void>((r) => s.bind(0, '127.0.6.97', () => r()));
          socks.push(s);
        }
        await ask(socks.slice(0, 70), 1);
        // The 66 first clients query again: the 4 last ones (66..69) are now the idlest, though
        // newer. Evicting by creation order would take client 0, whose exchange just happened.
        await ask(socks.slice(0, 66), 2);
        const sessionOf = (s: dgram.Socket) => [...l.clients.values()].find((c) => c.flow.clientPort === s.address().port)?.session;
        const before = socks.slice(0, 70).map(sessionOf);
        assert.ok(before.every(Boolean));
        await ask(socks.slice(70), 3); // a new client: the budget is full
        assert.equal(plane.counters().udp.sessionsEvicted, 1);
        const after = socks.slice(0, 70).map(sessionOf);
        assert.ok(after.slice(0, 66).every((u, i) => u === before[i]), 'every client active again keeps its session');
        // Which of the four idle ones goes depends on the order their first answers came back in.
        assert.equal(after.slice(66).filter((u) => u === undefined).length, 1, 'one of the least recently active clients gave its socket up');
      } finally { for (const s of socks) s.close(); await plane.stop(); }
    });

    it('a service flooded with fresh clients gives up its own sockets, not a quieter service\'s; counts survive its removal', async () => {
      const table = makeTable();
      const [portA, portB] = [await udpPort(VIP), await udpPort(VIP)];
      const [kA, kB] = [key('udp', `${VIP}:${portA}`), key('udp', `${VIP}:${portB}`)];
      for (const k of [kA, kB]) { table.addService(svcCfg(k, 'rr')); table.addDest(k, destCfg(`${DNS}:${dnsPort}`)); }
      const engine = ipvsEngine(table);
      const plane = await startPlane(table, engine, { udpIo, maxUdpSockets: 4 });
      try {
        for (let i = 0; i < 6; i++) assert.equal(await freshDig(portA), '10.9.9.1');
        assert.equal(plane.udpSockets.used, 4, 'A holds the whole budget');
        // B has no session to give up: the listener holding the most sockets (A) gives one.
        assert.equal(await freshDig(portB), '10.9.9.1', 'B is answered');
        const lA = plane.listenerOf(table.getService(kA)!) as UdpListener;
        const lB = plane.listenerOf(table.getService(kB)!) as UdpListener;
        assert.deepEqual([lA.socketsHeld, lB.socketsHeld], [3, 1]);
        // B's next fresh client evicts from A again (A still holds the most), not B's session.
        assert.equal(await freshDig(portB), '10.9.9.1');
        assert.deepEqual([lA.socketsHeld, lB.socketsHeld], [2, 2]);
        const before = plane.counters().udp;
        table.deleteService(kA);
        await plane.reconcile();
        const after = plane.counters().udp;
        assert.equal(after.sessionsOpened, before.sessionsOpened, 'A\'s counts stay in the totals after A is removed');
        assert.equal(after.sessionsEvicted, before.sessionsEvicted);
        assert.equal(plane.udpSockets.used, 2, 'A\'s sockets were given back');
      } finally { await plane.stop(); }
    });

    it('ends a session whose upstream cannot connect, so the next datagram tries again', async () => {
      // connect() to the broadcast address fails (EACCES without SO_BROADCAST): no upstream.
      const { table, port } = await rrService('udp', VIP, ['255.255.255.255:53']);
      const engine = ipvsEngine(table);
      const plane = await startPlane(table, engine, { udpIo });
      const sock = dgram.createSocket('udp4');
      try {
        await new Promise<void>((r) => sock.bind(0, '127.0.6.98', () => r()));
        for (let i = 1; i <= 2; i++) {
          sock.send(query(i), port, VIP);
          await until(() => plane.counters().udp.upstreamErrors >= i, 3000, `the upstream of datagram ${i} failed`);
          assert.equal(plane.counters().udp.upstreamErrors, i, `datagram ${i}: its upstream failed`);
          assert.equal(plane.udpSockets.used, 0, 'the failed socket is given back');
        }
        assert.equal(plane.counters().udp.sessionsOpened, 2, 'the second datagram opened a new session');
        assert.equal(plane.counters().udp.queueDrops, 0);
      } finally { sock.close(); await plane.stop(); }
    });
  });
}
