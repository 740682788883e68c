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

test('drProgram puts the map fd in its map loads and ends with exit, for each hook', () => {
  for (const hook of ['xdp', 'tc'] as const) {
    const p = drProgram(77, hook);
    const loads = [];
    for (let i = 0; i < p.length; i += 8) if (p[i] === 0x18) loads.push(new DataView(p.buffer).getInt32(i + 4, HOST_LE));
    assert.deepEqual(loads, [77], hook);
    assert.equal(p[p.length - 8], 0x95, hook);
  }
});
