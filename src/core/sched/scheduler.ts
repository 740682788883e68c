// The scheduler contract (the kernel's struct ip_vs_scheduler, spec §1) and its registry.
// One file per scheduler implements SchedulerFactory; registerBuiltinSchedulers() lists them all.
// A schedule() that finds nothing returns undefined and never throws: the caller counts it.
import type { Clock } from '../clock.js';
import type { IpAddress } from '../net/addr.js';
import type { RandomSource } from '../random.js';
import type { Destination } from '../service/destination.js';
import type { Protocol } from '../service/types.js';
import type { VirtualService } from '../service/virtual-service.js';

/** What a scheduler may look at in the packet that starts a connection. */
export interface FlowInfo {
  readonly protocol: Protocol;
  readonly srcAddr: IpAddress;
  readonly srcPort: number;
  readonly dstAddr: IpAddress;
  readonly dstPort: number;
}

/** A change to a service's destination list or to one destination (add_dest/del_dest/upd_dest). */
export interface DestChange {
  readonly kind: 'add' | 'del' | 'upd';
  readonly dest: Destination;
  /** Index of the destination in svc.destinations: its new index for add/upd, its former one for del. */
  readonly index: number;
}

/** One scheduler instance, bound to one service (its state is the kernel's sched_data). */
export interface Scheduler {
  readonly name: string;
  /** Picks a destination for a new connection, or undefined when none is available. */
  schedule(svc: VirtualService, flow: FlowInfo): Destination | undefined;
  /** Called after svc.destinations (or a destination in it) changed. */
  onDestChange?(svc: VirtualService, change: DestChange): void;
  /** Called when the scheduler is unbound from its service. */
  dispose?(): void;
}

/** Services and tunables a scheduler may use; injected so the core stays pure. */
export interface SchedulerEnv {
  readonly clock: Clock;
  readonly random: RandomSource;
  /** Maglev lookup table size M, a prime (spec §1 mh; default 4093). */
  readonly mhTableSize: number;
  /** lblc_expiration / lblcr_expiration sysctls in seconds (default 86400). */
  readonly lblcExpirationS: number;
  readonly lblcrExpirationS: number;
}

/** Builds a scheduler for a service; `svc.destinations` may already hold destinations. */
export interface SchedulerFactory {
  readonly name: string;
  create(svc: VirtualService, env: SchedulerEnv): Scheduler;
  /**
   * Throws what create() would throw for this service, without building any state (the control
   * plane validates changes on a light copy of the table). Omitted when create() never throws.
   */
  validate?(svc: VirtualService, env: SchedulerEnv): void;
}

/** The primes the kernel allows for the mh table (CONFIG_IP_VS_MH_TAB_INDEX 8..17). */
export const MH_TABLE_PRIMES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
export const MH_DEFAULT_TABLE_SIZE = 4093;

/** Schedulers by name. */
export class SchedulerRegistry {
  private readonly factories = new Map<string, SchedulerFactory>();

  register(factory: SchedulerFactory): void {
    if (!factory.name || factory.name === 'none') throw new RangeError(`Cannot register a scheduler named '${factory.name}'`);
    if (this.factories.has(factory.name)) throw new RangeError(`Cannot register scheduler '${factory.name}' twice`);
    this.factories.set(factory.name, factory);
  }

  get(name: string): SchedulerFactory | undefined {
    return this.factories.get(name);
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  names(): string[] {
    return [...this.factories.keys()];
  }
}
