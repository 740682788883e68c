#!/bin/bash
# Packet plane I/O benchmark (root): the C generator's ceiling over a direct veth, kernel IP forwarding,
# and the PacketPlane forwarding with the DR test engine, in network namespaces (tsvs-pio-bench-*).
# The generator (bench/packet-gen.c, from the prototype, built with gcc here) is pinned to CPU0, the
# forwarder to CPU1; frames that reach the real server's veth (rx_packets) per second are counted.
#   bench/packet-io.sh [SECONDS=8] [PAYLOADS="64 1358"]   (after npm run build; DIST=dist by default;
#   PPS=N fixes the offered rate, WORKERS=N forwarding workers)
# Prints one line per run (also appended to $TSV when set).
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-8}; PAYLOADS=${2:-64 1358}; DIST=${DIST:-dist}; WORKERS=${WORKERS:-1}
C=tsvs-pio-bench-c; D=tsvs-pio-bench-d; R=tsvs-pio-bench-r
GEN=$(mktemp -d)/gen
FWDPID=""
cleanup() {
  [ -n "$FWDPID" ] && kill -TERM "$FWDPID" 2>/dev/null && sleep 1 && kill -KILL "$FWDPID" 2>/dev/null || true
  for n in $C $D $R; do ip netns del $n 2>/dev/null || true; done
  rm -rf "$(dirname "$GEN")"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "packet-io.sh needs root"; exit 1; }
gcc -O2 -o "$GEN" bench/packet-gen.c
[ -f "$DIST/bench/packet-fwd.js" ] || { echo "build first: $DIST/bench/packet-fwd.js is missing"; exit 1; }

for n in $C $D $R; do ip netns del $n 2>/dev/null || true; ip netns add $n; ip -n $n link set lo up; done
ip link add c0 netns $C address 02:00:00:00:00:c0 type veth peer name l0 netns $D address 02:00:00:00:01:00
ip link add l1 netns $D address 02:00:00:00:01:01 type veth peer name r0 netns $R address 02:00:00:00:02:00
ip link add c9 netns $C address 02:00:00:00:00:c9 type veth peer name r9 netns $R address 02:00:00:00:02:09
ip -n $C addr add 198.18.0.1/24 dev c0; ip -n $C addr add 198.18.3.1/24 dev c9
ip -n $D addr add 198.18.0.2/24 dev l0; ip -n $D addr add 198.18.1.2/24 dev l1
ip -n $R addr add 198.18.1.1/24 dev r0; ip -n $R addr add 198.18.3.2/24 dev r9; ip -n $R addr add 198.18.2.100/32 dev lo
for x in "$C c0" "$C c9" "$D l0" "$D l1" "$R r0" "$R r9"; do set -- $x; ip -n $1 link set $2 up; done
ip -n $D neigh replace 198.18.1.1 lladdr 02:00:00:00:02:00 dev l1 nud permanent
ip netns exec $R nft -f - <<'NFT'
table netdev sink {
  chain r0in { type filter hook ingress device "r0" priority 0; udp dport 80 counter drop; }
  chain r9in { type filter hook ingress device "r9" priority 0; udp dport 80 counter drop; }
}
NFT

rx() { ip netns exec $R cat /sys/class/net/$1/statistics/rx_packets; }
# CPU ticks used by every process but the forwarder (noise from other jobs on a shared machine).
others() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v skip="${FWDPID:-0}" '{ if ($1 != skip) t += $14 + $15 } END { print t }'; }
MACHINE="$(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r), node $(node -v)"
echo "# $MACHINE"
run() { # NAME SINK GENIF DMAC SMAC SRC DST PAYLOAD
  local name=$1 sink=$2 a b out sent secs pps fr n0 n1 nsp o0 o1
  o0=$(others); a=$(rx $sink)
  [ -n "$FWDPID" ] && n0=$(awk '{print $14+$15}' /proc/$FWDPID/stat)
  out=$(ip netns exec $C taskset -c 0 "$GEN" $3 $4 $5 $6 $7 80 $8 $S ${PPS:-0})
  b=$(rx $sink); o1=$(others)
  sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$out"); secs=$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' <<<"$out")
  fr=$((14 + 20 + 8 + $8))
  pps=$(awk -v r=$((b - a)) -v s=$secs 'BEGIN{printf "%.0f", r/s}')
  nsp="-"
  if [ -n "$FWDPID" ]; then n1=$(awk '{print $14+$15}' /proc/$FWDPID/stat); nsp=$(awk -v t=$((n1 - n0)) -v r=$((b - a)) 'BEGIN{ if (r>0) printf "%.0f", t*1e7/r; else print "-"}'); fi
  local line
  line=$(printf "%s\tframe=%dB\toffered_pps=%.0f\tfwd_pps=%s\tGbit/s=%.2f\tfwd_ns/pkt=%s\tother_procs_cpu=%s%%" "$name" $fr "$(awk -v x=$sent -v s=$secs 'BEGIN{print x/s}')" $pps \
    "$(awk -v p=$pps -v f=$fr 'BEGIN{print p*f*8/1e9}')" "$nsp" "$(awk -v t=$((o1 - o0)) -v s=$secs 'BEGIN{printf "%.0f", t/s}')")
  echo "$line"; [ -n "${TSV:-}" ] && echo -e "$(date +%FT%T)\t$line\t$MACHINE" >> "$TSV"; true
}
for P in $PAYLOADS; do
  run ceiling r9 c9 02:00:00:00:02:09 02:00:00:00:00:c9 198.18.3.1 198.18.3.2 $P
  ip netns exec $D sysctl -qw net.ipv4.ip_forward=1; ip -n $D route replace 198.18.2.100/32 via 198.18.1.1 dev l1
  run kernel-forward r0 c0 02:00:00:00:01:00 02:00:00:00:00:c0 198.18.0.1 198.18.2.100 $P
  ip -n $D route del 198.18.2.100/32; ip netns exec $D sysctl -qw net.ipv4.ip_forward=0
  LOG=$(mktemp)
  ip netns exec $D taskset -c 1 node "$DIST/bench/packet-fwd.js" l0 198.18.2.100 80 198.18.1.1 $WORKERS >"$LOG" 2>&1 &
  FWDPID=$!
  for i in $(seq 100); do grep -q READY "$LOG" && break; sleep 0.1; done
  grep -q READY "$LOG" || { cat "$LOG"; exit 1; }
  run "tsvs-plane-dr-w$WORKERS" r0 c0 02:00:00:00:01:00 02:00:00:00:00:c0 198.18.0.1 198.18.2.100 $P
  kill -TERM $FWDPID; wait $FWDPID || true; FWDPID=""
  echo "  plane io: $(grep '^{' "$LOG" | head -c 600)"; rm -f "$LOG"
done
