// TCP superframes cut into segments the interface's MTU allows (docs/adr/0003-packet-plane.md):
// GSO/GRO frames the kernel hands a tap whole, which sent as they are would be refused (EMSGSIZE)
// or not fit a slot. The segments land in slots of their own in the arena; the forwarder then
// handles each like a received frame.
import { ETH_P_IP, ETH_P_IPV6, IPPROTO_TCP, rd16 } from '../../core/packet/frame.js';
import { FIX_OK, type FrameFixup, type SegmentSink } from './frame-fixup.js';

/** Slots for the segments of one superframe (64 KiB / 1 KiB MSS, with margin). */
export const SEG_SLOTS = 72;

/** Where the segments of the frame being cut are: `starts[i]`, `lens[i]` for i below the count cut() returned. */
export class SuperframeCutter {
  readonly starts = new Int32Array(SEG_SLOTS);
  readonly lens = new Int32Array(SEG_SLOTS);
  private count = 0;
  private readonly sink: SegmentSink;

  /** `slotsOff`: the arena offset of SEG_SLOTS slots of `slotSize` bytes. */
  constructor(private readonly fixup: FrameFixup, slotsOff: number, slotSize: number) {
    this.sink = {
      slot: () => (this.count >= SEG_SLOTS ? -1 : slotsOff + this.count * slotSize),
      emit: (off: number, len: number) => {
        this.starts[this.count] = off;
        this.lens[this.count] = len;
        this.count++;
      },
    };
  }

  /**
   * Cuts the TCP frame at u8[src, src + len) into segments of at most `mtu` bytes of IP; returns
   * how many, or -1 when it is not TCP (`gsoTcp`: the kernel said it is) or cannot be cut.
   */
  cut(u8: Uint8Array, src: number, len: number, gsoTcp: boolean, mtu: number): number {
    this.count = 0;
    if (!gsoTcp && !looksTcp(u8, src)) return -1;
    return this.fixup.segmentTcp(u8, src, len, mtu, this.sink) === FIX_OK ? this.count : -1;
  }
}

/** True when the Ethernet frame at `src` carries TCP over IPv4 or IPv6 (no extension headers). */
export function looksTcp(u8: Uint8Array, src: number): boolean {
  const et = rd16(u8, src + 12);
  return (et === ETH_P_IP && u8[src + 23] === IPPROTO_TCP) || (et === ETH_P_IPV6 && u8[src + 20] === IPPROTO_TCP);
}
