// The fanout program, run by a small interpreter of the classic BPF it uses (the kernel runs the
// same instructions; the end-to-end tests in test/packet and test/lab check it there): which
// address or port each kind of frame is steered by. `hash` below is the program's arithmetic in
// JS; the end-to-end tests pick client addresses by it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ICMP4_ERROR_TYPES } from '../../core/packet/l4.js';
import { type IpAddress, parseIp } from '../../core/net/addr.js';
import { FANOUT_MULTIPLIER, MAX_INSNS, assemble, steeringProgram } from './fanout.js';

/** The classic BPF opcodes the program may use (any other would be a mistake here). */
const KNOWN = new Set([0x30, 0x28, 0x20, 0x48, 0x40, 0xb1, 0x00, 0x01, 0x02, 0x60, 0x61, 0x87, 0x07, 0x04, 0x54, 0x24, 0x74, 0xac, 0x15, 0x35, 0x25, 0x05, 0x16, 0x06]);

/**
 * The kernel's static checks of a classic program (bpf_check_classic, check_load_and_stores):
 * at most MAX_INSNS, every jump inside the program, a return last, and no scratch slot read on
 * any path that has not stored it. The interpreter below only sees the paths a test takes.
 */
function verify(prog: Uint8Array): void {
  const dv = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const n = prog.length / 8;
  assert.ok(n > 0 && n <= MAX_INSNS, `${n} instructions`);
  const masks = new Array<number>(n).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < n; pc++) {
    valid &= masks[pc]!;
    const code = dv.getUint16(pc * 8, true);
    const k = dv.getUint32(pc * 8 + 4, true);
    assert.ok(KNOWN.has(code), `opcode 0x${code.toString(16)} at ${pc}`);
    const to = (off: number) => {
      assert.ok(pc + 1 + off < n, `jump out of the program at ${pc}`);
      masks[pc + 1 + off]! &= valid;
    };
    if (code === 0x02) valid |= 1 << k;
    if (code === 0x02 || code === 0x60 || code === 0x61) assert.ok(k < 16, `scratch slot ${k} at ${pc}`);
    if ((code === 0x60 || code === 0x61) && !(valid & (1 << k))) assert.fail(`M[${k}] may be read before it is stored, at ${pc}`);
    if (code === 0x05) {
      to(k);
      valid = 0xffff;
    } else if (code === 0x15 || code === 0x35 || code === 0x25) {
      to(prog[pc * 8 + 2]!);
      to(prog[pc * 8 + 3]!);
      valid = 0xffff;
    }
  }
  const last = dv.getUint16((n - 1) * 8, true);
  assert.ok(last === 0x06 || last === 0x16, 'the last instruction returns');
}

