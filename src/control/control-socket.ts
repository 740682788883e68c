// The daemon's control socket: a Unix stream socket speaking one JSON object per line.
// tsvsadm sends {"argv": [...]} and gets {"stdout": "...", "stderr": "...", "exitCode": N}.
// Requests are size-limited and parsed strictly; a bad request gets an error reply, never a crash.
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';

export const DEFAULT_CONTROL_SOCKET = '/run/tsvs/tsvs.sock';

/**
 * The control socket to use: TSVS_SOCKET when set; the system path for root; otherwise a per-user
 * path, so a daemon started without root (the proxy plane, `npm start`) and tsvsadm still meet.
 */
export function resolveControlSocket(configured: string = DEFAULT_CONTROL_SOCKET): string {
  const env = process.env.TSVS_SOCKET;
  if (env) return env;
  if (configured !== DEFAULT_CONTROL_SOCKET || process.getuid?.() === 0) return configured;
  const base = process.env.XDG_RUNTIME_DIR || tmpdir();
  return join(base, `tsvs-${process.getuid?.() ?? 'user'}`, 'tsvs.sock');
}
const MAX_REQUEST_BYTES = 1 << 20;
const REQUEST_TIMEOUT_MS = 30_000;

export interface ControlRequest {
  /** Which command runs: tsvsadm (default) or a /proc-style view (`tsvs proc`). */
  readonly tool?: 'tsvsadm' | 'proc';
  readonly argv: string[];
  /** Standard input for commands that read it (-R). */
  readonly stdin?: string;
}

export interface ControlReply {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export type ControlHandler = (req: ControlRequest) => ControlReply | Promise<ControlReply>;

/** Listens on `path` (replacing a stale socket file); only root/owner may connect (mode 0600). */
export async function startControlSocket(path: string, handler: ControlHandler): Promise<Server> {
  ensurePrivateDir(dirname(path));
  if (existsSync(path)) {
    if (await isAlive(path)) throw new Error(`Cannot listen on control socket ${path}: another tsvs daemon is running there`);
    unlinkSync(path);
  }
  const server = createServer((sock) => serve(sock, handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => { server.off('error', reject); resolve(); });
  });
  chmodSync(path, 0o600);
  return server;
}

function serve(sock: Socket, handler: ControlHandler): void {
  let buf = '';
  let done = false;
  sock.setEncoding('utf8');
  sock.on('error', () => sock.destroy());
  // A client that never finishes its request line does not hold a socket forever.
  sock.setTimeout(REQUEST_TIMEOUT_MS, () => sock.destroy());
  sock.on('data', (chunk: string) => {
    if (done) return; // one request per connection; anything after the first line is ignored
    buf += chunk;
    if (buf.length > MAX_REQUEST_BYTES) {
      done = true;
      reply(sock, { stdout: '', stderr: 'tsvs: control request too large\n', exitCode: 2 });
      buf = '';
      return;
    }
    const nl = buf.indexOf('\n');
    if (nl === -1) return;
    done = true;
    sock.setTimeout(0);
    const line = buf.slice(0, nl);
    buf = '';
    const req = parseRequest(line);
    if (typeof req === 'string') { reply(sock, { stdout: '', stderr: `tsvs: bad control request: ${req}\n`, exitCode: 2 }); return; }
    Promise.resolve()
      .then(() => handler(req))
      .then((r) => reply(sock, r), (e: unknown) => reply(sock, { stdout: '', stderr: `tsvs: internal error: ${e instanceof Error ? e.message : String(e)}\n`, exitCode: 255 }));
  });
}

function reply(sock: Socket, r: ControlReply): void {
  if (sock.destroyed) return;
  sock.end(JSON.stringify(r) + '\n');
  // Do not wait for the client's end: a client that keeps its side open is closed after a grace.
  setTimeout(() => sock.destroy(), 5000).unref();
}

/**
 * Creates the socket's directory (mode 0700) or checks an existing one: it must be a real directory
 * owned by this user and closed to group and others, so nobody else can put a socket of their own
 * where tsvsadm looks (the per-user path under /tmp is shared).
 */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new Error(`Cannot use control socket directory ${dir}: it is not a directory`);
  if (uid !== undefined && st.uid !== uid) throw new Error(`Cannot use control socket directory ${dir}: it belongs to uid ${st.uid}, not ${uid}`);
  if (uid !== undefined && uid !== 0 && (st.mode & 0o077) !== 0) {
    throw new Error(`Cannot use control socket directory ${dir}: its mode is ${(st.mode & 0o777).toString(8)}, it must not be open to group or others (chmod 700)`);
  }
}

function parseRequest(line: string): ControlRequest | string {
  let v: unknown;
  try { v = JSON.parse(line); } catch { return 'not JSON'; }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected an object';
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'argv' && k !== 'stdin' && k !== 'tool') return `unknown field '${k}'`;
  if (o.tool !== undefined && o.tool !== 'tsvsadm' && o.tool !== 'proc') return "'tool' must be 'tsvsadm' or 'proc'";
  if (!Array.isArray(o.argv) || !o.argv.every((a) => typeof a === 'string')) return "'argv' must be an array of strings";
  if (o.stdin !== undefined && typeof o.stdin !== 'string') return "'stdin' must be a string";
  return { tool: o.tool as ControlRequest['tool'], argv: o.argv as string[], stdin: o.stdin as string | undefined };
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Sends one request to the daemon. Rejects with a clear message when no daemon answers. */
export function sendControlRequest(path: string, req: ControlRequest, timeoutMs = 30_000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let data = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`the tsvs daemon at ${path} did not answer within ${timeoutMs / 1000} s`)); }, timeoutMs);
    s.setEncoding('utf8');
    s.once('connect', () => s.write(JSON.stringify(req) + '\n'));
    s.on('data', (c: string) => { data += c; });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'no tsvs daemon is running there (start one with `tsvs run`)' : e.message;
      reject(new Error(`cannot reach the tsvs daemon at ${path}: ${why}`));
    });
    s.once('end', () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(data) as ControlReply;
        resolve(r);
      } catch {
        reject(new Error(`the tsvs daemon at ${path} sent an unreadable reply`));
      }
    });
  });
}
