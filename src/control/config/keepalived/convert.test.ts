import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatIp } from '../../../core/net/addr.js';
import { SVC_F_PERSISTENT } from '../../../core/service/types.js';
import { loadConfigText } from '../load.js';
import { readFixture, repoRoot } from '../testing.js';
import { toTable } from '../to-table.js';
import type { DesiredService } from '../to-table.js';
import { KeepalivedError, importKeepalivedFile, importKeepalivedText } from './convert.js';

/** `-A -t 1.2.3.4:80 -s wlc -p 300`-like summary of a desired service and its `-a` lines. */
function ipvsadm(d: DesiredService): string[] {
  const k = d.service.key;
  const svc = k.kind === 'addr' ? `-${k.protocol === 'tcp' ? 't' : k.protocol === 'udp' ? 'u' : '-sctp-service'} ${formatIp(k.addr)}:${k.port}` : `-f ${k.fwmark}`;
  const p = d.service.flags & SVC_F_PERSISTENT ? ` -p ${d.service.timeoutS}` : '';
  const flag = { droute: '-g', masq: '-m', tunnel: '-i', local: '-L', fullnat: '-F' };
  return [`-A ${svc} -s ${d.service.scheduler}${p}`, ...d.dests.map((x) => `-a ${svc} -r ${formatIp(x.addr)}:${x.port} ${flag[x.method]} -w ${x.weight}`)];
}

/** The 1-based line of the first line of `text` containing `needle` (derived from the fixture, not the code). */
function lineOf(text: string, needle: string, from = 0): number {
  const i = text.split('\n').findIndex((l, n) => n >= from && l.includes(needle));
  assert.ok(i >= 0, `fixture has no ${needle}`);
  return i + 1;
}

const SPEC_7_5 = `global_defs {
    router_id LVS_A
    lvs_sync_daemon eth0 VI_1 id 51
}

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150            # peer uses 100
    advert_int 1
    nopreempt
    authentication {
        auth_type PASS
        auth_pass s3cr3t
    }
    virtual_ipaddress {
        192.168.10.100/32 dev eth0
    }
}

virtual_server 192.168.10.100 80 {
    delay_loop 5
    lvs_sched wlc
    lvs_method DR
    protocol TCP
    persistence_timeout 300
    quorum 2
    hysteresis 1
    sorry_server 192.168.10.250 80
    inhibit_on_failure

    real_server 192.168.10.11 80 {
        weight 2
        HTTP_GET {
            url {
                path /healthz
                status_code 200
            }
            connect_timeout 3
            retry 2
            delay_before_retry 2
        }
    }
    real_server 192.168.10.12 80 {
        weight 1
        TCP_CHECK {
            connect_port 80
            connect_timeout 3
        }
    }
}

virtual_server 192.168.10.100 53 {
    delay_loop 10
    lvs_sched rr
    lvs_method NAT
    protocol UDP
    real_server 10.0.0.21 53 {
        DNS_CHECK {
            type A
            name www.example.com
        }
    }
}
`;