/** Runs `prog` on a frame whose network header is `net` and whose skb->protocol is `proto`. */
function run(prog: Uint8Array, proto: number, net: Uint8Array): number {
  const dv = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const nv = new DataView(net.buffer, net.byteOffset, net.byteLength);
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(16);
  const stored = new Set<number>();
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = dv.getUint16(pc * 8, true);
    const jt = prog[pc * 8 + 2]!;
    const jf = prog[pc * 8 + 3]!;
    const k = dv.getUint32(pc * 8 + 4, true);
    const load = (size: number, off: number): number | undefined => {
      if (k === 0xfffff000) return proto;
      // skb->data is the network header of a received frame
      if (off + size > net.length) return undefined; // the kernel returns 0 from the program
      return size === 1 ? nv.getUint8(off) : size === 2 ? nv.getUint16(off) : nv.getUint32(off);
    };
    const scratch = (): number => {
      // The kernel refuses a program that may read a slot no path stored (check_load_and_stores).
      if (!stored.has(k)) throw new Error(`M[${k}] read before it was stored at ${pc}`);
      return mem[k]!;
    };
    switch (code) {
      case 0x30: case 0x28: case 0x20: case 0x48: case 0x40: {
        const v = load(code === 0x30 ? 1 : code === 0x28 || code === 0x48 ? 2 : 4, code & 0x40 ? x + k : k);
        if (v === undefined) return 0;
        a = v;
        break;
      }
      case 0xb1: {
        const v = load(1, k);
        if (v === undefined) return 0;
        x = (v & 0x0f) * 4;
        break;
      }
      case 0x00: a = k; break;
      case 0x01: x = k; break;
      case 0x02: mem[k] = a; stored.add(k); break;
      case 0x60: a = scratch(); break;
      case 0x61: x = scratch(); break;
      case 0x87: a = x; break;
      case 0x04: a = (a + k) >>> 0; break;
      case 0x54: a = (a & k) >>> 0; break;
      case 0x24: a = Math.imul(a, k) >>> 0; break;
      case 0x74: a = a >>> k; break;
      case 0xac: a = (a ^ x) >>> 0; break;
      case 0x07: x = a; break;
      case 0x15: pc += a === k ? jt : jf; break;
      case 0x35: pc += a >= k ? jt : jf; break;
      case 0x25: pc += a > k ? jt : jf; break;
      case 0x05: pc += k; break;
      case 0x16: return a;
      case 0x06: return k;
      default: throw new Error(`opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('fell off the program');
}

/** The program's arithmetic: multiply, then fold the high bits down. */
const hash = (v: number) => { let a = Math.imul(v, FANOUT_MULTIPLIER) >>> 0; a = (a ^ (a >>> 16)) >>> 0; return (a ^ (a >>> 8)) >>> 0; };
const v4 = (s: string) => s.split('.').map(Number);
const u32 = (b: readonly number[]) => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;

function ipv4(src: string, dst: string, proto: number, payload: readonly number[], ihl = 5): Uint8Array {
  const h = new Uint8Array(ihl * 4 + payload.length);
  h[0] = 0x40 | ihl;
  h[9] = proto;
  h.set(v4(src), 12);
  h.set(v4(dst), 16);
  h.set(payload, ihl * 4);
  return h;
}

type V6 = readonly [number, number, number, number];
function ipv6(src: V6, dst: V6, next: number, payload: readonly number[]): Uint8Array {
  const h = new Uint8Array(40 + payload.length);
  const dv = new DataView(h.buffer);
  h[0] = 0x60;
  h[6] = next;
  src.forEach((w, i) => dv.setUint32(8 + 4 * i, w));
  dst.forEach((w, i) => dv.setUint32(24 + 4 * i, w));
  h.set(payload, 40);
  return h;
}
const xorWords = (a: V6) => (a[0] ^ a[1] ^ a[2] ^ a[3]) >>> 0;

const CLIENT = '198.18.0.22';
const VIP = '198.18.1.100';
const ROUTER = '198.18.0.1';
const RS = '198.18.1.11';
const LOCAL = '198.18.1.2';
const udp = [0x9c, 0x40, 0x00, 0x35, 0, 8, 0, 0]; // 40000 -> 53
const udpTo = (sport: number, dport: number) => [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 8, 0, 0];
const addr = (s: string) => parseIp(s)!;
/** Every program a test below runs, checked as the kernel checks it. */
function built(f: Parameters<typeof steeringProgram>[0]): Uint8Array {
  const p = steeringProgram(f).program;
  verify(p);
  return p;
}
const PROGRAM = built({ vips: [addr(VIP), addr('2001:db8:0:2::100')], fullnatAddresses: [addr(LOCAL), addr('2001:db8:0:1::2')] });
/** The program as the plane builds it without full-NAT addresses. */
const NO_FULLNAT_PROGRAM = built({ vips: [addr(VIP), addr('2001:db8:0:2::100')], fullnatAddresses: [] });

test('IPv4 from a client: its source address, folded', () => {
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x0800, ipv4(CLIENT, VIP, 17, udp)), hash(u32(v4(CLIENT))));
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x0800, ipv4(CLIENT, VIP, 1, [8, 0, 0, 0, 0, 0, 0, 0])), hash(u32(v4(CLIENT))), 'an echo request is the client\'s too');
});

test('an ICMP error about a reply to the client: the quoted destination (the client), not the router', () => {
  const quoted = [...ipv4(VIP, CLIENT, 17, [])];
  for (const type of ICMP4_ERROR_TYPES) {
    const err = ipv4(ROUTER, VIP, 1, [type, 4, 0, 0, 0, 0, 0x05, 0xdc, ...quoted, 0x00, 0x35, 0x9c, 0x40]);
    assert.equal(run(NO_FULLNAT_PROGRAM, 0x0800, err), hash(u32(v4(CLIENT))), `type ${type}`);
  }
  // With IP options the quoted header is elsewhere: the router's address, as for any frame.
  const withOptions = ipv4(ROUTER, VIP, 1, [3, 4, 0, 0, 0, 0, 0x05, 0xdc, ...quoted], 6);
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x0800, withOptions), hash(u32(v4(ROUTER))));
  // Truncated: the load fails and the program returns 0, as the kernel's does.
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x0800, ipv4(ROUTER, VIP, 1, [3, 4, 0, 0])), 0);
});

test('IPv6: all 128 bits of the source; an ICMPv6 error: of the quoted destination; informational ICMPv6: the source', () => {
  const client: V6 = [0x20010db8, 0x00000001, 0x00000000, 0x00000016];
  const vip: V6 = [0x20010db8, 0x00000002, 0x00000000, 0x00000100];
  const router: V6 = [0x20010db8, 0x00000001, 0x00000000, 0x00000001];
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x86dd, ipv6(client, vip, 17, udp)), hash(xorWords(client)));
  // Two clients that differ only in the prefix (the same interface ID in two /64s) differ.
  const other: V6 = [0x20010db8, 0x00000003, 0x00000000, 0x00000016];
  assert.notEqual(run(NO_FULLNAT_PROGRAM, 0x86dd, ipv6(other, vip, 17, udp)), run(NO_FULLNAT_PROGRAM, 0x86dd, ipv6(client, vip, 17, udp)));
  const quoted = [...ipv6(vip, client, 17, [])];
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x86dd, ipv6(router, vip, 58, [2, 0, 0, 0, 0, 0, 0x05, 0x00, ...quoted])), hash(xorWords(client)));
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x86dd, ipv6(client, vip, 58, [128, 0, 0, 0, 0, 0, 0, 0])), hash(xorWords(client)));
});

test('the hash spreads neighbouring and octet-swapped addresses (the e2e tests rely on these parities)', () => {
  const parity = (s: string) => hash(u32(v4(s))) % 2;
  assert.notEqual(hash(u32(v4('10.0.1.2'))), hash(u32(v4('10.0.2.1'))));
  assert.deepEqual(['11', '15', '16', '19'].map((o) => parity(`198.18.0.${o}`)), [1, 1, 1, 1]);
  assert.deepEqual(['12', '13', '14', '17'].map((o) => parity(`198.18.0.${o}`)), [0, 0, 0, 0]);
  assert.notEqual(parity('198.18.0.22'), parity('198.18.0.23'));
});

test('ARP and other protocols: the first worker', () => {
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x0806, new Uint8Array(28)), 0);
  assert.equal(run(NO_FULLNAT_PROGRAM, 0x88cc, new Uint8Array(60)), 0);
});

test('masq: a real server\'s reply goes by its destination, the client, to the client\'s worker; so does its ICMP error about a forwarded packet (by the quoted source)', () => {
  const fromClient = run(PROGRAM, 0x0800, ipv4(CLIENT, VIP, 6, udp));
  assert.equal(run(PROGRAM, 0x0800, ipv4(RS, CLIENT, 6, udpTo(53, 40000))), fromClient);
  // The real server's "port unreachable" to the client about the packet the director forwarded (client -> RS).
  const unreach = ipv4(RS, CLIENT, 1, [3, 3, 0, 0, 0, 0, 0, 0, ...ipv4(CLIENT, RS, 17, udp)]);
  assert.equal(run(PROGRAM, 0x0800, unreach), fromClient);
});

test('full NAT: a reply to a local address goes by its destination port (the worker\'s residue), and its ICMP error by the quoted source port', () => {
  for (const lport of [40000, 40001, 40002, 61234]) {
    assert.equal(run(PROGRAM, 0x0800, ipv4(RS, LOCAL, 6, udpTo(80, lport))), lport);
    assert.equal(run(PROGRAM, 0x0800, ipv4(RS, LOCAL, 1, [3, 4, 0, 0, 0, 0, 5, 0xdc, ...ipv4(LOCAL, RS, 6, udpTo(lport, 80))])), lport);
  }
  // The port is behind the header's real length, in the packet and in a quoted one.
  assert.equal(run(PROGRAM, 0x0800, ipv4(RS, LOCAL, 17, udpTo(53, 40007), 6)), 40007);
  assert.equal(run(PROGRAM, 0x0800, ipv4(RS, LOCAL, 1, [3, 3, 0, 0, 0, 0, 0, 0, ...ipv4(LOCAL, RS, 17, udpTo(40008, 53), 6)])), 40008);
  // Too short to hold a port: 0, as the kernel's failed load; the other paths do not read it.
  assert.equal(run(PROGRAM, 0x0800, ipv4(RS, LOCAL, 17, [0, 53])), 0);
  assert.equal(run(PROGRAM, 0x0800, ipv4(CLIENT, VIP, 17, [])), hash(u32(v4(CLIENT))));
  const rs6: V6 = [0x20010db8, 0x00000001, 0x00000000, 0x00000011];
  const local6: V6 = [0x20010db8, 0x00000001, 0x00000000, 0x00000002];
  assert.equal(run(PROGRAM, 0x86dd, ipv6(rs6, local6, 6, udpTo(80, 45678))), 45678);
  assert.equal(run(PROGRAM, 0x86dd, ipv6(rs6, local6, 58, [1, 4, 0, 0, 0, 0, 0, 0, ...ipv6(local6, rs6, 6, udpTo(45679, 80))])), 45679);
});

test('IPv6 masq: the reply by its destination, the client; only a VIP (all 128 bits) marks a client\'s packet', () => {
  const client: V6 = [0x20010db8, 0x00000001, 0x00000000, 0x00000016];
  const vip: V6 = [0x20010db8, 0x00000002, 0x00000000, 0x00000100];
  const rs: V6 = [0x20010db8, 0x00000001, 0x00000000, 0x00000011];
  assert.equal(run(PROGRAM, 0x86dd, ipv6(rs, client, 17, udpTo(53, 40000))), hash(xorWords(client)));
  // One word off the VIP is not the VIP: the packet goes by its destination.
  const near: V6 = [0x20010db8, 0x00000002, 0x00000000, 0x00000101];
  assert.equal(run(PROGRAM, 0x86dd, ipv6(client, near, 17, udp)), hash(xorWords(near)));
  assert.equal(run(PROGRAM, 0x86dd, ipv6(client, vip, 17, udp)), hash(xorWords(client)));
});

test('an address that is both a VIP and a full-NAT address: a port in the full-NAT range is a reply, any other a client\'s packet', () => {
  const p = built({ vips: [addr(VIP)], fullnatAddresses: [addr(VIP)], fullnatPorts: { min: 40000, max: 49999 } });
  assert.equal(run(p, 0x0800, ipv4(CLIENT, VIP, 6, udpTo(40000, 80))), hash(u32(v4(CLIENT))));
  assert.equal(run(p, 0x0800, ipv4(CLIENT, VIP, 6, udpTo(40000, 50000))), hash(u32(v4(CLIENT))), 'above the range');
  assert.equal(run(p, 0x0800, ipv4(RS, VIP, 6, udpTo(80, 40000))), 40000);
  assert.equal(run(p, 0x0800, ipv4(RS, VIP, 6, udpTo(80, 49999))), 49999);
  // ICMP errors: quoting our packet from the local port to the real server, or a reply from the VIP's service port to the client.
  assert.equal(run(p, 0x0800, ipv4(RS, VIP, 1, [3, 3, 0, 0, 0, 0, 0, 0, ...ipv4(VIP, RS, 6, udpTo(45000, 80))])), 45000);
  assert.equal(run(p, 0x0800, ipv4(ROUTER, VIP, 1, [3, 4, 0, 0, 0, 0, 5, 0xdc, ...ipv4(VIP, CLIENT, 6, udpTo(80, 40000))])), hash(u32(v4(CLIENT))));
});

test('every program passes the kernel\'s checks: no VIPs, IPv6 only, client source only', () => {
  for (const f of [{ vips: [], fullnatAddresses: [] }, { vips: [addr('2001:db8::1')], fullnatAddresses: [addr('2001:db8::1')] }, { vips: 'any' as const, fullnatAddresses: [addr(LOCAL)] }]) {
    const p = built(f);
    assert.equal(run(p, 0x0806, new Uint8Array(28)), 0, 'ARP: the first worker');
  }
  assert.equal(run(built({ vips: [], fullnatAddresses: [] }), 0x0800, ipv4(RS, CLIENT, 17, udp)), hash(u32(v4(CLIENT))), 'no VIPs: by destination');
});

test('many VIPs: the last one is still found (no conditional jump is long); past the kernel\'s limit, by client source alone', () => {
  const vips: IpAddress[] = Array.from({ length: 600 }, (_, i) => addr(`198.19.${i >> 8}.${i & 0xff}`));
  const s = steeringProgram({ vips, fullnatAddresses: [addr(LOCAL)] });
  assert.equal(s.complete, true);
  verify(s.program);
  assert.equal(run(s.program, 0x0800, ipv4(CLIENT, '198.19.2.87', 17, udp)), hash(u32(v4(CLIENT))), 'the 600th VIP');
  assert.equal(run(s.program, 0x0800, ipv4(RS, CLIENT, 17, udp)), hash(u32(v4(CLIENT))));
  const v6: IpAddress[] = Array.from({ length: 500 }, (_, i) => addr(`2001:db8:9::${i.toString(16)}`));
  const big = steeringProgram({ vips: v6, fullnatAddresses: [] });
  assert.equal(big.complete, false);
  verify(big.program);
  assert.equal(run(big.program, 0x0800, ipv4(RS, CLIENT, 17, udp)), hash(u32(v4(RS))), 'every destination taken for a VIP');
});

test('the assembler resolves labels forward only, once each', () => {
  assert.throws(() => assemble([{ code: 0x15, k: 1, jt: 'nowhere' }, { code: 0x06, k: 0 }]), /no label 'nowhere'/);
  assert.throws(() => assemble([{ label: 'back', code: 0x06, k: 0 }, { code: 0x05, jt: 'back' }]), /jump back to 'back'/);
  assert.throws(() => assemble([{ label: 'x', code: 0x06, k: 0 }, { label: 'x', code: 0x06, k: 1 }]), /label 'x' twice/);
  const p = assemble([{ code: 0x28, k: 0xfffff000 }, { code: 0x15, k: 7, jt: 'yes' }, { code: 0x06, k: 1 }, { label: 'yes', code: 0x06, k: 2 }]);
  assert.deepEqual([run(p, 7, new Uint8Array(0)), run(p, 8, new Uint8Array(0))], [2, 1]);
});
