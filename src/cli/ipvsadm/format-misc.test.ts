import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import { formatDaemons, formatTimeout, formatUsage, formatVersion } from './format-misc.js';
import { fixture } from './testing.js';

describe('--timeout, --daemon, -v, -h (spec §5.6)', () => {
  it('Timeout (tcp tcpfin udp): 900 120 300', () => {
    assert.equal(formatTimeout({ tcp: 900, tcpfin: 120, udp: 300 }), 'Timeout (tcp tcpfin udp): 900 120 300\n');
  });
  it('daemons: master first; maxlen/group/port/ttl only when known', () => {
    const text = formatDaemons([
      { state: 'backup', mcastIfn: 'eth1', syncId: 0 },
      { state: 'master', mcastIfn: 'eth0', syncId: 0, syncMaxlen: 1472, mcastGroup: parseIp('224.0.0.81'), mcastPort: 8848, mcastTtl: 1 },
    ]);
    assert.equal(text,
      'master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n'
      + 'backup sync daemon (mcast=eth1, syncid=0)\n');
    assert.equal(formatDaemons([{ state: 'master', mcastIfn: 'bond0', syncId: 9, mcastGroup: parseIp('ff02::1:81') }]),
      'master sync daemon (mcast=bond0, syncid=9, group=ff02::1:81)\n');
    assert.equal(formatDaemons([]), '');
  });
  it('-v', () => {
    assert.equal(formatVersion(), 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n');
  });
  it('-h matches usage.txt (ipvsadm.c usage_exit text, program "ipvsadm")', () => {
    assert.equal(formatUsage(), fixture('usage.txt'));
  });
  it('-h names the program as called', () => {
    assert.ok(formatUsage({ program: '/sbin/ipvsadm' }).includes('\n  /sbin/ipvsadm -A|E virtual-service [-s scheduler]'));
  });
});
