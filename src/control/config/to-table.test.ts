import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIp, parseIp } from '../../core/net/addr.js';
import { SVC_F_ONEPACKET, SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3 } from '../../core/service/types.js';
import { loadConfigText } from './load.js';
import { readFixture } from './testing.js';
import { toTable } from './to-table.js';

const table = (yaml: string) => toTable(loadConfigText(yaml, 't.yaml'));
const lines = (...l: string[]) => `${l.join('\n')}\n`;

describe('to-table: defaults as ipvsadm applies them (spec §5.2)', () => {
  it('a bare service is -s wlc, not persistent, timeout 0, netmask /32; a bare real server -g -w 1 on the service port', () => {
    const [d] = table(lines('services:', '  - { protocol: tcp, address: 192.0.2.1, port: 80, realServers: [{ address: 10.0.0.1 }] }'));
    assert.equal(d.service.scheduler, 'wlc');
    assert.equal(d.service.flags, 0);
    assert.equal(d.service.timeoutS, 0);
    assert.equal(d.service.netmask, 0xffffffff);
    assert.equal(d.service.pe, undefined);
    assert.deepEqual(d.service.key.kind === 'addr' && [d.service.key.protocol, formatIp(d.service.key.addr), d.service.key.port], ['tcp', '192.0.2.1', 80]);
    assert.equal(d.dests.length, 1);
    const dest = d.dests[0];
    assert.deepEqual({ ...dest, addr: formatIp(dest.addr) }, {
      addr: '10.0.0.1', port: 80, method: 'droute', weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunCsum: 'nocsum',
    });
  });

  it('persistence {} is -p 360; a netmask is kept as the kernel keeps it (IPv4 u32, IPv6 prefix)', () => {
    const [v4, v6] = table(lines('services:',
      '  - { protocol: tcp, address: 192.0.2.1, port: 0, persistence: { netmask: 255.255.255.0 } }',
      '  - { protocol: udp, address: "2001:db8::1", port: 53, persistence: { timeout: 60, netmask: 64 } }'));
    assert.equal(v4.service.flags, SVC_F_PERSISTENT);
    assert.equal(v4.service.timeoutS, 360);
    assert.equal(v4.service.netmask, 0xffffff00);
    assert.equal(v6.service.timeoutS, 60);
    assert.equal(v6.service.netmask, 64);
  });

  it('an IPv6 fwmark service has netmask 128 and its real servers port 0 by default', () => {
    const [d] = table(lines('services:', '  - { fwmark: 3, family: ipv6, ops: true, realServers: [{ address: "2001:db8::2" }] }'));
    assert.deepEqual(d.service.key, { kind: 'fwmark', fwmark: 3, family: 6 });
    assert.equal(d.service.netmask, 128);
    assert.equal(d.service.flags, SVC_F_ONEPACKET);
    assert.equal(d.dests[0].port, 0);
  });

  it('scheduler flags map to SCHED1..3 (sh-fallback/mh-fallback = 1, sh-port/mh-port = 2, flag-3 = 3)', () => {
    const [sh, mh, generic] = table(lines('services:',
      '  - { protocol: tcp, address: 192.0.2.1, port: 1, scheduler: sh, schedFlags: [sh-fallback, sh-port] }',
      '  - { protocol: tcp, address: 192.0.2.1, port: 2, scheduler: mh, schedFlags: [mh-port] }',
      '  - { protocol: tcp, address: 192.0.2.1, port: 3, schedFlags: [flag-1, flag-3] }'));
    assert.equal(sh.service.flags, SVC_F_SCHED1 | SVC_F_SCHED2);
    assert.equal(mh.service.flags, SVC_F_SCHED2);
    assert.equal(generic.service.flags, SVC_F_SCHED1 | SVC_F_SCHED3);
  });

  it('masq real servers keep their port; tunnel ones take the service tunnel options unless they have their own', () => {
    const [d] = table(lines('services:',
      '  - protocol: tcp',
      '    address: 192.0.2.1',
      '    port: 80',
      '    forwarding: tunnel',
      '    tunnel: { type: gue, port: 6080, csum: remcsum }',
      '    realServers:',
      '      - { address: 10.0.0.1, weight: 5 }',
      '      - { address: 10.0.0.2, tunnel: { type: gre, csum: csum } }',
      '      - { address: 10.0.0.3, port: 8080, forwarding: masq, upperThreshold: 10, lowerThreshold: 5 }'));
    assert.deepEqual(d.dests.map((x) => [x.method, x.port, x.weight, x.tunType, x.tunPort, x.tunCsum, x.uThreshold, x.lThreshold]), [
      ['tunnel', 80, 5, 'gue', 6080, 'remcsum', 0, 0],
      ['tunnel', 80, 1, 'gre', 0, 'csum', 0, 0],
      ['masq', 8080, 1, 'ipip', 0, 'nocsum', 10, 5],
    ]);
  });

  it('the sorry server gets weight 1 and the service forwarding (spec §7.2)', () => {
    const [d] = table(lines('services:',
      '  - { protocol: tcp, address: 192.0.2.1, port: 80, forwarding: masq, sorryServer: { address: 10.9.9.9, port: 8080, inhibit: true } }'));
    assert.equal(d.sorryServer?.inhibit, true);
    assert.deepEqual([formatIp(d.sorryServer!.dest.addr), d.sorryServer!.dest.port, d.sorryServer!.dest.method, d.sorryServer!.dest.weight], ['10.9.9.9', 8080, 'masq', 1]);
  });
});

