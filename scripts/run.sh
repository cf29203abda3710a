#!/usr/bin/env bash
# The README's run command: sets the machine up, builds pot-node and pot-trainer, starts a local
# PoT network on loopback and runs a real training order through it:
#   - validators Alice, Bob, Charlie, Dave on the built-in `local` chain (Alice alone with
#     `--dev`), each with its `potv` key in the node keystore (the offchain worker signs with it)
#     and its verifier/artifact service `pot-trainer serve` on the registered endpoint
#     http://127.0.0.1:8800+i, serving artifacts only to accounts the chain relates to it
#     (`--allow-chain`: its cluster's providers, its orders' consumers, validators, challengers);
#   - Alice offers training on the order book;
#   - three providers (`pot-trainer work` as //Eve, //Ferdie, //Eve//stash) bond, measure their
#     capacity and join Alice's cluster;
#   - a consumer (//Ferdie//stash) orders the digits MLP trained for 3 rounds, follows the
#     rounds, fetches the trained weights and prints held-out accuracy, payments and refund.
# Then it stops everything, or with `--keep` follows the chain until Ctrl-C. Chain data and logs
# live under ./tmp/<mode>/ and are wiped at each start. Exits non-zero if the order fails.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

mode=local
keep=false
for arg in "$@"; do
	case "$arg" in
		--local) mode=local ;;
		--dev) mode=dev ;;
		--keep) keep=true ;;
		*) echo "usage: $0 [--local|--dev] [--keep]" >&2; exit 2 ;;
	esac
done

bash scripts/setup.sh
source scripts/env.sh
# The whole workspace, exactly as the test command builds it: one feature set, so neither
# command rebuilds what the other built.
cargo build --workspace --locked
node_bin="$POT_NODE_BIN"
trainer_bin="$CARGO_TARGET_DIR/debug/pot-trainer"

data="$repo/tmp/$mode"
rm -rf "$data"
mkdir -p "$data"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# A background process whose exit (before the demo ends) is an error.
spawn() {
	local log="$1"; shift
	"$@" >"$log" 2>&1 &
	pids+=("$!")
}

# Fixed node keys give fixed peer ids, so the others can find Alice's node.
alice_peer=12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp
chain=local
validators=(alice bob charlie dave)
if [ "$mode" = dev ]; then
	chain=dev
	validators=(alice)
fi

echo "starting PoT ($mode network):"
for index in "${!validators[@]}"; do
	name="${validators[$index]}"
	suri="//${name^}"
	# The offchain worker signs round results with the validator account's own key.
	"$node_bin" key insert --base-path "$data/$name" --chain "$chain" \
		--key-type potv --scheme sr25519 --suri "$suri"
	bootnodes=()
	if [ "$index" -gt 0 ]; then
		bootnodes=(--bootnodes "/ip4/127.0.0.1/tcp/30333/p2p/$alice_peer")
	fi
	spawn "$data/$name.log" "$node_bin" --base-path "$data/$name" --chain "$chain" --"$name" \
		--validator --port $((30333 + index)) --rpc-port $((9944 + index)) \
		--prometheus-port $((9615 + index)) --node-key "$(printf '%064x' $((index + 1)))" \
		--rpc-cors all --no-telemetry "${bootnodes[@]}"
	spawn "$data/$name-serve.log" "$trainer_bin" serve \
		--listen "127.0.0.1:$((8800 + index))" --node "ws://127.0.0.1:$((9944 + index))" \
		--store "$data/$name-artifacts" --suri "$suri" --allow-chain
	echo "  $name: ws://127.0.0.1:$((9944 + index))  verifier http://127.0.0.1:$((8800 + index))  logs: $data/$name.log $data/$name-serve.log"
done

# Prints Alice's JSON-RPC answer, or nothing while her node is not up yet.
rpc() {
	curl -s -H 'Content-Type: application/json' \
		-d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$1\",\"params\":[${2:-}]}" \
		http://127.0.0.1:9944 || true
}
number_of() { sed -n 's/.*"number":"\(0x[0-9a-f]*\)".*/\1/p'; }
all_alive() {
	for pid in "${pids[@]}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "a process exited; see the logs under $data" >&2
			return 1
		fi
	done
}
finalized_number() {
	local hash
	hash=$(rpc chain_getFinalizedHead | sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p')
	[ -n "$hash" ] && rpc chain_getHeader "\"$hash\"" | number_of
}
status_line() {
	local best finalized peers
	best=$(rpc chain_getHeader | number_of)
	finalized=$(finalized_number || true)
	[ -n "$best" ] && [ -n "$finalized" ] || return 1
	peers=$(rpc system_health | sed -n 's/.*"peers":\([0-9]*\).*/\1/p')
	printf '%s  best #%d  finalized #%d  peers %s\n' "$(date +%T)" "$best" "$finalized" "$peers"
}

echo
echo "Polkadot.js Apps: https://polkadot.js.org/apps/?rpc=ws%3A%2F%2F127.0.0.1%3A9944#/explorer"
echo "(dev accounts //Alice … //Ferdie hold 1,000,000 POT each; Alice holds the dev-only sudo key)"
echo "waiting for the first finalized block (a debug build takes up to a minute)…"
while [ "$(finalized_number || true)" = "" ] || [ "$(finalized_number || true)" = 0x0 ]; do
	all_alive
	sleep 2
done
status_line

echo
echo "Alice offers training on the order book:"
"$trainer_bin" ask --node ws://127.0.0.1:9944 --suri //Alice --price 0.01 --capacity 1000000 \
	--hardware-class 0

alice=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
echo
echo "three providers join Alice's cluster (logs: $data/provider-*.log):"
providers=(//Eve //Ferdie //Eve//stash)
for index in "${!providers[@]}"; do
	spawn "$data/provider-$index.log" "$trainer_bin" work --node ws://127.0.0.1:9944 \
		--suri "${providers[$index]}" --state-dir "$data/provider-$index" --join "$alice" \
		--bond 200 --hardware-class 0
	echo "  ${providers[$index]}: $data/provider-$index.log"
done

echo
echo "the consumer //Ferdie//stash orders the digits MLP (3 rounds, 3 providers):"
# Alice's offchain worker starts the order as soon as all three providers are in her cluster.
"$trainer_bin" order run --node ws://127.0.0.1:9944 --suri //Ferdie//stash \
	--state-dir "$data/consumer" --budget 100 --rounds 3 --steps 50 --min-providers 3 \
	--max-providers 3 --min-accuracy-gain 0.3 --out "$data/consumer/trained.safetensors"
all_alive

if [ "$keep" = true ]; then
	echo
	echo "the network keeps running; Ctrl-C stops it"
	while all_alive; do
		status_line || true
		sleep 6
	done
	exit 1
fi
