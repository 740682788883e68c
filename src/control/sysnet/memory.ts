// An in-memory SysNet for unit tests: interfaces, addresses, routes and sysctls of one pretend
// namespace, with the kernel's per-interface sysctl creation (a new interface copies
// net.ipv4.conf.default.*) and a log of every change so tests assert exact writes.

import type { Family, IfAddress, LinkInfo, NewLink, RouteInfo, SysNet } from './sys-net.js';
import { splitCidr } from './sys-net.js';

/** The per-interface IPv4 settings the fake models. */
const CONF_NAMES = ['arp_ignore', 'arp_announce', 'arp_filter', 'rp_filter', 'forwarding'] as const;

/** Initial state of a MemorySysNet. */
export interface MemorySysNetInit {
  readonly netns?: string;
  /** Interfaces besides lo (which always exists), e.g. [{ ifname: 'eth0', kind: 'veth', mac: '02:..' }]. */
  readonly links?: readonly { ifname: string; kind?: string; mac?: string }[];
  readonly addresses?: readonly IfAddress[];
  readonly routes?: readonly (RouteInfo & { family?: Family })[];
  /** Overrides of the kernel defaults (all and default start at 0 for everything). */
  readonly sysctls?: Readonly<Record<string, string>>;
  /** Modules `loadModule` succeeds for (e.g. 'ipip' creates tunl0 as the kernel does, 'fou', 'dummy'). */
  readonly modules?: readonly string[];
}

/** The in-memory fake. `log` lists every change in order, in `ip`/`sysctl` words. */
export class MemorySysNet implements SysNet {
  readonly netns: string | undefined;
  readonly sysctls = new Map<string, string>();
  readonly log: string[] = [];
  private linkList: { ifname: string; kind: string; up: boolean; noarp: boolean; mac?: string }[] = [];
  private addrList: IfAddress[] = [];
  private routeList: (RouteInfo & { family: Family })[] = [];
  private readonly modules: Set<string>;
  readonly fouPorts = new Set<number>();

  /** Builds the pretend namespace. */
  constructor(init: MemorySysNetInit = {}) {
    this.netns = init.netns;
    this.modules = new Set(init.modules ?? []);
    for (const scope of ['all', 'default']) for (const n of CONF_NAMES) this.sysctls.set(`net.ipv4.conf.${scope}.${n}`, '0');
    this.sysctls.set('net.ipv4.ip_forward', '0');
    for (const [k, v] of Object.entries(init.sysctls ?? {})) if (k.includes('.all.') || k.includes('.default.') || !k.includes('.conf.')) this.sysctls.set(k, v);
    this.createLink('lo', 'loopback', true, true);
    for (const l of init.links ?? []) this.createLink(l.ifname, l.kind ?? 'veth', true, false, l.mac);
    // Per-interface overrides apply after the interfaces exist.
    for (const [k, v] of Object.entries(init.sysctls ?? {})) this.sysctls.set(k, v);
    this.addrList = [...(init.addresses ?? [])];
    this.routeList = (init.routes ?? []).map((r) => ({ ...r, family: r.family ?? (r.gateway?.includes(':') ? 'inet6' : 'inet') }));
  }

  private createLink(ifname: string, kind: string, up: boolean, noarp: boolean, mac?: string): void {
    this.linkList.push({ ifname, kind, up, noarp, ...(mac !== undefined ? { mac } : {}) });
    for (const n of CONF_NAMES) this.sysctls.set(`net.ipv4.conf.${ifname}.${n}`, this.sysctls.get(`net.ipv4.conf.default.${n}`) ?? '0');
  }

  private need(ifname: string): void {
    if (!this.linkList.some((l) => l.ifname === ifname)) throw new Error(`Cannot find device "${ifname}"`);
  }

  async ip(args: readonly string[]): Promise<string> {
    // Only what the tools run through the generic entry point: ip fou.
    if (args[0] === 'fou' && (args[1] === 'add' || args[1] === 'del') && args[2] === 'port') {
      const port = Number(args[3]);
      if (args[1] === 'add') {
        if (!this.modules.has('fou')) throw new Error('RTNETLINK answers: No such file or directory (fou not loaded)');
        this.fouPorts.add(port);
      } else this.fouPorts.delete(port);
      this.log.push(`ip ${args.join(' ')}`);
      return '';
    }
    throw new Error(`MemorySysNet: \`ip ${args.join(' ')}\` is not modelled`);
  }

