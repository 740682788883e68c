import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfigFile, loadConfigText } from './load.js';
import { readFixture, repoRoot } from './testing.js';

/** The formatted issues of a config that must fail. */
function errors(yaml: string): string[] {
  try {
    loadConfigText(yaml, 'tsvs.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.message.split('\n');
  }
  assert.fail('the config loaded but should not have');
}

const lines = (...l: string[]) => `${l.join('\n')}\n`;

/** A tcp service on 192.0.2.1:80 (lines 1-4) followed by `rest` from line 5. */
const svc = (...rest: string[]) => lines('services:', '  - protocol: tcp', '    address: 192.0.2.1', '    port: 80', ...rest);

describe('config loader: the sample', () => {
  it('examples/tsvs.yaml loads with its values and the defaults filled in', () => {
    const cfg = loadConfigText(readFixture('examples/tsvs.yaml'), 'examples/tsvs.yaml');
    assert.equal(cfg.services.length, 4);
    const web = cfg.services[0];
    assert.equal(web.name, 'web');
    assert.deepEqual(web.persistence, { timeout: 300, netmask: '255.255.255.0' });
    assert.equal(web.realServers[1].weight, 1, 'weight defaults to 1 (ipvsadm -w)');
    assert.equal(web.realServers[0].checks[0].type, 'http');
    assert.deepEqual(cfg.services[3].persistence, { timeout: 360 }, 'persistence: {} is ipvsadm -p without a value');
    assert.equal(cfg.api.listen, '127.0.0.1:9180');
    assert.equal(cfg.control.socket, '/run/tsvs/tsvs.sock');
    assert.equal(cfg.sysctl.expire_nodest_conn, 1);
    assert.equal(cfg.sysctl.amemthresh, 1024, 'unset sysctls take the kernel default (spec §4)');
  });

  it('loadConfigFile reads a path and names it in errors', () => {
    const cfg = loadConfigFile(`${repoRoot()}/examples/tsvs.yaml`);
    assert.equal(cfg.services[1].name, 'dns');
    assert.throws(() => loadConfigFile('/nonexistent/tsvs.yaml'), (e: unknown) =>
      e instanceof ConfigError && /^\/nonexistent\/tsvs\.yaml: cannot read the file: ENOENT/.test(e.message));
  });

  it('an empty file is a daemon with defaults and no services', () => {
    const cfg = loadConfigText('', 'empty.yaml');
    assert.deepEqual(cfg.services, []);
    assert.deepEqual(cfg.timeouts, { tcp: 900, tcpfin: 120, udp: 300 });
    assert.equal(cfg.dataplane.kind, 'proxy');
    assert.equal(cfg.metrics.path, '/metrics');
    assert.equal(cfg.sysctl.sync_ports, 1);
    assert.deepEqual(cfg.sysctl.sync_threshold, [3, 50]);
    assert.equal(cfg.sysctl.pmtu_disc, 1);
    assert.equal(cfg.sysctl.conn_reuse_mode, 1);
    assert.equal(cfg.sysctl.lblc_expiration, 86400);
  });

  it('service defaults: wlc, droute, no flags, health delay_loop 60 and connect_timeout 5 (spec §5.2, §7.1)', () => {
    const cfg = loadConfigText(svc('    realServers: [{ address: 10.0.0.1 }]'), 't.yaml');
    const s = cfg.services[0];
    assert.equal(s.scheduler, 'wlc');
    assert.equal(s.forwarding, 'droute');
    assert.deepEqual(s.schedFlags, []);
    assert.equal(s.ops, false);
    assert.equal(s.quorum, 1);
    assert.equal(s.hysteresis, 0);
    assert.equal(s.health.delayLoop, 60);
    assert.equal(s.health.connectTimeout, 5);
    assert.equal(s.realServers[0].proxyProtocol, 'none');
  });
});

describe('config loader: every error names file:line:col, the field path and the problem', () => {
  const cases: [string, string, string[]][] = [
    ['range', svc('    realServers:', '      - address: 10.0.0.1', '        weight: -1'),
      ['tsvs.yaml:7:9: services[0].realServers[0].weight: must be an integer 0..65535: current value is -1']],
    ['type', lines('services:', '  - protocol: tcp', '    address: 192.0.2.1', '    port: eighty'),
      ['tsvs.yaml:4:5: services[0].port: must be an integer 0..65535: current value is "eighty"']],
    ['enum', svc('    scheduler: fastest'),
      ['tsvs.yaml:5:5: services[0].scheduler: must be one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos: current value is "fastest"']],
    ['unknown key with a suggestion', svc('    realServers:', '      - address: 10.0.0.1', '        wieght: 2'),
      ['tsvs.yaml:7:9: services[0].realServers[0].wieght: unknown key (did you mean "weight"?)']],
    ['unknown top-level key', lines('frobnicate: 1'),
      ['tsvs.yaml:1:1: frobnicate: unknown key (allowed: dataplane, control, api, metrics, timeouts, sysctl, services)']],
    ['unknown key in a check of some type', svc('    realServers:', '      - address: 10.0.0.1', '        checks:', '          - type: dns', '            query: A'),
      ['tsvs.yaml:9:13: services[0].realServers[0].checks[0].query: unknown key (allowed: type, delayLoop, retry, delayBeforeRetry, warmup, alpha, logAllFailures, connectTimeout, connectIp, connectPort, bindTo, bindPort, bindInterface, fwmark, queryType, name)']],
    ['duplicate key', lines('timeouts:', '  tcp: 100', '  tcp: 200'),
      ['tsvs.yaml:3:3: timeouts.tcp: duplicate key (first set at line 2)']],
    ['required', svc('    realServers:', '      - weight: 2'),
      ['tsvs.yaml:6:9: services[0].realServers[0].address: is required']],
    ['check type', svc('    realServers:', '      - address: 10.0.0.1', '        checks: [{ type: ping }]'),
      ['tsvs.yaml:7:20: services[0].realServers[0].checks[0].type: must be one of tcp, http, https, udp, dns, smtp, exec: current value is "ping"']],
    ['metrics exposed without credentials', lines('metrics:', '  listen: 0.0.0.0:9100'),
      ['tsvs.yaml:2:3: metrics.listen: 0.0.0.0:9100 is not a loopback address: set api.token, api.tokenFile or api.tls.clientCa (mTLS) to expose the metrics']],
    ['UDP socket bound', lines('dataplane:', '  proxy:', '    maxUdpSockets: -5'),
      ['tsvs.yaml:3:5: dataplane.proxy.maxUdpSockets: must be an integer 0..16777216: current value is -5']],
    ['connection table bound', lines('dataplane:', '  maxConnections: 100'),
      ['tsvs.yaml:2:3: dataplane.maxConnections: must be an integer 1024..16777216: current value is 100']],
    ['packet fast path mode', lines('dataplane:', '  packet:', '    offload: ebpf'),
      ['tsvs.yaml:3:5: dataplane.packet.offload: must be one of none, xdp, xdp-native, tc: current value is "ebpf"']],
    ['strict address', svc('    realServers:', '      - address: 10.0.0.01'),
      ['tsvs.yaml:6:9: services[0].realServers[0].address: must be an IPv4 or IPv6 address: current value is "10.0.0.01"']],
    ['port 0 needs persistence (spec §5.2)', lines('services:', '  - protocol: tcp', '    address: 192.0.2.1', '    port: 0'),
      ['tsvs.yaml:4:5: services[0].port: 0 is only allowed for persistent services (ipvsadm: Zero port specified for non-persistent service)']],
    ['ops only with udp or fwmark (spec §2.8)', svc('    ops: true'),
      ['tsvs.yaml:5:5: services[0].ops: one-packet scheduling is only for udp and fwmark services: current protocol is tcp']],
    ['sh flags only with sh (spec §5.2)', svc('    scheduler: mh', '    schedFlags: [mh-port, sh-port]'),
      ['tsvs.yaml:6:27: services[0].schedFlags[1]: sh-port needs scheduler sh: current scheduler is mh']],
    ['tunnel options only with tunnel forwarding', svc('    realServers:', '      - address: 10.0.0.1', '        tunnel: { type: gre }'),
      ['tsvs.yaml:7:9: services[0].realServers[0].tunnel: tunnel options need forwarding: tunnel (ipvsadm: Tunnel options conflict with forward method): current forwarding is droute']],
    ['gue needs a port, ipip no csum', svc('    forwarding: tunnel', '    realServers:', '      - address: 10.0.0.1', '        tunnel: { type: gue }', '      - address: 10.0.0.2', '        tunnel: { csum: csum }'),
      ['tsvs.yaml:8:9: services[0].realServers[0].tunnel.port: is required for gue tunnels',
        'tsvs.yaml:10:19: services[0].realServers[1].tunnel.csum: ipip tunnels take no checksum option: current value is csum']],
    ['thresholds', svc('    realServers:', '      - address: 10.0.0.1', '        upperThreshold: 100', '        lowerThreshold: 200'),
      ['tsvs.yaml:8:9: services[0].realServers[0].lowerThreshold: must be <= upperThreshold (100): current value is 200']],
    ['families: only tunnel crosses them', svc('    realServers:', '      - address: "2001:db8::1"'),
      ['tsvs.yaml:6:9: services[0].realServers[0].address: is IPv6 but the service is IPv4: only tunnel forwarding may cross address families']],
    ['droute keeps the service port (spec §5.2)', svc('    realServers:', '      - address: 10.0.0.1', '        port: 8080'),
      ['tsvs.yaml:7:9: services[0].realServers[0].port: must equal the service port 80 with droute forwarding (the packet keeps its destination port): current value is 8080']],
    ['duplicate real server', svc('    forwarding: masq', '    realServers:', '      - address: 10.0.0.1', '      - { address: 10.0.0.1, port: 80 }'),
      ['tsvs.yaml:8:9: services[0].realServers[1]: duplicate real server 10.0.0.1:80 (also realServers[0])']],
    ['duplicate service', lines('services:', '  - { protocol: tcp, address: 192.0.2.1, port: 80 }', '  - { protocol: tcp, address: 192.0.2.1, port: 80 }'),
      ['tsvs.yaml:3:5: services[1]: duplicate service tcp 192.0.2.1:80 (also services[0])']],
    ['fwmark excludes address', lines('services:', '  - fwmark: 5', '    address: 192.0.2.1'),
      ['tsvs.yaml:3:5: services[0].address: must not be set with fwmark (a fwmark service matches marked packets of any address and port)']],
    ['netmask follows the family', lines('services:', '  - fwmark: 5', '    family: ipv6', '    persistence: { netmask: 255.255.255.0 }'),
      ['tsvs.yaml:4:20: services[0].persistence.netmask: must be a prefix length 1..128 for an IPv6 service: current value is "255.255.255.0"']],
    ['API exposed without authentication', lines('api:', '  listen: 0.0.0.0:9180'),
      ['tsvs.yaml:2:3: api.listen: 0.0.0.0:9180 is not a loopback address: set api.token, api.tokenFile or api.tls.clientCa (mTLS) to expose the API']],
    ['sysctl ranges and sync_threshold (spec §4)', lines('sysctl:', '  sync_threshold: [50, 50]', 'timeouts:', '  udp: 0'),
      ['tsvs.yaml:2:3: sysctl.sync_threshold: threshold must be less than period unless period is 0: current value is [50, 50]',
        'tsvs.yaml:4:3: timeouts.udp: must be an integer 1..2147483: current value is 0']],
    ['YAML syntax', lines('services:', '  - protocol: tcp', '   address: x'),
      ['tsvs.yaml:3:1: YAML: Sequence item without - indicator']],
  ];
  for (const [name, yaml, want] of cases) {
    it(name, () => assert.deepEqual(errors(yaml), want));
  }

  it('collects the errors of every section and every service together', () => {
    const got = errors(lines(
      'api:',
      '  listen: nowhere',
      'services:',
      '  - { protocol: tcp, address: 192.0.2.1, port: 80, weight: 3 }',
      '  - { protocol: udp, address: 192.0.2.1, port: 53, realServers: [{ address: 10.0.0.1, weight: 70000 }] }',
      '  - { protocol: tcp, address: 192.0.2.2, port: 0 }',
    ));
    assert.deepEqual(got, [
      'tsvs.yaml:2:3: api.listen: must be ip:port or [ip6]:port with a port 1..65535: current value is "nowhere"',
      'tsvs.yaml:4:52: services[0].weight: unknown key (allowed: name, protocol, address, port, fwmark, family, scheduler, schedFlags, persistence, ops, pe, forwarding, tunnel, health, quorum, hysteresis, quorumUp, quorumDown, sorryServer, realServers)',
      'tsvs.yaml:5:87: services[1].realServers[0].weight: must be an integer 0..65535: current value is 70000',
      'tsvs.yaml:6:42: services[2].port: 0 is only allowed for persistent services (ipvsadm: Zero port specified for non-persistent service)',
    ]);
  });

  it('ConfigError carries structured issues', () => {
    try {
      loadConfigText(svc('    scheduler: 3'), 'x.yaml');
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues, [{ file: 'x.yaml', line: 5, col: 5, path: 'services[0].scheduler', message: e.issues[0].message }]);
      assert.match(e.issues[0].message, /^must be one of rr, .*: current value is 3$/);
    }
  });

  it('rejects a token with tokenFile, a short token, and metrics on a disabled api listener', () => {
    assert.deepEqual(errors(lines('api:', '  enabled: false', '  token: short', '  tokenFile: /etc/tsvs/token')), [
      // metrics has no line of its own: the error points at the top of the document.
      'tsvs.yaml:1:1: metrics.enabled: metrics are served on the api listener, which is disabled: set metrics.listen or api.enabled',
      'tsvs.yaml:3:3: api.token: must be at least 16 characters: current length is 5',
      'tsvs.yaml:4:3: api.tokenFile: token and tokenFile are mutually exclusive',
    ]);
  });

  it('a non-loopback API with mTLS or a token file loads', () => {
    const cfg = loadConfigText(lines('api:', '  listen: "[2001:db8::1]:9443"', '  tls: { cert: /c.pem, key: /k.pem, clientCa: /ca.pem }'), 't.yaml');
    assert.equal(cfg.api.tls?.clientCa, '/ca.pem');
    loadConfigText(lines('api:', '  listen: 10.0.0.1:9180', '  tokenFile: /etc/tsvs/token'), 't.yaml');
    // The metrics' own listener off loopback, guarded by the API's token.
    assert.equal(loadConfigText(lines('api:', '  token: a-token-of-16-chars-or-more', 'metrics:', '  listen: 0.0.0.0:9100'), 't.yaml').metrics.listen, '0.0.0.0:9100');
  });

  it('the packet dataplane needs interfaces; fullnat needs a local address of the family', () => {
    assert.deepEqual(errors(lines('dataplane:', '  kind: packet', 'services:', '  - protocol: tcp', '    address: 192.0.2.1', '    port: 80',
      '    forwarding: fullnat', '    realServers: [{ address: 10.0.0.1, proxyProtocol: v1 }]')), [
      'tsvs.yaml:2:3: dataplane.kind: the packet dataplane needs dataplane.interfaces',
      'tsvs.yaml:8:21: services[0].realServers[0].address: fullnat needs an IPv4 address in dataplane.fullnat.localAddresses',
      'tsvs.yaml:8:40: services[0].realServers[0].proxyProtocol: only the proxy dataplane sends PROXY protocol headers (dataplane.kind is packet)',
    ]);
  });

  it('several packet-plane workers take NAT real servers but no fast path, and need a full-NAT port per worker; one worker takes the fast path', () => {
    const cfg = (workers: number, offload: string) => lines('dataplane:', '  kind: packet', '  interfaces: [eth0]', '  packet:', `    workers: ${workers}`,
      `    offload: ${offload}`, 'services:', '  - protocol: tcp', '    address: 192.0.2.1', '    port: 80', '    forwarding: masq',
      '    realServers: [{ address: 10.0.0.1 }, { address: 10.0.0.2, forwarding: droute }]');
    assert.deepEqual(errors(cfg(2, 'tc')), [
      'tsvs.yaml:5:5: dataplane.packet.workers: the kernel fast path (offload: tc) belongs to one forwarding worker: current value is 2',
    ]);
    assert.equal(loadConfigText(cfg(2, 'none'), 't.yaml').dataplane.packet.workers, 2);
    assert.equal(loadConfigText(cfg(1, 'tc'), 't.yaml').dataplane.packet.workers, 1);
    const ports = (workers: number) => lines('dataplane:', '  kind: packet', '  interfaces: [eth0]', '  packet:', `    workers: ${workers}`,
      '  fullnat:', '    localAddresses: [10.0.0.254]', '    portRange: { min: 40000, max: 40002 }');
    assert.deepEqual(errors(ports(4)), [
      'tsvs.yaml:8:5: dataplane.fullnat.portRange: must hold at least one port per packet-plane worker (4, each takes the ports of its own residue): current range is 40000-40002',
    ]);
    assert.equal(loadConfigText(ports(3), 't.yaml').dataplane.packet.workers, 3);
    assert.deepEqual(errors(lines('dataplane:', '  packet:', '    workers: 0')), ['tsvs.yaml:3:5: dataplane.packet.workers: must be an integer 1..64: current value is 0']);
  });

  it('aliases are limited and non-string keys refused', () => {
    assert.deepEqual(errors(lines('timeouts:', '  1: 2')), ['tsvs.yaml:2:3: timeouts: keys must be plain strings: current key is 1']);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`);
    const got = errors(lines(...bomb));
    assert.equal(got.length, 1);
    assert.match(got[0], /^tsvs\.yaml:1:1: YAML: Excessive alias count/);
  });
});
