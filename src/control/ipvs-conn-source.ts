// Adapts the engine's connection layer (Ipvs) to what the Director reads and changes.
import type { Ipvs } from '../core/conn/ipvs.js';
import type { ConnEntry } from '../core/conn/conn-view.js';
import type { ServiceTable } from '../core/service/service-table.js';
import type { ConnSource } from './director.js';
import type { ConnView } from './director-api.js';

/** The listing view the control plane uses, from an engine entry. */
export function toConnView(e: ConnEntry): ConnView {
  return {
    protocol: e.protocol, client: e.client, virtual: e.virtual, dest: e.dest,
    state: e.state, expiresS: e.expiresS, isTemplate: e.template,
  };
}

export function ipvsConnSource(ipvs: Ipvs, table: ServiceTable): ConnSource {
  return {
    connections(offset, limit) {
      const entries: ConnView[] = [];
      let i = 0;
      for (const e of ipvs.conns.entries()) {
        if (i >= offset && entries.length < limit) entries.push(toConnView(e));
        i++;
      }
      return { total: ipvs.conns.count, entries };
    },
    counters() {
      return { drops: { ...ipvs.drops }, conns: ipvs.conns.count, connsMax: ipvs.conns.maxConns };
    },
    getTimeouts() {
      const t = ipvs.getTimeouts();
      return { tcp: t.tcp, tcpfin: t.tcpfin, udp: t.udp };
    },
    setTimeouts(t) {
      ipvs.setTimeouts({ tcp: t.tcp, tcpfin: t.tcpfin, udp: t.udp });
    },
    destinationRemoved(destId) {
      const d = table.destById(destId);
      if (d) ipvs.destinationRemoved(d);
    },
    flush() {
      ipvs.flushConns();
    },
  };
}
