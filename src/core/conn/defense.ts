// The defense strategies (ip_vs_ctl.c update_defense_level, ip_vs_conn.c ip_vs_random_dropentry,
// ip_vs_core.c ip_vs_todrop; spec §2.10) driven by an injected memory signal instead of si_meminfo.
// Modes 0..3: off, auto (becomes 2 while memory is low), auto-active (back to 1 when it recovers),
// always. The sysctl values themselves move between 1 and 2, as the kernel's do.
import type { RandomSource } from '../random.js';
import { CF_TEMPLATE, CF_USED, CTPL_S_ASSURED, IPPROTO_SCTP, IPPROTO_TCP } from './conn-flags.js';
import type { ConnTable } from './conn-table.js';
import { SCTP_S_ESTABLISHED, SCTP_S_INIT, SCTP_S_INIT1 } from './sctp-state.js';
import type { Sysctls } from './sysctls.js';
import { TCP_S_ESTABLISHED, TCP_S_SYN_RECV, TCP_S_SYNACK } from './tcp-state.js';

/** An idle conn is only a drop candidate after this long (todrop_entry). */
const DROP_MIN_IDLE_MS = 60_000;

export class Defense {
  /** drop_entry is in force (the kernel's ipvs->dropentry). */
  dropEntryActive = false;
  /** drop_packet: drop 1 of every dropRate new-connection packets (0 = off). */
  dropRate = 0;
  private dropCounter = 0;
  /** todrop_entry's per-in_pkts counters (static in the kernel). */
  private readonly entryCounter = new Int8Array(9);

  constructor(private readonly sys: Sysctls) {}

  /** Whether TCP uses tcp_states_dos (secure_tcp >= 2 after evaluation, spec §2.5). */
  get secureTcp(): boolean {
    return this.sys.secure_tcp >= 2;
  }

  /** update_defense_level with `availablePages` = free + buffer pages. Runs every second and on writes. */
  update(availablePages: number): void {
    const s = this.sys;
    const thresh = Math.max(s.amemthresh, 0);
    const nomem = availablePages < thresh;
    switch (s.drop_entry) {
      case 0: this.dropEntryActive = false; break;
      case 1: this.dropEntryActive = nomem; if (nomem) s.drop_entry = 2; break;
      case 2: this.dropEntryActive = nomem; if (!nomem) s.drop_entry = 1; break;
      default: this.dropEntryActive = true;
    }
    // amemthresh / (amemthresh - availmem), C integer division; only evaluated while nomem.
    const autoRate = () => Math.trunc(thresh / (thresh - availablePages));
    switch (s.drop_packet) {
      case 0: this.dropRate = 0; break;
      case 1:
        if (nomem) { this.dropRate = this.dropCounter = autoRate(); s.drop_packet = 2; } else this.dropRate = 0;
        break;
      case 2:
        if (nomem) this.dropRate = this.dropCounter = autoRate();
        else { this.dropRate = 0; s.drop_packet = 1; }
        break;
      default: this.dropRate = s.am_droprate;
    }
    switch (s.secure_tcp) {
      case 1: if (nomem) s.secure_tcp = 2; break;
      case 2: if (!nomem) s.secure_tcp = 1; break;
      default: break;
    }
  }

  /** ip_vs_todrop: whether this new-connection packet is one of the 1-in-dropRate to drop. */
  todrop(): boolean {
    if (this.dropRate === 0) return false;
    if (--this.dropCounter > 0) return false;
    this.dropCounter = this.dropRate;
    return true;
  }

  /**
   * todrop_entry: an entry idle for >= 60 s with in_pkts 1..8 is dropped one time in in_pkts
   * (rate table {0,1,…,8}: in_pkts 0 or > 8 never).
   */
  todropEntry(t: ConnTable, slot: number, nowMs: number): boolean {
    if (t.timeout(slot) + nowMs < t.expiresMs(slot) + DROP_MIN_IDLE_MS) return false;
    const i = t.inPkts(slot);
    if (i > 8 || i === 0) return false;
    if (--this.entryCounter[i] > 0) return false;
    this.entryCounter[i] = i;
    return true;
  }

  /**
   * Whether ip_vs_random_dropentry would drop this entry: conns controlling others never;
   * templates of OPS services by the rate rule, other non-assured templates always; TCP
   * SYN_RECV/SYNACK and SCTP INIT1/INIT always; TCP/SCTP ESTABLISHED and every other protocol by
   * the rate rule.
   */
  shouldDrop(t: ConnTable, slot: number, nowMs: number): boolean {
    const f = t.flags(slot);
    if ((f & CF_USED) === 0 || t.nControl(slot) > 0) return false;
    const st = t.state(slot);
    if (f & CF_TEMPLATE) {
      const dest = t.destOf(slot);
      if (dest && dest.service.isOnePacket) return this.todropEntry(t, slot, nowMs);
      return (st & CTPL_S_ASSURED) === 0;
    }
    switch (t.proto(slot)) {
      case IPPROTO_TCP:
        if (st === TCP_S_SYN_RECV || st === TCP_S_SYNACK) return true;
        return st === TCP_S_ESTABLISHED && this.todropEntry(t, slot, nowMs);
      case IPPROTO_SCTP:
        if (st === SCTP_S_INIT1 || st === SCTP_S_INIT) return true;
        return st === SCTP_S_ESTABLISHED && this.todropEntry(t, slot, nowMs);
      default:
        return this.todropEntry(t, slot, nowMs);
    }
  }

  /**
   * One second of drop_entry: visits about 1/32 of the table (the kernel scans 1/32 of its hash
   * buckets) at random slots and calls `drop` for each entry shouldDrop accepts. Returns the count.
   */
  randomDropEntry(t: ConnTable, random: RandomSource, nowMs: number, drop: (slot: number) => void): number {
    if (t.highWater === 0) return 0;
    const visits = Math.ceil(t.highWater / 32);
    let n = 0;
    for (let i = 0; i < visits; i++) {
      const s = random.nextU32() % t.highWater; // the kernel masks get_random_u32() likewise
      if (this.shouldDrop(t, s, nowMs)) { drop(s); n++; }
    }
    return n;
  }
}
