// The kernel fast path for direct-routing flows: a BPF hash map of offloaded flows and the program
// (program.ts: XDP or tcx ingress) that forwards their later packets without
// waking user space. The packet plane schedules a flow with its engine, then installs it here once
// established; this class is the user-space side: create the map, load and attach the program
// (bpf(2) through koffi, no clang or libbpf), and insert / read / remove flows with no allocation
// per call.
//
// One instance belongs to the thread that opened it (koffi bindings and module state are per
// thread); the fds it holds are the process's, and close() releases them.
import { release } from 'node:os';
import type { FlowKey } from '../offload.js';
import { HOST_LE } from './asm.js';
import {
  ATTR_SIZE, BPF_ANY, BPF_LINK_CREATE, BPF_MAP_CREATE, BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_ELEM, BPF_MAP_TYPE_HASH, BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD, BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_XDP, BPF_TCX_INGRESS, BPF_XDP,
  EACCES, EBUSY, EINVAL, ENODEV, ENOENT, EOPNOTSUPP, EPERM, errnoName, openBpfSys, setAddr, getU64, type BpfSys,
} from './bpf-sys.js';
import { drProgram, type ProgramHook, KEY_SIZE, V_BYTES, V_DST_MAC, V_IFINDEX, V_DELIVER_PEER, V_DELIVERY, V_MTU, V_PACKETS, V_SRC_MAC, VALUE_SIZE } from './program.js';

/** An IPv4 flow in host-order numbers (as the core's conn table holds them). */
/** generic / native: the XDP program in the kernel's generic (skb) or the driver's mode; tc: the
 * tcx ingress program (the packet plane's receive sockets must then be protocol-bound, not taps). */
export type FastPathMode = 'generic' | 'native' | 'tc';

/** A failed bpf(2) call: `call` names the command, `errno` the C errno. */
class BpfError extends Error {
  constructor(message: string, readonly call: string, readonly errno: number) {
    super(message);
    this.name = 'BpfError';
  }
}

const XDP_FLAGS = { generic: 2 /* XDP_FLAGS_SKB_MODE */, native: 4 /* XDP_FLAGS_DRV_MODE */ };

// One calloc'ed region holds everything the per-flow calls hand the kernel. The lookup/update attr
// and the delete attr are filled once (fd, key and value addresses never change); the kernel
// rejects a delete whose value field is set, hence two. Control calls build theirs in CTL.
const A_ELEM = 0, A_DEL = 160, A_CTL = 320, KEY = 480, NEXT = 496, VALUE = 512, LICENSE = 560, LOG = 1024;
const LOG_SIZE = 3072, SCRATCH = LOG + LOG_SIZE;
/** The verifier log asked for when a load fails (the whole trace of this small program fits). */
const FAIL_LOG_SIZE = 1 << 20;
const BPF_LOG_LEVEL1 = 1, BPF_LOG_STATS = 4;

/** The DR fast path: one flow map, one program, attached to any number of interfaces. */
export class BpfFastPath {
  /** Instructions in the loaded forwarding program. */
  readonly insnCount: number;
  /** The verifier's statistics line ("processed N insns ..."): proof in tests that the verifier ran the whole program. */
  readonly verifierStats: string;
  private readonly links = new Map<number, number>();
  private readonly dv: DataView;
  private readonly bytes: Uint8Array;
  private closed = false;

  private constructor(
    private readonly sys: BpfSys,
    private readonly mem: number,
    private readonly mapFd: number,
    private readonly progFd: number,
    readonly mode: FastPathMode,
    insnCount: number,
    verifierStats: string,
  ) {
    const ab = sys.view(mem, SCRATCH);
    this.dv = new DataView(ab);
    this.bytes = new Uint8Array(ab);
    this.insnCount = insnCount;
    this.verifierStats = verifierStats;
    for (const at of [A_ELEM, A_DEL]) {
      this.dv.setUint32(at, mapFd, HOST_LE);
      setAddr(this.dv, at + 8, mem + KEY, HOST_LE);
    }
    setAddr(this.dv, A_ELEM + 16, mem + VALUE, HOST_LE);
    this.dv.setUint32(A_ELEM + 24, BPF_ANY, HOST_LE); // update: create or replace; lookup: flags 0 as well
  }

