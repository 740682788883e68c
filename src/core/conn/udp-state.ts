// UDP's one-state machine (ip_vs_proto_udp.c, spec §2.6): every packet, either way, re-arms the
// conn to the UDP timeout; the active/inactive accounting is never touched, so UDP conns stay
// INACTIVE for life. A reply (OUTPUT) marks the controlling persistence template ASSURED.

/** IP_VS_UDP_S_NORMAL, the only UDP state. */
export const UDP_S_NORMAL = 0;
export const UDP_STATE_COUNT = 1;
/** The state name /proc/net/ip_vs_conn prints for UDP conns. */
export const UDP_STATE_NAMES: readonly string[] = ['UDP'];
