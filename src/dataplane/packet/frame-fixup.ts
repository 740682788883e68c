// What the kernel's offloads leave for us before a received frame can be handed to the engine
// (design "The packet plane", checksum offload lesson): frames from local or virtual senders
// carry a CHECKSUM_PARTIAL TCP/UDP checksum (the ring marks them TP_STATUS_CSUMNOTREADY), and
// GSO/GRO frames can be far larger than the MTU (up to 64 KiB). We complete the checksum in
// software and cut TCP superframes into MTU-sized segments, so the engine only ever sees ordinary
// frames with valid checksums and the kernel never has to finish an offload on transmit.
import { checksum, ipv4HeaderChecksum, pseudoSum4, pseudoSum6 } from '../../core/net/checksum.js';
import { ParsedFrame, IPPROTO_TCP, IPPROTO_UDP, PARSE_OK, TCP_FIN, TCP_PSH, rd16, wr16 } from '../../core/packet/frame.js';
import { parseFrame } from '../../core/packet/parse-frame.js';

/** Outcomes of a fix-up. */
export const FIX_OK = 0;
/** Not a TCP/UDP frame we can complete (left untouched). */
export const FIX_UNSUPPORTED = 1;
/** The frame does not parse. */
export const FIX_MALFORMED = 2;
/** No room to write all segments. */
export const FIX_NO_ROOM = 3;

const TCP_CWR = 0x80;

/** Where segments go: the caller hands out slots (offsets in the same buffer) and takes them back filled. */
export interface SegmentSink {
  /** Offset of a free slot of at least `slotSize` bytes, or -1 when none is left. */
  slot(): number;
  /** A segment of `len` bytes is ready at `off`. */
  emit(off: number, len: number): void;
}

/** Completes checksums and segments superframes, reusing one ParsedFrame (no allocation per frame). */
export class FrameFixup {
  private readonly p = new ParsedFrame();

  /** Computes the full TCP/UDP checksum of the frame buf[off, off+len) in place. */
  completeChecksum(buf: Uint8Array, off: number, len: number): number {
    const p = this.p;
    if (parseFrame(buf, len, p, off) !== PARSE_OK) return FIX_MALFORMED;
    return this.writeL4Checksum(buf, p) ? FIX_OK : FIX_UNSUPPORTED;
  }

  private writeL4Checksum(buf: Uint8Array, p: ParsedFrame): boolean {
    if ((p.proto !== IPPROTO_TCP && p.proto !== IPPROTO_UDP) || p.l4CsumOff < 0 || p.isFragment) return false;
    const l4Len = p.ipEnd - p.l4Off;
    buf[p.l4CsumOff] = 0;
    buf[p.l4CsumOff + 1] = 0;
    const seed = p.family === 4 ? pseudoSum4(buf, p.srcOff, p.dstOff, p.proto, l4Len) : pseudoSum6(buf, p.srcOff, p.dstOff, p.proto, l4Len);
    let c = checksum(buf, p.l4Off, l4Len, seed);
    if (c === 0 && p.proto === IPPROTO_UDP) c = 0xffff; // RFC 768: 0 means "no checksum"
    wr16(buf, p.l4CsumOff, c);
    return true;
  }

  /**
   * Cuts the TCP frame buf[off, off+len) into segments whose IP packets fit `mtu`, each with its
   * own IPv4 id, length, TCP sequence number, flags (FIN/PSH on the last, CWR on the first only,
   * as the kernel's tcp_gso_segment does) and full checksums. Segments are written to slots the
   * sink gives (in the same buffer). Returns a FIX_* code.
   */
  segmentTcp(buf: Uint8Array, off: number, len: number, mtu: number, sink: SegmentSink): number {
    const p = this.p;
    if (parseFrame(buf, len, p, off) !== PARSE_OK) return FIX_MALFORMED;
    if (p.proto !== IPPROTO_TCP || p.payloadOff < 0 || p.isFragment) return FIX_UNSUPPORTED;
    const hdrLen = p.payloadOff - off; // L2 + IP (+ extension headers) + TCP with options
    const ipHdr = p.l4Off - p.ipOff;
    const mss = mtu - ipHdr - p.l4HdrLen;
    if (mss <= 0) return FIX_UNSUPPORTED;
    const payload = p.ipEnd - p.payloadOff;
    const seq0 = p.tcpSeq >>> 0;
    const flags0 = buf[p.l4Off + 13];
    const id0 = p.family === 4 ? rd16(buf, p.ipOff + 4) : 0;
    const ipRel = p.ipOff - off, l4Rel = p.l4Off - off;
    const srcRel = p.srcOff - off, dstRel = p.dstOff - off;
    const proto = p.proto, family = p.family, l4HdrLen = p.l4HdrLen;
    let done = 0;
    let k = 0;
    do {
      const chunk = payload - done > mss ? mss : payload - done;
      const d = sink.slot();
      if (d < 0) return FIX_NO_ROOM;
      buf.copyWithin(d, off, off + hdrLen);
      buf.copyWithin(d + hdrLen, off + hdrLen + done, off + hdrLen + done + chunk);
      const ip = d + ipRel, l4 = d + l4Rel;
      if (family === 4) {
        wr16(buf, ip + 2, ipHdr + l4HdrLen + chunk);
        wr16(buf, ip + 4, (id0 + k) & 0xffff);
        ipv4HeaderChecksum(buf, ip, ipHdr);
      } else {
        wr16(buf, ip + 4, ipHdr - 40 + l4HdrLen + chunk);
      }
      const seq = (seq0 + done) >>> 0;
      buf[l4 + 4] = seq >>> 24; buf[l4 + 5] = (seq >>> 16) & 0xff; buf[l4 + 6] = (seq >>> 8) & 0xff; buf[l4 + 7] = seq & 0xff;
      const last = done + chunk >= payload;
      let fl = flags0;
      if (!last) fl &= ~(TCP_FIN | TCP_PSH);
      if (k > 0) fl &= ~TCP_CWR;
      buf[l4 + 13] = fl;
      const l4Len = l4HdrLen + chunk;
      buf[l4 + 16] = 0; buf[l4 + 17] = 0;
      const seed = family === 4 ? pseudoSum4(buf, d + srcRel, d + dstRel, proto, l4Len) : pseudoSum6(buf, d + srcRel, d + dstRel, proto, l4Len);
      wr16(buf, l4 + 16, checksum(buf, l4, l4Len, seed));
      sink.emit(d, hdrLen + chunk);
      done += chunk;
      k++;
    } while (done < payload);
    return FIX_OK;
  }
}