  /** Creates the flow map (maxFlows entries, BPF_MAP_TYPE_HASH) and loads the program for `mode`. Throws a BpfError naming what failed. */
  static open(opts: { maxFlows: number; mode: FastPathMode }): BpfFastPath {
    const { maxFlows, mode } = opts;
    if (!Number.isInteger(maxFlows) || maxFlows < 1 || maxFlows > 0xffffffff) {
      throw new RangeError(`BpfFastPath.open: maxFlows must be a positive integer: current value is ${maxFlows}`);
    }
    const sys = openBpfSys();
    const mem = sys.alloc(SCRATCH);
    const bytes = new Uint8Array(sys.view(mem, SCRATCH));
    const dv = new DataView(bytes.buffer);
    let mapFd = -1;
    try {
      // BPF_MAP_CREATE: map_type, key_size, value_size, max_entries, map_flags, inner_map_fd, numa_node, map_name[16].
      dv.setUint32(A_CTL, BPF_MAP_TYPE_HASH, HOST_LE);
      dv.setUint32(A_CTL + 4, KEY_SIZE, HOST_LE);
      dv.setUint32(A_CTL + 8, VALUE_SIZE, HOST_LE);
      dv.setUint32(A_CTL + 12, maxFlows, HOST_LE);
      putString(bytes, A_CTL + 28, 'tsvs_flows');
      mapFd = sys.bpf(BPF_MAP_CREATE, mem + A_CTL);
      if (mapFd < 0) throw bpfError('BPF_MAP_CREATE', -mapFd);
      const { progFd, insnCount, stats } = loadProgram(sys, mem, bytes, dv, mapFd, mode === 'tc' ? 'tc' : 'xdp');
      return new BpfFastPath(sys, mem, mapFd, progFd, mode, insnCount, stats);
    } catch (e) {
      if (mapFd >= 0) sys.close(mapFd);
      sys.free(mem);
      throw e;
    }
  }

  /** Attaches the program to ifIndex with BPF_LINK_CREATE (generic = XDP_FLAGS_SKB_MODE, native =
   * XDP_FLAGS_DRV_MODE, tc = BPF_TCX_INGRESS, appended after programs already there). */
  attach(ifIndex: number): void {
    this.live();
    const mode = this.mode;
    const where = `attach(ifindex ${ifIndex}, ${mode})`;
    if (!Number.isInteger(ifIndex) || ifIndex < 1) throw new RangeError(`BpfFastPath.${where}: ifIndex must be a positive integer`);
    if (this.links.has(ifIndex)) throw new BpfError(`BpfFastPath.${where}: already attached to ifindex ${ifIndex}`, 'BPF_LINK_CREATE', 0);
    const a = this.ctl();
    // link_create: prog_fd, target_ifindex, attach_type, flags (tcx: 0, no relative program or revision).
    this.dv.setUint32(a, this.progFd, HOST_LE);
    this.dv.setUint32(a + 4, ifIndex, HOST_LE);
    this.dv.setUint32(a + 8, mode === 'tc' ? BPF_TCX_INGRESS : BPF_XDP, HOST_LE);
    this.dv.setUint32(a + 12, mode === 'tc' ? 0 : XDP_FLAGS[mode], HOST_LE);
    const fd = this.sys.bpf(BPF_LINK_CREATE, this.mem + a);
    if (fd < 0) {
      const e = -fd;
      const hint = e === EPERM ? ' (need root or CAP_NET_ADMIN)' : e === EBUSY ? (mode === 'tc' ? ' (busy)' : ' (another XDP program is attached)')
        : e === EINVAL || e === ENODEV ? ' (no such interface in this network namespace, or a bad mode; tc needs Linux 6.6 or later)'
          : e === EOPNOTSUPP ? ' (the driver has no native XDP: use generic)' : '';
      throw new BpfError(`BpfFastPath.${where}: BPF_LINK_CREATE: ${errnoName(e)}${hint}`, 'BPF_LINK_CREATE', e);
    }
    this.links.set(ifIndex, fd);
  }

