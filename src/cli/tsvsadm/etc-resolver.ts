// A NameResolver from /etc/hosts and /etc/services: what ipvsadm's libc lookups find for local
// names, without DNS (a listing must never hang on a resolver). Read once, at construction.
import { readFileSync } from 'node:fs';
import { formatIp, parseIp, type IpAddress } from '../../core/net/addr.js';
import type { NameProto, NameResolver } from '../ipvsadm/resolver.js';

export class EtcResolver implements NameResolver {
  private readonly hostByAddr = new Map<string, string>();
  private readonly addrByHost = new Map<string, IpAddress>();
  private readonly serviceByPort = new Map<string, string>();
  private readonly portByService = new Map<string, number>();

  constructor(hostsText = readOr('/etc/hosts'), servicesText = readOr('/etc/services')) {
    for (const line of hostsText.split('\n')) {
      const words = line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
      if (words.length < 2) continue;
      const addr = parseIp(words[0]);
      if (!addr) continue;
      const key = formatIp(addr);
      if (!this.hostByAddr.has(key)) this.hostByAddr.set(key, words[1]);
      for (const name of words.slice(1)) if (addr.family === 4 && !this.addrByHost.has(name)) this.addrByHost.set(name, addr);
    }
    for (const line of servicesText.split('\n')) {
      const words = line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
      const m = words.length >= 2 ? /^([0-9]+)\/(tcp|udp|sctp)$/.exec(words[1]) : null;
      if (!m) continue;
      const port = Number(m[1]);
      const proto = m[2];
      if (!this.serviceByPort.has(`${port}/${proto}`)) this.serviceByPort.set(`${port}/${proto}`, words[0]);
      for (const name of [words[0], ...words.slice(2)]) if (!this.portByService.has(`${name}/${proto}`)) this.portByService.set(`${name}/${proto}`, port);
    }
  }

  host(addr: IpAddress): string | undefined {
    return this.hostByAddr.get(formatIp(addr));
  }
  service(port: number, proto: NameProto): string | undefined {
    return this.serviceByPort.get(`${port}/${proto}`);
  }
  hostToAddr(name: string): IpAddress | undefined {
    return this.addrByHost.get(name);
  }
  serviceToPort(name: string, proto: NameProto): number | undefined {
    return this.portByService.get(`${name}/${proto}`);
  }
}

function readOr(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}
