#!/usr/bin/env bash
# Side-by-side benchmark of userspace L4 (TCP) load balancers on loopback.
#
#   rows:    direct (no LB, ceiling) | haproxy (mode tcp) | nginx (stream{}) | node (net + pipe)
#            | tsvs (this checkout's proxy plane; built by ../proxy-peers.sh into $TSVS_DIST)
#   modes:   shared = nothing pinned, everything competes for the 2 cores
#            pinned = load generator (wrk / iperf3 client) AND backends on CPU 0,
#                     LB alone on CPU 1 (LB nbthread / worker_processes = 1)
#   measures (each DURATION s, REPS times, median reported):
#            close  : wrk -t2 -c50 -H 'Connection: close'  -> new connections/s, p50/p99
#            ka     : wrk -t2 -c50 (keep-alive)            -> requests/s, p50/p99
#            bulk   : iperf3 -c through the LB, 1 TCP stream -> Gbit/s
#            LB CPU : utime+stime of every LB process (from /proc/PID/stat) over each run
#
# Everything it starts is tracked by PID and stopped by PID on exit. Loopback only.
#
# Tunables (environment): DURATION=10 REPS=3 WARMUP=2 MODES="shared pinned"
#   LBS="direct haproxy nginx node" WRK_THREADS=2 WRK_CONNS=50 GEN_CPU=0 LB_CPU=1
#   QUIET_BUSY=0.15 QUIET_MAX=60 FOREIGN_MAX=0.15 ATTEMPTS=3  (noisy-neighbour guard, see wait_quiet)
#   ORDER=interleaved|blocks  (interleaved: all LBs up at once, each test visits them in turn)
set -u -o pipefail

BASE=$(cd "$(dirname "$0")" && pwd)
WORK=${PEERBENCH_WORK:-${TMPDIR:-/tmp}/peerbench-work}   # run state and results go here, never into the source folder
DURATION=${DURATION:-10}
REPS=${REPS:-3}
WARMUP=${WARMUP:-2}
MODES=${MODES:-"shared pinned"}
LBS=${LBS:-"direct haproxy nginx node tsvs"}
TSVS_DIST=${TSVS_DIST:-$BASE/../../dist}   # compiled tsvs (bench/proxy-peers.sh builds it)
TSVS_WORKERS=${TSVS_WORKERS:-}            # default: the mode's thread count
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-50}
GEN_CPU=${GEN_CPU:-0}
LB_CPU=${LB_CPU:-1}
LIMIT=$((DURATION + 30))          # hard wall-clock cap for every client invocation
QUIET_BUSY=${QUIET_BUSY:-0.15}    # cores: host must be this idle (1 s sample) before a run...
QUIET_MAX=${QUIET_MAX:-60}        # ...waiting at most this many seconds
FOREIGN_MAX=${FOREIGN_MAX:-0.15}  # cores of CPU used by others during a run before it is repeated
ATTEMPTS=${ATTEMPTS:-3}           # at most this many attempts per run
ORDER=${ORDER:-interleaved}       # interleaved: all LBs up, each test visits them in turn; blocks: one LB after another

BE_A=127.0.0.2:8081
BE_B=127.0.0.3:8082
BULK_BE=127.0.0.4:5201
LB_HOST=127.0.0.1
declare -A WEB_PORT=([haproxy]=9101 [nginx]=9102 [node]=9103 [tsvs]=9104)
declare -A BULK_PORT=([haproxy]=9201 [nginx]=9202 [node]=9203 [tsvs]=9204)
URL_PATH=/1k.html
ALL_PORTS="8081 8082 5201 9101 9102 9103 9104 9201 9202 9203 9204"

RUN=$WORK/run
OUT=$WORK/results/$(date +%Y%m%d-%H%M%S)
RAW=$OUT/raw.csv
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

mkdir -p "$RUN/tmp" "$OUT/logs" "$WORK/conf"
# render the configs with this checkout's paths
for f in "$BASE"/conf/*; do sed "s#@BASE@#$BASE#g; s#@WORK@#$WORK#g" "$f" > "$WORK/conf/${f##*/}"; done
cd "$BASE" || exit 1
ulimit -n 20000 2>/dev/null || true

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$OUT/run.log" >&2; }

