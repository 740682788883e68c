// UDP through the proxy plane: dig to a real DNS server (dnsmasq), sessions keyed by client
// ip:port, replies from the VIP, one-packet scheduling, and PROXY v2 DGRAM headers parsed by a
// strict relay in front of dnsmasq (so the client address is visible and dig still gets answers).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { formatIp } from '../../src/core/net/addr.js';
import { SVC_F_ONEPACKET } from '../../src/core/service/types.js';
import { ProxyPlane } from '../../src/dataplane/proxy/plane.js';
import { decodeProxyHeader } from '../../src/dataplane/proxy/proxy-protocol.js';
import type { UdpListener } from '../../src/dataplane/proxy/udp-proxy.js';
import { HAVE_DNS, dig as digAt, digFresh, dnsQuery, ipvsEngine, destCfg, key, startDnsmasq, startPlane, svcCfg, UDP_IO_PATHS, rrService, udpPort, until } from './helpers.js';

const VIP = '127.0.5.1';
const DNS = ['127.0.5.11', '127.0.5.12'];



for (const udpIo of UDP_IO_PATHS) {
  describe(`udp proxy (${udpIo} sockets)`, { skip: HAVE_DNS ? false : 'dnsmasq/dig not installed (apt-get install -y dnsmasq dnsutils)' }, () => {
    const procs: ChildProcess[] = [];
    const ports: number[] = [];
    before(async () => {
      // Each server answers who.test with its own address, so the answer names the backend.
      for (const [i, ip] of DNS.entries()) {
        const d = await startDnsmasq(ip, `10.9.9.${i + 1}`);
        ports.push(d.port);
        procs.push(d.proc);
      }
    });
    after(() => { for (const p of procs) p.kill('SIGTERM'); });

    it('dig through the VIP: a session per client ip:port, answers from the VIP, stats (spec §2.6)', async () => {
      const { table, port, k } = await rrService('udp', VIP, DNS.map((ip, i) => `${ip}:${ports[i]}`));
      const plane = await startPlane(table, ipvsEngine(table), { udpIo });
      try {
        const answers: string[] = [];
        for (let i = 0; i < 4; i++) answers.push(await digFresh(VIP, port, 'who.test'));
        assert.deepEqual([...answers].sort(), ['10.9.9.1', '10.9.9.1', '10.9.9.2', '10.9.9.2'], 'rr over two DNS servers, one session per dig');
        const svc = table.getService(k)!;
        assert.equal(svc.stats.conns, 4);
        assert.equal(svc.stats.inPkts, 4);
        assert.equal(svc.stats.outPkts, 4);
        // UDP conns stay inactive (spec §2.6).
        assert.deepEqual(svc.destinations.map((d) => [d.activeConns, d.inactConns]), [[0, 2], [0, 2]]);
        assert.equal((plane.listenerOf(svc) as UdpListener).sessionCount, 4);
      } finally { await plane.stop(); }
    });

    it('one-packet scheduling (-o) schedules every datagram on its own (spec §2.8)', async () => {
      const { table, port, k } = await rrService('udp', VIP, DNS.map((ip, i) => `${ip}:${ports[i]}`), { flags: SVC_F_ONEPACKET });
      const engine = ipvsEngine(table);
      const plane = await startPlane(table, engine, { udpIo });
      const sock = dgram.createSocket('udp4');
      try {
        await new Promise<void>((r) => sock.bind(0, '127.0.5.99', () => r()));
        const got: string[] = [];
        sock.on('message', (m, rinfo) => { got.push(`${rinfo.address}:${rinfo.port}/${m.subarray(-4).join('.')}`); });
        // Four queries from ONE client port: with -o they alternate servers.
        for (let i = 0; i < 4; i++) {
          sock.send(dnsQuery(i + 1, 'who.test'), port, VIP);
          await new Promise((r) => setTimeout(r, 100));
        }
        await until(() => got.length >= 4, 3000, 'four answers');
        assert.deepEqual(got.sort(), [`${VIP}:${port}/10.9.9.1`, `${VIP}:${port}/10.9.9.1`, `${VIP}:${port}/10.9.9.2`, `${VIP}:${port}/10.9.9.2`]);
        assert.equal(engine.ipvs.conns.count, 0, 'one-packet conns are not kept');
        assert.equal(table.getService(k)!.stats.conns, 4);
      } finally { sock.close(); await plane.stop(); }
    });

    it('PROXY v2 DGRAM headers carry the client address to a relay in front of dnsmasq', async () => {
      const relay = dgram.createSocket('udp4');
      const seen: string[] = [];
      await new Promise<void>((r) => relay.bind(0, '127.0.5.21', () => r()));
      relay.on('message', (m, rinfo) => {
        const r = decodeProxyHeader(m);
        if (r.status !== 'ok' || !r.header.addresses) { seen.push('bad'); return; }
        const a = r.header.addresses;
        seen.push(`${a.transport} ${a.src.bytes.join('.')}:${a.srcPort} -> ${a.dst.bytes.join('.')}:${a.dstPort}`);
        const up = dgram.createSocket('udp4');
        up.on('message', (ans) => { relay.send(ans, rinfo.port, rinfo.address); up.close(); });
        up.send(m.subarray(r.length), ports[0], DNS[0]);
      });
      const { table, port } = await rrService('udp', VIP, [`127.0.5.21:${relay.address().port}`]);
      const engine = ipvsEngine(table);
      const plane = await startPlane(table, engine, { udpIo, proxyProtocolFor: () => 2 });
      try {
        const srcPort = await udpPort('127.0.5.98');
        assert.equal(await digAt(VIP, port, 'who.test', ['-b', `127.0.5.98#${srcPort}`]), '10.9.9.1');
        assert.deepEqual(seen, [`udp 127.0.5.98:${srcPort} -> 127.0.5.1:${port}`]);
      } finally { await plane.stop(); relay.close(); }
    });

    it('turning -o on and off with an edit closes the other mode\'s sockets (spec §2.8)', async () => {
      const { table, port, k } = await rrService('udp', VIP, DNS.map((ip, i) => `${ip}:${ports[i]}`));
      const plane = await startPlane(table, ipvsEngine(table), { udpIo });
      const sock = dgram.createSocket('udp4');
      try {
        await new Promise<void>((r) => sock.bind(0, '127.0.5.97', () => r()));
        let answers = 0;
        sock.on('message', () => { answers++; });
        const ask = async (id: number) => {
          sock.send(dnsQuery(id, 'who.test'), port, VIP);
          await until(() => answers >= id, 3000, `answer ${id}`);
        };
        await ask(1);
        assert.equal(plane.udpSockets.used, 1, 'one session');
        table.editService(svcCfg(k, 'rr', { flags: SVC_F_ONEPACKET }));
        await plane.reconcile();
        // (The client's connection entry from before still matches its datagrams, as in the kernel,
        // so they keep going to the same real server: one -o upstream.)
        await ask(2);
        await ask(3);
        assert.equal(plane.udpSockets.used, 1, 'the session went, one -o upstream came');
        table.editService(svcCfg(k, 'rr'));
        await plane.reconcile();
        await ask(4);
        assert.equal(plane.udpSockets.used, 1, 'the -o upstreams went, one session came');
      } finally { sock.close(); await plane.stop(); }
    });

  });

  // These need no DNS server: they run wherever the proxy does.
  describe(`udp proxy, real servers of its own (${udpIo} sockets)`, () => {
    it('a reload that turns PROXY v2 on for a real server reaches a session already open', async () => {
      // The real server echoes whether a datagram came with a PROXY v2 header.
      const rs = dgram.createSocket('udp4');
      await new Promise<void>((r) => rs.bind(0, '127.0.5.22', () => r()));
      rs.on('message', (m, rinfo) => rs.send(Buffer.from(decodeProxyHeader(m).status === 'ok' ? 'header' : 'plain'), rinfo.port, rinfo.address));
      let version: 0 | 2 = 0;
      const sock = dgram.createSocket('udp4');
      let plane: Awaited<ReturnType<typeof startPlane>> | undefined;
      try {
        const { table, port } = await rrService('udp', VIP, [`127.0.5.22:${rs.address().port}`]);
        plane = await startPlane(table, ipvsEngine(table), { udpIo, proxyProtocolFor: () => version });
        await new Promise<void>((r) => sock.bind(0, '127.0.5.96', () => r()));
        const got: string[] = [];
        sock.on('message', (m) => got.push(m.toString()));
        sock.send(Buffer.from('one'), port, VIP);
        await until(() => got.length >= 1, 3000, 'first reply');
        version = 2;
        await plane.reconcile();
        sock.send(Buffer.from('two'), port, VIP);
        await until(() => got.length >= 2, 3000, 'second reply');
        assert.deepEqual(got, ['plain', 'header']);
        assert.equal(plane.counters().udp.sessionsOpened, 1, 'the same session');
      } finally { sock.close(); await plane?.stop(); rs.close(); }
    });

    it('a VIP port another socket holds: that listener fails with EADDRINUSE and its address; the plane\'s other service serves on', async () => {
      const holder = dgram.createSocket('udp4');
      await new Promise<void>((r) => holder.bind(0, VIP, () => r()));
      const held = holder.address().port;
      // The real server echoes.
      const rs = dgram.createSocket('udp4');
      await new Promise<void>((r) => rs.bind(0, '127.0.5.23', () => r()));
      rs.on('message', (m, rinfo) => rs.send(m, rinfo.port, rinfo.address));
      const { table } = await rrService('udp', VIP, [`127.0.5.23:${rs.address().port}`], {}, held);
      const free = await udpPort(VIP);
      const k2 = key('udp', `${VIP}:${free}`);
      table.addService(svcCfg(k2, 'rr'));
      table.addDest(k2, destCfg(`127.0.5.23:${rs.address().port}`));
      const plane = new ProxyPlane({ table, engine: ipvsEngine(table), udpIo });
      const sock = dgram.createSocket('udp4');
      try {
        const statuses = await plane.start();
        const st = statuses.find((x) => x.bind.endsWith(`:${held}`));
        assert.equal(st?.state, 'failed');
        assert.match(st?.error ?? '', new RegExp(`EADDRINUSE.*${VIP.replace(/\./g, '\\.')}:${held}`));
        assert.equal(statuses.find((x) => x.bind.endsWith(`:${free}`))?.state, 'listening');
        const got: string[] = [];
        sock.on('message', (m) => got.push(m.toString()));
        sock.send(Buffer.from('still here'), free, VIP);
        await until(() => got.length >= 1, 3000, 'the other service\'s reply');
        assert.deepEqual(got, ['still here']);
        assert.equal(plane.udpSockets.used, 1, 'one session, on the other service');
      } finally { sock.close(); await plane.stop(); holder.close(); rs.close(); }
    });

    for (const onePacket of [false, true]) {
      it(`expire_nodest_conn=1: a removed real server's ${onePacket ? '-o upstream' : 'sessions'} close${onePacket ? 's' : ''} and free${onePacket ? 's its' : ' their'} socket${onePacket ? '' : 's'} (spec §2.9)`, async () => {
        const rs = dgram.createSocket('udp4');
        await new Promise<void>((r) => rs.bind(0, '127.0.5.24', () => r()));
        rs.on('message', (m, rinfo) => rs.send(m, rinfo.port, rinfo.address));
        const { table, port, k } = await rrService('udp', VIP, [`127.0.5.24:${rs.address().port}`], onePacket ? { flags: SVC_F_ONEPACKET } : {});
        const engine = ipvsEngine(table);
        engine.ipvs.setSysctl('expire_nodest_conn', 1);
        const plane = await startPlane(table, engine, { udpIo });
        const sock = dgram.createSocket('udp4');
        try {
          const got: string[] = [];
          sock.on('message', (m) => got.push(m.toString()));
          sock.send(Buffer.from('one'), port, VIP);
          await until(() => got.length >= 1, 3000, 'the reply');
          assert.equal(plane.udpSockets.used, 1);
          const dest = table.getService(k)!.destinations[0];
          table.deleteDest(k, dest.addr, dest.port);
          engine.ipvs.destinationRemoved(dest);
          await plane.reconcile();
          assert.equal(plane.udpSockets.used, 0, 'its socket was closed');
          assert.equal(plane.counters().udp.expiredNodest, 1);
        } finally { sock.close(); await plane.stop(); rs.close(); }
      });
    }

    it('IPv6: a session per client ip:port, replies from the VIP, and PROXY v2 headers naming the IPv6 client', async () => {
      // The real server answers each datagram with the client its PROXY v2 header names, and the payload.
      const rs = dgram.createSocket('udp6');
      await new Promise<void>((r) => rs.bind(0, '::1', () => r()));
      rs.on('message', (m, rinfo) => {
        const r = decodeProxyHeader(m);
        const a = r.status === 'ok' ? r.header.addresses : undefined;
        const who = a ? `[${formatIp(a.src)}]:${a.srcPort}->[${formatIp(a.dst)}]:${a.dstPort}` : 'no header';
        rs.send(Buffer.from(`${who} ${m.subarray(r.status === 'ok' ? r.length : 0).toString()}`), rinfo.port, rinfo.address);
      });
      const clients = [dgram.createSocket('udp6'), dgram.createSocket('udp6')];
      let plane: Awaited<ReturnType<typeof startPlane>> | undefined;
      try {
        const { table, port, k } = await rrService('udp', '::1', [`[::1]:${rs.address().port}`], { netmask: 128 });
        plane = await startPlane(table, ipvsEngine(table), { udpIo, proxyProtocolFor: () => 2 });
        const got: string[] = [];
        for (const [i, c] of clients.entries()) {
          await new Promise<void>((r) => c.bind(0, '::1', () => r()));
          c.on('message', (m, rinfo) => got.push(`${i} from [${rinfo.address}]:${rinfo.port}: ${m.toString()}`));
          c.send(Buffer.from(`hello ${i}`), port, '::1');
          c.send(Buffer.from(`again ${i}`), port, '::1');
        }
        await until(() => got.length >= 4, 3000, 'four replies');
        const expect = clients.flatMap((c, i) => ['hello', 'again'].map((w) => `${i} from [::1]:${port}: [::1]:${c.address().port}->[::1]:${port} ${w} ${i}`));
        assert.deepEqual(got.sort(), expect.sort());
        assert.equal((plane.listenerOf(table.getService(k)!) as UdpListener).sessionCount, 2, 'one session per client port');
        assert.equal(table.getService(k)!.stats.conns, 2);
      } finally { for (const c of clients) c.close(); await plane?.stop(); rs.close(); }
    });
  });
}
