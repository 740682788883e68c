// SysNet on a real Linux host: iproute2, sysctl and nft run with execFile (argv arrays, never a
// shell), inside a network namespace through `ip -n NS` / `ip netns exec NS`. Every failure names
// the command line and the tool's own message.

import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { Family, IfAddress, LinkInfo, NewLink, RouteInfo, SysNet } from './sys-net.js';
import { sysctlPath } from './sys-net.js';

/** A command that failed: carries the command line, exit code and stderr for the message. */
export class CommandError extends Error {
  /** Builds the message "`cmd args` failed (exit N): stderr". */
  constructor(readonly argv: readonly string[], readonly exitCode: number | string | null, readonly stderr: string) {
    super(`\`${argv.join(' ')}\` failed (${exitCode === null ? 'killed' : typeof exitCode === 'number' ? `exit ${exitCode}` : exitCode}): ${stderr.trim() || '(no message)'}`);
    this.name = 'CommandError';
  }
}

/** Runs argv[0] with the rest as arguments (no shell); resolves stdout, rejects with CommandError. */
export function run(argv: readonly string[], input?: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) { resolve(stdout); return; }
        const e = err as Error & { code?: number | string; killed?: boolean };
        const code = e.code === 'ENOENT' ? `${argv[0]}: command not found` : e.killed ? `timed out after ${timeoutMs} ms` : (e.code ?? null);
        reject(new CommandError(argv, code, stderr || e.message));
      });
    if (input !== undefined) child.stdin?.end(input);
  });
}

interface IpLinkJson {
  ifname: string; flags?: string[]; link_type?: string; address?: string; master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** SysNet for the host (netns undefined) or one named network namespace. */
export class LinuxSysNet implements SysNet {
  readonly netns: string | undefined;

  /** `netns` undefined acts in the caller's own namespace. */
  constructor(netns?: string) {
    this.netns = netns;
  }

  private ipArgv(args: readonly string[]): string[] {
    return this.netns === undefined ? ['ip', ...args] : ['ip', '-n', this.netns, ...args];
  }

  private inNs(argv: readonly string[]): string[] {
    return this.netns === undefined ? [...argv] : ['ip', 'netns', 'exec', this.netns, ...argv];
  }

  private where(): string {
    return this.netns === undefined ? 'on the host' : `in netns ${this.netns}`;
  }

  ip(args: readonly string[]): Promise<string> {
    return run(this.ipArgv(args));
  }

  async ipJson(args: readonly string[]): Promise<unknown> {
    const out = await run(this.ipArgv(['-j', ...args]));
    try {
      return out.trim() === '' ? [] : JSON.parse(out);
    } catch {
      throw new Error(`Cannot parse the JSON output of \`${this.ipArgv(['-j', ...args]).join(' ')}\`: ${out.slice(0, 200)}`);
    }
  }

  nft(args: readonly string[], script?: string): Promise<string> {
    return run(this.inNs(['nft', ...args]), script);
  }

  async getSysctl(key: string): Promise<string | undefined> {
    const path = sysctlPath(key);
    if (this.netns === undefined) {
      try {
        return (await readFile(`/proc/sys/${path}`, 'utf8')).trim();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new Error(`Cannot read sysctl ${key} ${this.where()}: ${(e as Error).message}`);
      }
    }
    try {
      return (await run(this.inNs(['sysctl', '-n', path]))).trim();
    } catch (e) {
      if (e instanceof CommandError && /cannot stat|No such file/i.test(e.stderr)) return undefined;
      throw new Error(`Cannot read sysctl ${key} ${this.where()}: ${(e as Error).message}`);
    }
  }

  async setSysctl(key: string, value: string): Promise<void> {
    const path = sysctlPath(key);
    try {
      if (this.netns === undefined) await writeFile(`/proc/sys/${path}`, value);
      else await run(this.inNs(['sysctl', '-q', '-w', `${path}=${value}`]));
    } catch (e) {
      throw new Error(`Cannot set sysctl ${key}=${value} ${this.where()}: ${(e as Error).message}`);
    }
  }

  async addresses(): Promise<IfAddress[]> {
    const links = await this.ipJson(['addr', 'show']) as IpLinkJson[];
    const out: IfAddress[] = [];
    for (const l of links) {
      for (const a of l.addr_info ?? []) {
        if (a.family === 'inet' || a.family === 'inet6') out.push({ ifname: l.ifname, family: a.family, local: a.local, prefixlen: a.prefixlen });
      }
    }
    return out;
  }

  async addAddress(dev: string, cidr: string): Promise<void> {
    // nodad: an IPv6 VIP must be usable at once, and DAD on a shared VIP would fail anyway.
    await this.ip(['addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
  }

  async delAddress(dev: string, cidr: string): Promise<void> {
    await this.ip(['addr', 'del', cidr, 'dev', dev]);
  }

  async links(): Promise<LinkInfo[]> {
    const links = await this.ipJson(['-d', 'link', 'show']) as IpLinkJson[];
    return links.map((l) => {
      const flags = l.flags ?? [];
      const kind = l.linkinfo?.info_kind ?? l.link_type ?? 'unknown';
      return {
        ifname: l.ifname,
        kind,
        up: flags.includes('UP'),
        noarp: flags.includes('NOARP') || flags.includes('LOOPBACK') || l.link_type === 'none',
        ...(l.address !== undefined && l.link_type === 'ether' ? { mac: l.address } : {}),
        ...(l.master !== undefined ? { master: l.master } : {}),
      };
    });
  }

  async addLink(link: NewLink): Promise<void> {
    if (link.kind === 'tun') await this.ip(['tuntap', 'add', 'dev', link.name, 'mode', 'tun']);
    else await this.ip(['link', 'add', link.name, 'type', link.kind]);
  }

  async delLink(name: string): Promise<void> {
    await this.ip(['link', 'del', name]);
  }

  async setLinkUp(name: string, up: boolean): Promise<void> {
    await this.ip(['link', 'set', name, up ? 'up' : 'down']);
  }

  async routes(family: Family): Promise<RouteInfo[]> {
    const rs = await this.ipJson([family === 'inet' ? '-4' : '-6', 'route', 'show']) as { dst: string; gateway?: string; dev?: string }[];
    return rs.map((r) => ({ dst: r.dst, ...(r.gateway !== undefined ? { gateway: r.gateway } : {}), ...(r.dev !== undefined ? { dev: r.dev } : {}) }));
  }

  async replaceRoute(dst: string, gateway: string, dev?: string): Promise<void> {
    await this.ip(['route', 'replace', dst, 'via', gateway, ...(dev !== undefined ? ['dev', dev] : [])]);
  }

  async delRoute(dst: string, gateway?: string): Promise<void> {
    await this.ip(['route', 'del', dst, ...(gateway !== undefined ? ['via', gateway] : [])]);
  }

  async loadModule(name: string): Promise<boolean> {
    // Modules are global to the kernel: a namespace sees the module once the host loaded it.
    try {
      await stat(`/sys/module/${name}`);
      return true;
    } catch { /* not loaded: try modprobe */ }
    try {
      await run(['modprobe', name]);
      return true;
    } catch {
      return false;
    }
  }
}
