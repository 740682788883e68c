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
# CPU ticks used by every process but $1 (noise from other jobs on a shared machine).
others() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v skip="${1:-0}" '{ if ($1 != skip) t += $14 + $15 } END { print t }'; }
