// Test support for the packet layer (not used by the engine): hex helpers and an independent,
// deliberately naive checksum verifier. It shares no code with checksum.ts / parse-frame.ts so a
// golden test can confirm every checksum of an output frame by full recomputation.

/** Hex text (whitespace ignored) to bytes. */
export function fromHex(text: string): Uint8Array {
  const t = text.replace(/\s+/g, '');
  const b = new Uint8Array(t.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return b;
}

/** Bytes [off, off+len) to lowercase hex. */
export function toHex(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = off; i < off + len; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

// Plain RFC 1071: add 16-bit words, pad the odd byte, fold at the end.
function naiveSum(parts: number[]): number {
  let s = 0;
  for (let i = 0; i < parts.length; i += 2) s += (parts[i] << 8) + (i + 1 < parts.length ? parts[i + 1] : 0);
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

function bytes(b: Uint8Array, from: number, to: number): number[] {
  return Array.from(b.subarray(from, to));
}

// Bitwise CRC32c (no table), RFC 4960 appendix B.
function naiveCrc32c(data: number[]): number {
  let c = 0xffffffff;
  for (const x of data) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c & 1) ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Recomputes every checksum in an Ethernet frame (IPv4 header, TCP/UDP/ICMP/ICMPv6 with their
 * pseudo-headers, SCTP CRC32c, GRE checksum, quoted IPv4 headers of ICMP errors) and descends into
 * IPIP / IPv6-in-IP / GRE / GUE (UDP port `guePort`) payloads. Returns the problems found (empty = all valid).
 */
export function verifyFrameChecksums(f: Uint8Array, guePort = 6080): string[] {
  const errs: string[] = [];
  let o = 12;
  let et = (f[o] << 8) | f[o + 1];
  while (et === 0x8100 || et === 0x88a8) { o += 4; et = (f[o] << 8) | f[o + 1]; }
  o += 2;
  if (et === 0x0800 || et === 0x86dd) checkIp(f, o, errs, 'outer', guePort);
  return errs;
}

function checkIp(f: Uint8Array, o: number, errs: string[], where: string, guePort: number): void {
  const v = f[o] >> 4;
  if (v === 4) {
    const hl = (f[o] & 15) * 4;
    if (naiveSum(bytes(f, o, o + hl)) !== 0xffff) errs.push(`${where}: IPv4 header checksum`);
    const tot = (f[o + 2] << 8) | f[o + 3];
    const frag = ((f[o + 6] << 8) | f[o + 7]) & 0x3fff;
    if (frag !== 0) return;
    const pseudo = [...bytes(f, o + 12, o + 20), 0, f[o + 9], (tot - hl) >> 8, (tot - hl) & 255];
    checkL4(f, f[o + 9], o + hl, o + tot, pseudo, 4, errs, where, guePort);
  } else if (v === 6) {
    const plen = (f[o + 4] << 8) | f[o + 5];
    const pseudo = [...bytes(f, o + 8, o + 40), 0, 0, plen >> 8, plen & 255, 0, 0, 0, f[o + 6]];
    checkL4(f, f[o + 6], o + 40, o + 40 + plen, pseudo, 6, errs, where, guePort);
  } else {
    errs.push(`${where}: not IP`);
  }
}

function checkL4(f: Uint8Array, proto: number, o: number, end: number, pseudo: number[], fam: number, errs: string[],
  where: string, guePort: number): void {
  const seg = bytes(f, o, end);
  if (proto === 6 || (proto === 58 && fam === 6)) {
    if (naiveSum([...pseudo, ...seg]) !== 0xffff) errs.push(`${where}: ${proto === 6 ? 'TCP' : 'ICMPv6'} checksum`);
    if (proto === 58 && f[o] < 128 && end - o >= 48) checkQuoted(f, o + 8, end, errs, where);
  } else if (proto === 17) {
    const c = (f[o + 6] << 8) | f[o + 7];
    if (!(c === 0 && fam === 4) && naiveSum([...pseudo, ...seg]) !== 0xffff) errs.push(`${where}: UDP checksum`);
    if (((f[o + 2] << 8) | f[o + 3]) === guePort) checkIp(f, o + 8 + 4 + (f[o + 8] & 0x1f) * 4, errs, `${where}/gue`, guePort);
  } else if (proto === 1) {
    if (naiveSum(seg) !== 0xffff) errs.push(`${where}: ICMP checksum`);
    if ([3, 4, 5, 11, 12].includes(f[o])) checkQuoted(f, o + 8, end, errs, where);
  } else if (proto === 132) {
    const z = [...seg];
    z[8] = z[9] = z[10] = z[11] = 0;
    const want = naiveCrc32c(z);
    const got = (f[o + 8] | (f[o + 9] << 8) | (f[o + 10] << 16) | (f[o + 11] << 24)) >>> 0;
    if (want !== got) errs.push(`${where}: SCTP CRC32c`);
  } else if (proto === 4 || proto === 41) {
    checkIp(f, o, errs, `${where}/ipip`, guePort);
  } else if (proto === 47) {
    const flags = (f[o] << 8) | f[o + 1];
    if ((flags & 0x8000) && naiveSum(seg) !== 0xffff) errs.push(`${where}: GRE checksum`);
    checkIp(f, o + 4 + ((flags & 0x8000) ? 4 : 0), errs, `${where}/gre`, guePort);
  }
}

// A quoted IPv4 header must carry a valid header checksum (ip_vs_nat_icmp recomputes it).
function checkQuoted(f: Uint8Array, q: number, end: number, errs: string[], where: string): void {
  if (f[q] >> 4 !== 4) return;
  const hl = (f[q] & 15) * 4;
  if (q + hl <= end && naiveSum(bytes(f, q, q + hl)) !== 0xffff) errs.push(`${where}: quoted IPv4 header checksum`);
}

/** The addresses and MACs the golden frames use (golden-frames.ts recipe), as bytes. */
export const FIX = {
  RTR: fromHex('020000000001'), DIR: fromHex('020000000002'), RSM: fromHex('020000000003'),
  C: fromHex('c612000a'), VIP: fromHex('c6120164'), RS: fromHex('c6120214'), DIP: fromHex('c6120201'), LIP: fromHex('c6120202'),
  RTRIP: fromHex('c6120001'),
  C6: fromHex('20010db8000100000000000000000010'), VIP6: fromHex('20010db8000200000000000000000100'),
  RS6: fromHex('20010db8000300000000000000000020'), DIP6: fromHex('20010db8000300000000000000000001'),
} as const;