  /**
   * Installs or replaces (BPF_ANY) the entry for k. Counters start at 0. `toPeer`: deliver into the
   * out veth's peer (tc only; the XDP program ignores it). Returns 0 or the errno (E2BIG when the map is full).
   */
  insert(k: FlowKey, outIfIndex: number, dstMac: Uint8Array, srcMac: Uint8Array, mtu: number, toPeer = false): number {
    this.live();
    if (dstMac.length !== 6 || srcMac.length !== 6) throw new TypeError('BpfFastPath.insert: MAC addresses must be 6 bytes');
    this.putKey(k);
    const dv = this.dv;
    dv.setUint32(VALUE + V_PACKETS, 0); dv.setUint32(VALUE + V_PACKETS + 4, 0);
    dv.setUint32(VALUE + V_BYTES, 0); dv.setUint32(VALUE + V_BYTES + 4, 0);
    dv.setUint32(VALUE + V_IFINDEX, outIfIndex, HOST_LE);
    this.bytes.set(dstMac, VALUE + V_DST_MAC);
    this.bytes.set(srcMac, VALUE + V_SRC_MAC);
    dv.setUint16(VALUE + V_MTU, mtu, HOST_LE);
    dv.setUint8(VALUE + V_DELIVERY, toPeer ? V_DELIVER_PEER : 0);
    dv.setUint8(VALUE + V_DELIVERY + 1, 0);
    dv.setUint32(VALUE + V_DELIVERY + 2, 0);
    const r = this.sys.bpf(BPF_MAP_UPDATE_ELEM, this.mem + A_ELEM);
    return r < 0 ? -r : 0;
  }

  /** Removes the entry (no error when absent). */
  remove(k: FlowKey): void {
    this.live();
    this.putKey(k);
    const r = this.sys.bpf(BPF_MAP_DELETE_ELEM, this.mem + A_DEL);
    if (r < 0 && -r !== ENOENT) throw bpfError('BPF_MAP_DELETE_ELEM', -r);
  }

  /** Reads the entry's cumulative packet and byte counters into out; false when there is no entry. */
  read(k: FlowKey, out: { packets: number; bytes: number }): boolean {
    this.live();
    this.putKey(k);
    const r = this.sys.bpf(BPF_MAP_LOOKUP_ELEM, this.mem + A_ELEM);
    if (r < 0) {
      if (-r === ENOENT) return false;
      throw bpfError('BPF_MAP_LOOKUP_ELEM', -r);
    }
    out.packets = getU64(this.dv, VALUE + V_PACKETS, HOST_LE);
    out.bytes = getU64(this.dv, VALUE + V_BYTES, HOST_LE);
    return true;
  }

  /** Number of entries (walks the map with BPF_MAP_GET_NEXT_KEY; for tests and status, not per packet). */
  count(): number {
    this.live();
    let n = 0;
    const a = this.ctl();
    this.dv.setUint32(a, this.mapFd, HOST_LE);
    setAddr(this.dv, a + 16, this.mem + NEXT, HOST_LE); // key stays NULL: start at the first key
    for (;;) {
      const r = this.sys.bpf(BPF_MAP_GET_NEXT_KEY, this.mem + a);
      if (r < 0) {
        if (-r === ENOENT) return n; // past the last key
        throw bpfError('BPF_MAP_GET_NEXT_KEY', -r);
      }
      n++;
      this.bytes.copyWithin(KEY, NEXT, NEXT + KEY_SIZE);
      setAddr(this.dv, a + 8, this.mem + KEY, HOST_LE);
    }
  }

  /** Detaches from every interface (closes the link fds), closes the program and map fds. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.links.values()) this.sys.close(fd);
    this.links.clear();
    this.sys.close(this.progFd);
    this.sys.close(this.mapFd);
    this.sys.free(this.mem);
  }

  private live(): void {
    if (this.closed) throw new Error('BpfFastPath is closed');
  }

  /** Zeroes the control attr and returns its offset. */
  private ctl(): number {
    this.bytes.fill(0, A_CTL, A_CTL + ATTR_SIZE);
    return A_CTL;
  }

  /** The map key of k: addresses and ports in network order, proto, zero padding. */
  private putKey(k: FlowKey): void {
    const dv = this.dv;
    dv.setUint32(KEY, k.saddr >>> 0);
    dv.setUint32(KEY + 4, k.daddr >>> 0);
    dv.setUint16(KEY + 8, k.sport);
    dv.setUint16(KEY + 10, k.dport);
    dv.setUint32(KEY + 12, (k.proto & 0xff) << 24); // big-endian: proto first, then 3 zero bytes
  }
}

/** Why the fast path cannot run here (not Linux, not root, koffi missing), or undefined when it can be tried. */
export function fastPathUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the kernel fast path needs Linux';
  if (process.getuid?.() !== 0) return 'the kernel fast path needs root (CAP_BPF and CAP_NET_ADMIN)';
  try {
    openBpfSys();
  } catch (e) {
    return `the kernel fast path needs koffi: ${(e as Error).message}`;
  }
  return undefined;
}

