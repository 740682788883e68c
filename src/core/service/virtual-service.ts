// A virtual service (the kernel's struct ip_vs_service): key, scheduling settings, the
// destination list in kernel order (newest first, spec §1) and the bound scheduler instance.
import { type IpAddress, ipv4FromU32, prefixMask } from '../net/addr.js';
import type { Scheduler } from '../sched/scheduler.js';
import { StatsCounters } from '../stats/counters.js';
import type { Destination } from './destination.js';
import {
  SVC_F_ONEPACKET, SVC_F_PERSISTENT, serviceFamily,
  type ServiceConfig, type ServiceKey,
} from './types.js';

export class VirtualService {
  readonly key: ServiceKey;
  scheduler: string;
  flags: number;
  timeoutS: number;
  netmask: number;
  pe: string | undefined;
  /** Newest first, as the kernel's list_add_rcu keeps them. */
  readonly destinations: Destination[] = [];
  /** The bound scheduler instance; undefined for scheduler "none". */
  sched: Scheduler | undefined;
  readonly stats = new StatsCounters();
  /** Unique for the life of the table. */
  readonly id: number;

  constructor(id: number, cfg: ServiceConfig) {
    this.id = id;
    this.key = cfg.key;
    this.scheduler = cfg.scheduler;
    this.flags = cfg.flags;
    this.timeoutS = cfg.timeoutS;
    this.netmask = cfg.netmask;
    this.pe = cfg.pe;
  }

  get isPersistent(): boolean {
    return (this.flags & SVC_F_PERSISTENT) !== 0;
  }

  /** One-packet scheduling (only effective for UDP, spec §2.8). */
  get isOnePacket(): boolean {
    return (this.flags & SVC_F_ONEPACKET) !== 0;
  }

  get family(): 4 | 6 {
    return serviceFamily(this.key);
  }

  /** The persistence granularity as an address mask of the service's family (spec §2.7). */
  persistenceMask(): IpAddress {
    return this.family === 4 ? ipv4FromU32(this.netmask >>> 0) : prefixMask(6, this.netmask);
  }

  /** The service's port (0 for fwmark services). */
  get port(): number {
    return this.key.kind === 'addr' ? this.key.port : 0;
  }

  config(): ServiceConfig {
    return { key: this.key, scheduler: this.scheduler, flags: this.flags, timeoutS: this.timeoutS, netmask: this.netmask, pe: this.pe };
  }
}
