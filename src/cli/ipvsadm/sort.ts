// The order ipvsadm lists services and destinations in (spec §5.2 "Sorting"): libipvs's
// ipvs_cmp_services / ipvs_cmp_dests, which subtract unsigned values and read the difference as an
// int (so addresses 2^31 or more apart compare "backwards"), run through glibc's qsort — a
// top-down merge sort — whose result with such a non-transitive comparison we reproduce by using
// the same algorithm. --nosort and /proc show the kernel's order instead.
import type { IpAddress } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import type { VirtualService } from '../../core/service/virtual-service.js';

/** glibc msort_with_tmp: stable top-down merge sort (left half first, ties keep the left element). */
export function glibcMergeSort<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  const a = [...items];
  const sort = (lo: number, n: number): void => {
    if (n <= 1) return;
    const n1 = n >> 1;
    const n2 = n - n1;
    sort(lo, n1);
    sort(lo + n1, n2);
    const merged: T[] = [];
    let i = lo;
    let j = lo + n1;
    const iEnd = lo + n1;
    const jEnd = lo + n;
    while (i < iEnd && j < jEnd) merged.push(cmp(a[i], a[j]) <= 0 ? a[i++] : a[j++]);
    while (i < iEnd) merged.push(a[i++]);
    for (let k = 0; k < merged.length; k++) a[lo + k] = merged[k];
  };
  sort(0, a.length);
  return a;
}

/** The four 32-bit words of a union nf_inet_addr (an IPv4 address fills the first). */
function words(a: IpAddress): number[] {
  const w = [0, 0, 0, 0];
  for (let i = 0; i < a.bytes.length; i += 4) {
    w[i / 4] = ((a.bytes[i] << 24) | (a.bytes[i + 1] << 16) | (a.bytes[i + 2] << 8) | a.bytes[i + 3]) >>> 0;
  }
  return w;
}

/** `int r = (u32)a - (u32)b`: the wrap-around difference libipvs compares with. */
function wrapDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Compares addresses the way libipvs does, by the first operand's family. */
function cmpAddr(family: 4 | 6, a: IpAddress, b: IpAddress): number {
  const wa = words(a);
  const wb = words(b);
  if (family === 4) return wrapDiff(wa[0], wb[0]);
  let r = 0;
  for (let i = 0; r === 0 && i < 4; i++) r = wrapDiff(wa[i], wb[i]);
  return r;
}

const AF = { 4: 2, 6: 10 } as const;
const PROTO_NUM = { tcp: 6, udp: 17, sctp: 132 } as const;

/** ipvs_cmp_services: fwmark, af, protocol, address, port. */
export function cmpServices(s1: VirtualService, s2: VirtualService): number {
  const k1 = s1.key;
  const k2 = s2.key;
  let r = wrapDiff(k1.kind === 'fwmark' ? k1.fwmark : 0, k2.kind === 'fwmark' ? k2.fwmark : 0);
  if (r !== 0) return r;
  r = AF[s1.family] - AF[s2.family];
  if (r !== 0) return r;
  // ipvsadm creates fwmark services with protocol TCP.
  r = (k1.kind === 'addr' ? PROTO_NUM[k1.protocol] : 6) - (k2.kind === 'addr' ? PROTO_NUM[k2.protocol] : 6);
  if (r !== 0) return r;
  if (k1.kind === 'addr' && k2.kind === 'addr') {
    r = cmpAddr(s1.family, k1.addr, k2.addr);
    if (r !== 0) return r;
  }
  return s1.port - s2.port;
}

/** ipvs_cmp_dests: address (by the first one's family), then port. */
export function cmpDests(d1: Destination, d2: Destination): number {
  const r = cmpAddr(d1.addr.family, d1.addr, d2.addr);
  return r !== 0 ? r : d1.port - d2.port;
}

/**
 * The kernel's service order (netlink dump and /proc/net/ip_vs): the address-service table, then
 * the fwmark table. Within a table the kernel walks hash buckets whose hash mixes in the netns
 * address, so no order can be reproduced; tsvs uses the table's insertion order there.
 */
export function kernelServiceOrder(services: readonly VirtualService[]): VirtualService[] {
  return [...services.filter((s) => s.key.kind === 'addr'), ...services.filter((s) => s.key.kind === 'fwmark')];
}

/** Services in listing order: sorted like ipvsadm, or the kernel's order with --nosort. */
export function listServiceOrder(services: readonly VirtualService[], nosort: boolean): VirtualService[] {
  return nosort ? kernelServiceOrder(services) : glibcMergeSort(services, cmpServices);
}

/** Destinations in listing order: sorted like ipvsadm, or the kernel's (newest first) with --nosort. */
export function listDestOrder(svc: VirtualService, nosort: boolean): Destination[] {
  return nosort ? [...svc.destinations] : glibcMergeSort(svc.destinations, cmpDests);
}
