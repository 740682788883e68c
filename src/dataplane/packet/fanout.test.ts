// The fanout program, run by a small interpreter of the classic BPF it uses (the kernel runs the
// same instructions; the end-to-end tests in test/packet and test/lab check it there): which
// address each kind of frame is steered by. `hash` below is the program's arithmetic in JS; the
// end-to-end tests pick client addresses by it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ICMP4_ERROR_TYPES } from '../../core/packet/l4.js';
import { CLIENT_ADDRESS_PROGRAM, FANOUT_MULTIPLIER, assemble } from './fanout.js';

/** Runs `prog` on a frame whose network header is `net` and whose skb->protocol is `proto`. */
function run(prog: Uint8Array, proto: number, net: Uint8Array): number {
  const dv = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const nv = new DataView(net.buffer, net.byteOffset, net.byteLength);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = dv.getUint16(pc * 8, true);
    const jt = prog[pc * 8 + 2]!;
    const jf = prog[pc * 8 + 3]!;
    const k = dv.getUint32(pc * 8 + 4, true);
    const load = (size: number): number | undefined => {
      if (k === 0xfffff000) return proto;
      const off = k; // skb->data is the network header of a received frame
      if (off + size > net.length) return undefined; // the kernel returns 0 from the program
      return size === 1 ? nv.getUint8(off) : size === 2 ? nv.getUint16(off) : nv.getUint32(off);
    };
    switch (code) {
      case 0x30: case 0x28: case 0x20: {
        const v = load(code === 0x30 ? 1 : code === 0x28 ? 2 : 4);
        if (v === undefined) return 0;
        a = v;
        break;
      }
      case 0x54: a = (a & k) >>> 0; break;
      case 0x24: a = Math.imul(a, k) >>> 0; break;
      case 0x74: a = a >>> k; break;
      case 0xac: a = (a ^ x) >>> 0; break;
      case 0x07: x = a; break;
      case 0x15: pc += a === k ? jt : jf; break;
      case 0x35: pc += a >= k ? jt : jf; break;
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
const udp = [0x9c, 0x40, 0x00, 0x35, 0, 8, 0, 0];

test('IPv4 from a client: its source address, folded', () => {
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, ipv4(CLIENT, VIP, 17, udp)), hash(u32(v4(CLIENT))));
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, ipv4(CLIENT, VIP, 1, [8, 0, 0, 0, 0, 0, 0, 0])), hash(u32(v4(CLIENT))), 'an echo request is the client\'s too');
});

test('an ICMP error about a reply to the client: the quoted destination (the client), not the router', () => {
  const quoted = [...ipv4(VIP, CLIENT, 17, [])];
  for (const type of ICMP4_ERROR_TYPES) {
    const err = ipv4(ROUTER, VIP, 1, [type, 4, 0, 0, 0, 0, 0x05, 0xdc, ...quoted, 0x00, 0x35, 0x9c, 0x40]);
    assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, err), hash(u32(v4(CLIENT))), `type ${type}`);
  }
  // With IP options the quoted header is elsewhere: the router's address, as for any frame.
  const withOptions = ipv4(ROUTER, VIP, 1, [3, 4, 0, 0, 0, 0, 0x05, 0xdc, ...quoted], 6);
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, withOptions), hash(u32(v4(ROUTER))));
  // Truncated: the load fails and the program returns 0, as the kernel's does.
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, ipv4(ROUTER, VIP, 1, [3, 4, 0, 0])), 0);
});

test('IPv6: all 128 bits of the source; an ICMPv6 error: of the quoted destination; informational ICMPv6: the source', () => {
  const client: V6 = [0x20010db8, 0x00000001, 0x00000000, 0x00000016];
  const vip: V6 = [0x20010db8, 0x00000002, 0x00000000, 0x00000100];
  const router: V6 = [0x20010db8, 0x00000001, 0x00000000, 0x00000001];
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x86dd, ipv6(client, vip, 17, udp)), hash(xorWords(client)));
  // Two clients that differ only in the prefix (the same interface ID in two /64s) differ.
  const other: V6 = [0x20010db8, 0x00000003, 0x00000000, 0x00000016];
  assert.notEqual(run(CLIENT_ADDRESS_PROGRAM, 0x86dd, ipv6(other, vip, 17, udp)), run(CLIENT_ADDRESS_PROGRAM, 0x86dd, ipv6(client, vip, 17, udp)));
  const quoted = [...ipv6(vip, client, 17, [])];
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x86dd, ipv6(router, vip, 58, [2, 0, 0, 0, 0, 0, 0x05, 0x00, ...quoted])), hash(xorWords(client)));
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x86dd, ipv6(client, vip, 58, [128, 0, 0, 0, 0, 0, 0, 0])), hash(xorWords(client)));
});

test('the hash spreads neighbouring and octet-swapped addresses (the e2e tests rely on these parities)', () => {
  const parity = (s: string) => hash(u32(v4(s))) % 2;
  assert.notEqual(hash(u32(v4('10.0.1.2'))), hash(u32(v4('10.0.2.1'))));
  assert.deepEqual(['11', '15', '16', '19'].map((o) => parity(`198.18.0.${o}`)), [1, 1, 1, 1]);
  assert.deepEqual(['12', '13', '14', '17'].map((o) => parity(`198.18.0.${o}`)), [0, 0, 0, 0]);
  assert.notEqual(parity('198.18.0.22'), parity('198.18.0.23'));
});

test('ARP and other protocols: the first worker', () => {
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0806, new Uint8Array(28)), 0);
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x88cc, new Uint8Array(60)), 0);
});

test('the assembler resolves labels forward only, once each', () => {
  assert.throws(() => assemble([{ code: 0x15, k: 1, jt: 'nowhere' }, { code: 0x06, k: 0 }]), /no label 'nowhere'/);
  assert.throws(() => assemble([{ label: 'back', code: 0x06, k: 0 }, { code: 0x05, jt: 'back' }]), /jump back to 'back'/);
  assert.throws(() => assemble([{ label: 'x', code: 0x06, k: 0 }, { label: 'x', code: 0x06, k: 1 }]), /label 'x' twice/);
  const p = assemble([{ code: 0x28, k: 0xfffff000 }, { code: 0x15, k: 7, jt: 'yes' }, { code: 0x06, k: 1 }, { label: 'yes', code: 0x06, k: 2 }]);
  assert.deepEqual([run(p, 7, new Uint8Array(0)), run(p, 8, new Uint8Array(0))], [2, 1]);
});
