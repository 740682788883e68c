# Sourced by bench/packet-bench.sh and bench/packet-ingress.sh (bash): the prototype's topology in
# namespaces $C (client), $D (director), $R (real server), with VIP, RIP and LIP set by the caller:
#   c0 (C, 198.18.0.1) -- l0 (D, 198.18.0.2)     the generator floods the director
#   l1 (D, LIP)        -- r0 (R, RIP; VIP on lo)  the director's way to the real server
#   c9 (C, 198.18.3.1) -- r9 (R, 198.18.3.2)     the direct veth of the ceiling
topo_up() {
  local n x
  for n in $C $D $R; do ip netns del $n 2>/dev/null || true; ip netns add $n; ip -n $n link set lo up; done
  ip link add c0 netns $C address 02:00:00:00:00:c0 type veth peer name l0 netns $D address 02:00:00:00:01:00
  ip link add l1 netns $D address 02:00:00:00:01:01 type veth peer name r0 netns $R address 02:00:00:00:02:00
  ip link add c9 netns $C address 02:00:00:00:00:c9 type veth peer name r9 netns $R address 02:00:00:00:02:09
  ip -n $C addr add 198.18.0.1/24 dev c0; ip -n $C addr add 198.18.3.1/24 dev c9
  ip -n $D addr add 198.18.0.2/24 dev l0; ip -n $D addr add $LIP/24 dev l1
  ip -n $R addr add $RIP/24 dev r0; ip -n $R addr add 198.18.3.2/24 dev r9; ip -n $R addr add $VIP/32 dev lo
  for x in "$C c0" "$C c9" "$D l0" "$D l1" "$R r0" "$R r9"; do set -- $x; ip -n $1 link set $2 up; done
  ip -n $D neigh replace $RIP lladdr 02:00:00:00:02:00 dev l1 nud permanent
  ip -n $D neigh replace 198.18.0.1 lladdr 02:00:00:00:00:c0 dev l0 nud permanent
}
topo_down() {
  local n
  for n in $C $D $R; do ip netns del $n 2>/dev/null || true; done
}
# CPU ticks used by every process but the pids in $1 (space-separated; noise from other jobs on a shared machine).
others() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v skip=" ${1:-0} " '{ if (index(skip, " " $1 " ") == 0) t += $14 + $15 } END { print t }'; }
# Threaded NAPI (THREADED=1 in packet-bench.sh): on veth, the receiver's work runs on the sender's CPU
# unless the receiving veth has a NAPI instance (GRO on, and the sender without TSO, so that
# veth_skb_is_eligible_for_gro() holds) made threaded; its kthread is then pinned to CPU1. That
# models a director (or a sink) whose NIC receive runs on its own CPU, as on real hardware.
NAPI_PID=""
napi_pids() { ps -eo pid=,comm= | awk -v d="$1" 'index($2, "napi/" d "-") == 1 {print $1}' | sort; }
napi_on() { # SENDER_NS SENDER RECV_NS RECV
  local before
  ip netns exec $1 ethtool -K $2 tso off >/dev/null; ip netns exec $3 ethtool -K $4 gro on >/dev/null
  before=$(napi_pids $4)
  ip netns exec $3 sh -c "echo 1 > /sys/class/net/$4/threaded"
  NAPI_PID=$(comm -13 <(echo "$before") <(napi_pids $4) | head -1)
  [ -n "$NAPI_PID" ] && taskset -pc 1 "$NAPI_PID" >/dev/null
}
napi_off() { # SENDER_NS SENDER RECV_NS RECV
  ip netns exec $3 sh -c "echo 0 > /sys/class/net/$4/threaded"
  ip netns exec $3 ethtool -K $4 gro off >/dev/null; ip netns exec $1 ethtool -K $2 tso on >/dev/null
  NAPI_PID=""
}
