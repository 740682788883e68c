// The fanout program, run by a small interpreter of the classic BPF it uses (the kernel runs the
// same instructions; the end-to-end tests in test/packet and test/lab check it there): which
// address each kind of frame is steered by.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_ADDRESS_PROGRAM, assemble } from './fanout.js';

const NET_BASE = 0xfff00000;

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
      const off = k - NET_BASE;
      if (off < 0 || off + size > net.length) return undefined; // the kernel returns 0 from the program
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

const fold = (v: number) => { let a = v >>> 0; a = (a ^ (a >>> 16)) >>> 0; return (a ^ (a >>> 8)) >>> 0; };
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

function ipv6(src: number, dst: number, next: number, payload: readonly number[]): Uint8Array {
  const h = new Uint8Array(40 + payload.length);
  h[0] = 0x60;
  h[6] = next;
  new DataView(h.buffer).setUint32(8 + 12, src);
  new DataView(h.buffer).setUint32(24 + 12, dst);
  h.set(payload, 40);
  return h;
}

const CLIENT = '198.18.0.22';
const VIP = '198.18.1.100';
const ROUTER = '198.18.0.1';
const udp = [0x9c, 0x40, 0x00, 0x35, 0, 8, 0, 0];

test('IPv4 from a client: its source address, folded', () => {
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, ipv4(CLIENT, VIP, 17, udp)), fold(u32(v4(CLIENT))));
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, ipv4(CLIENT, VIP, 1, [8, 0, 0, 0, 0, 0, 0, 0])), fold(u32(v4(CLIENT))), 'an echo request is the client\'s too');
});

test('an ICMP error about a reply to the client: the quoted destination (the client), not the router', () => {
  const quoted = [...ipv4(VIP, CLIENT, 17, [])];
  for (const type of [3, 4, 11, 12]) {
    const err = ipv4(ROUTER, VIP, 1, [type, 4, 0, 0, 0, 0, 0x05, 0xdc, ...quoted, 0x00, 0x35, 0x9c, 0x40]);
    assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, err), fold(u32(v4(CLIENT))), `type ${type}`);
  }
  // With IP options the quoted header is elsewhere: the router's address, as for any frame.
  const withOptions = ipv4(ROUTER, VIP, 1, [3, 4, 0, 0, 0, 0, 0x05, 0xdc, ...quoted], 6);
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, withOptions), fold(u32(v4(ROUTER))));
  // Truncated: the load fails and the program returns 0, as the kernel's does.
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0800, ipv4(ROUTER, VIP, 1, [3, 4, 0, 0])), 0);
});

test('IPv6: the source\'s last 32 bits; an ICMPv6 error: the quoted destination\'s; informational ICMPv6: the source', () => {
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x86dd, ipv6(0x0a000016, 0x0a000164, 17, udp)), fold(0x0a000016));
  const quoted = [...ipv6(0x0a000164, 0x0a000016, 17, [])];
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x86dd, ipv6(0x0a000001, 0x0a000164, 58, [2, 0, 0, 0, 0, 0, 0x05, 0x00, ...quoted])), fold(0x0a000016));
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x86dd, ipv6(0x0a000016, 0x0a000164, 58, [128, 0, 0, 0, 0, 0, 0, 0])), fold(0x0a000016));
});

test('ARP and other protocols: the first worker', () => {
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x0806, new Uint8Array(28)), 0);
  assert.equal(run(CLIENT_ADDRESS_PROGRAM, 0x88cc, new Uint8Array(60)), 0);
});

test('the assembler resolves labels forward only and refuses unknown ones', () => {
  assert.throws(() => assemble([{ code: 0x15, k: 1, jt: 'nowhere' }, { code: 0x06, k: 0 }]), /no label 'nowhere'/);
  assert.throws(() => assemble([{ label: 'back', code: 0x06, k: 0 }, { code: 0x05, jt: 'back' }]), /no label 'back'/);
  const p = assemble([{ code: 0x28, k: 0xfffff000 }, { code: 0x15, k: 7, jt: 'yes' }, { code: 0x06, k: 1 }, { label: 'yes', code: 0x06, k: 2 }]);
  assert.deepEqual([run(p, 7, new Uint8Array(0)), run(p, 8, new Uint8Array(0))], [2, 1]);
});
