#!/usr/bin/env bash
# The lwtdump benchmark: UDP traffic of small packets through the testbed's
# router, with no capture, with tcpdump on the egress interface, with lwtdump
# at the route, and with lwtdump and a filter expression that keeps 1% of the
# datagrams, alternated over rounds; prints a table of medians and writes
# bench-results/bench.json. Arguments go to scripts/bench (-rounds,
# -duration, -length, -rate, -lwtdump-args, -filter, -only). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go build -o lwtdump ./cmd/lwtdump # always the source as it is, static as make build makes it
exec go run ./scripts/bench "$@"
