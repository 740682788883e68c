#!/bin/bash
# UDP through the proxy plane: DNS queries from fresh source ports (bench/udp-dns-gen.ts) to
# dnsmasq, straight and through `tsvs run` (a UDP service, masq), on loopback. The generator and
# dnsmasq run on CPU0, tsvs on CPU1 with --trace-gc; prints queries per second, lost queries and
# latency, then tsvs's young-generation collections (count, mean and longest pause) and its UDP
# session counters. Not part of npm test.
#   bench/udp-dns.sh [SECONDS=30] [CONC=32]   (after npm run build; needs dnsmasq and curl)
#   UDP_IO=node bench/udp-dns.sh ...          (dataplane.proxy.udpIo: auto, native or node)
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-30}; CONC=${2:-32}; DIST=${DIST:-dist}; UDP_IO=${UDP_IO:-auto}
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || { echo "udp-dns.sh needs dnsmasq (apt-get install -y dnsmasq-base)"; exit 1; }
[ -f "$DIST/bench/udp-dns-gen.js" ] || { echo "build first: $DIST/bench/udp-dns-gen.js is missing"; exit 1; }
WORK=$(mktemp -d); PIDS=()
cleanup() { # TERM by PID, KILL after 5 s
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# Three distinct free ports: UDP for dnsmasq and the VIP, TCP for the metrics listener.
read -r DPORT VPORT MPORT < <(node -e "
const dgram = require('dgram'), net = require('net'), held = [], ports = [];
const udp = () => new Promise((r) => { const s = dgram.createSocket('udp4'); held.push(s); s.bind(0, '127.0.0.1', () => r(s.address().port)); });
const tcp = () => new Promise((r) => { const s = net.createServer(); held.push(s); s.listen(0, '127.0.0.1', () => r(s.address().port)); });
(async () => { ports.push(await udp(), await udp(), await tcp()); console.log(ports.join(' ')); for (const s of held) s.close(); })();")
DNS=127.0.0.53
taskset -c 0 "$DNSMASQ" --keep-in-foreground --no-daemon --no-resolv --no-hosts --conf-file=/dev/null \
  --listen-address=$DNS --bind-interfaces --port=$DPORT --address=/who.test/198.18.9.9 --user=root --pid-file= >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do ss -Hlun "sport = :$DPORT" | grep -q . && break; sleep 0.1; done
ss -Hlun "sport = :$DPORT" | grep -q . || { echo "dnsmasq did not start on $DNS:$DPORT"; exit 1; }
cat >"$WORK/tsvs.yaml" <<YAML
dataplane: { kind: proxy, proxy: { udpIo: $UDP_IO } }
api: { enabled: false }
metrics: { enabled: true, listen: "127.0.0.1:$MPORT" }
services:
  - { protocol: udp, address: 127.0.0.1, port: $VPORT, scheduler: rr, forwarding: masq, realServers: [{ address: $DNS, port: $DPORT }] }
YAML
taskset -c 1 node --trace-gc "$DIST/src/bin/tsvs.js" run -c "$WORK/tsvs.yaml" --control-socket "$WORK/tsvs.sock" >"$WORK/tsvs.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$MPORT/metrics" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$MPORT/metrics" >/dev/null || { echo "tsvs did not start:"; cat "$WORK/tsvs.log"; exit 1; }
echo "# udpIo $UDP_IO: $(grep -o 'UDP over [a-z]* sockets' "$WORK/tsvs.log" | head -1)"
echo "# $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), node $(node -v), $S s, $CONC clients, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "direct   $(taskset -c 0 node "$DIST/bench/udp-dns-gen.js" $DNS "$DPORT" "$CONC" "$S")"
N0=$(wc -l <"$WORK/tsvs.log")   # count only the collections of the measured window
echo "via tsvs $(taskset -c 0 node "$DIST/bench/udp-dns-gen.js" 127.0.0.1 "$VPORT" "$CONC" "$S")"
tail -n +$((N0 + 1)) "$WORK/tsvs.log" | { grep -oP 'Scavenge.*MB, \K[0-9.]+' || true; } | awk -v s="$S" '{ n++; t += $1; if ($1 > m) m = $1 } END {
  printf "tsvs scavenges: %d (%.1f/s), mean %.2f ms, longest %.2f ms, %.1f %% of the time\n", n, n / s, (n ? t / n : 0), m, t / (s * 10) }'
curl -s "http://127.0.0.1:$MPORT/metrics" | grep -E '^tsvs_proxy_(events_total\{protocol="udp",event="sessions_(opened|evicted|expired)"\}|udp_sockets)'
