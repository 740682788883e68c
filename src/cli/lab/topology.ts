// The lab's topology, one for every forwarding mode (spec §9 builds a similar one for the kernel
// selftest), all addresses from 198.18.0.0/15:
//
//   tsvs-lab-client            tsvs-lab-router                       server LAN (bridge br0 in the router)
//   eth0 198.18.0.2/24 ---- client0 198.18.0.1/24                  +-- tsvs-lab-director eth0 198.18.1.2/24
//   default via .0.1          br0     198.18.1.1/24 ---------------+-- tsvs-lab-rs1      eth0 198.18.1.11/24
//                             ip_forward=1                         +-- tsvs-lab-rsN      eth0 198.18.1.(10+N)/24
//
// VIP 198.18.1.100 lies on the server LAN: the router ARPs for it and the director (tsvs's packet
// plane) answers. DR/TUN/full NAT real servers route via the router (replies bypass the director
// in DR/TUN); NAT real servers route via the director, which rewrites their replies.

import { LinuxSysNet } from '../../control/sysnet/linux.js';

/** Lab forwarding modes. */
export type LabMode = 'nat' | 'dr' | 'tun' | 'fullnat';

/** Names and addresses of the lab. */
export const LAB = {
  client: 'tsvs-lab-client',
  router: 'tsvs-lab-router',
  director: 'tsvs-lab-director',
  clientIp: '198.18.0.2',
  routerClientIp: '198.18.0.1',
  routerLanIp: '198.18.1.1',
  directorIp: '198.18.1.2',
  vip: '198.18.1.100',
  iface: 'eth0',
  gueDefaultPort: 6080,
} as const;

/** Namespace of real server i (1-based). */
export function rsName(i: number): string {
  return `tsvs-lab-rs${i}`;
}

/** Address of real server i (1-based): 198.18.1.11, .12, ... */
export function rsIp(i: number): string {
  return `198.18.1.${10 + i}`;
}

/** Creates a namespace with lo up; `record` is called as soon as it exists (so a failure can remove it). */
export async function addNamespace(name: string, record: (ns: string) => void): Promise<LinuxSysNet> {
  const host = new LinuxSysNet();
  await host.ip(['netns', 'add', name]);
  record(name);
  const net = new LinuxSysNet(name);
  await net.setLinkUp('lo', true);
  return net;
}

/** A veth pair with one end in each namespace. */
async function veth(nsA: string, nameA: string, nsB: string, nameB: string): Promise<void> {
  await new LinuxSysNet().ip(['link', 'add', nameA, 'netns', nsA, 'type', 'veth', 'peer', 'name', nameB, 'netns', nsB]);
}

/** Builds the whole topology for `servers` real servers; `record` learns every namespace created. */
export async function buildTopology(mode: LabMode, servers: number, record: (ns: string) => void): Promise<void> {
  const client = await addNamespace(LAB.client, record);
  const router = await addNamespace(LAB.router, record);
  const director = await addNamespace(LAB.director, record);

  await veth(LAB.client, LAB.iface, LAB.router, 'client0');
  await client.ip(['addr', 'add', `${LAB.clientIp}/24`, 'dev', LAB.iface]);
  await client.setLinkUp(LAB.iface, true);
  await client.ip(['route', 'add', 'default', 'via', LAB.routerClientIp]);

  await router.ip(['addr', 'add', `${LAB.routerClientIp}/24`, 'dev', 'client0']);
  await router.setLinkUp('client0', true);
  await router.ip(['link', 'add', 'br0', 'type', 'bridge']);
  await router.ip(['addr', 'add', `${LAB.routerLanIp}/24`, 'dev', 'br0']);
  await router.setLinkUp('br0', true);
  await router.setSysctl('net.ipv4.ip_forward', '1');

  const lanPort = async (port: string, ns: string, net: LinuxSysNet, ip: string, gw: string): Promise<void> => {
    await veth(LAB.router, port, ns, LAB.iface);
    await router.ip(['link', 'set', port, 'master', 'br0']);
    await router.setLinkUp(port, true);
    await net.ip(['addr', 'add', `${ip}/24`, 'dev', LAB.iface]);
    await net.setLinkUp(LAB.iface, true);
    await net.ip(['route', 'add', 'default', 'via', gw]);
  };
  await lanPort('lan-dir', LAB.director, director, LAB.directorIp, LAB.routerLanIp);
  for (let i = 1; i <= servers; i++) {
    const rs = await addNamespace(rsName(i), record);
    // NAT: replies must pass through the director to get the VIP back as source (spec §3.1).
    await lanPort(`lan-rs${i}`, rsName(i), rs, rsIp(i), mode === 'nat' ? LAB.directorIp : LAB.routerLanIp);
  }
}

/** Deletes a namespace (its interfaces go with it); false when it did not exist. */
export async function deleteNamespace(name: string): Promise<boolean> {
  try {
    await new LinuxSysNet().ip(['netns', 'del', name]);
    return true;
  } catch (e) {
    if (/No such file|not found|Invalid argument/i.test((e as Error).message)) return false;
    throw e;
  }
}

/** Names of the network namespaces that exist now. */
export async function listNamespaces(): Promise<string[]> {
  const out = await new LinuxSysNet().ipJson(['netns', 'list']) as { name: string }[];
  return out.map((n) => n.name);
}