  async ipJson(args: readonly string[]): Promise<unknown> {
    throw new Error(`MemorySysNet: \`ip -j ${args.join(' ')}\` is not modelled`);
  }

  async nft(args: readonly string[], script?: string): Promise<string> {
    this.log.push(`nft ${args.join(' ')}${script !== undefined ? ` <<${script}` : ''}`);
    return '';
  }

  async getSysctl(key: string): Promise<string | undefined> {
    return this.sysctls.get(key);
  }

  async setSysctl(key: string, value: string): Promise<void> {
    if (!this.sysctls.has(key)) throw new Error(`Cannot set sysctl ${key}=${value}: no such key`);
    this.sysctls.set(key, value);
    this.log.push(`sysctl ${key}=${value}`);
  }

  async addresses(): Promise<IfAddress[]> {
    return this.addrList.map((a) => ({ ...a }));
  }

  async addAddress(dev: string, cidr: string): Promise<void> {
    this.need(dev);
    const { addr, prefixlen } = splitCidr(cidr);
    if (this.addrList.some((a) => a.ifname === dev && a.local === addr)) throw new Error('RTNETLINK answers: File exists');
    this.addrList.push({ ifname: dev, family: addr.includes(':') ? 'inet6' : 'inet', local: addr, prefixlen });
    this.log.push(`addr add ${cidr} dev ${dev}`);
  }

  async delAddress(dev: string, cidr: string): Promise<void> {
    const { addr } = splitCidr(cidr);
    const i = this.addrList.findIndex((a) => a.ifname === dev && a.local === addr);
    if (i < 0) throw new Error('RTNETLINK answers: Cannot assign requested address');
    this.addrList.splice(i, 1);
    this.log.push(`addr del ${cidr} dev ${dev}`);
  }

  async links(): Promise<LinkInfo[]> {
    return this.linkList.map((l) => ({ ...l }));
  }

  async addLink(link: NewLink): Promise<void> {
    if (this.linkList.some((l) => l.ifname === link.name)) throw new Error('RTNETLINK answers: File exists');
    if (link.kind === 'dummy' && !this.modules.has('dummy')) throw new Error('Error: Unknown device type.');
    this.createLink(link.name, link.kind, false, link.kind === 'tun');
    this.log.push(`link add ${link.name} type ${link.kind}`);
  }

  async delLink(name: string): Promise<void> {
    this.need(name);
    this.linkList = this.linkList.filter((l) => l.ifname !== name);
    this.addrList = this.addrList.filter((a) => a.ifname !== name);
    this.routeList = this.routeList.filter((r) => r.dev !== name);
    for (const k of [...this.sysctls.keys()]) if (k.startsWith(`net.ipv4.conf.${name}.`)) this.sysctls.delete(k);
    this.log.push(`link del ${name}`);
  }

  async setLinkUp(name: string, up: boolean): Promise<void> {
    this.need(name);
    this.linkList.find((l) => l.ifname === name)!.up = up;
    this.log.push(`link set ${name} ${up ? 'up' : 'down'}`);
  }

  async routes(family: Family): Promise<RouteInfo[]> {
    return this.routeList.filter((r) => r.family === family).map(({ family: _f, ...r }) => ({ ...r }));
  }

  async replaceRoute(dst: string, gateway: string, dev?: string): Promise<void> {
    const family: Family = gateway.includes(':') ? 'inet6' : 'inet';
    this.routeList = this.routeList.filter((r) => !(r.dst === dst && r.family === family));
    this.routeList.push({ dst, gateway, family, ...(dev !== undefined ? { dev } : {}) });
    this.log.push(`route replace ${dst} via ${gateway}${dev !== undefined ? ` dev ${dev}` : ''}`);
  }

  async delRoute(dst: string, gateway?: string): Promise<void> {
    const i = this.routeList.findIndex((r) => r.dst === dst && (gateway === undefined || r.gateway === gateway));
    if (i < 0) throw new Error('RTNETLINK answers: No such process');
    this.routeList.splice(i, 1);
    this.log.push(`route del ${dst}${gateway !== undefined ? ` via ${gateway}` : ''}`);
  }

  async loadModule(name: string): Promise<boolean> {
    if (!this.modules.has(name)) return false;
    // Loading ipip creates the fallback device tunl0 in every namespace, down.
    if (name === 'ipip' && !this.linkList.some((l) => l.ifname === 'tunl0')) this.createLink('tunl0', 'ipip', false, true);
    return true;
  }
}
