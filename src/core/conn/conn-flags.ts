// Protocol numbers and connection flag bits (uapi ip_vs.h, spec §2.3) shared by the conn layer.

/** IP protocol numbers (IPPROTO_IP marks fwmark templates). */
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

/** Connection flags (uapi ip_vs.h, spec §2.3). */
export const CF_FWD_MASK = 0x0007;
export const CF_MASQ = 0x0000;
export const CF_LOCALNODE = 0x0001;
export const CF_TUNNEL = 0x0002;
export const CF_DROUTE = 0x0003;
export const CF_BYPASS = 0x0004;
/** tsvs's full NAT, in a forwarding value the kernel leaves unused. */
export const CF_FULLNAT = 0x0005;
export const CF_SYNC = 0x0020;
export const CF_HASHED = 0x0040;
export const CF_NOOUTPUT = 0x0080;
export const CF_INACTIVE = 0x0100;
export const CF_TEMPLATE = 0x1000;
export const CF_ONE_PACKET = 0x2000;
export const CF_NFCT = 1 << 16;
/** tsvs-internal bits (never synced): IPv6 conn, in the out-index, slot in use. */
export const CF_V6 = 1 << 24;
export const CF_OUT_HASHED = 1 << 25;
export const CF_USED = 1 << 26;
/** Template state bit: a controlled conn reached ESTABLISHED (IP_VS_CTPL_S_ASSURED). */
export const CTPL_S_ASSURED = 1;