describe('to-table: health settings cascade checker → real server → service → checker default (spec §7.1, §7.3)', () => {
  const cfg = lines('services:',
    '  - protocol: tcp',
    '    address: 192.0.2.1',
    '    port: 80',
    '    health: { delayLoop: 10, connectTimeout: 4, virtualhost: svc.example }',
    '    realServers:',
    '      - address: 10.0.0.1',
    '        health: { retry: 5 }',
    '        checks:',
    '          - { type: tcp }',
    '          - { type: http, urls: [{ path: /a }, { path: /b, virtualhost: b.example, statusCodes: [204, "300-302"] }] }',
    '          - { type: dns, delayLoop: 7 }',
    '          - { type: exec, command: [/bin/true] }',
    '      - address: 10.0.0.2',
    '        checks:',
    '          - { type: exec, command: [/bin/true] }',
    '          - { type: dns, connectIp: 10.0.0.53, connectPort: 5353, retry: 0 }',
  );
  const [d] = table(cfg);
  const [tcp, http, dns, exec1] = d.realServers[0].checks;
  const [exec2, dns2] = d.realServers[1].checks;

  it('timings', () => {
    assert.deepEqual([tcp.delayLoopS, tcp.timeoutS, tcp.retry, tcp.delayBeforeRetryS, tcp.warmupS, tcp.alpha], [10, 4, 5, 1, 10, false]);
    assert.deepEqual([http.retry, http.delayBeforeRetryS], [5, 3], 'HTTP delay_before_retry defaults to 3 s');
    assert.deepEqual([dns.delayLoopS, dns.delayBeforeRetryS, dns.warmupS], [7, 7, 7], 'DNS delay_before_retry defaults to its delay loop');
    assert.deepEqual([exec1.retry, exec1.timeoutS], [5, 10], 'real server retry wins over the MISC_CHECK default');
    assert.deepEqual([exec2.retry, exec2.timeoutS], [0, 10], 'MISC_CHECK retry defaults to 0, misc_timeout to the delay loop');
    assert.equal(dns2.retry, 0);
    assert.equal(d.realServers[1].checks.length, 2);
  });

  it('targets, virtual hosts and status ranges', () => {
    assert.deepEqual([formatIp(tcp.target.addr), tcp.target.port], ['10.0.0.1', 80]);
    assert.deepEqual([formatIp(dns2.target.addr), dns2.target.port], ['10.0.0.53', 5353]);
    assert.deepEqual(http.virtualhosts, ['svc.example', 'b.example']);
    assert.deepEqual(http.statusRanges, [[[200, 299]], [[204, 204], [300, 302]]]);
  });

  it('DNS_CHECK retry defaults to 3 when nothing sets it', () => {
    const [x] = table(lines('services:', '  - { protocol: udp, address: 192.0.2.1, port: 53, realServers: [{ address: 10.0.0.1, checks: [{ type: dns }] }] }'));
    assert.equal(x.realServers[0].checks[0].retry, 3);
    assert.equal(x.realServers[0].checks[0].delayBeforeRetryS, 60);
  });
});

describe('to-table: the sample', () => {
  it('examples/tsvs.yaml converts to four services with the expected keys', () => {
    const t = toTable(loadConfigText(readFixture('examples/tsvs.yaml'), 'tsvs.yaml'));
    assert.deepEqual(t.map((d) => d.name), ['web', 'dns', 'tls', 'marked']);
    assert.equal(t[0].service.timeoutS, 300);
    assert.equal(t[0].sorryServer?.dest.method, 'masq');
    assert.equal(t[1].dests[1].port, 5353);
    assert.deepEqual(t[3].dests.map((x) => [formatIp(x.addr), x.tunType, x.tunPort]), [['10.2.0.1', 'gue', 6080], ['2001:db8::21', 'ipip', 0]]);
    assert.ok(parseIp('10.2.0.1'));
  });
});
