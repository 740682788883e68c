// The real-server pool of one virtual service as keepalived's ipwrapper.c drives it (spec §7.2).
// Pure: no I/O, no timers. Checker states go in; desired destination changes come out through a
// callback, for the daemon's single apply path, plus notices for notify/quorum scripts.
//  * a real server is alive iff all its checkers are up; alpha starts every checker down;
//  * a dead one is removed, or kept at weight 0 with inhibit_on_failure;
//  * quorum: weight_sum of alive servers against quorum ± hysteresis; while quorum is down a
//    sorry_server replaces the pool (sorry_server_inhibit keeps it at weight 0 otherwise).
// The kernel state is derived from this logical state and diffed, so each change is emitted once.
import { formatEndpoint, type Endpoint } from '../../core/net/addr.js';
import type { ServiceKey } from '../../core/service/types.js';

/** One real_server block as the health side needs it. */
export interface RealServerSpec {
  /** Its address and port. */
  readonly dest: Endpoint;
  /** Configured weight; default 1. */
  readonly weight?: number;
  /** inhibit_on_failure: weight 0 instead of removal. */
  readonly inhibitOnFailure?: boolean;
  /** Ids of its checkers (any strings unique within the server). */
  readonly checkers?: readonly string[];
  /** alpha for this server; default the virtual service's. */
  readonly alpha?: boolean;
}

/** The health-related part of one virtual_server block. */
export interface VirtualServiceHealthSpec {
  /** The service the destinations belong to; echoed in every event. */
  readonly service: ServiceKey;
  /** Its real servers. */
  readonly realServers: readonly RealServerSpec[];
  /** alpha: real servers start with every checker down. */
  readonly alpha?: boolean;
  /** quorum; default 1, capped to the sum of configured weights. */
  readonly quorum?: number;
  /** hysteresis; default 0, forced below quorum. */
  readonly hysteresis?: number;
  /** sorry_server. */
  readonly sorryServer?: Endpoint;
  /** sorry_server_inhibit: keep the sorry server at weight 0 while quorum is up. */
  readonly sorryServerInhibit?: boolean;
  /** omega: run down notices (rs-down, quorum-down) on shutdown too. */
  readonly omega?: boolean;
}

/** Whether a destination is a real server or the sorry server. */
export type DestRole = 'real' | 'sorry';

/** A change the daemon must apply to IPVS. */
export type DestChange =
  | { readonly kind: 'add'; readonly service: ServiceKey; readonly dest: Endpoint; readonly weight: number; readonly role: DestRole }
  | { readonly kind: 'set-weight'; readonly service: ServiceKey; readonly dest: Endpoint; readonly weight: number; readonly role: DestRole }
  | { readonly kind: 'remove'; readonly service: ServiceKey; readonly dest: Endpoint; readonly role: DestRole };

/** Events for notify_up/notify_down and quorum_up/quorum_down scripts. */
export type HealthNotice =
  | { readonly kind: 'rs-up' | 'rs-down'; readonly service: ServiceKey; readonly dest: Endpoint; readonly stopping: boolean }
  | {
      readonly kind: 'quorum-up' | 'quorum-down';
      readonly service: ServiceKey;
      readonly weightSum: number;
      readonly threshold: number;
      /** True for keepalived's "Starting with quorum down". */
      readonly init: boolean;
      readonly stopping: boolean;
    };

/** Where a RealServerState sends its output. */
export interface RealServerStateHooks {
  /** Receives every destination change, in the order to apply them. */
  readonly onChange: (c: DestChange) => void;
  /** Receives notices for scripts and logs. */
  readonly onNotice?: (n: HealthNotice) => void;
}

/** A destination as the kernel should have it. */
export interface DesiredDest {
  readonly dest: Endpoint;
  readonly weight: number;
  readonly role: DestRole;
}

/** A read-only view for the API and tests. */
export interface ServiceHealthSnapshot {
  readonly quorumUp: boolean;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly weightSum: number;
  readonly sorryActive: boolean;
  readonly realServers: readonly { readonly dest: Endpoint; readonly alive: boolean; readonly weight: number; readonly failedCheckers: readonly string[] }[];
  readonly desired: readonly DesiredDest[];
}

/** The weight IPVS gives a sorry server (keepalived's default real-server weight). */
export const SORRY_SERVER_WEIGHT = 1;

interface RsEntry {
  readonly dest: Endpoint;
  readonly key: string;
  readonly inhibit: boolean;
  readonly checkers: ReadonlySet<string>;
  readonly failed: Set<string>;
  weight: number;
  alive: boolean;
}