# ---------------------------------------------------------------- process tracking
STARTED=()            # every PID this script started (or that is a worker of one)
declare -A PID_START  # PID -> start time (field 22 of /proc/PID/stat), guards against PID reuse

proc_field() {        # pid n -> field n (n >= 3) of /proc/pid/stat
  awk -v n="$2" '{sub(/^.*\) /, ""); print $(n - 2)}' "/proc/$1/stat" 2>/dev/null
}
track() {             # remember PIDs (and their start times) so they can be stopped later
  local p
  for p in "$@"; do
    [[ -n $p ]] || continue
    PID_START[$p]=$(proc_field "$p" 22)
    STARTED+=("$p")
  done
}
alive() {             # still the same process we started, running and not a zombie
  local st
  [[ -r /proc/$1/stat ]] || return 1
  st=$(proc_field "$1" 3) || return 1
  [[ -n $st && $st != Z ]] || return 1
  [[ -z ${PID_START[$1]:-} || $(proc_field "$1" 22) == "${PID_START[$1]}" ]]
}

stop_pid() {          # TERM, wait up to 5 s, then KILL -- by PID only
  local pid=$1 i
  [[ -n $pid ]] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then log "pid $pid ignored TERM, sending KILL"; kill -KILL "$pid" 2>/dev/null; fi
  fi
  wait "$pid" 2>/dev/null || true   # reap if it is our child (no-op otherwise)
}

children_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }

