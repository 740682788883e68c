// A light mirror of the service table, kept by applying the same TableOps the engine gets, so the
// packet plane knows which VIPs to answer ARP/NDP for and which packets the kernel must not see
// (the nft exclusion rules): VIP:port of every service, and the replies of masq/full-NAT real servers.
import type { TableOp } from '../../control/director-api.js';
import type { IpAddress } from '../../core/net/addr.js';
import { formatIp } from '../../core/net/addr.js';
import { serviceKeyString } from '../../core/service/keys.js';
import type { DestConfig, Protocol, ServiceKey } from '../../core/service/types.js';

/** IP protocol numbers for the service protocols. */
export const PROTO_NUMBER: Readonly<Record<Protocol, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** An address, an IP protocol number and a port (0 = every port). */
export interface AddrProtoPort {
  readonly addr: IpAddress;
  readonly proto: number;
  readonly port: number;
}

interface ModelService {
  readonly key: ServiceKey;
  readonly dests: Map<string, DestConfig>;
}

/** Service keys and destinations, nothing else. */
export class ServiceModel {
  private readonly services = new Map<string, ModelService>();

  /** Applies ops in order; unknown services in dest ops are ignored (the engine reports those errors). */
  apply(ops: readonly TableOp[]): void {
    for (const op of ops) {
      switch (op.op) {
        case 'add-service':
        case 'edit-service': {
          const k = serviceKeyString(op.service.key);
          if (!this.services.has(k)) this.services.set(k, { key: op.service.key, dests: new Map() });
          break;
        }
        case 'delete-service':
          this.services.delete(serviceKeyString(op.key));
          break;
        case 'add-dest':
        case 'edit-dest':
          this.services.get(serviceKeyString(op.key))?.dests.set(`${formatIp(op.dest.addr)}:${op.dest.port}`, op.dest);
          break;
        case 'delete-dest':
          this.services.get(serviceKeyString(op.key))?.dests.delete(`${formatIp(op.addr)}:${op.port}`);
          break;
        case 'flush':
          this.services.clear();
          break;
        default:
          break;
      }
    }
  }

  /** Every address service's VIP, protocol and port. */
  vipPorts(): AddrProtoPort[] {
    const out: AddrProtoPort[] = [];
    for (const s of this.services.values()) {
      if (s.key.kind === 'addr') out.push({ addr: s.key.addr, proto: PROTO_NUMBER[s.key.protocol], port: s.key.port });
    }
    return out;
  }

  /** The distinct VIP addresses. */
  vips(): IpAddress[] {
    const seen = new Map<string, IpAddress>();
    for (const v of this.vipPorts()) seen.set(formatIp(v.addr), v.addr);
    return [...seen.values()];
  }

  /**
   * Real server endpoints whose replies tsvs rewrites: destinations with `method` (masq or
   * fullnat), with the service's protocol (fwmark services: tcp and udp both).
   */
  replySources(method: 'masq' | 'fullnat'): AddrProtoPort[] {
    const out = new Map<string, AddrProtoPort>();
    for (const s of this.services.values()) {
      const protos = s.key.kind === 'addr' ? [PROTO_NUMBER[s.key.protocol]] : [6, 17];
      for (const d of s.dests.values()) {
        if (d.method !== method) continue;
        const port = d.port === 0 && s.key.kind === 'addr' ? s.key.port : d.port;
        for (const proto of protos) out.set(`${formatIp(d.addr)}/${proto}/${port}`, { addr: d.addr, proto, port });
      }
    }
    return [...out.values()];
  }
}
