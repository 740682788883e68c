// The kernel's hsiphash() for a 4-byte input on 64-bit kernels (lib/siphash.c), used by mh (spec §1):
// SipHash-1-3 with two 64-bit key words, truncated to 32 bits. 32-bit kernels use HalfSipHash-1-3
// instead and get different results; tsvs follows the 64-bit kernels.
// 64-bit words are kept as (hi, lo) pairs of unsigned 32-bit numbers so the hot path needs no BigInt.

/** An hsiphash key (hsiphash_key_t): two 64-bit words, each split into 32-bit halves. */
export interface HsipKey {
  readonly k0hi: number;
  readonly k0lo: number;
  readonly k1hi: number;
  readonly k1lo: number;
}

/** Builds a key from its two 64-bit words. */
export function hsipKey(k0: bigint, k1: bigint): HsipKey {
  const m = 0xffffffffn;
  return { k0hi: Number((k0 >> 32n) & m), k0lo: Number(k0 & m), k1hi: Number((k1 >> 32n) & m), k1lo: Number(k1 & m) };
}

/** The fixed keys of ip_vs_mh.c generate_hash_secret (spec §1 mh): hash1 for offsets and lookups. */
export const MH_HASH1_KEY: HsipKey = hsipKey(2654435761n, 2654435761n);
/** hash2 of ip_vs_mh.c, for skips. */
export const MH_HASH2_KEY: HsipKey = hsipKey(2654446892n, 2654446892n);

// "somepseudorandomlygeneratedbytes", as (hi, lo) halves.
const C0H = 0x736f6d65, C0L = 0x70736575;
const C1H = 0x646f7261, C1L = 0x6e646f6d;
const C2H = 0x6c796765, C2L = 0x6e657261;
const C3H = 0x74656462, C3L = 0x79746573;

/**
 * hsiphash(&v, 4, key) on a 64-bit little-endian kernel: the u32 `v` is hashed as its 4 native
 * bytes, i.e. the final block is (4 << 56) | v; one compression round, three finalization rounds.
 */
export function hsiphash32(key: HsipKey, v: number): number {
  // The state lives in locals (hi/lo halves) so that V8 keeps it in registers.
  let v0h = (C0H ^ key.k0hi) >>> 0, v0l = (C0L ^ key.k0lo) >>> 0;
  let v1h = (C1H ^ key.k1hi) >>> 0, v1l = (C1L ^ key.k1lo) >>> 0;
  let v2h = (C2H ^ key.k0hi) >>> 0, v2l = (C2L ^ key.k0lo) >>> 0;
  let v3h = (C3H ^ key.k1hi) >>> 0, v3l = (C3L ^ key.k1lo) >>> 0;
  const bh = 0x04000000; // the length byte (4) in the top byte
  const bl = v >>> 0;
  v3h = (v3h ^ bh) >>> 0; v3l = (v3l ^ bl) >>> 0;
  let lo: number, t: number;
  for (let round = 0; round < 4; round++) {
    if (round === 1) {
      // After the single compression round: finish the block, start finalization.
      v0h = (v0h ^ bh) >>> 0; v0l = (v0l ^ bl) >>> 0;
      v2l = (v2l ^ 0xff) >>> 0;
    }
    // SipRound. v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
    lo = (v0l + v1l) >>> 0; v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0; v0l = lo;
    t = v1h; v1h = ((v1h << 13) | (v1l >>> 19)) >>> 0; v1l = ((v1l << 13) | (t >>> 19)) >>> 0;
    v1h = (v1h ^ v0h) >>> 0; v1l = (v1l ^ v0l) >>> 0;
    t = v0h; v0h = v0l; v0l = t;
    // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
    lo = (v2l + v3l) >>> 0; v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0; v2l = lo;
    t = v3h; v3h = ((v3h << 16) | (v3l >>> 16)) >>> 0; v3l = ((v3l << 16) | (t >>> 16)) >>> 0;
    v3h = (v3h ^ v2h) >>> 0; v3l = (v3l ^ v2l) >>> 0;
    // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
    lo = (v0l + v3l) >>> 0; v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0; v0l = lo;
    t = v3h; v3h = ((v3h << 21) | (v3l >>> 11)) >>> 0; v3l = ((v3l << 21) | (t >>> 11)) >>> 0;
    v3h = (v3h ^ v0h) >>> 0; v3l = (v3l ^ v0l) >>> 0;
    // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    lo = (v2l + v1l) >>> 0; v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0; v2l = lo;
    t = v1h; v1h = ((v1h << 17) | (v1l >>> 15)) >>> 0; v1l = ((v1l << 17) | (t >>> 15)) >>> 0;
    v1h = (v1h ^ v2h) >>> 0; v1l = (v1l ^ v2l) >>> 0;
    t = v2h; v2h = v2l; v2l = t;
  }
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}
