// Root tests of `tsvs realserver` in tunnel mode (spec §3.3) on a kernel without ipip/fou: tsvs's
// own decapsulator delivers GUE- and IPIP-encapsulated packets (built here by hand and sent from a
// "director" namespace) to sockets bound to the VIP; and the tunnel failure — strict rp_filter
// drops decapsulated SYNs arriving on the TUN device (seed 000) — reproduced, then fixed by `up`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { processStartTime } from '../../src/control/sysnet/process.js';
import {
  addrList, confSysctls, gue, inNs, linkList, must, netstat, nsPair, nsPrefix, removeNs, run, sendUdp, SKIP_NOT_ROOT, spawnInNs, stop,
  synRecv, tcpSyn, TSVS_JS, tsvs, udpPacket, until,
} from './helpers.js';

const PREFIX = nsPrefix('tun');
const VIP = '198.18.23.100';
const CLIENT = '198.18.24.7'; // a client elsewhere: routed via the real server's eth0, never via the TUN device
const PORT = 6080;

/** A node UDP listener on VIP:5353 printing "<payload> from <address>" per datagram. */
function udpListener(ns: string): ReturnType<typeof spawnInNs> {
  return spawnInNs(ns, [process.execPath, '-e',
    `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>console.log(m.toString()+' from '+r.address));s.bind(5353,'${VIP}',()=>console.log('listening'))`]);
}

/** A node TCP listener on VIP:80 (accepts nothing: the handshake never completes toward CLIENT). */
function tcpListener(ns: string): ReturnType<typeof spawnInNs> {
  return spawnInNs(ns, [process.execPath, '-e', `require('net').createServer().listen(80,'${VIP}',()=>console.log('listening'))`]);
}