cleanup() {
  local i
  trap - EXIT INT TERM
  # in start order: a master is stopped before its workers (so it does not respawn them)
  for ((i = 0; i < ${#STARTED[@]}; i++)); do stop_pid "${STARTED[i]}"; done
  STARTED=()
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

listening() { [[ -n $(ss -Hltn "src $1" 2>/dev/null) ]]; }

wait_listen() {       # bounded: up to 10 s
  local i
  for i in $(seq 1 100); do listening "$1" && return 0; sleep 0.1; done
  log "ERROR: nothing listening on $1 after 10 s"; return 1
}

# ---------------------------------------------------------------- CPU accounting
cpu_ticks() {         # sum utime+stime (clock ticks) of the given PIDs
  local f=() p
  for p in "$@"; do [[ -r /proc/$p/stat ]] && f+=("/proc/$p/stat"); done
  ((${#f[@]})) || { echo 0; return; }
  cat "${f[@]}" 2>/dev/null | awk '{sub(/^.*\) /, ""); s += $12 + $13} END {print s + 0}'
}
host_cpu() {          # busy total steal (jiffies, all CPUs)
  awk '/^cpu /{b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6, $9}' /proc/stat
}
core_busy() {         # busy jiffies per CPU: "cpu0 cpu1 ..."
  awk '/^cpu[0-9]+ /{printf "%s%d", sep, $2+$3+$4+$7+$8+$9; sep=" "} END {print ""}' /proc/stat
}

# ---------------------------------------------------------------- start / stop
GEN=()    # prefix for load generator commands
BEP=()    # prefix for backends
LBP=()    # prefix for LB
BE_PIDS=()
LB_PIDS=()

start_backends() {
  local mode=$1 b pid
  BE_PIDS=()
  for b in a b; do
    "${BEP[@]}" nginx -p "$RUN/" -c "$WORK/conf/backend-$b.nginx.conf" -e "$OUT/logs/backend-$b.$mode.error.log" \
      -g 'daemon off;' > "$OUT/logs/backend-$b.$mode.log" 2>&1 &
    pid=$!; track "$pid"; BE_PIDS+=("$pid")
  done
  "${BEP[@]}" iperf3 -s -B "${BULK_BE%:*}" -p "${BULK_BE##*:}" > "$OUT/logs/iperf3-server.$mode.log" 2>&1 &
  pid=$!; track "$pid"; BE_PIDS+=("$pid")
  wait_listen "$BE_A" && wait_listen "$BE_B" && wait_listen "$BULK_BE" || return 1
  sleep 0.3
  local kids=()
  for pid in "${BE_PIDS[@]}"; do kids+=($(children_of "$pid")); done   # nginx workers
  track "${kids[@]}"; BE_PIDS+=("${kids[@]}")
  log "backends up: pids ${BE_PIDS[*]}"
}

stop_backends() {
  local p
  for p in "${BE_PIDS[@]}"; do stop_pid "$p"; done
  BE_PIDS=()
}

start_lb() {          # lb mode threads
  local lb=$1 mode=$2 thr=$3 pid
  LB_PIDS=()
  case $lb in
    direct) return 0 ;;
    haproxy)
      LB_THREADS=$thr "${LBP[@]}" haproxy -db -f "$WORK/conf/haproxy.cfg" > "$OUT/logs/lb-haproxy.$mode.log" 2>&1 &
      pid=$! ;;
    nginx)
      "${LBP[@]}" nginx -p "$RUN/" -c "$WORK/conf/nginx-stream.conf" -e "$OUT/logs/lb-nginx.$mode.error.log" \
        -g "daemon off; worker_processes $thr;" > "$OUT/logs/lb-nginx.$mode.log" 2>&1 &
      pid=$! ;;
    node)
      "${LBP[@]}" node "$BASE/lb-node.cjs" \
        "$LB_HOST:${WEB_PORT[node]}=$BE_A,$BE_B" "$LB_HOST:${BULK_PORT[node]}=$BULK_BE" \
        > "$OUT/logs/lb-node.$mode.log" 2>&1 &
      pid=$! ;;
    tsvs)
      "${LBP[@]}" node "$TSVS_DIST/src/dataplane/proxy/main-lb.js" --workers "${TSVS_WORKERS:-$thr}" \
        "$LB_HOST:${WEB_PORT[tsvs]}=$BE_A,$BE_B" "$LB_HOST:${BULK_PORT[tsvs]}=$BULK_BE" \
        > "$OUT/logs/lb-tsvs.$mode.log" 2>&1 &
      pid=$! ;;
  esac
  track "$pid"; LB_PIDS=("$pid")
  wait_listen "$LB_HOST:${WEB_PORT[$lb]}" && wait_listen "$LB_HOST:${BULK_PORT[$lb]}" || return 1
  sleep 0.3
  local kids=($(children_of "$pid"))  # nginx workers, tsvs worker processes (haproxy/node threads are counted in /proc/PID/stat)
  track "${kids[@]}"; LB_PIDS+=("${kids[@]}")
  log "$lb up ($mode, threads/workers=$thr): pids ${LB_PIDS[*]}; affinity: $(taskset -pc "$pid" | sed 's/.*: //')"
}

stop_lb() {
  local p
  for p in "${LB_PIDS[@]}"; do stop_pid "$p"; done
  LB_PIDS=()
}

# functional check: response is 200 and both backends are reached (round-robin)
check_lb() {
  local lb=$1 host port seen="" i r
  if [[ $lb == direct ]]; then return 0; fi
  host=$LB_HOST; port=${WEB_PORT[$lb]}
  for i in 1 2 3 4 5 6; do
    r=$(timeout 5 bash -c "exec 3<>/dev/tcp/$host/$port; printf 'GET $URL_PATH HTTP/1.0\r\nHost: x\r\n\r\n' >&3; cat <&3" 2>/dev/null | tr -d '\r')
    [[ $r == "HTTP/1.1 200 OK"* ]] || { log "ERROR: $lb did not return 200"; return 1; }
    seen+=$(sed -n 's/^X-Backend: //p' <<< "$r")
  done
  [[ $seen == *a* && $seen == *b* ]] || { log "ERROR: $lb did not round-robin (saw '$seen')"; return 1; }
  log "$lb functional check ok (backends in order: $seen)"
}

# ---------------------------------------------------------------- measures
to_ms() {             # wrk latency string -> ms
  awk -v v="$1" 'BEGIN{
    if (v ~ /us$/) {sub(/us$/,"",v); print v/1000}
    else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0}
    else if (v ~ /m$/) {sub(/m$/,"",v); print v*60000}
    else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000}
    else print "NaN" }'
}

COLS="mode,lb,test,rep,attempt,duration_s,elapsed_s,requests,rate,p50_ms,p99_ms,errors,bytes,gbps,retrans,lb_cpu_s,backend_cpu_s,loadgen_cpu_s,ksoftirqd_cpu_s,host_busy_cores,host_steal_cores,foreign_cores,pre_busy_cores,cores_busy"
echo "$COLS" > "$RAW"
echo "$COLS" > "$OUT/discarded.csv"
KSOFTIRQD=($(ps -eo pid=,comm= | awk '$2 ~ /^ksoftirqd\// {print $1}'))

