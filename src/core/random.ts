// Randomness for the pure core, injected so that scheduling (twos) and simulations replay exactly.

/** A source of uniform random 32-bit integers. */
export interface RandomSource {
  /** A uniform integer in [0, 2^32). */
  nextU32(): number;
}

/** A uniform integer in [0, bound) — the kernel's get_random_u32_below(bound). bound >= 1. */
export function randomBelow(rng: RandomSource, bound: number): number {
  // Lemire's multiply-shift with rejection, as the kernel does, so the result is unbiased.
  if (bound <= 1) return 0;
  if (bound <= 0x200000) {
    // x * bound < 2^53: plain numbers are exact, and much faster than BigInt.
    let m = rng.nextU32() * bound;
    let low = m % 0x100000000;
    if (low < bound) {
      const threshold = (0x100000000 - bound) % bound;
      while (low < threshold) {
        m = rng.nextU32() * bound;
        low = m % 0x100000000;
      }
    }
    return Math.floor(m / 0x100000000);
  }
  const b = BigInt(bound);
  let m = BigInt(rng.nextU32()) * b;
  let low = Number(m & 0xffffffffn);
  if (low < bound) {
    const threshold = (2 ** 32 - bound) % bound;
    while (low < threshold) {
      m = BigInt(rng.nextU32()) * b;
      low = Number(m & 0xffffffffn);
    }
  }
  return Number(m >> 32n);
}

/** A small, fast, seedable generator (SplitMix32 variant of Mulberry32). Not cryptographic. */
export class SeededRandom implements RandomSource {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextU32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
