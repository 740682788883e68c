// Per service, destination and total counters (spec §2.4, §5.4): connections scheduled, and
// packets/bytes in and out, plus the kernel's rate estimator state (spec §5.8). Zeroing (-Z) keeps
// a snapshot as the new zero point, as the kernel's kstats0 does, and zeroes the estimator.

export interface StatsSnapshot {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

/** Per-second rates as `ipvsadm --rate` shows them. */
export interface Rates {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

const ZERO: StatsSnapshot = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };

/** Monotonic counters plus a zero point and the estimator's smoothed averages. Exact up to 2^53. */
export class StatsCounters {
  conns = 0;
  inPkts = 0;
  outPkts = 0;
  inBytes = 0;
  outBytes = 0;
  private zero: StatsSnapshot = ZERO;
  // Estimator state (ip_vs_est.c): counts at the last 2-second tick and the scaled averages:
  // conns/pkts scaled by 2^10, bytes by 2^5.
  private last: StatsSnapshot = ZERO;
  private avgCps = 0;
  private avgInpps = 0;
  private avgOutpps = 0;
  private avgInbps = 0;
  private avgOutbps = 0;

  /** The raw, never-zeroed counters. */
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

  /** `ipvsadm -Z`: the current values become the zero point and the estimator restarts. */
  zeroCounters(): void {
    this.zero = this.raw();
    this.last = this.zero;
    this.avgCps = this.avgInpps = this.avgOutpps = this.avgInbps = this.avgOutbps = 0;
  }

  /**
   * One 2-second estimator period (spec §5.8): rate = delta << 9 (pkts, conns) or << 4 (bytes),
   * avg += (rate - avg) >> 2 with an arithmetic shift. Multiplication and floor keep JS numbers
   * exact where the kernel uses 64-bit shifts.
   */
  estimatorStep(): void {
    const now = this.raw();
    const l = this.last;
    this.avgCps += Math.floor(((now.conns - l.conns) * 512 - this.avgCps) / 4);
    this.avgInpps += Math.floor(((now.inPkts - l.inPkts) * 512 - this.avgInpps) / 4);
    this.avgOutpps += Math.floor(((now.outPkts - l.outPkts) * 512 - this.avgOutpps) / 4);
    this.avgInbps += Math.floor(((now.inBytes - l.inBytes) * 16 - this.avgInbps) / 4);
    this.avgOutbps += Math.floor(((now.outBytes - l.outBytes) * 16 - this.avgOutbps) / 4);
    this.last = now;
  }

  /** The estimator's read-out with the kernel's rounding: (avg + 0x1FF) >> 10, bytes (avg + 0xF) >> 5. */
  rates(): Rates {
    return {
      cps: Math.floor((this.avgCps + 0x1ff) / 1024),
      inpps: Math.floor((this.avgInpps + 0x1ff) / 1024),
      outpps: Math.floor((this.avgOutpps + 0x1ff) / 1024),
      inbps: Math.floor((this.avgInbps + 0xf) / 32),
      outbps: Math.floor((this.avgOutbps + 0xf) / 32),
    };
  }
}
