#!/usr/bin/env bash
# The HTTP figures in one run: starts a release server (sync durability)
# on a temporary data directory, then with agora-load measures the
# hello-world baseline (GET /health) and single orders at the same
# connection counts (alternated over rounds, with the median ratio),
# open-loop latency at 80%, 65% and 50% of the median 256-connection
# order rate,
# the batch endpoint, complete escrowed flows (request to confirmation),
# and the server's RSS idle and with a million resting orders. Snapshots
# wait for the end of that server; the batch run is then repeated on a
# fresh server with the default policy (a snapshot every million
# commands), which then rests orders until its book holds a million and
# reports its RSS; the flows run on another.
# Usage: benches/http-report.sh [seconds per run, default 10] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rounds=${2:-3}
cargo build --release -q --bin agora --bin agora-load
data=$(mktemp -d)
port=18555
# serve DIR [flags]: starts the server on DIR with limits that do not
# throttle the load.
serve() {
    local dir=$1
    shift
    ./target/release/agora serve --listen 127.0.0.1:$port --data-dir "$dir" \
        --rate-limit 10000000 --rate-burst 10000000 --register-per-minute 1000000 \
        --operator-key load "$@" >/dev/null 2>>"$data.log" &
    server=$!
}
serve "$data" --snapshot-every 100000000
# (Under `set -e` a failing command in the trap would end it before the
# clean-up: the last server has usually stopped already.)
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data" "$data.log" "$data-2" "$data-3" "$data".flows.*' EXIT
sleep 1
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$server/status; }
load() { ./target/release/agora-load --addr 127.0.0.1:$port --duration "$secs" --warmup 2 "$@" 2>/dev/null; }
field() { grep -o "$1=[0-9.]*" | head -1 | cut -d= -f2; }
echo "RSS idle: $(rss)"
# The machine is noisy: each connection count alternates health and order
# runs for $rounds rounds and reports every round's ratio and the median.
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for c in 64 256; do
    ratios=""; rates=""
    for r in $(seq "$rounds"); do
        h=$(load --mode health --connections $c)
        o=$(load --mode orders --connections $c)
        hr=$(echo "$h" | field throughput); orr=$(echo "$o" | field throughput)
        ratio=$(( 100 * ${orr%.*} / ${hr%.*} ))
        ratios="$ratios $ratio"; rates="$rates ${orr%.*}"
        echo "connections=$c round $r health: ${hr} req/s | orders: ${orr} req/s = ${ratio}% of health"
        echo "   orders $(echo "$o" | grep latency_us)"
    done
    echo "connections=$c: orders at median $(echo $ratios | median)% of health (rounds:$ratios)"
    last=$(echo $rates | median)
done
# The issue's figure is p99 at 80% of the order rate, measured first (each
# run leaves orders resting); 65% and 50% then show how the tail shrinks
# with the load.
# Next to each client-side figure, the server's own (from its handler
# duration histogram, the run's share of it): the difference is time a
# request spent outside the handlers (socket queues, the load generator
# waiting for a core).
# order_buckets: the cumulative POST order-duration buckets, "le count" a line.
order_buckets() {
    curl -s "127.0.0.1:$port/metrics" |
        sed -n 's|.*request_duration_seconds_bucket{le="\([^"]*\)",route="POST /api/v1/orderbook/orders"} \([0-9.e+]*\)$|\1 \2|p'
}
for pct in 80 65 50; do
    rate=$(( last * pct / 100 ))
    echo "open loop at ${rate} req/s (${pct}% of the median 256-connection order rate):"
    before=$(order_buckets)
    load --mode orders --connections 256 --rate $rate | grep -E "throughput|latency"
    paste <(echo "$before") <(order_buckets) | awk '
        { le[NR] = $1; n[NR] = $4 - $2 }
        END {
            printf "   server-side (handler) p50 <= %s s, p99 <= %s s (histogram bucket bounds)\n", at(0.5), at(0.99)
        }
        function at(q,   i) { for (i = 1; i <= NR; i++) if (n[i] >= q * n[NR]) return le[i] }'
done
# 64 connections keep ~6,400 orders in flight: enough to keep both cores
# busy across the journal's syncs (16 left them idle a quarter of the time).
echo "batch endpoint (64 connections, 100 actions per request: ~60% resting orders, ~30% cancels, ~10% crossing IOC):"
load --mode batch --connections 64 | grep -E "orders=|latency"
kill $server; wait $server 2>/dev/null || true
echo "batch endpoint again on a fresh server with the default snapshot policy:"
serve "$data-2"
sleep 1
load --mode batch --connections 64 | grep -E "orders=|latency"
# Its memory with a million resting orders: batches of orders that only
# rest fill the book up to that first.
resting() { curl -s "127.0.0.1:$port/api/v1/assets/LOAD" | grep -o '"resting_orders":[0-9]*' | cut -d: -f2; }
for _ in $(seq 60); do
    [ "$(resting)" -lt 1000000 ] || break
    ./target/release/agora-load --addr 127.0.0.1:$port --mode batch --resting-only --duration 1 --warmup 0 >/dev/null 2>&1
done
echo "RSS with $(resting) resting orders: $(rss)"
kill $server; wait $server 2>/dev/null || true
# Flows on servers of their own (default snapshot policy), not behind the
# millions of orders the runs above left resting: one fresh server per
# round, the median round's full figures (per-step p99) printed.
echo "escrowed flows: request → offer → accept → fund → deliver → confirm (128 connections, fresh server per round):"
flows=""
for r in $(seq "$rounds"); do
    rm -rf "$data-3"
    serve "$data-3"
    sleep 1
    load --mode flows --connections 128 --agents 256 > "$data.flows.$r"
    kill $server; wait $server 2>/dev/null || true
    f=$(grep -o "flows=[0-9]* throughput=[0-9.]*" "$data.flows.$r" | field throughput)
    flows="$flows ${f%.*}"
    echo "round $r: ${f} flows/s"
done
mid=$(echo $flows | median)
echo "flows: median ${mid} flows/s (rounds:$flows); the median round:"
for r in $(seq "$rounds"); do
    if grep -qE "flows=[0-9]+ throughput=$mid( |\.)" "$data.flows.$r"; then
        grep -E "flows=|^  |throughput" "$data.flows.$r"
        break
    fi
done
rm -f "$data".flows.*
