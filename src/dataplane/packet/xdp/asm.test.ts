// The assembler's encodings and label resolution, and the program's map-fd patching (no root needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Asm, HOST_LE, net16 } from './asm.js';
import { drProgram } from './program.js';

const word = (b: Uint8Array, i: number) => Array.from(b.subarray(i * 8, i * 8 + 8));

test('Asm encodes struct bpf_insn and resolves forward and backward labels', { skip: !HOST_LE && 'expectations are written for little-endian hosts' }, () => {
  const a = new Asm();
  a.label('top')
    .movReg(6, 1)                 // 0: bf 16
    .ldx('h', 1, 7, 12)           // 1: 69 71 0c 00
    .jneImm(1, 0x0008, 'out')     // 2: 55 01 +2
    .ja('top')                    // 3: 05 00 -4
    .ldMapFd(1, 9)                // 4-5: 18 11 .. imm 9, then a zero slot
    .label('out')
    .atomicAdd64(6, 8, 1)         // 6: db 16 08 00
    .exit();                      // 7: 95
  const b = a.assemble();
  assert.equal(b.length, 8 * 8);
  assert.deepEqual(word(b, 0), [0xbf, 0x16, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(word(b, 1), [0x69, 0x71, 12, 0, 0, 0, 0, 0]);
  assert.deepEqual(word(b, 2), [0x55, 0x01, 3, 0, 8, 0, 0, 0]);
  assert.deepEqual(word(b, 3), [0x05, 0x00, 0xfc, 0xff, 0, 0, 0, 0]);
  assert.deepEqual(word(b, 4), [0x18, 0x11, 0, 0, 9, 0, 0, 0]);
  assert.deepEqual(word(b, 5), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(word(b, 6), [0xdb, 0x16, 8, 0, 0, 0, 0, 0]);
  assert.deepEqual(word(b, 7), [0x95, 0, 0, 0, 0, 0, 0, 0]);
});

test('Asm rejects undefined and duplicate labels', () => {
  assert.throws(() => new Asm().ja('nowhere').assemble(), /undefined label 'nowhere'/);
  assert.throws(() => new Asm().label('x').label('x'), /defined twice/);
});

test('net16 gives the host-order load of network-order bytes', () => {
  assert.equal(net16(0x0800), HOST_LE ? 0x0008 : 0x0800);
});

test('drProgram, for each hook: the map fd in its map load, the hook\'s context offsets, bpf_redirect, and "not mine" as the hook spells it', () => {
  // struct bpf_insn: code u8, dst:4 src:4, off s16, imm s32.
  const insns = (p: Uint8Array) => Array.from({ length: p.length / 8 }, (_, i) => {
    const dv = new DataView(p.buffer, p.byteOffset + i * 8, 8);
    return { code: p[i * 8], dst: p[i * 8 + 1] & 0xf, src: p[i * 8 + 1] >> 4, off: dv.getInt16(2, HOST_LE), imm: dv.getInt32(4, HOST_LE) };
  });
  // The context (r1, copied to r6) is read at data/data_end: xdp_md 0/4, __sk_buff 76/80.
  const CTX: Record<'xdp' | 'tc', number[]> = { xdp: [0, 4], tc: [76, 80] };
  // XDP_PASS is 2; for tc, 2 would be TC_ACT_SHOT (every frame dropped): TCX_NEXT is -1.
  const PASS = { xdp: 2, tc: -1 };
  for (const hook of ['xdp', 'tc'] as const) {
    const p = insns(drProgram(77, hook));
    assert.deepEqual(p.filter((x) => x.code === 0x18).map((x) => x.imm), [77], hook);
    const ctxLoads = p.filter((x) => x.code === 0x61 && x.src === 6 && x.dst !== 1).map((x) => x.off);
    for (const off of CTX[hook]) assert.ok(ctxLoads.includes(off), `${hook}: a load of ctx+${off}`);
    assert.ok(p.some((x) => x.code === 0x85 && x.imm === 23), `${hook}: calls bpf_redirect`);
    // Only tc can deliver into a veth peer's receive path (bpf_redirect_peer is a tc-ingress helper).
    assert.equal(p.some((x) => x.code === 0x85 && x.imm === 155), hook === 'tc', `${hook}: bpf_redirect_peer`);
    // Ends with the shared "not mine" path: r0 = PASS; exit.
    assert.deepEqual(p.slice(-2).map((x) => [x.code, x.dst, x.imm]), [[0xb7, 0, PASS[hook]], [0x95, 0, 0]], hook);
  }
});
