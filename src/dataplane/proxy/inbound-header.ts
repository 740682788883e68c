// A PROXY v1/v2 header from a trusted upstream balancer, read ahead of the client's bytes. Both
// socket paths (tcp-proxy.ts, native/native-session.ts) buffer what arrived and ask this module
// whether the header is complete: the flow the engine schedules then carries the client the
// upstream announced, not the upstream's own address (a LOCAL header or UNKNOWN keeps the socket's).
import { formatIp } from '../../core/net/addr.js';
import { unmapIp } from './cidr.js';
import type { FlowAddrs } from './engine.js';
import { decodeProxyHeader } from './proxy-protocol.js';

export type InboundHeader =
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid' }
  /** `rest`: client bytes that came with the header, for the real server (empty if none). */
  | { readonly status: 'done'; readonly flow: FlowAddrs; readonly rest: Buffer };

const INCOMPLETE: InboundHeader = { status: 'incomplete' };
const INVALID: InboundHeader = { status: 'invalid' };

/** Decodes the header at the start of `buffered`, for the connection whose socket flow is `flow`. */
export function takeInboundHeader(buffered: Buffer, flow: FlowAddrs): InboundHeader {
  const r = decodeProxyHeader(buffered);
  if (r.status === 'incomplete') return INCOMPLETE;
  if (r.status === 'invalid') return INVALID;
  const a = r.header.addresses;
  const announced = a ? { clientIp: unmapIp(formatIp(a.src)), clientPort: a.srcPort, vip: flow.vip, vport: flow.vport } : flow;
  return { status: 'done', flow: announced, rest: buffered.subarray(r.length) };
}
