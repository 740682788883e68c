// Address-family words and persistence netmask rules shared by the YAML validator and the
// keepalived converter, so both accept the same masks and say so in the same words.
import { type AddressFamily, maskPrefixLength, parseIpv4 } from '../../core/net/addr.js';

/** IPv4 / IPv6, for messages. */
export const famName = (f: AddressFamily) => (f === 4 ? 'IPv4' : 'IPv6');

/** A persistence netmask a service of `family` can use: a contiguous dotted IPv4 mask, or an IPv6 prefix length. */
export function netmaskFits(mask: string | number, family: AddressFamily): boolean {
  if (family === 4) {
    const m = typeof mask === 'string' ? parseIpv4(mask) : undefined;
    return m !== undefined && maskPrefixLength(m) !== undefined;
  }
  return typeof mask === 'number' && mask >= 1 && mask <= 128;
}

/** What a netmask of `family` must be, for messages. */
export function netmaskExpected(family: AddressFamily): string {
  return family === 4 ? 'a contiguous dotted IPv4 netmask' : 'a prefix length 1..128';
}
