// The kernel's multiplicative hash (include/linux/hash.h), used by sh, dh, lblc and lblcr (spec §1).

/** GOLDEN_RATIO_32 of include/linux/hash.h. */
export const GOLDEN_RATIO_32 = 0x61c88647;

/** hash_32(v, bits): the top `bits` bits of the 32-bit product v * GOLDEN_RATIO_32 (1 <= bits <= 32). */
export function hash32(v: number, bits: number): number {
  return Math.imul(v, GOLDEN_RATIO_32) >>> (32 - bits);
}

/**
 * An address folded as the kernel does for a service of `family` (spec §1): an IPv4 service reads
 * the first 32 bits (addr->ip), an IPv6 one XORs the four words; both in host order (ntohl).
 * An IPv4 address in an IPv6 service folds to its own value (the other words of the union are 0).
 */
export function foldForFamily(family: 4 | 6, bytes: Uint8Array): number {
  let x = 0;
  const words = family === 4 ? 4 : bytes.length;
  for (let i = 0; i < words; i += 4) x ^= (bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3];
  return x >>> 0;
}
