import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import type { Command } from './command.js';
import { usageErrorText } from './errors.js';
import { parseArgs } from './parse.js';
import type { NameResolver } from './resolver.js';

const ok = (argv: string[], resolver?: NameResolver): Command => {
  const r = parseArgs(argv, resolver ? { resolver } : {});
  if (!r.ok) assert.fail(`${argv.join(' ')} refused: ${usageErrorText(r.error)}`);
  return r.command;
};
const err = (argv: string[], opts: { inRestore?: boolean } = {}): [string, number] => {
  const r = parseArgs(argv, opts);
  if (r.ok) assert.fail(`${argv.join(' ')} accepted: ${JSON.stringify(r.command)}`);
  return [usageErrorText(r.error), r.error.exitCode];
};
const ip = (s: string) => parseIp(s)!;
const TRY = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n";

// Every fail() / popt / tryhelp message of ipvsadm.c (1.30 + GRE patch), spec §5.2, with its exit code.
const USAGE_ERRORS: [string, string[], string, number][] = [
  ['no command first', ['-n', '-L'], TRY, 255],
  ['a bare word', ['10.0.0.1'], TRY, 255],
  ['unknown first option', ['--bogus'], TRY, 255],
  ['first option missing its argument', ['--start-daemon'], TRY, 255],
  ['start-daemon state', ['--start-daemon', 'primary'], 'illegal start-daemon parameter specified\n', 2],
  ['stop-daemon state (ipvsadm\'s own wording)', ['--stop-daemon', 'x'], 'illegal start_daemon specified\n', 2],
  ['virtual address', ['-A', '-t', '10.0.0.300:80'], 'illegal virtual server address[:port] specified\n', 2],
  ['virtual address all digits', ['-A', '-t', '80'], 'illegal virtual server address[:port] specified\n', 2],
  ['virtual port out of range', ['-A', '-u', '10.0.0.1:65536'], 'illegal virtual server address[:port] specified\n', 2],
  ['unknown service name', ['-A', '-t', '10.0.0.1:http'], 'illegal virtual server address[:port] specified\n', 2],
  ['bracketed IPv6 without port', ['-A', '-t', '[2001:db8::1]'], 'illegal virtual server address[:port] specified\n', 2],
  ['fwmark zero', ['-A', '-f', '0'], "invalid fwmark value `0' specified\n", 2],
  ['fwmark above UINT_MAX', ['-A', '-f', '4294967296'], "invalid fwmark value `4294967296' specified\n", 2],
  ['fwmark not a number', ['-A', '-f', '7x'], "invalid fwmark value `7x' specified\n", 2],
  ['persistent timeout 0', ['-A', '-t', '10.0.0.1:80', '-p', '0'], "invalid timeout value `0' specified\n", 2],
  ['persistent timeout above 31 days', ['-A', '-t', '10.0.0.1:80', '-p', '2678401'], "invalid timeout value `2678401' specified\n", 2],
  ['netmask', ['-A', '-t', '10.0.0.1:80', '-M', '255.255.255.256'], 'illegal virtual server persistent mask specified\n', 2],
  ['ipv6 netmask', ['-A', '-t', '[2001:db8::1]:80', '-M', '129'], 'illegal ipv6 netmask specified\n', 2],
  ['real server address', ['-a', '-t', '10.0.0.1:80', '-r', 'x..y'], 'illegal real server address[:port] specified\n', 2],
  ['weight', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-w', '65536'], 'illegal weight specified\n', 2],
  ['u-threshold', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-x', '-1'], 'illegal u_threshold specified\n', 2],
  ['l-threshold', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-y', 'many'], 'illegal l_threshold specified\n', 2],
  ['syncid', ['--start-daemon', 'master', '--syncid', '256'], 'illegal syncid specified\n', 2],
  ['-6 before -f (two newlines, as ipvsadm)', ['-A', '-t', '10.0.0.1:80', '-6'], '-6 used before -f\n\n', 2],
  ['IPv6 mcast group', ['--start-daemon', 'master', '--mcast-group', '2001:db8::1'], "invalid IPv6 mcast-group `2001:db8::1'\n", 2],
  ['IPv4 mcast group', ['--start-daemon', 'master', '--mcast-group', '10.0.0.1'], "invalid IPv4 mcast-group `10.0.0.1'\n", 2],
  ['mcast port', ['--start-daemon', 'master', '--mcast-port', '0'], 'illegal mcast-port specified\n', 2],
  ['mcast ttl', ['--start-daemon', 'master', '--mcast-ttl', '256'], 'illegal mcast-ttl specified\n', 2],
  ['sync maxlen', ['--start-daemon', 'master', '--sync-maxlen', '65508'], 'illegal sync-maxlen specified\n', 2],
  ['tunnel type', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-i', '--tun-type', 'vxlan'], 'illegal tunnel type specified\n', 2],
  ['tunnel port', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-i', '--tun-port', '0'], 'illegal tunnel port specified\n', 2],
  ['a second command (popt build: "multiple commands specified" is unreachable)', ['-A', '-E', '-t', '10.0.0.1:80'], "invalid option `-E'\n", 2],
  ['-h after the command', ['-L', '-h'], "invalid option `-h'\n", 2],
  ['a second command with an argument names the argument', ['-L', '--start-daemon', 'master'], "invalid option `master'\n", 2],
  ['unknown option', ['-L', '--bogus'], '--bogus: unknown option\n', 255],
  ['unknown short option in a bundle', ['-L', '-nq'], '-nq: unknown option\n', 255],
  ['missing argument', ['-A', '-t'], '-t: missing argument\n', 255],
  ['argument to a flag', ['-L', '--stats=yes'], '--stats=yes: option does not take an argument\n', 255],
  ['--set needs 3 values', ['--set', '900', '120'], '--set option requires 3 timeout values\n', 2],
  ['--set value range', ['--set', '900', '2678401', '300'], "invalid timeout value `2678401' specified\n", 2],
  ['leftover word', ['-L', '-n', 'extra'], 'unexpected argument extra\n', 2],
  ['-- ends the options', ['-L', '--', '-n'], 'unexpected argument -n\n', 2],
  ['sched flag of another scheduler', ['-A', '-t', '10.0.0.1:80', '-s', 'rr', '-b', 'sh-port'], "incompatible scheduler flag `sh-port'\n", 2],
  ['sh flag with the default scheduler wlc', ['-A', '-t', '10.0.0.1:80', '-b', 'mh-fallback'], "incompatible scheduler flag `mh-fallback'\n", 2],
  ['unknown sched flag', ['-A', '-t', '10.0.0.1:80', '-b', 'flag-4'], "invalid scheduler flag `flag-4'\n", 2],
  ['sched flags are checked before the table', ['-D', '-t', '10.0.0.1:80', '-b', 'bogus'], "invalid scheduler flag `bogus'\n", 2],
  ['missing service', ['-A', '-s', 'rr'], "You need to supply the 'service-address' option for the 'add-service' command\n", 2],
  ['missing real server', ['-d', '-t', '10.0.0.1:80'], "You need to supply the 'real-server' option for the 'delete-server' command\n", 2],
  ['illegal option', ['-D', '-t', '10.0.0.1:80', '-s', 'rr'], "Illegal 'scheduler' option with the 'delete-service' command\n", 2],
  ['illegal option reported in table order', ['-C', '-w', '1', '-n'], "Illegal 'numeric' option with the 'flush' command\n", 2],
  ['exclusive list options', ['-L', '--daemon', '--timeout'], "The option 'daemon' conflicts with the 'timeout' option in the 'list' command\n", 2],
  ['repeated option', ['-A', '-t', '10.0.0.1:80', '-s', 'rr', '-s', 'wlc'], "multiple 'scheduler' options specified\n", 2],
  ['two forwarding methods', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-g', '-m'], "multiple 'forwarding-method' options specified\n", 2],
  ['two services', ['-A', '-t', '10.0.0.1:80', '-f', '1'], "multiple 'service-address' options specified\n", 2],
  ['zero port', ['-A', '-t', '10.0.0.1'], 'Zero port specified for non-persistent service\n', 2],
  ['zero port on edit', ['-E', '-u', '10.0.0.1:0'], 'Zero port specified for non-persistent service\n', 2],
  ['ops on TCP', ['-A', '-t', '10.0.0.1:80', '-o'], 'One-Packet Scheduling is only for UDP virtual services\n', 2],
  ['ops on SCTP', ['-E', '--sctp-service', '10.0.0.1:80', '-o'], 'One-Packet Scheduling is only for UDP virtual services\n', 2],
  ['other family without tunnel', ['-a', '-t', '10.0.0.1:80', '-r', '[2001:db8::2]:80', '-m'], 'Different address family is allowed only for tunneling servers\n', 2],
  ['tunnel option with -g', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '--tun-type', 'ipip'], 'Tunnel options conflict with forward method\n', 2],
  ['tunnel csum with -m', ['-e', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-m', '--tun-csum'], 'Tunnel options conflict with forward method\n', 2],
  ['gue needs a port', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-i', '--tun-type', 'gue'], "You need to supply the 'tun-port' option for the 'gue' tunnel type\n", 2],
  ['ipip takes no port', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-i', '--tun-port', '6080'], "Illegal 'tun-port' option with the 'ipip' tunnel type\n", 2],
  ['ipip takes no csum', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-i', '--tun-nocsum'], "Illegal 'tun-nocsum' option with the 'ipip' tunnel type\n", 2],
  ['gre takes no port', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-i', '--tun-type', 'gre', '--tun-port', '1'], "Illegal 'tun-port' option with the 'gre' tunnel type\n", 2],
  ['gre takes no remcsum', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-i', '--tun-type', 'gre', '--tun-remcsum'], "Illegal 'tun-remcsum' option with the 'gre' tunnel type\n", 2],
  ['gue csum options are exclusive', ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-remcsum', '--tun-csum'],
    "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type\n", 2],
  ['list: -c with --stats', ['-L', '-c', '--stats'], 'options conflicts in the list command\n', 2],
  ['list: --timeout with --rate', ['-L', '--timeout', '--rate'], 'options conflicts in the list command\n', 2],
  ['list: --daemon with --persistent-conn', ['-L', '--daemon', '--persistent-conn'], 'options conflicts in the list command\n', 2],
  ['-R inside a restore stream', ['-R'], TRY, 255],
];

describe('ipvsadm usage errors (spec §5.2)', () => {
  for (const [name, argv, text, code] of USAGE_ERRORS) {
    it(`${name}: ipvsadm ${argv.join(' ')}`, () => {
      assert.deepEqual(err(argv, { inRestore: name.startsWith('-R inside') }), [text, code]);
    });
  }
  it('tryhelp names the program it was called as', () => {
    const r = parseArgs(['-x']);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(usageErrorText(r.error, '/sbin/ipvsadm'), "Try `/sbin/ipvsadm -h' or '/sbin/ipvsadm --help' for more information.\n");
  });
});

describe('-E and -e are full replacements with ipvsadm defaults (spec §5.2)', () => {
  it('-E -p 60 without -s sets wlc, persistence 60, /32 mask, no pe', () => {
    assert.deepEqual(ok(['-E', '-t', '10.0.0.1:80', '-p', '60']), {
      kind: 'edit-service',
      service: { key: { kind: 'addr', protocol: 'tcp', addr: ip('10.0.0.1'), port: 80 }, scheduler: 'wlc', flags: 1, timeoutS: 60, netmask: 0xffffffff, pe: undefined },
    });
  });
  it('-E -s rr without -p removes persistence (flags 0, timeout 0)', () => {
    const c = ok(['-E', '-t', '10.0.0.1:80', '-s', 'rr']);
    assert.ok(c.kind === 'edit-service');
    assert.deepEqual([c.service.scheduler, c.service.flags, c.service.timeoutS], ['rr', 0, 0]);
  });
  it('-e without options: gatewaying, weight 1, thresholds 0, ipip tunnel defaults', () => {
    assert.deepEqual(ok(['-e', '-t', '10.0.0.1:80', '-r', '10.0.0.2:80']), {
      kind: 'edit-server',
      key: { kind: 'addr', protocol: 'tcp', addr: ip('10.0.0.1'), port: 80 },
      dest: { addr: ip('10.0.0.2'), port: 80, method: 'droute', weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunCsum: 'nocsum' },
    });
  });
  it('-p without a value is 360 s; a following option is not taken as its value', () => {
    const c = ok(['-A', '-t', '10.0.0.1:80', '-p', '-M', '255.255.255.0']);
    assert.ok(c.kind === 'add-service');
    assert.deepEqual([c.service.flags, c.service.timeoutS, c.service.netmask], [1, 360, 0xffffff00]);
    const d = ok(['-A', '-t', '10.0.0.1:80', '-p']);
    assert.ok(d.kind === 'add-service');
    assert.equal(d.service.timeoutS, 360);
    const e = ok(['-A', '-t', '10.0.0.1:80', '-p90']);
    assert.ok(e.kind === 'add-service');
    assert.equal(e.service.timeoutS, 90);
  });
  it('a persistent service may have port 0', () => {
    const c = ok(['-A', '-t', '10.0.0.1', '-p', '300']);
    assert.ok(c.kind === 'add-service' && c.service.key.kind === 'addr');
    assert.equal(c.service.key.port, 0);
  });
});

describe('service and real server addresses (spec §5.2)', () => {
  it('DR and TUN force the real server port to the service port; NAT keeps it', () => {
    const port = (m: string[]) => { const c = ok(['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2:8080', ...m]); return c.kind === 'add-server' ? c.dest.port : -1; };
    assert.deepEqual([port([]), port(['-g']), port(['-i']), port(['-m']), port(['--fullnat'])], [80, 80, 80, 8080, 8080]);
  });
  it('fwmark services keep the real server port as given, 0 when omitted', () => {
    const c = ok(['-a', '-f', '7', '-r', '10.0.0.2:8080', '-g']);
    const d = ok(['-a', '-f', '7', '-r', '10.0.0.2']);
    assert.ok(c.kind === 'add-server' && d.kind === 'add-server');
    assert.deepEqual([c.dest.port, d.dest.port], [8080, 0]);
  });
  it('-r without a port takes the service port as known at that point of the line', () => {
    const before = ok(['-a', '-r', '10.0.0.2', '-m', '-t', '10.0.0.1:80']);
    const after = ok(['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-m']);
    assert.ok(before.kind === 'add-server' && after.kind === 'add-server');
    assert.deepEqual([before.dest.port, after.dest.port], [0, 80]);
  });
  it('inet_aton forms are accepted: short, octal and hex', () => {
    const a = (s: string) => { const c = ok(['-D', '-t', s]); return c.kind === 'delete-service' && c.key.kind === 'addr' ? `${[...c.key.addr.bytes].join('.')}:${c.key.port}` : ''; };
    assert.deepEqual([a('10.1:80'), a('012.0.0.1:80'), a('0x0a.0.0.0x1:80'), a('167772161:81')], ['10.0.0.1:80', '10.0.0.1:80', '10.0.0.1:80', '10.0.0.1:81']);
  });
  it('IPv6: bracketed with port sets netmask 128; bare address has no port', () => {
    const c = ok(['-A', '-u', '[2001:db8::1]:53']);
    assert.ok(c.kind === 'add-service');
    assert.deepEqual(c.service.key, { kind: 'addr', protocol: 'udp', addr: ip('2001:db8::1'), port: 53 });
    assert.equal(c.service.netmask, 128);
    const d = ok(['-A', '-t', '2001:db8::1', '-p', '-M', '64']);
    assert.ok(d.kind === 'add-service' && d.service.key.kind === 'addr');
    assert.deepEqual([d.service.key.port, d.service.netmask], [0, 64]);
  });
  it('"[1.2.3.4]:80" loses its port as in ipvsadm (the IPv4 path looks for ":" again)', () => {
    const c = ok(['-D', '-t', '[1.2.3.4]:80']);
    assert.ok(c.kind === 'delete-service' && c.key.kind === 'addr');
    assert.equal(c.key.port, 0);
  });
  it('-f -6 makes an IPv6 fwmark service with netmask 128; fwmark up to 2^32-1', () => {
    assert.deepEqual(ok(['-A', '-f', '4294967295', '-6', '-o']), {
      kind: 'add-service',
      service: { key: { kind: 'fwmark', fwmark: 4294967295, family: 6 }, scheduler: 'wlc', flags: 4, timeoutS: 0, netmask: 128, pe: undefined },
    });
  });
  it('names go through the resolver: hosts (IPv4) and services of the protocol', () => {
    const r: NameResolver = {
      host: () => undefined, service: () => undefined,
      hostToAddr: (n) => (n === 'www' ? ip('192.0.2.80') : undefined),
      serviceToPort: (n, p) => (n === 'http' && p === 'tcp' ? 80 : n === 'domain' && p === 'udp' ? 53 : undefined),
    };
    const c = ok(['-a', '-t', 'www:http', '-r', 'www:http', '-m'], r);
    assert.ok(c.kind === 'add-server' && c.key.kind === 'addr');
    assert.deepEqual([c.key.addr, c.key.port, c.dest.port], [ip('192.0.2.80'), 80, 80]);
    assert.equal(parseArgs(['-A', '-u', 'www:http'], { resolver: r }).ok, false);
  });
});

describe('scheduler flags, ops, tunnels, --fullnat (spec §5.2)', () => {
  const flags = (argv: string[]) => { const c = ok(argv); return c.kind === 'add-service' ? c.service.flags : -1; };
  it('-b sh-fallback,sh-port with sh is SCHED1|SCHED2; -b may precede -s', () => {
    assert.equal(flags(['-A', '-t', '10.0.0.1:80', '-b', 'sh-fallback,sh-port', '-s', 'sh']), 0x18);
  });
  it('-b flag-3 is SCHED3 with any scheduler; mh flags with mh', () => {
    assert.equal(flags(['-A', '-t', '10.0.0.1:80', '-b', 'flag-3']), 0x20);
    assert.equal(flags(['-A', '-t', '10.0.0.1:80', '-s', 'mh', '-b', 'mh-port', '-p', '10']), 0x11);
  });
  it('-o is accepted for UDP and fwmark services', () => {
    assert.equal(flags(['-A', '-u', '10.0.0.1:53', '-o']), 0x4);
    assert.equal(flags(['-A', '-f', '3', '-o']), 0x4);
  });
  it('gue with port and remcsum; gre with csum', () => {
    const g = ok(['-a', '-f', '1', '-r', '10.0.0.2', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-remcsum']);
    const r = ok(['-a', '-f', '1', '-r', '10.0.0.2', '-i', '--tun-type', 'gre', '--tun-csum']);
    assert.ok(g.kind === 'add-server' && r.kind === 'add-server');
    assert.deepEqual([g.dest.tunType, g.dest.tunPort, g.dest.tunCsum], ['gue', 6080, 'remcsum']);
    assert.deepEqual([r.dest.tunType, r.dest.tunPort, r.dest.tunCsum], ['gre', 0, 'csum']);
  });
  it('a tunnel server may be of the other address family', () => {
    const c = ok(['-a', '-t', '10.0.0.1:80', '-r', '2001:db8::2', '-i']);
    assert.ok(c.kind === 'add-server');
    assert.equal(c.dest.addr.family, 6);
  });
  it('--fullnat (tsvs extension) selects the fullnat method and conflicts with -m', () => {
    const c = ok(['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2:8080', '--fullnat', '-w', '0']);
    assert.ok(c.kind === 'add-server');
    assert.deepEqual([c.dest.method, c.dest.weight], ['fullnat', 0]);
    assert.deepEqual(err(['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '--fullnat', '-m']), ["multiple 'forwarding-method' options specified\n", 2]);
  });
});

describe('other commands', () => {
  it('no arguments lists the table without -n', () => {
    const c = ok([]);
    assert.ok(c.kind === 'list');
    assert.equal(c.list.numeric, false);
  });
  it('-h and -v win over whatever follows', () => {
    assert.deepEqual(ok(['-h', '--bogus']), { kind: 'help' });
    assert.deepEqual(ok(['--version']), { kind: 'version' });
  });
  it('-Ln --stats --exact, -L -t svc, -Lc --persistent-conn, --timeout, --daemon', () => {
    const a = ok(['-Ln', '--stats', '-X', '--sort']);
    assert.ok(a.kind === 'list');
    assert.deepEqual([a.list.view, a.list.numeric, a.list.stats, a.list.exact, a.list.nosort], ['services', true, true, true, false]);
    const b = ok(['-L', '-u', '10.0.0.1:53', '--rate']);
    assert.ok(b.kind === 'list');
    assert.deepEqual(b.list.service, { kind: 'addr', protocol: 'udp', addr: ip('10.0.0.1'), port: 53 });
    const c = ok(['-lcn', '--persistent-conn']);
    assert.ok(c.kind === 'list');
    assert.deepEqual([c.list.view, c.list.persistentConn], ['connections', true]);
    const d = ok(['-L', '--timeout']);
    const e = ok(['-L', '--daemon', '--syncid', '1']);
    assert.ok(d.kind === 'list' && e.kind === 'list');
    assert.deepEqual([d.list.view, e.list.view], ['timeout', 'daemon']);
  });
  it('-Z with and without a service, -C, -S -n, -R', () => {
    assert.deepEqual(ok(['-Z']), { kind: 'zero' });
    assert.deepEqual(ok(['-Z', '-f', '9']), { kind: 'zero', key: { kind: 'fwmark', fwmark: 9, family: 4 } });
    assert.deepEqual(ok(['--clear']), { kind: 'flush' });
    assert.deepEqual(ok(['-Sn']), { kind: 'save', numeric: true });
    assert.deepEqual(ok(['-R']), { kind: 'restore' });
  });
  it('-d carries the real server port (no forcing)', () => {
    assert.deepEqual(ok(['-d', '-t', '10.0.0.1:80', '-r', '10.0.0.2:8080']), {
      kind: 'delete-server', key: { kind: 'addr', protocol: 'tcp', addr: ip('10.0.0.1'), port: 80 }, addr: ip('10.0.0.2'), port: 8080,
    });
  });
  it('--set keeps 0 as "unchanged"; attached and = arguments', () => {
    assert.deepEqual(ok(['--set', '0', '120', '0']), { kind: 'set', timeouts: { tcp: 0, tcpfin: 120, udp: 0 } });
    const c = ok(['-a', '--tcp-service=10.0.0.1:80', '-r10.0.0.2', '--weight=3', '-x100', '-y=50']);
    assert.ok(c.kind === 'add-server');
    assert.deepEqual([c.dest.weight, c.dest.uThreshold, c.dest.lThreshold], [3, 100, 50]);
  });
  it('--start-daemon defaults: eth0, syncid 0; options given are carried', () => {
    assert.deepEqual(ok(['--start-daemon', 'backup']), { kind: 'start-daemon', daemon: { state: 'backup', mcastIfn: 'eth0', syncId: 0 } });
    assert.deepEqual(ok(['--start-daemon=master', '--mcast-interface', 'bond0', '--syncid', '7', '--mcast-group', 'ff02::81', '--mcast-port', '9000', '--mcast-ttl', '3', '--sync-maxlen', '1400']), {
      kind: 'start-daemon',
      daemon: { state: 'master', mcastIfn: 'bond0', syncId: 7, syncMaxlen: 1400, mcastGroup: ip('ff02::81'), mcastPort: 9000, mcastTtl: 3 },
    });
    assert.deepEqual(ok(['--stop-daemon', 'master']), { kind: 'stop-daemon', state: 'master' });
  });
});