# The machine may be shared with other tenants. Before each run wait (bounded) until the
# host is idle, and after each run compute "foreign" CPU = host busy - (LB + backends +
# load generator + ksoftirqd). A run with foreign > FOREIGN_MAX cores is repeated (at most
# ATTEMPTS times; the last attempt is kept and flagged in the table).
PRE_BUSY=0
wait_quiet() {
  local i a b
  for ((i = 0; i < QUIET_MAX; i++)); do
    a=($(host_cpu)); sleep 1; b=($(host_cpu))
    PRE_BUSY=$(awk -v x="${a[0]}" -v y="${b[0]}" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (y - x) / hz}')
    awk -v v="$PRE_BUSY" -v m="$QUIET_BUSY" 'BEGIN {exit !(v <= m)}' && return 0
    ((i % 10 == 0)) && log "    host busy ${PRE_BUSY} cores before run (other tenants?) - waiting"
  done
  log "    host still busy (${PRE_BUSY} cores) after ${QUIET_MAX} s - measuring anyway"
}

measure_once() {      # mode lb test rep attempt -> sets ROW, FOREIGN
  local mode=$1 lb=$2 test=$3 rep=$4 att=$5 logf url t0 t1 lb0 lb1 be0 be1 k0 k1 h0 h1 c0 c1 tt
  local requests=0 rate=0 p50=NaN p99=NaN errors=0 bytes=0 gbps=0 retrans=0
  local args=()
  logf=$OUT/logs/$mode.$lb.$test.$rep.$att
  lb0=$(cpu_ticks "${LB_PIDS[@]}"); be0=$(cpu_ticks "${BE_PIDS[@]}"); k0=$(cpu_ticks "${KSOFTIRQD[@]}")
  h0=($(host_cpu)); c0=$(core_busy); t0=$(date +%s.%N)
  TIMEFORMAT='%U %S'
  if [[ $test == bulk ]]; then
    if [[ $lb == direct ]]; then args=(-c "${BULK_BE%:*}" -p "${BULK_BE##*:}")
    else args=(-c "$LB_HOST" -p "${BULK_PORT[$lb]}"); fi
    { time timeout -k 5 "$LIMIT" "${GEN[@]}" iperf3 "${args[@]}" -t "$DURATION" -J > "$logf.json" 2> "$logf.err" ; } 2> "$logf.time"
  else
    [[ $test == close ]] && args+=(-H 'Connection: close')
    if [[ $lb == direct ]]; then args+=(-s "$WORK/conf/direct-split.lua"); url="http://$BE_A$URL_PATH"
    else url="http://$LB_HOST:${WEB_PORT[$lb]}$URL_PATH"; fi
    { time timeout -k 5 "$LIMIT" "${GEN[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DURATION}s" --latency "${args[@]}" "$url" > "$logf.txt" 2>&1 ; } 2> "$logf.time"
  fi
  t1=$(date +%s.%N); lb1=$(cpu_ticks "${LB_PIDS[@]}"); be1=$(cpu_ticks "${BE_PIDS[@]}"); k1=$(cpu_ticks "${KSOFTIRQD[@]}")
  h1=($(host_cpu)); c1=$(core_busy)
  tt=$(awk '{print $1 + $2}' "$logf.time" 2>/dev/null); tt=${tt:-NaN}

  if [[ $test == bulk ]]; then
    bytes=$(jq '.end.sum_received.bytes // 0' "$logf.json" 2>/dev/null || echo 0)
    gbps=$(jq '(.end.sum_received.bits_per_second // 0) / 1e9' "$logf.json" 2>/dev/null || echo 0)
    retrans=$(jq '.end.sum_sent.retransmits // 0' "$logf.json" 2>/dev/null || echo 0)
    if [[ $(jq -r '.error // empty' "$logf.json" 2>/dev/null) != "" || ${bytes:-0} == 0 ]]; then errors=1; fi
  else
    requests=$(awk '/requests in/ {print $1}' "$logf.txt"); requests=${requests:-0}
    rate=$(awk '/^Requests\/sec:/ {print $2}' "$logf.txt"); rate=${rate:-0}
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$logf.txt")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$logf.txt")")
    errors=$(awk '/Socket errors:/ {gsub(/,/, ""); s += $4 + $6 + $8 + $10} /Non-2xx/ {s += $NF} END {print s + 0}' "$logf.txt")
  fi
  ROW=$(awk -v mode="$mode" -v lb="$lb" -v test="$test" -v rep="$rep" -v att="$att" -v d="$DURATION" -v t0="$t0" -v t1="$t1" \
      -v req="$requests" -v rate="$rate" -v p50="$p50" -v p99="$p99" -v err="$errors" \
      -v bytes="$bytes" -v gbps="$gbps" -v rt="$retrans" -v lb0="$lb0" -v lb1="$lb1" -v be0="$be0" -v be1="$be1" \
      -v k0="$k0" -v k1="$k1" -v tt="$tt" -v hb0="${h0[0]}" -v hb1="${h1[0]}" -v hs0="${h0[2]}" -v hs1="${h1[2]}" \
      -v pre="$PRE_BUSY" -v c0="$c0" -v c1="$c1" -v hz="$CLK_TCK" -v islb="$([[ $lb == direct ]] && echo 0 || echo 1)" 'BEGIN {
        el = t1 - t0;
        lbs = (lb1 - lb0) / hz; bes = (be1 - be0) / hz; ks = (k1 - k0) / hz;
        host = (hb1 - hb0) / hz / el;
        foreign = host - ((islb ? lbs : 0) + bes + (tt == "NaN" ? 0 : tt) + ks) / el;
        n = split(c0, a, " "); split(c1, b, " "); cores = "";
        for (i = 1; i <= n; i++) cores = cores (i > 1 ? " " : "") sprintf("%.2f", (b[i] - a[i]) / hz / el);
        printf "%s,%s,%s,%s,%s,%s,%.3f,%s,%s,%s,%s,%s,%s,%.3f,%s,%s,%.3f,%s,%.3f,%.3f,%.3f,%.3f,%s,%s\n",
          mode, lb, test, rep, att, d, el, req, rate, p50, p99, err, bytes, gbps, rt,
          islb ? sprintf("%.3f", lbs) : "", bes, tt, ks, host, (hs1 - hs0) / hz / el, foreign, pre, cores }')
  FOREIGN=$(cut -d, -f22 <<< "$ROW")
}

