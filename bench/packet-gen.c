// Copied from the packet-plane prototype (shared/packet-prototype/gen.c) for bench/packet-io.sh.
// Raw UDP frame generator: AF_PACKET + sendmmsg batches + PACKET_QDISC_BYPASS.
// usage: gen IFACE DST_MAC SRC_MAC SRC_IP DST_IP DPORT PAYLOAD_BYTES SECONDS [PPS_LIMIT(0=max)] [FLOWS] [BATCH]
// Prints: sent packets, pps. Frames carry full (valid) IPv4 + UDP checksums.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>

static uint32_t sum16(const uint8_t *p, int n, uint32_t s) {
  for (int i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  return s;
}
static uint16_t fold(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return (uint16_t)~s; }
static void mac(const char *s, uint8_t *m) { sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", m, m+1, m+2, m+3, m+4, m+5); }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc < 9) { fprintf(stderr, "usage: gen IFACE DST_MAC SRC_MAC SRC_IP DST_IP DPORT PAYLOAD SECONDS [PPS] [FLOWS] [BATCH]\n"); return 1; }
  const char *ifn = argv[1];
  int dport = atoi(argv[6]), payload = atoi(argv[7]);
  double secs = atof(argv[8]);
  double pps_limit = argc > 9 ? atof(argv[9]) : 0;
  int flows = argc > 10 ? atoi(argv[10]) : 64;
  int batch = argc > 11 ? atoi(argv[11]) : 64;
  if (flows < 1) flows = 1;
  if (batch > 1024) batch = 1024;
  int flen = 14 + 20 + 8 + payload;
  uint8_t *frames = calloc(flows, flen);
  for (int f = 0; f < flows; f++) {
    uint8_t *fr = frames + (size_t)f * flen;
    mac(argv[2], fr); mac(argv[3], fr + 6); fr[12] = 0x08; fr[13] = 0x00;
    uint8_t *ip = fr + 14;
    ip[0] = 0x45; ip[1] = 0; ip[2] = (20 + 8 + payload) >> 8; ip[3] = (20 + 8 + payload) & 0xff;
    ip[4] = 0; ip[5] = f & 0xff; ip[6] = 0x40; ip[7] = 0; ip[8] = 64; ip[9] = 17;
    inet_pton(AF_INET, argv[4], ip + 12); inet_pton(AF_INET, argv[5], ip + 16);
    uint16_t c = fold(sum16(ip, 20, 0)); ip[10] = c >> 8; ip[11] = c & 0xff;
    uint8_t *u = ip + 20; int sport = 10000 + f;
    u[0] = sport >> 8; u[1] = sport & 0xff; u[2] = dport >> 8; u[3] = dport & 0xff;
    u[4] = (8 + payload) >> 8; u[5] = (8 + payload) & 0xff; u[6] = u[7] = 0;
    for (int i = 0; i < payload; i++) u[8 + i] = (uint8_t)(i * 7 + f);
    uint32_t s = sum16(ip + 12, 8, 0) + 17 + 8 + payload; s = sum16(u, 8 + payload, s);
    c = fold(s); if (c == 0) c = 0xffff; u[6] = c >> 8; u[7] = c & 0xff;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, 0);  // proto 0: TX only, never receives
  if (fd < 0) { perror("socket"); return 1; }
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) perror("PACKET_QDISC_BYPASS");
  int sb = 4 << 20; setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof sb);
  struct sockaddr_ll sll = {0}; sll.sll_family = AF_PACKET; sll.sll_ifindex = if_nametoindex(ifn); sll.sll_protocol = htons(ETH_P_IP);
  if (!sll.sll_ifindex) { fprintf(stderr, "no iface %s\n", ifn); return 1; }
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 1; }
  struct mmsghdr *msgs = calloc(batch, sizeof *msgs); struct iovec *iov = calloc(batch, sizeof *iov);
  for (int i = 0; i < batch; i++) { msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1; iov[i].iov_len = flen; }
  uint64_t sent = 0, errs = 0; unsigned fi = 0;
  double t0 = now(), tend = t0 + secs;
  for (;;) {
    double t = now();
    if (t >= tend) break;
    int n = batch;
    if (pps_limit > 0) {
      double allowed = (t - t0) * pps_limit - sent;
      if (allowed < 1) { struct timespec ts = {0, 20000}; nanosleep(&ts, 0); continue; }
      if (allowed < n) n = (int)allowed;
    }
    for (int i = 0; i < n; i++) { iov[i].iov_base = frames + (size_t)fi * flen; if (++fi == (unsigned)flows) fi = 0; }
    int r = sendmmsg(fd, msgs, n, 0);
    if (r < 0) { errs++; if (errno != ENOBUFS && errno != EAGAIN) { perror("sendmmsg"); break; } continue; }
    sent += r;
  }
  double el = now() - t0;
  printf("gen: iface=%s frame=%dB sent=%llu pps=%.0f Gbit/s(L2)=%.3f errs=%llu secs=%.2f\n", ifn, flen,
         (unsigned long long)sent, sent / el, sent * flen * 8.0 / el / 1e9, (unsigned long long)errs, el);
  return 0;
}
