// Internet checksums for the packet layer: the RFC 1071 ones'-complement sum, RFC 1624 incremental
// updates, the IPv4/IPv6 pseudo-header sums TCP/UDP/ICMPv6 cover, and CRC32c for SCTP (RFC 4960
// appendix B). Everything works on Uint8Array + offsets, never allocates and never throws; sums are
// kept as plain numbers (an unfolded sum over 64 KiB stays far below 2^53).
//
// Conventions: a "sum" is an unfolded ones'-complement accumulator; `fold16` reduces it to 16 bits;
// a "checksum" as stored on the wire is `~fold16(sum) & 0xffff`. A "delta" (RFC 1624 `~m + m'`) is a
// sum that, added to the complement of a checksum, moves it from the old field values to the new.

/** Sums bytes [off, off+len) as big-endian 16-bit words onto `acc` (an odd last byte is padded with 0). */
export function sum16(buf: Uint8Array, off: number, len: number, acc = 0): number {
  let s = acc;
  const end = off + len;
  let i = off;
  // Two words per step keeps the loop short; the accumulator is folded now and then so it never
  // loses precision even for 64 KiB GRO frames.
  for (; i + 3 < end; i += 4) {
    s += ((buf[i] << 8) | buf[i + 1]) + ((buf[i + 2] << 8) | buf[i + 3]);
    if (s > 0x3fffffff) s = (s & 0xffff) + (s >>> 16);
  }
  if (i + 1 < end) { s += (buf[i] << 8) | buf[i + 1]; i += 2; }
  if (i < end) s += buf[i] << 8;
  return s;
}

/** Folds an accumulator into 16 bits (end-around carry), not complemented. */
export function fold16(sum: number): number {
  let s = sum;
  if (s > 0xffffffff) s = (s % 0x10000) + Math.floor(s / 0x10000); // only for sums beyond 32 bits
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The RFC 1071 checksum of bytes [off, off+len) plus `acc`: the value to store in a header. */
export function checksum(buf: Uint8Array, off: number, len: number, acc = 0): number {
  return ~fold16(sum16(buf, off, len, acc)) & 0xffff;
}

/** The IPv4 pseudo-header sum (src, dst, zero/protocol, L4 length), addresses read from `buf`. */
export function pseudoSum4(buf: Uint8Array, srcOff: number, dstOff: number, proto: number, l4Len: number): number {
  return sum16(buf, srcOff, 4, sum16(buf, dstOff, 4, proto + l4Len));
}

/** The IPv6 pseudo-header sum (RFC 8200 §8.1: src, dst, upper-layer length, next header). */
export function pseudoSum6(buf: Uint8Array, srcOff: number, dstOff: number, proto: number, l4Len: number): number {
  return sum16(buf, srcOff, 16, sum16(buf, dstOff, 16, proto + (l4Len >>> 16) + (l4Len & 0xffff)));
}

/** RFC 1624 delta for replacing the 16-bit value `oldV` by `newV`: `~m + m'`. */
export function delta16(oldV: number, newV: number): number {
  return (~oldV & 0xffff) + (newV & 0xffff);
}

/** RFC 1624 delta for replacing `len` bytes (even) at buf[oldOff] by the bytes at nbuf[newOff]. */
export function deltaBytes(buf: Uint8Array, oldOff: number, nbuf: Uint8Array, newOff: number, len: number): number {
  let d = 0;
  for (let i = 0; i < len; i += 2) {
    d += (~((buf[oldOff + i] << 8) | buf[oldOff + i + 1]) & 0xffff) + ((nbuf[newOff + i] << 8) | nbuf[newOff + i + 1]);
  }
  return d;
}

/** Applies a delta to a stored checksum (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). */
export function applyDelta(check: number, delta: number): number {
  return ~fold16((~check & 0xffff) + delta) & 0xffff;
}

/**
 * Applies a delta to a CHECKSUM_PARTIAL seed: the field then holds the folded, uncomplemented
 * pseudo-header sum that the NIC completes (kernel `inet_proto_csum_replace4` with pseudohdr on a
 * partial skb), so the delta is added without complementing.
 */
export function applyDeltaPartial(seed: number, delta: number): number {
  return fold16((seed & 0xffff) + delta);
}

/** Reads a 16-bit field, applies a delta, writes it back (stored checksums only). */
export function patchChecksum(buf: Uint8Array, off: number, delta: number): void {
  const c = applyDelta((buf[off] << 8) | buf[off + 1], delta);
  buf[off] = c >>> 8;
  buf[off + 1] = c & 0xff;
}

/** Recomputes an IPv4 header checksum in place (header at `off`, `hdrLen` bytes). */
export function ipv4HeaderChecksum(buf: Uint8Array, off: number, hdrLen: number): void {
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  const c = checksum(buf, off, hdrLen);
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c & 0xff;
}

// CRC32c (Castagnoli, reflected polynomial 0x82F63B78), table built once at module load.
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32c of bytes [off, off+len), as the unsigned 32-bit value (RFC 4960 appendix B). */
export function crc32c(buf: Uint8Array, off: number, len: number): number {
  let c = 0xffffffff;
  const end = off + len;
  for (let i = off; i < end; i++) c = CRC32C_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Recomputes the SCTP checksum of the packet [off, off+len) in place: the CRC is computed with the
 * field zeroed and stored least-significant byte first (RFC 4960 appendix B / kernel sctp_compute_cksum).
 */
export function sctpChecksum(buf: Uint8Array, off: number, len: number): void {
  buf[off + 8] = 0; buf[off + 9] = 0; buf[off + 10] = 0; buf[off + 11] = 0;
  const c = crc32c(buf, off, len);
  buf[off + 8] = c & 0xff;
  buf[off + 9] = (c >>> 8) & 0xff;
  buf[off + 10] = (c >>> 16) & 0xff;
  buf[off + 11] = c >>> 24;
}
