#!/usr/bin/env bash
# Builds this checkout and runs the peer benchmark (bench/peers/run.sh) with the tsvs proxy plane
# as one more row next to HAProxy, nginx stream and the naive Node proxy (ports 9104/9204).
#   bench/proxy-peers.sh                                   # full run (15-25 min)
#   DURATION=3 REPS=1 MODES=pinned bench/proxy-peers.sh    # quick run
#   LBS="node tsvs" MODES=pinned bench/proxy-peers.sh      # subset
# Needs (Debian): apt-get install -y haproxy nginx libnginx-mod-stream wrk iperf3 jq
set -eu -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${PEERBENCH_WORK:-${TMPDIR:-/tmp}/peerbench-work}
for t in haproxy nginx wrk iperf3 jq taskset; do
  command -v "$t" > /dev/null || { echo "missing $t: apt-get install -y haproxy nginx libnginx-mod-stream wrk iperf3 jq" >&2; exit 2; }
done
mkdir -p "$WORK"
# Own output dir: the benchmark never disturbs dist/ (tsc emits even if unrelated files have type errors).
DIST=$WORK/tsvs-dist
(cd "$ROOT" && npx tsc -p tsconfig.json --outDir "$DIST" --tsBuildInfoFile "$DIST/.tsbuildinfo") || true
[[ -f $DIST/src/dataplane/proxy/main-lb.js ]] || { echo "build failed: $DIST/src/dataplane/proxy/main-lb.js missing" >&2; exit 1; }
# Node resolves packages from the output's ancestors; give it the checkout's node_modules.
ln -sfn "$ROOT/node_modules" "$WORK/node_modules"
TSVS_DIST=$DIST exec "$ROOT/bench/peers/run.sh" "$@"
