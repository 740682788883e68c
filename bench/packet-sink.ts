// A receive ring that forwards nothing, for bench/packet-ingress.sh: it opens the plane's own
// TPACKET_V3 ring (RxRing, same geometry) on IFACE and hands every block straight back. The
// generator's rate into IFACE with this running bounds what any forwarder reading that ring can be
// offered: the ring copy (tpacket_rcv) runs in the sender's softirq, not here.
//   node dist/bench/packet-sink.js IFACE SECONDS [touch] [BLOCK_KIB] [BLOCKS]
// ("touch" reads every frame's first word; the ring is the plane's DEFAULT_RING unless given)
// Prints READY, then one JSON line {blocks, frames, polls} after SECONDS.
import { Arena, DEFAULT_RING, RxRing, TP_STATUS_USER } from '../src/dataplane/packet/af-packet.js';
import { openLibc } from '../src/dataplane/packet/ffi.js';

const [ifname, secsText, mode, blockKib, blockCount] = process.argv.slice(2);
const libc = openLibc();
const ifIndex = ifname ? libc.ifNameToIndex(ifname) : 0;
if (!ifIndex) {
  process.stderr.write('usage: packet-sink IFACE SECONDS [touch]\n');
  process.exit(2);
}
const g = {
  ...DEFAULT_RING,
  ...(blockKib ? { blockSize: Number(blockKib) * 1024 } : {}),
  ...(blockCount ? { blockCount: Number(blockCount) } : {}),
};
const arena = Arena.reserve(libc, RxRing.size(g) + 4096);
const ring = RxRing.open(libc, ifIndex, g);
ring.attach(arena, undefined);
const pollOff = arena.mapAnon(4096, 'pollfd');
const buf = arena.seal();
const u32 = new Uint32Array(buf);
const u16 = new Uint16Array(buf);
u32[pollOff >> 2] = ring.fd;
u16[(pollOff + 4) >> 1] = 1; // POLLIN
const touch = mode === 'touch';
const end = performance.now() + Number(secsText ?? 10) * 1000;
let blocks = 0, frames = 0, polls = 0, sum = 0;
process.stdout.write('READY\n');
for (;;) {
  const bo = ring.offset + ring.block * g.blockSize;
  if ((Atomics.load(u32, (bo + 8) >> 2) & TP_STATUS_USER) === 0) {
    if (performance.now() >= end) break;
    polls++;
    libc.poll(arena.base + pollOff, 1, 100);
    continue;
  }
  const num = u32[(bo + 12) >> 2];
  frames += num;
  if (touch) {
    let p = bo + u32[(bo + 16) >> 2];
    for (let i = 0; i < num; i++) {
      sum += u32[(p + u16[(p + 24) >> 1]) >> 2];
      const next = u32[p >> 2];
      if (next === 0) break;
      p += next;
    }
  }
  Atomics.store(u32, (bo + 8) >> 2, 0);
  ring.block = ring.block + 1 === g.blockCount ? 0 : ring.block + 1;
  if ((++blocks & 63) === 0 && performance.now() >= end) break;
}
process.stdout.write(JSON.stringify({ blocks, frames, polls, drops: ring.stats().drops, sum: sum & 1 }) + '\n');
ring.close();
arena.free();