test('strict rp_filter drops decapsulated SYNs on the TUN device; after realserver up --mode tun they reach the VIP listener (spec §3.3, seed 000)', { skip: SKIP_NOT_ROOT, timeout: 120_000 }, async () => {
  const p = `${PREFIX}-1`;
  const stateFile = `/tmp/${p}.json`;
  const children: ReturnType<typeof spawnInNs>[] = [];
  try {
    const { a: director, b: rs, bIp } = await nsPair(p, 22);
    // Debian's defaults are strict reverse-path filtering.
    await inNs(rs, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=1', 'net.ipv4.conf.default.rp_filter=1']);
    const before = { sysctls: await confSysctls(rs), addrs: await addrList(rs), links: await linkList(rs) };

    // A real server set up by hand for DR-style ARP, with a decapsulator, but rp_filter forgotten.
    await must(['ip', '-n', rs, 'tuntap', 'add', 'dev', 'tsvs-t-tun0', 'mode', 'tun']);
    await must(['ip', '-n', rs, 'link', 'set', 'tsvs-t-tun0', 'up']);
    await must(['ip', '-n', rs, 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
    const decap = spawnInNs(rs, [process.execPath, TSVS_JS, 'realserver', 'decap', '--tun-type', 'gue', '--tun-port', String(PORT), '--dev', 'tsvs-t-tun0']);
    children.push(decap);
    await until('the hand-started decapsulator', () => decap.output().includes('tsvs-decap: ready'));
    const listener = tcpListener(rs);
    children.push(listener);
    await until('the TCP listener', () => listener.output().includes('listening'));

    const dropped0 = await netstat(rs, 'TcpExt', 'IPReversePathFilter');
    await sendUdp(director, bIp, PORT, gue(tcpSyn(CLIENT, 40001, VIP, 80)));
    await until('rp_filter to count the drop', async () => await netstat(rs, 'TcpExt', 'IPReversePathFilter') === dropped0 + 1, 10_000);
    assert.equal(await synRecv(rs), 0, 'the SYN never reached the listener');
    const status = await tsvs(['realserver', 'status', '--netns', rs, '--mode', 'tun', '--vip', VIP, '--iface', 'eth0', '--state-file', stateFile]);
    assert.match(status.stdout, /MISSING {2}no decapsulator/, 'status does not know the hand-started one');

    // Undo the hand setup, then let tsvs do it.
    await stop(decap);
    await must(['ip', '-n', rs, 'link', 'del', 'tsvs-t-tun0']);
    await must(['ip', '-n', rs, 'addr', 'del', `${VIP}/32`, 'dev', 'lo']);
    const up = await tsvs(['realserver', 'up', '--netns', rs, '--vip', VIP, '--mode', 'tun', '--tun-type', 'gue', '--tun-port', String(PORT), '--iface', 'eth0', '--state-file', stateFile]);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stdout, /net\.ipv4\.conf\.all\.rp_filter: 1 -> 2/);
    assert.match(up.stdout, /net\.ipv4\.conf\.tsvs-decap0\.rp_filter: 1 -> 2/);
    const ok = await tsvs(['realserver', 'status', '--netns', rs, '--state-file', stateFile]);
    assert.equal(ok.code, 0, ok.stdout);

    const dropped1 = await netstat(rs, 'TcpExt', 'IPReversePathFilter');
    await sendUdp(director, bIp, PORT, gue(tcpSyn(CLIENT, 40002, VIP, 80)));
    await until('the SYN to reach the VIP listener (SYN-RECV)', async () => await synRecv(rs) === 1, 10_000);
    assert.equal(await netstat(rs, 'TcpExt', 'IPReversePathFilter'), dropped1, 'no reverse-path drop');

    const decapPid = (JSON.parse(readFileSync(stateFile, 'utf8')) as { changes: { kind: string; process?: { pid: number } }[] }).changes.find((c) => c.kind === 'process')!.process!.pid;
    await stop(listener);
    const down = await tsvs(['realserver', 'down', '--netns', rs, '--state-file', stateFile]);
    assert.equal(down.code, 0, down.stdout);
    assert.equal(processStartTime(decapPid), undefined, 'the decapsulator is stopped (gone or a zombie)');
    assert.deepEqual({ sysctls: await confSysctls(rs), addrs: await addrList(rs), links: await linkList(rs) }, before);
  } finally {
    for (const c of children) await stop(c);
    await tsvs(['realserver', 'down', '--netns', `${p}-b`, '--state-file', stateFile]);
    await removeNs(`${p}-a`, `${p}-b`);
    rmSync(stateFile, { force: true });
  }
});

test('tsvs GUE decapsulator delivers encapsulated UDP to a socket bound to the VIP; IPIP too (spec §3.3)', { skip: SKIP_NOT_ROOT, timeout: 120_000 }, async (t) => {
  const p = `${PREFIX}-2`;
  const stateFile = `/tmp/${p}.json`;
  const children: ReturnType<typeof spawnInNs>[] = [];
  try {
    const { a: director, b: rs, bIp } = await nsPair(p, 25);
    const up = await tsvs(['realserver', 'up', '--netns', rs, '--vip', VIP, '--mode', 'tun', '--tun-type', 'gue', '--tun-port', String(PORT), '--state-file', stateFile]);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const listener = udpListener(rs);
    children.push(listener);
    await until('the UDP listener', () => listener.output().includes('listening'));

    await sendUdp(director, bIp, PORT, gue(udpPacket(CLIENT, 40003, VIP, 5353, Buffer.from('hello-gue'))));
    await until('the GUE-carried datagram', () => listener.output().includes(`hello-gue from ${CLIENT}`), 10_000);
    // A GUE control message and a wrong inner protocol are dropped, not delivered.
    await sendUdp(director, bIp, PORT, Buffer.concat([Buffer.from([0x20, 4, 0, 0]), udpPacket(CLIENT, 40004, VIP, 5353, Buffer.from('control'))]));
    await sleep(300);
    assert.doesNotMatch(listener.output(), /control from/);
    assert.equal((await tsvs(['realserver', 'down', '--netns', rs, '--state-file', stateFile])).code, 0);

    // IPIP: the director's default tunnel (protocol 4), sent through a raw socket (python3).
    const py = await run(['sh', '-c', 'command -v python3']);
    if (py.code !== 0) { t.diagnostic('python3 missing: IPIP send skipped'); return; }
    const upIpip = await tsvs(['realserver', 'up', '--netns', rs, '--vip', VIP, '--mode', 'tun', '--tun-type', 'ipip', '--state-file', stateFile]);
    assert.equal(upIpip.code, 0, upIpip.stderr + upIpip.stdout);
    const inner = udpPacket(CLIENT, 40005, VIP, 5353, Buffer.from('hello-ipip'));
    await inNs(director, ['python3', '-c', 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_RAW, 4); s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 0))', inner.toString('hex'), bIp]);
    await until('the IPIP-carried datagram', () => listener.output().includes(`hello-ipip from ${CLIENT}`), 10_000);
  } finally {
    for (const c of children) await stop(c);
    await tsvs(['realserver', 'down', '--netns', `${p}-b`, '--state-file', stateFile]);
    await removeNs(`${p}-a`, `${p}-b`);
    rmSync(stateFile, { force: true });
  }
});