/** The health state of one virtual service's pool. Call start(), then feed checker states. */
export class RealServerState {
  /** The effective quorum after keepalived's capping. */
  readonly quorum: number;
  /** The effective hysteresis after keepalived's capping. */
  readonly hysteresis: number;
  private readonly spec: VirtualServiceHealthSpec;
  private readonly hooks: RealServerStateHooks;
  private readonly servers: RsEntry[] = [];
  private readonly byKey = new Map<string, RsEntry>();
  private quorumUp = false;
  private started = false;
  private stopped = false;
  private applied = new Map<string, DesiredDest>();

  /** @param spec the virtual service; validated here (RangeError naming the field) */
  constructor(spec: VirtualServiceHealthSpec, hooks: RealServerStateHooks) {
    this.spec = spec;
    this.hooks = hooks;
    for (const rs of spec.realServers) {
      const key = formatEndpoint(rs.dest.addr, rs.dest.port);
      const weight = rs.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 0) {
        throw new RangeError(`Cannot add real server ${key} as weight must be an integer >= 0: current value is ${weight}`);
      }
      if (this.byKey.has(key)) throw new RangeError(`Cannot add real server ${key} as it is listed twice in the virtual service`);
      const checkers = new Set(rs.checkers ?? []);
      // spec §7.2: with alpha, checkers start down, so the server is not alive until they pass.
      const alpha = rs.alpha ?? spec.alpha ?? false;
      const e: RsEntry = { dest: rs.dest, key, inhibit: rs.inhibitOnFailure ?? false, checkers, failed: new Set(alpha ? checkers : []), weight, alive: false };
      e.alive = e.failed.size === 0;
      this.servers.push(e);
      this.byKey.set(key, e);
    }
    if (spec.sorryServer && this.byKey.has(formatEndpoint(spec.sorryServer.addr, spec.sorryServer.port))) {
      throw new RangeError(`Cannot use sorry server ${formatEndpoint(spec.sorryServer.addr, spec.sorryServer.port)} as it is also a real server`);
    }
    const quorum = spec.quorum ?? 1;
    const hysteresis = spec.hysteresis ?? 0;
    if (!Number.isInteger(quorum) || quorum < 1) throw new RangeError(`Cannot use quorum as it must be an integer >= 1: current value is ${quorum}`);
    if (!Number.isInteger(hysteresis) || hysteresis < 0) {
      throw new RangeError(`Cannot use hysteresis as it must be an integer >= 0: current value is ${hysteresis}`);
    }
    // spec §7.1: quorum is capped to the sum of weights, hysteresis forced below quorum.
    const total = this.servers.reduce((s, e) => s + e.weight, 0);
    this.quorum = Math.max(1, Math.min(quorum, total));
    this.hysteresis = Math.min(hysteresis, this.quorum - 1);
  }

  /** Programs the initial pool (keepalived's init_service_vs); emits the adds. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // set_quorum_states: up iff the alive weight reaches quorum + hysteresis.
    const sum = this.weightSum();
    this.quorumUp = sum >= this.quorum + this.hysteresis;
    if (!this.quorumUp && this.spec.sorryServer) {
      this.notice({ kind: 'quorum-down', service: this.spec.service, weightSum: sum, threshold: this.quorum + this.hysteresis, init: true, stopping: false });
    }
    this.sync();
  }

  /** Records one checker's state (a runner transition); may emit changes and notices. */
  setCheckerState(dest: Endpoint, checkerId: string, up: boolean): void {
    const e = this.entry(dest);
    if (!e.checkers.has(checkerId)) throw new RangeError(`Cannot update checker '${checkerId}' of ${e.key} as the real server has no such checker`);
    if (up) e.failed.delete(checkerId);
    else e.failed.add(checkerId);
    const alive = e.failed.size === 0;
    if (alive !== e.alive) {
      e.alive = alive;
      this.notice({ kind: alive ? 'rs-up' : 'rs-down', service: this.spec.service, dest: e.dest, stopping: false });
      this.updateQuorum();
    }
    this.sync();
  }

  /** Sets a server's weight (MISC_CHECK misc_dynamic, spec §7.2); may change quorum. */
  setWeight(dest: Endpoint, weight: number): void {
    if (!Number.isInteger(weight) || weight < 0) throw new RangeError(`Cannot set weight of ${formatEndpoint(dest.addr, dest.port)} as it must be an integer >= 0: current value is ${weight}`);
    const e = this.entry(dest);
    if (e.weight === weight) return;
    e.weight = weight;
    this.updateQuorum();
    this.sync();
  }

  /** Applies a runner transition (HealthTransition): its dynamic weight if any, then its state. */
  applyTransition(dest: Endpoint, checkerId: string, t: { readonly up: boolean; readonly weight?: number }): void {
    if (t.up && t.weight !== undefined) this.setWeight(dest, t.weight);
    this.setCheckerState(dest, checkerId, t.up);
  }

  /** Removes every destination (inhibited ones too); with omega also sends the down notices. */
  shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    const sum = this.weightSum();
    this.sync();
    if (!this.spec.omega) return;
    for (const e of this.servers) {
      if (e.alive) this.notice({ kind: 'rs-down', service: this.spec.service, dest: e.dest, stopping: true });
    }
    this.quorumUp = false;
    this.notice({ kind: 'quorum-down', service: this.spec.service, weightSum: sum, threshold: this.quorum - this.hysteresis, init: false, stopping: true });
  }

  /** What the kernel should hold now (real servers in config order, then the sorry server). */
  desired(): DesiredDest[] {
    if (!this.started || this.stopped) return [];
    const out: DesiredDest[] = [];
    const sorry = this.spec.sorryServer;
    // While quorum is down with a sorry server, the sorry server replaces the pool (spec §7.2).
    const poolInKernel = this.quorumUp || !sorry;
    for (const e of this.servers) {
      if (e.alive && poolInKernel) out.push({ dest: e.dest, weight: e.weight, role: 'real' });
      else if (e.inhibit) out.push({ dest: e.dest, weight: 0, role: 'real' });
    }
    if (sorry) {
      if (!this.quorumUp) out.push({ dest: sorry, weight: SORRY_SERVER_WEIGHT, role: 'sorry' });
      else if (this.spec.sorryServerInhibit) out.push({ dest: sorry, weight: 0, role: 'sorry' });
    }
    return out;
  }

  /** A read-only view of the state. */
  snapshot(): ServiceHealthSnapshot {
    return {
      quorumUp: this.quorumUp,
      quorum: this.quorum,
      hysteresis: this.hysteresis,
      weightSum: this.weightSum(),
      sorryActive: !!this.spec.sorryServer && this.started && !this.stopped && !this.quorumUp,
      realServers: this.servers.map((e) => ({ dest: e.dest, alive: e.alive, weight: e.weight, failedCheckers: [...e.failed] })),
      desired: this.desired(),
    };
  }

  private entry(dest: Endpoint): RsEntry {
    const key = formatEndpoint(dest.addr, dest.port);
    const e = this.byKey.get(key);
    if (!e) throw new RangeError(`Cannot update real server ${key} as it is not in the virtual service`);
    return e;
  }

  private weightSum(): number {
    return this.servers.reduce((s, e) => (e.alive ? s + Math.max(0, e.weight) : s), 0);
  }

  // keepalived's update_quorum_state: threshold quorum + hysteresis while down, − while up;
  // lost also when no alive weight is left at all.
  private updateQuorum(): void {
    if (!this.started || this.stopped) return;
    const sum = this.weightSum();
    const threshold = this.quorum + (this.quorumUp ? -this.hysteresis : this.hysteresis);
    if (!this.quorumUp && sum >= threshold) {
      this.quorumUp = true;
      this.notice({ kind: 'quorum-up', service: this.spec.service, weightSum: sum, threshold, init: false, stopping: false });
    } else if (this.quorumUp && (sum === 0 || sum < threshold)) {
      this.quorumUp = false;
      this.notice({ kind: 'quorum-down', service: this.spec.service, weightSum: sum, threshold, init: false, stopping: false });
    }
  }

  // Diffs the desired table against what was last emitted: removals, then weight edits, then adds.
  private sync(): void {
    if (!this.started) return;
    const next = new Map<string, DesiredDest>();
    for (const d of this.desired()) next.set(formatEndpoint(d.dest.addr, d.dest.port), d);
    const service = this.spec.service;
    const out: DestChange[] = [];
    for (const [k, d] of this.applied) if (!next.has(k)) out.push({ kind: 'remove', service, dest: d.dest, role: d.role });
    for (const [k, d] of next) {
      const was = this.applied.get(k);
      if (was && was.weight !== d.weight) out.push({ kind: 'set-weight', service, dest: d.dest, weight: d.weight, role: d.role });
    }
    for (const [k, d] of next) if (!this.applied.has(k)) out.push({ kind: 'add', service, dest: d.dest, weight: d.weight, role: d.role });
    this.applied = next;
    for (const c of out) this.hooks.onChange(c);
  }

  private notice(n: HealthNotice): void {
    this.hooks.onNotice?.(n);
  }
}
