#!/bin/sh
# pvesim throughput benchmark (not part of ctest).
#
# Starts pvesim with a synthetic 50-node, 10,000-guest cluster and measures
# keep-alive request rates with wrk over HTTPS, authenticated by API token:
#   GET /api2/json/cluster/resources   target >= 100 req/s
#   GET /api2/json/nodes/node1/status  target >= 5000 req/s
#
# usage: bench/sim/pvesim_rps.sh [PVESIM_BINARY] [DURATION_SECONDS]
set -eu
PVESIM=${1:-build/sim/apps/pvesim/pvesim}
DURATION=${2:-10}
THREADS=${WRK_THREADS:-2}
CONNECTIONS=${WRK_CONNECTIONS:-8}
TOKEN='PVEAPIToken=root@pam!pvekit=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -x "$PVESIM" ] || { echo "pvesim binary not found: $PVESIM" >&2; exit 2; }

out=$(mktemp)
"$PVESIM" --port 0 --generate nodes=50,guests=10000 --threads 32 --log-level warn >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$out"' EXIT INT TERM
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
url=$(sed -n 's/^pvesim: listening on \([^ ]*\).*/\1/p' "$out")
[ -n "$url" ] || { echo "pvesim did not start:" >&2; cat "$out" >&2; exit 1; }
size=$(curl -sk -H "Authorization: $TOKEN" "$url/api2/json/cluster/resources" | wc -c)
echo "pvesim at $url; /cluster/resources is $size bytes"

run() {  # name path target
  rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: $TOKEN" "$url$2" |
        awk '/Requests\/sec/ {print $2}')
  verdict=$(awk -v r="$rps" -v t="$3" 'BEGIN { print (r >= t) ? "OK" : "BELOW TARGET" }')
  printf '%-40s %10s req/s  (target >= %s)  %s\n' "$1" "$rps" "$3" "$verdict"
}
run "GET /cluster/resources" /api2/json/cluster/resources 100
run "GET /nodes/node1/status" /api2/json/nodes/node1/status 5000