run_one() {           # mode lb test rep: measure, repeat if another tenant used the CPU
  local att
  for ((att = 1; att <= ATTEMPTS; att++)); do
    wait_quiet
    measure_once "$@" "$att"
    log "  $1 $2 $3 #$4.$att: $(cut -d, -f8- <<< "$ROW")"
    if awk -v v="$FOREIGN" -v m="$FOREIGN_MAX" 'BEGIN {exit !(v <= m)}' || ((att == ATTEMPTS)); then
      echo "$ROW" >> "$RAW"; return
    fi
    echo "$ROW" >> "$OUT/discarded.csv"
    log "    foreign CPU ${FOREIGN} cores > ${FOREIGN_MAX}: repeating"
  done
}

warm_up() {           # lb: WARMUP s of keep-alive load, not measured
  local lb=$1 wurl wargs=()
  if [[ $lb == direct ]]; then wurl="http://$BE_A$URL_PATH"; wargs=(-s "$WORK/conf/direct-split.lua")
  else wurl="http://$LB_HOST:${WEB_PORT[$lb]}$URL_PATH"; fi
  timeout -k 5 $((WARMUP + 20)) "${GEN[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WARMUP}s" "${wargs[@]}" "$wurl" > /dev/null 2>&1
  return 0
}

# ---------------------------------------------------------------- main
[[ $ORDER == interleaved || $ORDER == blocks ]] || { echo "ORDER must be interleaved or blocks (got '$ORDER')" >&2; exit 2; }
for p in $ALL_PORTS; do
  if [[ -n $(ss -Hltn "sport = :$p") ]]; then echo "port $p already in use; aborting" >&2; exit 1; fi
done

