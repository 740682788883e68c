// How many upstream UDP sockets the proxy plane may hold at once. A UDP session keeps its own
// socket toward the real server for the udp timeout (300 s by default, spec §2.6), so a resolver
// sending each query from a fresh source port (DNS does) holds rate x 300 sockets: 100 queries a
// second exhaust a 20,000-descriptor limit in under four minutes, and then TCP services of the
// same process cannot accept either. The kernel's connection entries cost no descriptor; the
// proxy's do, so it bounds them and, at the bound, lets the idlest session go first (what
// conntrack's early drop and IPVS's drop_entry defense do with their tables under pressure).
import { readFileSync } from 'node:fs';

/** A count of sockets shared by every UDP listener of a plane. */
export class UdpSocketBudget {
  used = 0;

  constructor(readonly limit: number) {}

  /** Takes one socket; false when none is left. */
  take(): boolean {
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  give(): void {
    if (this.used > 0) this.used--;
  }
}

/** Half the process's descriptor limit (the rest is for TCP, listeners and Node), at least 64. */
export function defaultUdpSocketLimit(limitsText = readLimits()): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limitsText);
  const soft = m === null ? 4096 : m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
  return Math.max(64, Math.floor(soft / 2));
}

function readLimits(): string {
  try { return readFileSync('/proc/self/limits', 'utf8'); } catch { return ''; }
}
