import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFrame, parseIpAt } from './parse-frame.js';
import * as F from './frame.js';
import { GOLDEN } from './golden-frames.js';
import { fromHex, toHex } from './testing.js';
import { ipv4HeaderChecksum } from '../net/checksum.js';

const ETH = '020000000002020000000001'; // dst, src MACs
const pf = new F.ParsedFrame();
const parse = (b: Uint8Array, len = b.length, start = 0) => parseFrame(b, len, pf, start);

/** Ethernet + IPv4 header (+options) + payload, with total length and header checksum fixed. */
function ipv4(opts: string, proto: number, payload: string, fragWord = 0, ttl = 64): Uint8Array {
  const o = fromHex(opts), pl = fromHex(payload);
  const hl = 20 + o.length;
  const f = new Uint8Array(14 + hl + pl.length);
  f.set(fromHex(ETH + '0800'));
  f.set([0x40 | (hl >> 2), 0, (hl + pl.length) >> 8, (hl + pl.length) & 255, 0, 1, fragWord >> 8, fragWord & 255, ttl, proto, 0, 0,
    198, 18, 0, 10, 198, 18, 1, 100], 14);
  f.set(o, 34);
  f.set(pl, 14 + hl);
  ipv4HeaderChecksum(f, 14, hl);
  return f;
}

/** Ethernet + IPv6 header (next header nh) + the given extension/payload bytes, payload length fixed. */
function ipv6(nh: number, rest: string, hlim = 64): Uint8Array {
  const r = fromHex(rest);
  const f = new Uint8Array(54 + r.length);
  f.set(fromHex(ETH + '86dd' + '60000000'), 0);
  f[18] = r.length >> 8; f[19] = r.length & 255; f[20] = nh; f[21] = hlim;
  f.set(fromHex('20010db8000100000000000000000010' + '20010db8000200000000000000000100'), 22);
  f.set(r, 54);
  return f;
}
const UDP8 = '14e9003500080000'; // 5353 -> 53, length 8, no checksum

test('IPv4/TCP SYN (golden in_A): addresses, TTL, TOS, DF, ports, flags, seq, header length with MSS option', () => {
  const b = fromHex(GOLDEN.in_A);
  assert.equal(parse(b), F.PARSE_OK);
  assert.equal(pf.family, 4); assert.equal(pf.etherType, F.ETH_P_IP); assert.equal(pf.ipOff, 14);
  assert.equal(toHex(b, pf.srcOff, 4), 'c612000a'); assert.equal(toHex(b, pf.dstOff, 4), 'c6120164');
  assert.equal(pf.ttl, 64); assert.equal(pf.tos, 0x10); assert.equal(pf.df, 1); assert.equal(pf.ipId, 0x1234);
  assert.equal(pf.isFragment, 0); assert.equal(pf.proto, F.IPPROTO_TCP); assert.equal(pf.ipEnd, b.length);
  assert.equal(pf.l4Off, 34); assert.equal(pf.l4HdrLen, 24); assert.equal(pf.payloadOff, 58); assert.equal(pf.l4CsumOff, 50);
  assert.equal(pf.srcPort, 40000); assert.equal(pf.dstPort, 80);
  assert.equal(pf.tcpFlags, F.TCP_SYN); assert.equal(pf.tcpSeq, 1000); assert.equal(pf.tcpAck, 0);
});

test('Ethernet padding is not part of the IP packet: ipEnd stops at the IPv4 total length', () => {
  const b = new Uint8Array(60);
  b.set(fromHex(GOLDEN.in_B));
  assert.equal(parse(b), F.PARSE_OK);
  assert.equal(pf.ipEnd, 51); assert.equal(pf.end, 60); assert.equal(pf.l4Len, 17);
  assert.equal(pf.srcPort, 5353); assert.equal(pf.dstPort, 53); assert.equal(pf.l4CsumOff, 40);
});

test('802.1Q and 802.1ad tags are skipped and recorded; a third tag is not ours', () => {
  const plain = GOLDEN.in_B;
  const one = fromHex(ETH + '8100' + '0064' + plain.slice(24));
  assert.equal(parse(one), F.PARSE_OK);
  assert.equal(pf.vlanCount, 1); assert.equal(pf.vlanTci0, 100); assert.equal(pf.ipOff, 18); assert.equal(pf.dstPort, 53);
  const two = fromHex(ETH + '88a8' + '0005' + '8100' + '2064' + plain.slice(24));
  assert.equal(parse(two), F.PARSE_OK);
  assert.equal(pf.vlanCount, 2); assert.equal(pf.vlanTci0, 5); assert.equal(pf.vlanTci1, 0x2064); assert.equal(pf.l3Off, 22);
  const three = fromHex(ETH + '88a8' + '0005' + '8100' + '0001' + '8100' + '0002' + plain.slice(24));
  assert.equal(parse(three), F.PARSE_NOT_OURS);
  assert.equal(parse(fromHex(ETH + '8100' + '00')), F.BAD_VLAN_TRUNC);
});