describe('keepalived import: the spec §7.5 example', () => {
  const r = importKeepalivedText(SPEC_7_5, 'keepalived.conf');
  const t = toTable(r.config);

  it('converts to the equivalent ipvsadm state (-A -t 192.168.10.100:80 -s wlc -p 300, -g -w 2, -g -w 1)', () => {
    assert.deepEqual(t.map(ipvsadm), [
      ['-A -t 192.168.10.100:80 -s wlc -p 300', '-a -t 192.168.10.100:80 -r 192.168.10.11:80 -g -w 2', '-a -t 192.168.10.100:80 -r 192.168.10.12:80 -g -w 1'],
      ['-A -u 192.168.10.100:53 -s rr', '-a -u 192.168.10.100:53 -r 10.0.0.21:53 -m -w 1'],
    ]);
  });

  it('keeps quorum, hysteresis, sorry server, inhibit_on_failure and the checks with their cascaded settings', () => {
    const web = t[0];
    assert.deepEqual([web.quorum, web.hysteresis], [2, 1]);
    assert.deepEqual([formatIp(web.sorryServer!.dest.addr), web.sorryServer!.dest.port, web.sorryServer!.dest.method, web.sorryServer!.dest.weight], ['192.168.10.250', 80, 'droute', 1]);
    assert.equal(web.realServers[0].inhibitOnFailure, true);
    const http = web.realServers[0].checks[0];
    assert.deepEqual([http.spec.type, http.delayLoopS, http.timeoutS, http.retry, http.delayBeforeRetryS], ['http', 5, 3, 2, 2]);
    assert.deepEqual(http.statusRanges, [[[200, 200]]]);
    const tcp = web.realServers[1].checks[0];
    assert.deepEqual([tcp.spec.type, tcp.target.port, tcp.timeoutS, tcp.retry, tcp.delayBeforeRetryS], ['tcp', 80, 3, 1, 1]);
    const dns = t[1].realServers[0].checks[0];
    assert.deepEqual([dns.spec.type, dns.retry, dns.delayBeforeRetryS, dns.delayLoopS], ['dns', 3, 10, 10]);
  });

  it('reports what it does not convert, with line numbers', () => {
    assert.deepEqual(r.messages, [
      'line 2: global_defs router_id is not supported by tsvs yet (a keepalived daemon, VRRP or e-mail setting with no tsvs equivalent)',
      'line 3: lvs_sync_daemon is not supported by tsvs yet (connection synchronization is not configured through tsvs.yaml)',
      'line 6: vrrp_instance is not supported by tsvs yet (tsvs has no VRRP; keep keepalived (VRRP only) or another failover for the VIPs)',
    ]);
  });

  it('the YAML names the source lines and loads', () => {
    assert.match(r.yaml, /# line 22: virtual_server 192\.168\.10\.100 80 → tcp 192\.168\.10\.100:80\n/);
    assert.match(r.yaml, /# line 33: real_server 192\.168\.10\.11 80\n/);
    assert.match(r.yaml, /#\s+unsupported: line 6: vrrp_instance/);
    assert.equal(loadConfigText(r.yaml, 'imported.yaml').services.length, 2);
  });
});

describe('keepalived import: examples/keepalived.conf (every §7.1 keyword)', () => {
  const text = readFixture('examples/keepalived.conf');
  const r = importKeepalivedFile(join(repoRoot(), 'examples/keepalived.conf'));
  const cfg = loadConfigText(r.yaml, 'imported.yaml');
  const t = toTable(cfg);

  it('uses every keyword of spec §7.1, and none of them is reported as unknown', () => {
    const keywords = ['delay_loop', 'lvs_sched', 'lb_algo', 'flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback', 'ops',
      'lvs_method', 'lb_kind', 'type ipip', 'type gue port', 'type gre', 'nocsum', ' csum', 'remcsum', 'persistence_timeout', 'persistence_granularity',
      'persistence_engine', 'protocol TCP', 'protocol UDP', 'ha_suspend', 'virtualhost', 'alpha', 'omega', 'quorum ', 'hysteresis', 'quorum_up', 'quorum_down',
      'sorry_server ', 'sorry_server_inhibit', 'sorry_server_lvs_method', 'connect_timeout', 'retry', 'delay_before_retry', 'warmup', 'inhibit_on_failure',
      'real_server', 'weight', 'uthreshold', 'lthreshold', 'notify_up', 'notify_down', 'smtp_alert', 'TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'SMTP_CHECK',
      'DNS_CHECK', 'MISC_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK', 'virtual_server_group', 'virtual_server fwmark', 'virtual_server group',
      'fwmark 12 inet', '-3 80', 'lvs_timeouts', 'lvs_flush', 'lvs_sync_daemon', 'misc_path', 'misc_timeout', 'misc_dynamic', 'user ', 'digest', 'status_code',
      'regex', 'regex_no_match', 'path', 'enable_sni', 'sni_name', 'helo_name', 'payload', 'require_reply', 'connect_ip', 'connect_port', 'bindto', 'bind_port',
      'bind_if', 'log_all_failures'];
    for (const k of keywords) assert.ok(text.includes(k), `examples/keepalived.conf lacks ${k}`);
    const unknown = r.messages.filter((m) => /unknown/.test(m));
    assert.deepEqual(unknown, []);
  });

  it('converts every virtual_server, a group into one service per address and fwmark', () => {
    assert.deepEqual(t.map((d) => ipvsadm(d)[0]), [
      '-A -t 192.168.10.100:80 -s wlc -p 300',
      '-A -t 192.168.10.100:443 -s sh',
      '-A -u 192.168.10.100:53 -s mh',
      '-A -u 192.168.10.100:5060 -s rr -p 360',
      '-A -u 192.168.10.101:9000 -s lc',
      '-A -f 7 -s wrr -p 600',
      '-A -t 192.168.20.1:80 -s rr', '-A -t 192.168.20.2:80 -s rr', '-A -t 192.168.20.3:80 -s rr', '-A -t 192.168.20.10:8080 -s rr',
      '-A -f 11 -s rr', '-A -f 12 -s rr',
    ]);
    assert.deepEqual(t.slice(6).map((d) => d.name), ['web_farm-1', 'web_farm-2', 'web_farm-3', 'web_farm-4', 'web_farm-5', 'web_farm-6']);
  });

  it('web: persistence granularity, VS-level weight as the default, DR port forced, checks keep the configured port', () => {
    const web = cfg.services[0];
    assert.deepEqual(web.persistence, { timeout: 300, netmask: '255.255.255.0' });
    assert.equal(web.health.haSuspend, true);
    assert.equal(web.health.virtualhost, 'www.example.com');
    assert.deepEqual([web.health.alpha, web.health.omega, web.health.inhibitOnFailure, web.health.connectTimeout, web.health.retry, web.health.delayBeforeRetry, web.health.warmup], [true, true, true, 4, 2, 2, 3]);
    assert.deepEqual([web.quorum, web.hysteresis], [3, 1]);
    assert.deepEqual(web.quorumUp, { command: ['/usr/local/bin/quorum', 'web', 'up'], user: 'nobody' });
    assert.deepEqual(web.quorumDown, { command: ['/usr/local/bin/quorum', 'web', 'down'], user: 'nobody:nogroup' });
    assert.deepEqual(web.sorryServer, { address: '192.168.10.250', forwarding: 'masq', inhibit: true });
    const [rs11, rs12] = web.realServers;
    assert.deepEqual([rs11.weight, rs11.upperThreshold, rs11.lowerThreshold, rs11.health?.inhibitOnFailure, rs11.health?.alpha], [3, 1000, 800, false, false]);
    assert.deepEqual(rs11.notifyDown, { command: ['/usr/local/bin/notify', 'rs 11', 'down'], user: 'nobody' });
    assert.equal(rs12.weight, 2, 'virtual_server weight is the default real server weight (spec §7.2)');
    assert.equal(t[0].dests[1].port, 80);
    const tcp = t[0].realServers[1].checks[0];
    assert.deepEqual([formatIp(tcp.target.addr), tcp.target.port, tcp.delayLoopS, tcp.warmupS], ['192.168.10.12', 8080, 10, 0]);
    const http = rs11.checks[0];
    assert.ok(http.type === 'http');
    assert.deepEqual(http.urls, [
      { path: '/healthz', digest: '9b3a0c85a887a256d6939da88aabd8cd', statusCodes: [200, '201-299'], regexNoMatch: false },
      { path: '/ready', virtualhost: 'ready.example.com', regex: '^ok', regexNoMatch: true },
    ]);
    assert.equal(http.httpProtocol, '1.1');
  });

  it('flags, ops, pe, checkers', () => {
    assert.deepEqual(cfg.services[1].schedFlags, ['sh-port', 'sh-fallback', 'flag-3']);
    assert.deepEqual([cfg.services[2].schedFlags, cfg.services[2].ops], [['mh-port', 'mh-fallback', 'flag-1', 'flag-2'], true]);
    assert.deepEqual([cfg.services[3].pe, cfg.services[3].persistence?.timeout], ['sip', 360]);
    const checks = cfg.services[2].realServers[0].checks;
    assert.deepEqual(checks.map((c) => c.type), ['dns', 'udp', 'exec']);
    const [dns, udp, exec] = checks;
    assert.ok(dns.type === 'dns' && udp.type === 'udp' && exec.type === 'exec');
    assert.deepEqual([dns.queryType, dns.name], ['A', 'www.example.com']);
    assert.deepEqual([udp.payload, udp.requireReply, udp.minReplyLength, udp.maxReplyLength], ['0a 1b 02', '0a', 2, 512]);
    assert.deepEqual([exec.command, exec.timeout, exec.dynamic, exec.user], [['/usr/local/bin/check_dns', '10.0.0.21', 'www example'], 3, true, 'nobody']);
    const [https, smtp] = cfg.services[1].realServers[0].checks;
    assert.ok(https.type === 'https' && smtp.type === 'smtp');
    assert.deepEqual([https.enableSni, https.sniName, https.tlsCompliant], [true, 'backend.example.com', true]);
    assert.deepEqual([smtp.connectPort, smtp.heloName], [25, 'lb.example.com']);
  });

  it('tunnels: service gue options as the default, real servers with their own (ipip included)', () => {
    assert.deepEqual(t[5].dests.map((x) => [formatIp(x.addr), x.port, x.method, x.tunType, x.tunPort, x.tunCsum]), [
      ['10.0.1.1', 0, 'tunnel', 'gue', 6080, 'csum'],
      ['10.0.1.2', 0, 'tunnel', 'gre', 0, 'nocsum'],
      ['10.0.1.3', 0, 'tunnel', 'ipip', 0, 'nocsum'],
      ['10.0.1.4', 0, 'tunnel', 'gue', 6081, 'remcsum'],
    ]);
  });

  it('a missing protocol means UDP, reported; timeouts from lvs_timeouts', () => {
    const line = lineOf(text, 'virtual_server 192.168.10.101 9000');
    assert.ok(r.messages.includes(`line ${line}: virtual_server has no protocol: keepalived defaults to UDP, and so does this import (add "protocol TCP" if you meant TCP)`));
    assert.deepEqual(cfg.timeouts, { tcp: 7200, tcpfin: 60, udp: 120 });
  });

  it('reports each unsupported construct with its line, and converts the rest', () => {
    const expect = [
      [lineOf(text, 'vrrp_script chk_lb'), 'vrrp_script'],
      [lineOf(text, 'vrrp_instance VI_1'), 'vrrp_instance'],
      [lineOf(text, 'vrrp_sync_group VG_1'), 'vrrp_sync_group'],
      [lineOf(text, 'static_ipaddress {'), 'static_ipaddress'],
      [lineOf(text, 'PING_CHECK'), 'PING_CHECK'],
      [lineOf(text, 'FILE_CHECK'), 'FILE_CHECK'],
      [lineOf(text, 'BFD_CHECK'), 'BFD_CHECK'],
      [lineOf(text, 'lvs_sync_daemon'), 'lvs_sync_daemon'],
      [lineOf(text, '    smtp_alert'), 'smtp_alert'],
    ] as const;
    for (const [line, kw] of expect) {
      assert.ok(r.messages.some((m) => m.startsWith(`line ${line}: ${kw} is not supported by tsvs yet (`)), `no report for ${kw} at line ${line}:\n${r.messages.join('\n')}`);
    }
    const lines = r.diagnostics.map((d) => d.line);
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b), 'diagnostics come in line order');
  });
});

describe('keepalived import: keepalived rules applied (spec §7.1, §7.2)', () => {
  const conv = (body: string) => importKeepalivedText(body, 'k.conf');

  it('persistence_timeout without a value is 360; a port-less service is forced persistent', () => {
    const r = conv('virtual_server 10.0.0.1 {\n protocol TCP\n real_server 10.1.0.1 {\n }\n}\nvirtual_server 10.0.0.2 80 {\n protocol TCP\n persistence_timeout\n}\n');
    assert.deepEqual(toTable(r.config).map((d) => ipvsadm(d)[0]), ['-A -t 10.0.0.1:0 -s wlc -p 360', '-A -t 10.0.0.2:80 -s wlc -p 360']);
    assert.deepEqual(r.messages, ['line 1: virtual_server without a port must be persistent: persistence forced to 360 s, as keepalived does']);
  });

  it('ops only for UDP, sh-/mh- flags only with their scheduler, hysteresis below quorum, pe needs persistence', () => {
    const r = conv('virtual_server 10.0.0.1 80 {\n protocol TCP\n lvs_sched rr\n ops\n sh-port\n mh-fallback\n flag-2\n quorum 2\n hysteresis 5\n persistence_engine sip\n}\n');
    const s = r.config.services[0];
    assert.deepEqual([s.ops, s.schedFlags, s.quorum, s.hysteresis, s.pe], [false, ['flag-2'], 2, 1, undefined]);
    assert.deepEqual(r.messages, [
      'line 4: ops: one-packet scheduling is only for UDP services; ignored, as keepalived does',
      'line 5: sh-port only applies to the sh scheduler (lvs_sched is rr); ignored, as keepalived does',
      'line 6: mh-fallback only applies to the mh scheduler (lvs_sched is rr); ignored, as keepalived does',
      'line 9: hysteresis 5 is not below quorum 2: set to 1, as keepalived does',
      'line 10: persistence_engine: needs persistence_timeout; ignored',
    ]);
  });

  it('real servers of another family are skipped unless tunnelled; duplicates left out', () => {
    const r = conv('virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 2001:db8::1 80 {\n }\n real_server 2001:db8::2 80 {\n  lvs_method TUN\n }\n real_server 10.1.0.1 80 {\n }\n real_server 10.1.0.1 80 {\n }\n}\n');
    assert.deepEqual(r.config.services[0].realServers.map((x) => [x.address, x.forwarding]), [['2001:db8::2', 'tunnel'], ['10.1.0.1', undefined]]);
    assert.deepEqual(r.messages, [
      'line 3: real_server 2001:db8::1 is IPv6 but the service is IPv4: skipped, as keepalived does',
      'line 10: real_server 10.1.0.1:80 is listed twice in this virtual_server: the duplicate was left out',
    ]);
  });

  it('virtual_server_group: ranges (last octet, full, CIDR, IPv6 hex), fwmarks with families, too-large ranges reported', () => {
    const r = conv([
      'virtual_server_group g {',
      '  10.0.0.1-3 80',
      '  10.0.0.254-10.0.1.1 80',
      '  10.0.2.0/31',
      '  2001:db8::9-b 443',
      '  fwmark 4 inet6',
      '  10.1.0.0/16 80',
      '  10.0.0.7-2',
      '}',
      'virtual_server group g {',
      '  protocol TCP',
      '  persistence_timeout 60',
      '  lvs_method TUN',
      '}',
    ].join('\n'));
    assert.deepEqual(toTable(r.config).map((d) => ipvsadm(d)[0]), [
      '-A -t 10.0.0.1:80 -s wlc -p 60', '-A -t 10.0.0.2:80 -s wlc -p 60', '-A -t 10.0.0.3:80 -s wlc -p 60',
      '-A -t 10.0.0.254:80 -s wlc -p 60', '-A -t 10.0.0.255:80 -s wlc -p 60', '-A -t 10.0.1.0:80 -s wlc -p 60', '-A -t 10.0.1.1:80 -s wlc -p 60',
      '-A -t 10.0.2.0:0 -s wlc -p 60', '-A -t 10.0.2.1:0 -s wlc -p 60',
      '-A -t 2001:db8::9:443 -s wlc -p 60', '-A -t 2001:db8::a:443 -s wlc -p 60', '-A -t 2001:db8::b:443 -s wlc -p 60',
      '-A -f 4 -s wlc -p 60',
    ]);
    assert.equal(r.config.services[12].family, 'ipv6');
    assert.deepEqual(r.messages, [
      'line 7: 10.1.0.0/16: the range has more than 256 addresses (tsvs makes one service per address); ignored',
      'line 8: 10.0.0.7-2: the range ends below its start; ignored',
    ]);
  });

  it('fwmark services: DR real servers get port 0; checks connect to the configured port, or are left out without one', () => {
    const r = conv('virtual_server fwmark 3 {\n lvs_method DR\n real_server 10.1.0.1 443 {\n  TCP_CHECK {\n  }\n }\n real_server 10.1.0.2 {\n  TCP_CHECK {\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n }\n}\n');
    const s = r.config.services[0];
    assert.deepEqual(s.realServers.map((x) => [x.port, x.checks.map((c) => (c.type === 'exec' ? c.type : `${c.type}:${c.connectPort}`))]), [
      [undefined, ['tcp:443']], [undefined, ['exec']],
    ]);
    assert.deepEqual(toTable(r.config)[0].dests.map((x) => x.port), [0, 0]);
    assert.ok(r.messages.includes('line 8: TCP_CHECK has no port to connect to (real server without a port): the check was left out; set connect_port'));
  });

  it('a service tsvs would refuse is left out with the reason, and the rest still converts', () => {
    const r = conv('virtual_server 10.0.0.1 80 {\n protocol TCP\n virtualhost ""\n}\nvirtual_server 10.0.0.2 80 {\n protocol TCP\n}\n');
    assert.deepEqual(r.config.services.map((s) => s.address), ['10.0.0.2']);
    assert.deepEqual(r.messages, ['line 1: tcp 10.0.0.1:80 was left out: tsvs refuses it (services[0].health.virtualhost: must not be empty: current value is "")']);
  });

  it('bad values are reported with their line and ignored, as keepalived does', () => {
    const r = conv('virtual_server 10.0.0.1 80 {\n protocol TCP\n delay_loop soon\n lvs_sched fastest\n real_server 10.1.0.1 80 {\n  weight 70000\n  HTTP_GET {\n   url {\n    path /\n    status_code 200 99 300-200\n   }\n  }\n }\n real_server nowhere 80 {\n }\n}\n');
    const s = r.config.services[0];
    assert.deepEqual([s.health.delayLoop, s.scheduler, s.realServers.length, s.realServers[0].weight], [60, 'wlc', 1, 1]);
    const http = s.realServers[0].checks[0];
    assert.ok(http.type === 'http');
    assert.deepEqual(http.urls[0].statusCodes, [200]);
    assert.deepEqual(r.messages, [
      'line 3: delay_loop: "soon" is not a number of seconds 0.001..86400; ignored',
      'line 4: lvs_sched: "fastest" is not a scheduler tsvs has (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos); wlc used',
      'line 6: weight: "70000" is not an integer 0..65535; ignored',
      'line 10: status_code: "99" is not a status 100..599 or a range like 200-299; ignored',
      'line 10: status_code: "300-200" is not a status 100..599 or a range like 200-299; ignored',
      'line 14: real_server: "nowhere" is not an IP address; the real server was left out',
    ]);
  });

  it('an unclosed block is an error with the line that opened it', () => {
    assert.throws(() => conv('virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.1.0.1 80 {\n}\n'),
      (e: unknown) => e instanceof KeepalivedError && e.line === 1 && e.message === 'k.conf:1: the block of virtual_server is not closed (missing })');
  });
});
