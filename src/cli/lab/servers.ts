// The real services of each lab real server: an HTTP server (nginx when installed, else busybox
// httpd, else python3 -m http.server) serving a page that names the server and a 100 MB file for
// transfer tests, and dnsmasq answering a record that names the server. Each runs with its own
// configuration in the lab directory (never the system's), started detached, PID recorded.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, ftruncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessRecord } from '../../control/sysnet/process.js';
import { startDetached, waitReady } from '../../control/sysnet/process.js';

/** DNS name every lab real server answers for: TXT = its name, A = its address. */
export const LAB_DNS_NAME = 'server.lab.tsvs';
/** Size of the transfer-test file (sparse: costs no disk). */
export const BIG_FILE_BYTES = 100 * 1024 * 1024;

/** A recorded lab process. */
export type LabProcess = ProcessRecord & { readonly name: string };

const PATHS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an installed program, or undefined. */
export function which(prog: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...PATHS]) {
    const p = join(dir, prog);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Runs a command inside a namespace, resolving true when it exits 0 (bounded by `timeoutMs`). */
export function probe(netns: string, argv: readonly string[], timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', netns, ...argv], { timeout: timeoutMs }, (err) => resolve(!err));
  });
}

function nginxConf(dir: string): string {
  // One process (master_process off, daemon off), so the recorded PID is the whole server.
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  # Who the real server saw (the tests check the client's or, for full NAT, the director's address).
  log_format lab '$remote_addr:$remote_port "$request" $status $body_bytes_sent';
  access_log ${dir}/access.log lab;
  sendfile on;
  default_type application/octet-stream;
  types { text/html html; }
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 80 reuseport;
    root ${dir}/www;
    index index.html;
    add_header X-Client-Addr $remote_addr always;
  }
}
`;
}

/** The HTTP server argv for this host's tools (nginx, busybox httpd, python3 http.server). */
export function httpServerArgv(dir: string): { kind: string; argv: string[] } {
  const nginx = which('nginx');
  if (nginx) {
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir));
    return { kind: 'nginx', argv: [nginx, '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')] };
  }
  const busybox = which('busybox');
  if (busybox) return { kind: 'busybox httpd', argv: [busybox, 'httpd', '-f', '-p', '80', '-h', join(dir, 'www')] };
  const python = which('python3');
  if (python) return { kind: 'python3 http.server', argv: [python, '-m', 'http.server', '80', '--bind', '0.0.0.0', '--directory', join(dir, 'www')] };
  throw new Error('Cannot serve HTTP on the lab real servers: none of nginx, busybox, python3 is installed');
}

/** Starts the HTTP and DNS servers of one real server; `record` learns each process at once. */
export async function startServers(o: {
  readonly name: string; readonly netns: string; readonly ip: string; readonly dnsAddrs: readonly string[]; readonly dir: string;
}, record: (p: LabProcess) => void): Promise<void> {
  const www = join(o.dir, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'index.html'), `tsvs lab real server ${o.name} (${o.ip})\n`);
  const fd = openSync(join(www, 'big.bin'), 'w');
  try { ftruncateSync(fd, BIG_FILE_BYTES); } finally { closeSync(fd); }

  const http = httpServerArgv(o.dir);
  const hp = startDetached(http.argv, { netns: o.netns, log: join(o.dir, 'http.log'), cwd: o.dir });
  record({ ...hp, name: `${o.name} ${http.kind}` });

  const dnsmasq = which('dnsmasq');
  if (!dnsmasq) throw new Error('Cannot serve DNS on the lab real servers: dnsmasq is not installed (apt-get install dnsmasq-base)');
  // Its own configuration only: no /etc/dnsmasq.conf, no resolv.conf, no /etc/hosts, no DHCP.
  const dns = startDetached([dnsmasq, '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
    '--bind-interfaces', ...o.dnsAddrs.map((a) => `--listen-address=${a}`), '--port=53', `--pid-file=${join(o.dir, 'dnsmasq.pid')}`,
    `--txt-record=${LAB_DNS_NAME},${o.name}`, `--host-record=${LAB_DNS_NAME},${o.ip}`, '--log-queries', '--log-facility=-'],
  { netns: o.netns, log: join(o.dir, 'dnsmasq.log'), cwd: o.dir });
  record({ ...dns, name: `${o.name} dnsmasq` });

  await waitReady(hp, `${http.kind} on ${o.name}`, () => probe(o.netns, ['curl', '-sf', '-m', '1', '-o', '/dev/null', `http://${o.ip}/`], 2000), 15_000);
  await waitReady(dns, `dnsmasq on ${o.name}`, () => probe(o.netns, ['dig', '+short', '+time=1', '+tries=1', `@${o.ip}`, LAB_DNS_NAME, 'TXT'], 2500), 15_000);
}