test('ARP request (golden in_arpreq): opcode and address offsets; non-IPv4 ARP is not ours', () => {
  const b = fromHex(GOLDEN.in_arpreq);
  assert.equal(parse(b), F.PARSE_OK);
  assert.equal(pf.etherType, F.ETH_P_ARP); assert.equal(pf.family, 0); assert.equal(pf.arpOp, 1);
  assert.equal(toHex(b, pf.arpShaOff, 6), '020000000001'); assert.equal(toHex(b, pf.arpSpaOff, 4), 'c6120001');
  assert.equal(toHex(b, pf.arpTpaOff, 4), 'c6120164');
  const v6arp = b.slice(); v6arp[16] = 0x86; v6arp[17] = 0xdd;
  assert.equal(parse(v6arp), F.PARSE_NOT_OURS);
  assert.equal(parse(b, 14 + 27), F.BAD_ARP_TRUNC);
});

test('unknown EtherTypes are not ours; a frame shorter than 14 bytes is truncated', () => {
  assert.equal(parse(fromHex(ETH + '88cc' + '0000')), F.PARSE_NOT_OURS);
  assert.equal(parse(fromHex(ETH + '08')), F.BAD_ETH_TRUNC);
  assert.equal(parse(new Uint8Array(0)), F.BAD_ETH_TRUNC);
});

test('IPv4 options are walked: NOP/EOL and a well-formed TLV pass; zero or overlong lengths are malformed', () => {
  assert.equal(parse(ipv4('01010100', 17, UDP8)), F.PARSE_OK);
  assert.equal(pf.ipHdrLen, 24); assert.equal(pf.l4Off, 38); assert.equal(pf.dstPort, 53);
  assert.equal(parse(ipv4('94040000', 17, UDP8)), F.PARSE_OK); // router alert (RFC 2113)
  assert.equal(parse(ipv4('07000000', 17, UDP8)), F.BAD_IPV4_OPTIONS); // length 0
  assert.equal(parse(ipv4('01070000', 17, UDP8)), F.BAD_IPV4_OPTIONS); // runs past the header
  assert.equal(parse(ipv4('00000007', 17, UDP8)), F.PARSE_OK); // after EOL the rest is padding
});

test('IPv4 header lies: version, IHL < 5, total length below the header or beyond the frame, bad checksum', () => {
  const good = ipv4('', 17, UDP8);
  const m = (fn: (b: Uint8Array) => void, fix = true) => { const b = good.slice(); fn(b); if (fix) ipv4HeaderChecksum(b, 14, 20); return parse(b); };
  assert.equal(m((b) => { b[14] = 0x65; }), F.BAD_IP_VERSION);
  assert.equal(m((b) => { b[14] = 0x44; }), F.BAD_IPV4_IHL);
  assert.equal(m((b) => { b[14] = 0x4f; }), F.BAD_IPV4_TRUNC);
  assert.equal(m((b) => { b[16] = 0; b[17] = 19; }), F.BAD_IPV4_TOTLEN);
  assert.equal(m((b) => { b[17] = 29; }), F.BAD_IPV4_TRUNC);
  assert.equal(m((b) => { b[22] = 63; }, false), F.BAD_IPV4_CSUM);
  assert.equal(parse(good, 33), F.BAD_IPV4_TRUNC);
  // the length given wins over the buffer: bytes after it are never looked at
  const big = new Uint8Array(200); big.set(good);
  assert.equal(parse(big, good.length - 1), F.BAD_IPV4_TRUNC);
});

test('IPv4 fragments: a first fragment shows L4 (UDP length may exceed it); later fragments have no L4', () => {
  assert.equal(parse(ipv4('', 17, '14e9003505dc0000', 0x2000)), F.PARSE_OK);
  assert.equal(pf.isFragment, 1); assert.equal(pf.moreFragments, 1); assert.equal(pf.fragOffset, 0); assert.equal(pf.dstPort, 53);
  assert.equal(parse(ipv4('', 17, '0102030405060708', 0x00b9)), F.PARSE_OK);
  assert.equal(pf.isFragment, 1); assert.equal(pf.fragOffset, 0xb9 * 8); assert.equal(pf.l4Off, -1); assert.equal(pf.srcPort, -1);
  assert.equal(parse(ipv4('', 17, '0102030405060708', 0x1fff)), F.BAD_IPV4_FRAG); // 65528 + 8 > 65535
});

