// What tsvs's operator tools (`tsvs realserver`, `tsvs lab`) do to a host's network stack, as a
// small interface: iproute2 (`ip`, JSON output where reading), sysctls, nftables, addresses, links
// and routes, inside an optional network namespace. linux.ts runs the real commands; memory.ts is
// the in-memory fake the unit tests assert against (exact sysctls written and restored).

/** Address family of an address or route, as iproute2 names it. */
export type Family = 'inet' | 'inet6';

/** One address on an interface (`ip -j addr show`). */
export interface IfAddress {
  readonly ifname: string;
  readonly family: Family;
  readonly local: string;
  readonly prefixlen: number;
}

/** One network interface (`ip -j -d link show`). */
export interface LinkInfo {
  readonly ifname: string;
  /** linkinfo.info_kind ('veth', 'dummy', 'tun', 'bridge', 'ipip', ...) or link_type ('loopback', 'ether') when absent. */
  readonly kind: string;
  readonly up: boolean;
  /** True for devices that never answer ARP (NOARP flag, loopback, tun, ipip). */
  readonly noarp: boolean;
  readonly mac?: string;
  readonly master?: string;
}

/** One route of the main table (`ip -j route show`). */
export interface RouteInfo {
  /** 'default' or a prefix ('198.18.1.0/24', or a bare address for host routes). */
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
}

/** Options of a new link. */
export interface NewLink {
  readonly name: string;
  /** 'dummy', or 'tun' (a persistent TUN device, `ip tuntap add mode tun`). */
  readonly kind: 'dummy' | 'tun';
}

/** The host (or one network namespace of it), as the operator tools see it. */
export interface SysNet {
  /** The network namespace every call acts in; undefined = the caller's own. */
  readonly netns: string | undefined;
  /** Runs `ip ARGS` in the namespace and returns its stdout (write commands). */
  ip(args: readonly string[]): Promise<string>;
  /** Runs `ip -j ARGS` in the namespace and returns the parsed JSON (read commands). */
  ipJson(args: readonly string[]): Promise<unknown>;
  /** Runs `nft ARGS` in the namespace, feeding `script` on stdin when given (`nft -f -`). */
  nft(args: readonly string[], script?: string): Promise<string>;
  /** Reads a sysctl (dotted name, e.g. net.ipv4.conf.eth0.arp_ignore); undefined when it does not exist. */
  getSysctl(key: string): Promise<string | undefined>;
  /** Writes a sysctl; throws naming the key and the command when the kernel refuses. */
  setSysctl(key: string, value: string): Promise<void>;
  /** Lists the addresses of every interface. */
  addresses(): Promise<IfAddress[]>;
  /** Adds `cidr` (e.g. 198.18.1.100/32) to `dev`. */
  addAddress(dev: string, cidr: string): Promise<void>;
  /** Removes `cidr` from `dev`. */
  delAddress(dev: string, cidr: string): Promise<void>;
  /** Lists the interfaces. */
  links(): Promise<LinkInfo[]>;
  /** Creates a link (throws when the kernel lacks the driver, e.g. no dummy module). */
  addLink(link: NewLink): Promise<void>;
  /** Deletes a link. */
  delLink(name: string): Promise<void>;
  /** Sets a link up or down. */
  setLinkUp(name: string, up: boolean): Promise<void>;
  /** Lists the routes of the main table for a family. */
  routes(family: Family): Promise<RouteInfo[]>;
  /** `ip route replace DST via GW [dev DEV]`. */
  replaceRoute(dst: string, gateway: string, dev?: string): Promise<void>;
  /** `ip route del DST [via GW]`. */
  delRoute(dst: string, gateway?: string): Promise<void>;
  /** Loads a kernel module (`modprobe NAME`; global to the kernel); false when it cannot be loaded. */
  loadModule(name: string): Promise<boolean>;
}

/** The dotted sysctl name of a per-interface IPv4 setting: net.ipv4.conf.<iface>.<name>. */
export function confKey(iface: string, name: string): string {
  return `net.ipv4.conf.${iface}.${name}`;
}

/**
 * The /proc/sys path of a dotted sysctl name. Interface names may contain dots (VLAN eth0.100), so
 * for net.ipv{4,6}.conf.<iface>.<name> and net.ipv{4,6}.neigh.<iface>.<name> everything between the
 * prefix and the last dot is the interface.
 */
export function sysctlPath(key: string): string {
  const m = /^(net\.ipv[46]\.(?:conf|neigh))\.(.+)\.([^.]+)$/.exec(key);
  if (m) return `${m[1]!.replaceAll('.', '/')}/${m[2]}/${m[3]}`;
  return key.replaceAll('.', '/');
}

/** Splits '198.18.1.100/32' into address and prefix length (a bare address gets /32 or /128). */
export function splitCidr(cidr: string): { addr: string; prefixlen: number } {
  const [addr, len] = cidr.split('/');
  const v6 = addr!.includes(':');
  return { addr: addr!, prefixlen: len === undefined ? (v6 ? 128 : 32) : Number(len) };
}
