// The C library behaviour ipvsadm's parsing and printing rely on, reproduced so that tsvsadm
// accepts and prints exactly what ipvsadm does: strtol/atoi number parsing, glibc's lenient
// inet_aton (octal, hex, fewer than four parts), glibc's inet_ntop for IPv6, and printf padding.
import { type IpAddress, ipv4FromU32, parseIpv6 } from '../../core/net/addr.js';

const C_SPACE = /^[ \t\n\v\f\r]$/;
const LONG_MAX = 2n ** 63n - 1n;
const LONG_MIN = -(2n ** 63n);

/** strtol(s, &end, 10) on a 64-bit long: the value (clamped), the end index, and ERANGE. */
export function strtol10(s: string): { value: bigint; end: number; erange: boolean } {
  let i = 0;
  while (i < s.length && C_SPACE.test(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') { neg = s[i] === '-'; i++; }
  const start = i;
  while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
  if (i === start) return { value: 0n, end: 0, erange: false };
  let v = BigInt(s.slice(start, i));
  if (neg) v = -v;
  if (v > LONG_MAX) return { value: LONG_MAX, end: i, erange: true };
  if (v < LONG_MIN) return { value: LONG_MIN, end: i, erange: true };
  return { value: v, end: i, erange: false };
}

/** ipvsadm's string_to_number: a whole-string decimal in [min, max], else -1. */
export function stringToNumber(s: string, min: number, max: number): number {
  const r = strtol10(s);
  if (r.end === s.length && r.end !== 0 && !r.erange && r.value >= BigInt(min) && r.value <= BigInt(max)) {
    return Number(r.value);
  }
  return -1;
}

/** atoi(s): leading decimal prefix, 0 when none (overflow behaviour is undefined in C; clamped). */
export function atoi(s: string): number {
  const r = strtol10(s);
  if (r.end === 0) return 0;
  const v = BigInt.asIntN(32, r.value);
  return Number(v);
}

/** ipvsadm's str_is_digit: true when every character is a digit (also for ""). */
export function strIsDigit(s: string): boolean {
  return /^[0-9]*$/.test(s);
}

const INET_ATON_MAX = [0xffffffff, 0xffffff, 0xffff, 0xff];

/**
 * glibc inet_aton: 1 to 4 parts separated by dots, each decimal, octal (leading 0) or hex (0x);
 * the last part fills the remaining bytes; anything after a whitespace character is ignored.
 * Returns the address, or undefined when inet_aton would return 0.
 */
export function inetAton(s: string): IpAddress | undefined {
  const parts: number[] = [];
  let i = 0;
  let c = s[i];
  let val = 0;
  let digit = false;
  for (;;) {
    if (c === undefined || c < '0' || c > '9') return undefined;
    val = 0;
    let base = 10;
    digit = false;
    if (c === '0') {
      c = s[++i];
      if (c === 'x' || c === 'X') { base = 16; c = s[++i]; } else { base = 8; digit = true; }
    }
    for (;;) {
      if (c !== undefined && c >= '0' && c <= '9') {
        if (base === 8 && (c === '8' || c === '9')) return undefined;
        val = val * base + (c.charCodeAt(0) - 48);
        c = s[++i];
        digit = true;
      } else if (base === 16 && c !== undefined && /^[0-9a-fA-F]$/.test(c)) {
        val = val * 16 + parseInt(c, 16);
        c = s[++i];
        digit = true;
      } else break;
      if (val > 0xffffffff) return undefined;
    }
    if (c === '.') {
      if (parts.length > 2 || val > 0xff) return undefined;
      parts.push(val);
      c = s[++i];
    } else break;
  }
  if (c !== undefined && !C_SPACE.test(c)) return undefined;
  if (!digit) return undefined;
  if (val > INET_ATON_MAX[parts.length]) return undefined;
  let v = val;
  for (let k = 0; k < parts.length; k++) v += parts[k] * 2 ** (24 - 8 * k);
  return ipv4FromU32(v >>> 0);
}

/** inet_pton(AF_INET6, s): the address, or undefined. */
export function inetPton6(s: string): IpAddress | undefined {
  return parseIpv6(s);
}

/**
 * glibc inet_ntop: dotted quad for IPv4; for IPv6 lowercase groups without leading zeros, the
 * longest run (first on ties) of two or more zero groups as "::", and the trailing dotted quad for
 * IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses.
 */
export function inetNtop(a: IpAddress): string {
  const b = a.bytes;
  if (a.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) best = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best !== -1 && i >= best && i < best + bestLen) {
      if (i === best) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += w[i].toString(16);
  }
  if (best !== -1 && best + bestLen === 8) out += ':';
  return out;
}

/** printf("%-Ns", s). */
export function padRight(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

/** printf("%Ns", s). */
export function padLeft(s: string, width: number): string {
  return s.length >= width ? s : ' '.repeat(width - s.length) + s;
}

/** A C `%d` of a value held in an int: the low 32 bits as a signed number. */
export function cInt(v: number): number {
  return v | 0;
}

/** A C `%u` of a value held in an unsigned int: the low 32 bits as an unsigned number. */
export function cUint(v: number): number {
  return v >>> 0;
}

/** printf("%0NX", v) for an unsigned value (uppercase hex, zero-padded). */
export function hexUpper(v: number | bigint, width: number): string {
  return BigInt(v).toString(16).toUpperCase().padStart(width, '0');
}