test('IPv6/TCP (golden in_E): traffic class, hop limit, ports', () => {
  const b = fromHex(GOLDEN.in_E);
  assert.equal(parse(b), F.PARSE_OK);
  assert.equal(pf.family, 6); assert.equal(pf.tos, 0x10); assert.equal(pf.ttl, 64); assert.equal(pf.ipHdrLen, 40);
  assert.equal(pf.srcOff, 22); assert.equal(pf.dstOff, 38); assert.equal(pf.l4Off, 54);
  assert.equal(pf.srcPort, 40000); assert.equal(pf.dstPort, 80); assert.equal(pf.tcpFlags, F.TCP_SYN); assert.equal(pf.df, 1);
});

test('IPv6 extension headers: hop-by-hop, destination options, fragment, AH are walked to the upper layer', () => {
  // HBH(next 60, len 0, PadN) + DSTOPTS(next 44) + FRAG(next 51, offset 0, M=1, id 0x01020304) + AH(next 17, len 1 => 12 bytes) + UDP
  const rest = '3c00010400000000' + '2c00010400000000' + '3300000101020304' + '1101000000000100' + '00000001' + UDP8;
  assert.equal(parse(ipv6(0, rest)), F.PARSE_OK);
  assert.equal(pf.proto, 17); assert.equal(pf.ipHdrLen, 40 + 8 + 8 + 8 + 12); assert.equal(pf.l4Off, 54 + 36);
  assert.equal(pf.fragHdrOff, 54 + 16); assert.equal(pf.isFragment, 1); assert.equal(pf.moreFragments, 1); assert.equal(pf.ipId, 0x01020304);
  assert.equal(pf.dstPort, 53);
  // atomic fragment (offset 0, M 0): a whole packet
  assert.equal(parse(ipv6(44, '1100000001020304' + UDP8)), F.PARSE_OK);
  assert.equal(pf.isFragment, 0); assert.equal(pf.fragHdrOff, 54);
  // non-first fragment: proto known, no L4
  assert.equal(parse(ipv6(44, '1100000901020304' + UDP8)), F.PARSE_OK);
  assert.equal(pf.proto, 17); assert.equal(pf.fragOffset, 8); assert.equal(pf.l4Off, -1); assert.equal(pf.srcPort, -1);
});

test('IPv6 malformed: hop-by-hop not first, truncated extension header, too many, payload length lies', () => {
  assert.equal(parse(ipv6(60, '0000010400000000' + UDP8)), F.BAD_IPV6_EXTHDR);
  assert.equal(parse(ipv6(60, '1101000000000000')), F.BAD_IPV6_EXTHDR); // says 16 bytes, has 8
  assert.equal(parse(ipv6(60, '3c00010400000000'.repeat(9) + UDP8)), F.BAD_IPV6_EXTHDR);
  const b = ipv6(17, UDP8); b[19] = 9;
  assert.equal(parse(b), F.BAD_IPV6_TRUNC);
  const j = ipv6(17, UDP8); j[19] = 0;
  assert.equal(parse(j), F.BAD_IPV6_PLEN);
  assert.equal(parse(ipv6(59, '')), F.PARSE_OK);
  assert.equal(pf.proto, 59);
  assert.equal(parse(ipv6(17, UDP8), 53), F.BAD_IPV6_TRUNC);
});

test('TCP, UDP and SCTP truncation and length lies are malformed', () => {
  assert.equal(parse(ipv4('', 6, '9c40005000000000000000004002faf000000000'.slice(0, 38))), F.BAD_TCP_TRUNC);
  assert.equal(parse(ipv4('', 6, '9c40005000000000000000004002faf000000000')), F.BAD_TCP_DOFF);
  assert.equal(parse(ipv4('', 6, '9c40005000000000000000006002faf000000000')), F.BAD_TCP_TRUNC); // doff 6, 20 bytes
  assert.equal(parse(ipv4('', 17, '14e90035')), F.BAD_UDP_TRUNC);
  assert.equal(parse(ipv4('', 17, '14e9003500070000')), F.BAD_UDP_LEN);
  assert.equal(parse(ipv4('', 17, '14e9003500090000')), F.BAD_UDP_LEN);
  assert.equal(parse(ipv4('', 132, '138800500000000000000000')), F.BAD_SCTP_TRUNC);
  assert.equal(parse(ipv4('', 1, '0800f7ff0000')), F.BAD_ICMP_TRUNC);
});

