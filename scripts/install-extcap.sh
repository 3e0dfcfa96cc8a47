#!/usr/bin/env bash
# Links the lwtdump binary into Wireshark's personal extcap folders, so that
# Wireshark and tshark list "lwtdump" as a capture interface: the folder of
# Wireshark 4.0 and 4.1 and the folder of Wireshark 4.2 and later. Run it as
# the user who runs Wireshark.
#
# Usage: install-extcap.sh [BINARY]     (default: ./lwtdump)
set -euo pipefail

bin=${1:-lwtdump}
if [ ! -x "$bin" ]; then
	echo "install-extcap: $bin is not an executable: build it first (make build)" >&2
	exit 1
fi
bin=$(realpath "$bin")
for dir in "${XDG_CONFIG_HOME:-$HOME/.config}/wireshark/extcap" "$HOME/.local/lib/wireshark/extcap"; do
	mkdir -p "$dir"
	ln -sfn "$bin" "$dir/lwtdump"
	echo "$dir/lwtdump -> $bin"
done