{
  echo "date: $(date -Is)"
  echo "host: $(uname -srm); $NCPU x $(lscpu | sed -n 's/^Model name: *//p'); $(free -g | awk '/Mem:/{print $2}') GiB RAM"
  echo "haproxy: $(haproxy -v | head -1)"
  echo "nginx: $(nginx -v 2>&1) (stream module: libnginx-mod-stream $(dpkg-query -W -f='${Version}' libnginx-mod-stream 2>/dev/null))"
  echo "node: $(node --version)"
  echo "tsvs: $(git -C "$BASE" rev-parse --short HEAD 2>/dev/null) ($TSVS_DIST, workers ${TSVS_WORKERS:-per mode})"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "iperf3: $(iperf3 --version | head -1)"
  echo "settings: DURATION=$DURATION REPS=$REPS WARMUP=$WARMUP WRK=-t$WRK_THREADS/-c$WRK_CONNS MODES='$MODES' LBS='$LBS' GEN_CPU=$GEN_CPU LB_CPU=$LB_CPU FOREIGN_MAX=$FOREIGN_MAX ATTEMPTS=$ATTEMPTS ORDER=$ORDER"
  echo "sysctl: $(sysctl -n net.ipv4.tcp_congestion_control) tw_reuse=$(sysctl -n net.ipv4.tcp_tw_reuse) ports=$(sysctl -n net.ipv4.ip_local_port_range | tr '\t' '-') somaxconn=$(sysctl -n net.core.somaxconn)"
  echo "loadavg at start: $(cat /proc/loadavg)"
} > "$OUT/env.txt"
cp -r "$BASE/conf" "$BASE/lb-node.cjs" "$BASE/run.sh" "$BASE/summarize.cjs" "$OUT/"
cat "$OUT/env.txt" >&2

for mode in $MODES; do
  case $mode in
    shared) GEN=(); BEP=(); LBP=(); THR=$NCPU ;;
    pinned) GEN=(taskset -c "$GEN_CPU"); BEP=(taskset -c "$GEN_CPU"); LBP=(taskset -c "$LB_CPU"); THR=1 ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  log "=== mode $mode (loadavg $(cut -d' ' -f1-3 /proc/loadavg)) ==="
  start_backends "$mode" || exit 1
  if [[ $ORDER == blocks ]]; then
    for lb in $LBS; do
      start_lb "$lb" "$mode" "$THR" && check_lb "$lb" && warm_up "$lb" || exit 1
      for rep in $(seq 1 "$REPS"); do
        for test in close ka bulk; do run_one "$mode" "$lb" "$test" "$rep"; done
      done
      stop_lb
    done
  else
    # Every LB runs at once (the idle ones cost nothing), and each test visits them in turn,
    # starting one LB later on every repetition: a slow minute of a shared host then falls on
    # all of them instead of on one LB's whole block.
    # The idle LBs' own CPU (timers) counts as foreign in a window: an idle tsvs used 0 ticks in 10 s,
    # far below FOREIGN_MAX. Every LB takes every position only when REPS is a multiple of the LBs.
    read -ra order <<< "$LBS"
    (( REPS % ${#order[@]} == 0 )) || log "note: REPS=$REPS is not a multiple of the ${#order[@]} LBs: not every LB runs in every position"
    declare -A LB_PIDS_OF=()
    for lb in $LBS; do
      start_lb "$lb" "$mode" "$THR" && check_lb "$lb" && warm_up "$lb" || exit 1
      LB_PIDS_OF[$lb]="${LB_PIDS[*]}"
    done
    for rep in $(seq 1 "$REPS"); do
      for test in close ka bulk; do
        for lb in "${order[@]}"; do
          read -ra LB_PIDS <<< "${LB_PIDS_OF[$lb]}"
          run_one "$mode" "$lb" "$test" "$rep"
        done
      done
      order=("${order[@]:1}" "${order[0]}")
    done
    for lb in $LBS; do read -ra LB_PIDS <<< "${LB_PIDS_OF[$lb]}"; stop_lb; done
  fi
  stop_backends
done
cleanup

log "loadavg at end: $(cat /proc/loadavg)"
node "$BASE/summarize.cjs" "$RAW" "$OUT/env.txt" | tee "$OUT/table.txt"
ln -sfn "$OUT" "$WORK/results/latest"
echo
echo "raw data: $RAW"
echo "logs:     $OUT/logs/"
