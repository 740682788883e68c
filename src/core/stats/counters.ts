// Per service, destination and total counters (spec §2.4, §5.4): connections scheduled, and
// packets/bytes in and out. Zeroing (-Z) keeps a snapshot as the new zero point, as the kernel's
// kstats0 does, so the rate estimator is not disturbed by the counters jumping.

export interface StatsSnapshot {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

/** Monotonic counters plus a zero point. Numbers are exact up to 2^53. */
export class StatsCounters {
  conns = 0;
  inPkts = 0;
  outPkts = 0;
  inBytes = 0;
  outBytes = 0;
  private zero: StatsSnapshot = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };

  /** The raw, never-zeroed counters (what the estimator reads). */
  raw(): StatsSnapshot {
    return { conns: this.conns, inPkts: this.inPkts, outPkts: this.outPkts, inBytes: this.inBytes, outBytes: this.outBytes };
  }

  /** The counters since the last zeroing (what `ipvsadm -L --stats` shows). */
  snapshot(): StatsSnapshot {
    const z = this.zero;
    return {
      conns: this.conns - z.conns,
      inPkts: this.inPkts - z.inPkts,
      outPkts: this.outPkts - z.outPkts,
      inBytes: this.inBytes - z.inBytes,
      outBytes: this.outBytes - z.outBytes,
    };
  }

  /** `ipvsadm -Z`: the current values become the zero point. */
  zeroCounters(): void {
    this.zero = this.raw();
  }
}