test('SCTP INIT (golden in_D): ports, verification tag, first chunk type', () => {
  assert.equal(parse(fromHex(GOLDEN.in_D)), F.PARSE_OK);
  assert.equal(pf.srcPort, 5000); assert.equal(pf.dstPort, 80); assert.equal(pf.sctpVtag, 0); assert.equal(pf.sctpChunkType, 1);
  assert.equal(pf.l4CsumOff, 42);
});

test('ICMP errors expose the quoted IP + L4 header (spec §2.6): full quote, 8-byte quote, header-only quote', () => {
  const b = fromHex(GOLDEN.in_rs_err);
  assert.equal(parse(b), F.PARSE_OK);
  assert.equal(pf.icmpType, 3); assert.equal(pf.icmpCode, 3); assert.equal(pf.icmpIsError, 1);
  assert.equal(pf.innerFamily, 4); assert.equal(pf.innerIpOff, 42); assert.equal(pf.innerProto, 17);
  assert.equal(toHex(b, pf.innerSrcOff, 4), 'c612000a'); assert.equal(toHex(b, pf.innerDstOff, 4), 'c6120214');
  assert.equal(pf.innerSrcPort, 5353); assert.equal(pf.innerDstPort, 5300);
  const c = fromHex(GOLDEN.in_cl_err);
  assert.equal(parse(c), F.PARSE_OK);
  assert.equal(pf.innerProto, 6); assert.equal(pf.innerSrcPort, 80); assert.equal(pf.innerDstPort, 40000); assert.equal(pf.innerEnd, c.length);
  // only the quoted IP header: the inner L4 offset is known but no ports
  const h = ipv4('', 1, '0303fcfc00000000' + toHex(c, 42, 20));
  assert.equal(parse(h), F.PARSE_OK);
  assert.equal(pf.innerFamily, 4); assert.equal(pf.innerSrcPort, -1);
  // an unusable quote leaves innerFamily 0 (the error is passed on, not dropped)
  assert.equal(parse(ipv4('', 1, '0303fcfc00000000' + '4500')), F.PARSE_OK);
  assert.equal(pf.icmpIsError, 1); assert.equal(pf.innerFamily, 0);
  // an echo request is not an error
  assert.equal(parse(ipv4('', 1, '0800f7ff00000000')), F.PARSE_OK);
  assert.equal(pf.icmpIsError, 0); assert.equal(pf.innerFamily, 0);
});

test('ICMPv6 errors expose the quoted packet; NS exposes the target and source link-layer option', () => {
  const b = fromHex(GOLDEN.in_rs_err6);
  assert.equal(parse(b), F.PARSE_OK);
  assert.equal(pf.icmpType, 1); assert.equal(pf.icmpCode, 4); assert.equal(pf.icmpIsError, 1);
  assert.equal(pf.innerFamily, 6); assert.equal(pf.innerProto, 17); assert.equal(pf.innerSrcPort, 5353); assert.equal(pf.innerDstPort, 5300);
  const ns = fromHex(GOLDEN.in_ns);
  assert.equal(parse(ns), F.PARSE_OK);
  assert.equal(pf.icmpType, 135); assert.equal(pf.ttl, 255);
  assert.equal(toHex(ns, pf.ndTargetOff, 16), '20010db8000200000000000000000100');
  assert.equal(toHex(ns, pf.ndLlaOff, 6), '020000000001');
  const bad = ns.slice(); bad[bad.length - 7] = 0; // option length 0
  assert.equal(parse(bad), F.BAD_NDP);
});

test('a frame inside a larger buffer is parsed in place: offsets are absolute, bytes outside are ignored', () => {
  const f = fromHex(GOLDEN.in_A);
  const ring = new Uint8Array(4096).fill(0xee);
  ring.set(f, 1000);
  assert.equal(parse(ring, f.length, 1000), F.PARSE_OK);
  assert.equal(pf.start, 1000); assert.equal(pf.ipOff, 1014); assert.equal(pf.l4Off, 1034); assert.equal(pf.dstPort, 80);
  assert.equal(pf.end, 1000 + f.length);
});

test('parseIpAt parses a bare IP packet (TUN device, decapsulated payload)', () => {
  const f = fromHex(GOLDEN.in_F);
  assert.equal(parseIpAt(f, 14, f.length, pf), F.PARSE_OK);
  assert.equal(pf.family, 6); assert.equal(pf.dstPort, 53);
  assert.equal(parseIpAt(f, 14, 14, pf), F.BAD_IP_VERSION);
});

test('every verdict code has a counter name', () => {
  assert.equal(F.PARSE_REASONS.length, F.BAD_NDP + 1);
  assert.equal(new Set(F.PARSE_REASONS).size, F.PARSE_REASONS.length);
});
