#!/usr/bin/env bash
# The lwtdump benchmark: UDP traffic of small packets through the testbed's
# router with no capture, with a no-op LWT program at the route (the floor),
# with tcpdump, netsniff-ng and dumpcap on the egress interface, and with
# lwtdump at the route in several ways, alternated within each of several
# rounds; prints the medians, the forwarded rate at h2's interface against no
# capture and against the better of tcpdump and netsniff-ng within each
# round, and writes bench-results/bench.json. Arguments go to scripts/bench
# (-rounds, -duration, -only, -baseline, ...; -h lists them). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go build -o lwtdump ./cmd/lwtdump # always the source as it is, static as make build makes it
exec go run ./scripts/bench "$@"
