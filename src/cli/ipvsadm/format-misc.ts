// The small outputs of ipvsadm: `-L --timeout`, `-L --daemon` (spec §5.6), `-v` and `-h`.
import { inetNtop } from './cstr.js';
import { DEF_SCHED, DEF_TUNNEL_TYPE } from './options.js';
import type { SyncDaemonView, Timeouts } from './views.js';

/** The version tsvsadm reports as (ipvsadm 1.31, the release with GRE tunnels). */
export const IPVSADM_VERSION = 'v1.31 2019/12/24';
/** The scheduler list of ipvsadm's usage text (its SCHEDULERS file). */
export const USAGE_SCHEDULERS = 'rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf';
/** The persistence engines of ipvsadm's usage text (PE_LIST). */
export const USAGE_PE_LIST = 'sip';

/** `Timeout (tcp tcpfin udp): 900 120 300`. */
export function formatTimeout(t: Timeouts): string {
  return `Timeout (tcp tcpfin udp): ${t.tcp | 0} ${t.tcpfin | 0} ${t.udp | 0}\n`;
}

/** `-L --daemon`: one line per running daemon, master first; nothing when none runs. */
export function formatDaemons(daemons: readonly SyncDaemonView[]): string {
  const ordered = [...daemons.filter((d) => d.state === 'master'), ...daemons.filter((d) => d.state === 'backup')];
  return ordered.map((d) => {
    let line = `${d.state} sync daemon (mcast=${d.mcastIfn}, syncid=${d.syncId | 0}`;
    if (d.syncMaxlen) line += `, maxlen=${d.syncMaxlen >>> 0}`;
    if (d.mcastGroup) line += `, group=${inetNtop(d.mcastGroup)}`;
    if (d.mcastPort) line += `, port=${d.mcastPort >>> 0}`;
    if (d.mcastTtl) line += `, ttl=${d.mcastTtl >>> 0}`;
    return `${line})\n`;
  }).join('');
}

/** `ipvsadm -v`: `ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)`. */
export function formatVersion(version = IPVSADM_VERSION): string {
  return `ipvsadm ${version} (compiled with popt and IPVS v1.2.1)\n`;
}

/** Settings of the usage text. */
export interface UsageOptions {
  /** argv[0] as typed (default "ipvsadm"). */
  readonly program?: string;
  readonly version?: string;
  readonly schedulers?: string;
  readonly peList?: string;
}

/** `ipvsadm -h`: the version line and the usage text, exactly as ipvsadm prints them. */
export function formatUsage(opts: UsageOptions = {}): string {
  const p = opts.program ?? 'ipvsadm';
  const usage = [
    `-A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]`,
    '-D virtual-service', '-C', '-R', '-S [-n]', '-a|e virtual-service -r server-address [options]',
    '-d virtual-service -r server-address', '-L|l [virtual-service] [options]', '-Z [virtual-service]',
    '--set tcp tcpfin udp', '--start-daemon {master|backup} [daemon-options]', '--stop-daemon {master|backup}', '-h',
  ].map((u) => `  ${p} ${u}\n`).join('');
  return formatVersion(opts.version)
    + 'Usage:\n' + usage + '\n'
    + 'Commands:\n'
    + 'Either long or short options are allowed.\n'
    + '  --add-service     -A        add virtual service with options\n'
    + '  --edit-service    -E        edit virtual service with options\n'
    + '  --delete-service  -D        delete virtual service\n'
    + '  --clear           -C        clear the whole table\n'
    + '  --restore         -R        restore rules from stdin\n'
    + '  --save            -S        save rules to stdout\n'
    + '  --add-server      -a        add real server with options\n'
    + '  --edit-server     -e        edit real server with options\n'
    + '  --delete-server   -d        delete real server\n'
    + '  --list            -L|-l     list the table\n'
    + '  --zero            -Z        zero counters in a service or all services\n'
    + '  --set tcp tcpfin udp        set connection timeout values\n'
    + '  --start-daemon              start connection sync daemon\n'
    + '  --stop-daemon               stop connection sync daemon\n'
    + '  --help            -h        display this help message\n\n'
    + 'virtual-service:\n'
    + '  --tcp-service|-t  service-address   service-address is host[:port]\n'
    + '  --udp-service|-u  service-address   service-address is host[:port]\n'
    + '  --sctp-service    service-address   service-address is host[:port]\n'
    + '  --fwmark-service|-f fwmark          fwmark is an integer greater than zero\n'
    + '\n'
    + 'Options:\n'
    + '  --ipv6         -6                   fwmark entry uses IPv6\n'
    + `  --scheduler    -s scheduler         one of ${opts.schedulers ?? USAGE_SCHEDULERS},\n`
    + `                                      the default scheduler is ${DEF_SCHED}.\n`
    + `  --pe            engine              alternate persistence engine may be ${opts.peList ?? USAGE_PE_LIST},\n`
    + '                                      not set by default.\n'
    + '  --persistent   -p [timeout]         persistent service\n'
    + '  --netmask      -M netmask           persistent granularity mask\n'
    + '  --real-server  -r server-address    server-address is host (and port)\n'
    + '  --gatewaying   -g                   gatewaying (direct routing) (default)\n'
    + '  --ipip         -i                   ipip encapsulation (tunneling)\n'
    + '  --masquerading -m                   masquerading (NAT)\n'
    + '  --tun-type      type                one of ipip|gue|gre,\n'
    + `                                      the default tunnel type is ${DEF_TUNNEL_TYPE}.\n`
    + '  --tun-port      port                tunnel destination port\n'
    + '  --tun-nocsum                        tunnel encapsulation without checksum\n'
    + '  --tun-csum                          tunnel encapsulation with checksum\n'
    + '  --tun-remcsum                       tunnel encapsulation with remote checksum\n'
    + '  --weight       -w weight            capacity of real server\n'
    + '  --u-threshold  -x uthreshold        upper threshold of connections\n'
    + '  --l-threshold  -y lthreshold        lower threshold of connections\n'
    + '  --connection   -c                   output of current IPVS connections\n'
    + '  --timeout                           output of timeout (tcp tcpfin udp)\n'
    + '  --daemon                            output of daemon information\n'
    + '  --stats                             output of statistics information\n'
    + '  --rate                              output of rate information\n'
    + '  --exact                             expand numbers (display exact values)\n'
    + '  --thresholds                        output of thresholds information\n'
    + '  --persistent-conn                   output of persistent connection info\n'
    + '  --tun-info                          output of tunnel information\n'
    + '  --nosort                            disable sorting output of service/server entries\n'
    + '  --sort                              does nothing, for backwards compatibility\n'
    + '  --ops          -o                   one-packet scheduling\n'
    + '  --numeric      -n                   numeric output of addresses and ports\n'
    + '  --sched-flags  -b flags             scheduler flags (comma-separated)\n'
    + 'Daemon Options:\n'
    + '  --syncid sid                        syncid for connection sync (default=255)\n'
    + '  --sync-maxlen length                Max sync message length (default=1472)\n'
    + '  --mcast-interface interface         multicast interface for connection sync\n'
    + '  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)\n'
    + '  --mcast-port port                   UDP port (default=8848)\n'
    + '  --mcast-ttl ttl                     Multicast TTL (default=1)\n';
}
