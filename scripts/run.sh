#!/usr/bin/env bash
# The README's run command: sets the machine up, builds pot-node, and starts a local PoT
# network on loopback — four validators (Alice, Bob, Charlie, Dave) on the built-in `local`
# chain, or one (Alice) with `--dev`. Prints where to connect Polkadot.js Apps and follows block
# production and finality until Ctrl-C; chain data lives under ./tmp/ and is wiped at each start.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

mode=local
case "${1:-}" in
	"" | --local) mode=local ;;
	--dev) mode=dev ;;
	*) echo "usage: $0 [--local|--dev]" >&2; exit 2 ;;
esac

bash scripts/setup.sh
source scripts/env.sh
cargo build -p pot-node --locked
node_bin="$POT_NODE_BIN"

data="$repo/tmp/$mode"
rm -rf "$data"
mkdir -p "$data"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Fixed node keys give fixed peer ids, so the others can find Alice's node.
alice_peer=12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp
start() {
	local name="$1" index="$2"; shift 2
	"$node_bin" --base-path "$data/$name" --"$name" --validator \
		--port $((30333 + index)) --rpc-port $((9944 + index)) --prometheus-port $((9615 + index)) \
		--node-key "$(printf '%064x' $((index + 1)))" --rpc-cors all --no-telemetry "$@" \
		>"$data/$name.log" 2>&1 &
	pids+=("$!")
	echo "  $name: ws://127.0.0.1:$((9944 + index))   log: $data/$name.log"
}

echo "starting PoT ($mode network):"
if [ "$mode" = dev ]; then
	start alice 0 --chain dev
else
	start alice 0 --chain local
	for entry in bob:1 charlie:2 dave:3; do
		start "${entry%%:*}" "${entry##*:}" --chain local \
			--bootnodes "/ip4/127.0.0.1/tcp/30333/p2p/$alice_peer"
	done
fi

# Prints Alice's JSON-RPC answer, or nothing while her node is not up yet.
rpc() {
	curl -s -H 'Content-Type: application/json' \
		-d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$1\",\"params\":[${2:-}]}" \
		http://127.0.0.1:9944 || true
}
number_of() { sed -n 's/.*"number":"\(0x[0-9a-f]*\)".*/\1/p'; }

echo
echo "Polkadot.js Apps: https://polkadot.js.org/apps/?rpc=ws%3A%2F%2F127.0.0.1%3A9944#/explorer"
echo "(dev accounts //Alice … //Ferdie hold 1,000,000 POT each; Alice holds the dev-only sudo key)"
echo "waiting for the nodes to start (a debug build takes up to a minute)…"
while true; do
	for pid in "${pids[@]}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "a node exited; see the logs under $data" >&2
			exit 1
		fi
	done
	best=$(rpc chain_getHeader | number_of)
	finalized_hash=$(rpc chain_getFinalizedHead | sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p')
	if [ -n "$best" ] && [ -n "$finalized_hash" ]; then
		finalized=$(rpc chain_getHeader "\"$finalized_hash\"" | number_of)
		peers=$(rpc system_health | sed -n 's/.*"peers":\([0-9]*\).*/\1/p')
		printf '%s  best #%d  finalized #%d  peers %s\n' "$(date +%T)" "$best" "$finalized" "$peers"
	fi
	sleep 6
done
