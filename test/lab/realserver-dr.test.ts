// Root tests of `tsvs realserver` in direct-routing mode (spec §3.2): exact restore by `down`, and
// the classic DR failure — a real server without arp_ignore answers ARP for the VIP, so the
// client's (router's) neighbour table points the VIP at the real server — fixed by `up`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  addrList, confSysctls, inNs, linkList, must, nsPair, nsPrefix, removeNs, sendUdp, SKIP_NOT_ROOT, tsvs, until,
} from './helpers.js';

const PREFIX = nsPrefix('dr');

async function mac(ns: string, dev: string): Promise<string> {
  return (JSON.parse(await must(['ip', '-n', ns, '-j', 'link', 'show', dev])) as { address: string }[])[0]!.address;
}

/** The neighbour entry of `ip` in `ns` (lladdr undefined while unresolved). */
async function neigh(ns: string, ip: string): Promise<{ lladdr?: string; state?: string[] } | undefined> {
  return (JSON.parse(await must(['ip', '-n', ns, '-j', 'neigh', 'show', ip])) as { lladdr?: string; state?: string[] }[])[0];
}

test('realserver up --mode dr then down restores the namespace\'s sysctls, addresses and links exactly (spec §3.2)', { skip: SKIP_NOT_ROOT, timeout: 90_000 }, async () => {
  const p = `${PREFIX}-1`;
  const stateFile = `/tmp/${p}.json`;
  try {
    const { b } = await nsPair(p, 20);
    const before = { sysctls: await confSysctls(b), addrs: await addrList(b), links: await linkList(b) };
    assert.ok(before.sysctls.includes('net.ipv4.conf.all.arp_ignore = 0'), 'a fresh namespace starts with arp_ignore 0');

    const up = await tsvs(['realserver', 'up', '--netns', b, '--vip', '198.18.20.100', '--mode', 'dr', '--iface', 'eth0', '--state-file', stateFile]);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const get = async (k: string): Promise<string> => (await inNs(b, ['sysctl', '-n', k])).trim();
    for (const dev of ['all', 'eth0', 'lo']) {
      assert.equal(await get(`net.ipv4.conf.${dev}.arp_ignore`), '1', `arp_ignore on ${dev}`);
      assert.equal(await get(`net.ipv4.conf.${dev}.arp_announce`), '2', `arp_announce on ${dev}`);
    }
    assert.ok((await addrList(b)).includes('lo 198.18.20.100/32'));
    const status = await tsvs(['realserver', 'status', '--netns', b, '--state-file', stateFile]);
    assert.equal(status.code, 0, status.stdout);
    assert.doesNotMatch(status.stdout, /MISSING/);

    const down = await tsvs(['realserver', 'down', '--netns', b, '--state-file', stateFile]);
    assert.equal(down.code, 0, down.stderr + down.stdout);
    assert.deepEqual({ sysctls: await confSysctls(b), addrs: await addrList(b), links: await linkList(b) }, before);
    assert.equal(existsSync(stateFile), false, 'down removes its state file');
  } finally {
    await removeNs(`${p}-a`, `${p}-b`);
    rmSync(stateFile, { force: true });
  }
});

test('classic DR failure: without arp_ignore the real server answers ARP for the VIP; after realserver up it does not (spec §3.2, seed 002)', { skip: SKIP_NOT_ROOT, timeout: 90_000 }, async () => {
  const p = `${PREFIX}-2`;
  const stateFile = `/tmp/${p}.json`;
  const VIP = '198.18.21.100'; // on the client's LAN, so the client ARPs for it directly as a router would
  try {
    const { a: client, b: rs, bIp } = await nsPair(p, 21);
    const rsMac = await mac(rs, 'eth0');
    // The usual hand-made real server: the VIP on lo, ARP settings left at their defaults.
    await must(['ip', '-n', rs, 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
    const broken = await tsvs(['realserver', 'status', '--netns', rs, '--mode', 'dr', '--vip', VIP, '--iface', 'eth0', '--state-file', stateFile]);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /MISSING {2}arp_ignore on eth0 is 0 \(all=0, eth0=0\): this server answers ARP for the VIP and steals the director's traffic/);

    await sendUdp(client, VIP, 9, Buffer.from('x'));
    await until('the client to resolve the VIP', async () => (await neigh(client, VIP))?.lladdr !== undefined, 10_000);
    assert.equal((await neigh(client, VIP))!.lladdr, rsMac, 'the VIP resolved to the real server\'s MAC: it stole the VIP');

    const up = await tsvs(['realserver', 'up', '--netns', rs, '--vip', VIP, '--mode', 'dr', '--iface', 'eth0', '--state-file', stateFile]);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stdout, /VIP 198\.18\.21\.100 already on lo \(left as it is\)/);
    await must(['ip', '-n', client, 'neigh', 'flush', 'dev', 'eth0']);
    await sendUdp(client, VIP, 9, Buffer.from('x'));
    // ARP retransmits once a second: two seconds without an answer is a refusal, not a slow reply.
    await sleep(2000);
    assert.equal((await neigh(client, VIP))?.lladdr, undefined, 'nobody but the director may answer ARP for the VIP');
    // The real server still answers ARP for its own address (arp_ignore=1 is not "never").
    await sendUdp(client, bIp, 9, Buffer.from('x'));
    await until('the client to resolve the real server\'s own address', async () => (await neigh(client, bIp))?.lladdr === rsMac, 10_000);

    const down = await tsvs(['realserver', 'down', '--netns', rs, '--state-file', stateFile]);
    assert.equal(down.code, 0, down.stdout);
    assert.ok((await addrList(rs)).includes(`lo ${VIP}/32`), 'down leaves the VIP it did not add');
    assert.equal((await inNs(rs, ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore'])).trim(), '0');
  } finally {
    await removeNs(`${p}-a`, `${p}-b`);
    rmSync(stateFile, { force: true });
  }
});
