// A real server of a virtual service (the kernel's struct ip_vs_dest): its configuration, its
// connection counters and the overload flag, which the connection layer moves through
// bindConn/unbindConn exactly as ip_vs_bind_dest/ip_vs_unbind_dest do (spec §1 "Overload flag").
import type { IpAddress } from '../net/addr.js';
import { StatsCounters } from '../stats/counters.js';
import { DEST_F_AVAILABLE, DEST_F_EXCLUDED, DEST_F_OVERLOAD, type DestConfig, type ForwardMethod, type TunnelCsum, type TunnelType } from './types.js';
import type { VirtualService } from './virtual-service.js';

/**
 * The bits every scheduler skips, as one module constant: this getter runs on every decision, and
 * V8 loads an imported binding on each access (a mask of two imports made lc, sed and nq 8-15 %
 * slower than one of this module's own: bench/RESULTS.md).
 */
const SKIPPED = DEST_F_OVERLOAD | DEST_F_EXCLUDED;

/** How a connection counts against its destination. */
export type ConnCountKind = 'active' | 'inactive' | 'template';

export class Destination {
  /** Unique for the life of the table (also across trash and revival); connections refer to it. */
  readonly id: number;
  readonly addr: IpAddress;
  readonly port: number;
  service: VirtualService;
  method: ForwardMethod = 'droute';
  weight = 1;
  /** Latest non-zero weight (or the weight it was added with), used by mh (spec §1). */
  lastWeight = 1;
  uThreshold = 0;
  lThreshold = 0;
  tunType: TunnelType = 'ipip';
  tunPort = 0;
  tunCsum: TunnelCsum = 'nocsum';
  /** DEST_F_AVAILABLE | DEST_F_OVERLOAD. */
  flags = 0;
  activeConns = 0;
  inactConns = 0;
  persistConns = 0;
  readonly stats = new StatsCounters();
  /** When it went to the trash (ms on the table's clock), or -1 while live. */
  trashedAtMs = -1;

  constructor(id: number, service: VirtualService, cfg: DestConfig) {
    this.id = id;
    this.service = service;
    this.addr = cfg.addr;
    this.port = cfg.port;
    this.apply(cfg, true);
  }

  /** Applies -a/-e settings (the kernel's __ip_vs_update_dest). */
  apply(cfg: DestConfig, add: boolean): void {
    if (add || cfg.weight !== 0) this.lastWeight = cfg.weight;
    this.weight = cfg.weight;
    this.method = cfg.method;
    this.tunType = cfg.tunType;
    this.tunPort = cfg.tunPort;
    this.tunCsum = cfg.tunCsum;
    this.flags |= DEST_F_AVAILABLE;
    if (cfg.uThreshold === 0 || cfg.uThreshold > this.uThreshold) this.flags &= ~DEST_F_OVERLOAD;
    this.uThreshold = cfg.uThreshold;
    this.lThreshold = cfg.lThreshold;
  }

  get isAvailable(): boolean {
    return (this.flags & DEST_F_AVAILABLE) !== 0;
  }

  /** What every scheduler skips: OVERLOAD, or excluded for the current call (withExcluded). */
  get isSkipped(): boolean {
    return (this.flags & SKIPPED) !== 0;
  }

  /** Over its upper connection threshold (IP_VS_DEST_F_OVERLOAD), until it falls below the lower one. */
  get isOverloaded(): boolean {
    return (this.flags & DEST_F_OVERLOAD) !== 0;
  }

  /** active + inactive: what thresholds compare against (templates do not count). */
  get totalConns(): number {
    return this.activeConns + this.inactConns;
  }

  /** The kernel's load metric for lc/wlc/lblc/lblcr/twos: active*256 + inactive (spec §1). */
  get overhead(): number {
    return this.activeConns * 256 + this.inactConns;
  }

  /** A connection (or template) now points here: count it and maybe set OVERLOAD (ip_vs_bind_dest). */
  bindConn(kind: ConnCountKind): void {
    if (kind === 'template') this.persistConns++;
    else if (kind === 'inactive') this.inactConns++;
    else this.activeConns++;
    if (this.uThreshold !== 0 && this.totalConns >= this.uThreshold) this.flags |= DEST_F_OVERLOAD;
  }

  /** A connection (or template) let go: uncount it and maybe clear OVERLOAD (ip_vs_unbind_dest). */
  unbindConn(kind: ConnCountKind): void {
    if (kind === 'template') this.persistConns--;
    else if (kind === 'inactive') this.inactConns--;
    else this.activeConns--;
    if (this.lThreshold !== 0) {
      if (this.totalConns < this.lThreshold) this.flags &= ~DEST_F_OVERLOAD;
    } else if (this.uThreshold !== 0) {
      if (this.totalConns * 4 < this.uThreshold * 3) this.flags &= ~DEST_F_OVERLOAD;
    } else {
      this.flags &= ~DEST_F_OVERLOAD;
    }
  }

  /** A bound connection moved between active and inactive (protocol state change, spec §2.5). */
  moveConn(from: 'active' | 'inactive', to: 'active' | 'inactive'): void {
    if (from === to) return;
    if (from === 'active') { this.activeConns--; this.inactConns++; }
    else { this.inactConns--; this.activeConns++; }
  }

  /** The DestConfig this destination currently has. */
  config(): DestConfig {
    return {
      addr: this.addr, port: this.port, method: this.method, weight: this.weight,
      uThreshold: this.uThreshold, lThreshold: this.lThreshold,
      tunType: this.tunType, tunPort: this.tunPort, tunCsum: this.tunCsum,
    };
  }
}

/**
 * Runs `fn` (a scheduling step) with `dests` skipped by every scheduler, as if OVERLOADed (spec §1):
 * a retry after a failed connect must not go back to the destinations that failed it. The real
 * OVERLOAD is left to binding and unbinding, also when they change it during the call.
 */
export function withExcluded<T>(dests: readonly Destination[], fn: () => T): T {
  for (const d of dests) d.flags |= DEST_F_EXCLUDED;
  try {
    return fn();
  } finally {
    for (const d of dests) d.flags &= ~DEST_F_EXCLUDED;
  }
}
