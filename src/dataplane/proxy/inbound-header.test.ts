// The PROXY header a trusted upstream sends ahead of the client's bytes, as both socket paths
// consume it, and the header tsvs sends to a real server for a TCP flow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import type { FlowAddrs } from './engine.js';
import { takeInboundHeader } from './inbound-header.js';
import { encodeProxyV1, encodeProxyV2, encodeTcpProxyHeader } from './proxy-protocol.js';

const socketFlow: FlowAddrs = { clientIp: '10.0.0.9', clientPort: 4000, vip: '198.18.0.10', vport: 80 };
const announced = encodeProxyV1({ src: parseIp('192.0.2.1')!, srcPort: 56324, dst: parseIp('198.18.0.10')!, dstPort: 80 });

describe('takeInboundHeader', () => {
  it('waits for the rest of a header split across reads', () => {
    assert.equal(takeInboundHeader(announced.subarray(0, 20), socketFlow).status, 'incomplete');
  });

  it('takes the client the upstream announced, keeps the VIP, and hands back the bytes after the header', () => {
    const r = takeInboundHeader(Buffer.concat([announced, Buffer.from('GET / HTTP/1.0\r\n')]), socketFlow);
    assert.equal(r.status, 'done');
    if (r.status !== 'done') return;
    assert.deepEqual(r.flow, { clientIp: '192.0.2.1', clientPort: 56324, vip: '198.18.0.10', vport: 80 });
    assert.equal(r.rest.toString(), 'GET / HTTP/1.0\r\n');
  });

  it('keeps the socket flow for a header without addresses (v2 LOCAL, v1 UNKNOWN)', () => {
    for (const hdr of [encodeProxyV2(undefined), encodeProxyV1(undefined)]) {
      const r = takeInboundHeader(hdr, socketFlow);
      assert.equal(r.status, 'done');
      if (r.status === 'done') { assert.equal(r.flow, socketFlow); assert.equal(r.rest.length, 0); }
    }
  });

  it('rejects what is not a PROXY header', () => {
    assert.equal(takeInboundHeader(Buffer.from('GET / HTTP/1.1\r\n\r\n'), socketFlow).status, 'invalid');
  });
});

describe('encodeTcpProxyHeader', () => {
  it('announces the pair when both addresses are of one family', () => {
    assert.equal(encodeTcpProxyHeader(1, parseIp('192.0.2.1'), 5, parseIp('198.18.0.10'), 80).toString(), 'PROXY TCP4 192.0.2.1 198.18.0.10 5 80\r\n');
  });

  it('says it has no usable pair when the families differ or an address is unknown', () => {
    assert.equal(encodeTcpProxyHeader(1, parseIp('2001:db8::1'), 5, parseIp('198.18.0.10'), 80).toString(), 'PROXY UNKNOWN\r\n');
    assert.deepEqual(encodeTcpProxyHeader(2, parseIp('192.0.2.1'), 5, undefined, 0), encodeProxyV2(undefined));
  });
});