/** Why the tc hook cannot run here (tcx links came with Linux 6.6), or undefined; includes fastPathUnavailable(). */
export function tcxUnavailable(): string | undefined {
  const base = fastPathUnavailable();
  if (base) return base;
  const [major, minor] = release().split('.').map((x) => parseInt(x, 10));
  if (!(major > 6 || (major === 6 && minor >= 6))) return `the tc fast path needs Linux 6.6 or later (tcx links): this kernel is ${release()}`;
  return undefined;
}

const PROG_TYPE: Record<ProgramHook, number> = { xdp: BPF_PROG_TYPE_XDP, tc: BPF_PROG_TYPE_SCHED_CLS };
const PROG_NAME: Record<ProgramHook, string> = { xdp: 'tsvs_xdp_dr', tc: 'tsvs_tc_dr' };

/** Loads the program: first with only the verifier's statistics, then, if it fails with a
 * verifier complaint, again with the full log so the error can quote it. */
function loadProgram(sys: BpfSys, mem: number, bytes: Uint8Array, dv: DataView, mapFd: number, hook: ProgramHook): { progFd: number; insnCount: number; stats: string } {
  const insns = drProgram(mapFd, hook);
  const insnCount = insns.length / 8;
  const code = sys.alloc(insns.length);
  try {
    new Uint8Array(sys.view(code, insns.length)).set(insns);
    putString(bytes, LICENSE, 'GPL'); // the redirect helper is GPL-only
    const attempt = (logLevel: number, logAddr: number, logSize: number): number => {
      bytes.fill(0, A_CTL, A_CTL + ATTR_SIZE);
      // prog_type, insn_cnt, insns, license, log_level, log_size, log_buf, ..., prog_name[16] @48, expected_attach_type @68.
      dv.setUint32(A_CTL, PROG_TYPE[hook], HOST_LE);
      dv.setUint32(A_CTL + 4, insnCount, HOST_LE);
      setAddr(dv, A_CTL + 8, code, HOST_LE);
      setAddr(dv, A_CTL + 16, mem + LICENSE, HOST_LE);
      dv.setUint32(A_CTL + 24, logLevel, HOST_LE);
      dv.setUint32(A_CTL + 28, logSize, HOST_LE);
      setAddr(dv, A_CTL + 32, logAddr, HOST_LE);
      putString(bytes, A_CTL + 48, PROG_NAME[hook]);
      dv.setUint32(A_CTL + 68, hook === 'xdp' ? BPF_XDP : 0, HOST_LE); // tc programs need none
      return sys.bpf(BPF_PROG_LOAD, mem + A_CTL);
    };
    bytes.fill(0, LOG, LOG + LOG_SIZE);
    const fd = attempt(BPF_LOG_STATS, mem + LOG, LOG_SIZE);
    if (fd >= 0) {
      const log = cString(bytes, LOG, LOG_SIZE);
      return { progFd: fd, insnCount, stats: /processed[^\n]*/.exec(log)?.[0] ?? '' };
    }
    const e = -fd;
    if (e !== EINVAL && e !== EACCES) throw bpfError(`BPF_PROG_LOAD (${PROG_NAME[hook]})`, e);
    const logMem = sys.alloc(FAIL_LOG_SIZE);
    try {
      const again = attempt(BPF_LOG_LEVEL1, logMem, FAIL_LOG_SIZE);
      if (again >= 0) return { progFd: again, insnCount, stats: '' }; // a transient failure: take it
      const log = cString(new Uint8Array(sys.view(logMem, FAIL_LOG_SIZE)), 0, FAIL_LOG_SIZE);
      const lines = log.split('\n').filter((l) => l.trim() !== '');
      const err = bpfError(`BPF_PROG_LOAD (${PROG_NAME[hook]})`, -again);
      err.message += `; verifier log (${insnCount} insns), last lines:\n${lines.slice(-12).join('\n')}`;
      throw err;
    } finally {
      sys.free(logMem);
    }
  } finally {
    sys.free(code); // the kernel copied the instructions
  }
}

function bpfError(call: string, errno: number): BpfError {
  const hint = errno === EPERM ? ' (need root or CAP_BPF)' : '';
  return new BpfError(`${call}: ${errnoName(errno)}${hint}`, call, errno);
}

function putString(bytes: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i);
  bytes[at + s.length] = 0;
}

function cString(bytes: Uint8Array, at: number, max: number): string {
  let end = at;
  while (end < at + max && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}
