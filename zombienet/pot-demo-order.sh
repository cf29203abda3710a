#!/usr/bin/env bash
# The PoT services of the zombienet network (zombienet/demo-order.zndsl) and its demo order.
#
# zombienet copies this script into the node's directory (<network>/alice) and runs it there, with
# the environment of scripts/zombienet-test.sh (POT_NODE_BIN, POT_TRAINER_BIN). The nodes' RPC
# ports are fixed in local-4-validators.toml (alice 9944 … dave 9947); each validator's verifier
# service listens on the endpoint the `local` genesis registers for it (127.0.0.1:8800 … 8803).
#
#   pot-demo-order.sh         inserts each validator's `potv` key (the offchain worker signs round
#                             results with it), starts its `pot-trainer serve`, puts Alice's ask on
#                             the book, starts three providers joining her cluster and the
#                             consumer's `order run` (digits MLP, 3 rounds), and returns.
#   pot-demo-order.sh wait    waits for `order run` to end and exits with its status: 0 only when
#                             the order completed, escrow = payouts + fee + refund and the trained
#                             model gained the demo's accuracy margin.
#
# Every process started here logs to pot-demo/*.log, has the network directory on its command
# line and stays in zombienet's process group, so scripts/zombienet-test.sh stops them all.
set -euo pipefail
demo="$PWD/pot-demo"
node_bin="${POT_NODE_BIN:?set by scripts/zombienet-test.sh}"
trainer_bin="${POT_TRAINER_BIN:?set by scripts/zombienet-test.sh}"
validators=(alice bob charlie dave)
alice=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY

log() { printf '[pot-demo-order] %s\n' "$*"; }

# Runs a command in the background, detached from this script's output, logging to $1.
detach() {
	local log_file="$1"; shift
	"$@" >"$log_file" 2>&1 </dev/null &
}

if [ "${1:-start}" = wait ]; then
	while [ ! -f "$demo/order-run.rc" ]; do sleep 2; done
	rc="$(cat "$demo/order-run.rc")"
	tail -n 30 "$demo/order-run.log"
	log "order run exited with $rc"
	exit "$rc"
fi

mkdir -p "$demo"
for index in "${!validators[@]}"; do
	name="${validators[$index]}"
	rpc="http://127.0.0.1:$((9944 + index))"
	public="$("$node_bin" key inspect --scheme sr25519 --output-type json "//${name^}" |
		sed -n 's/.*"publicKey": *"\(0x[0-9a-f]*\)".*/\1/p')"
	answer="$(curl -sS -H 'Content-Type: application/json' -d \
		"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"author_insertKey\",\"params\":[\"potv\",\"//${name^}\",\"$public\"]}" \
		"$rpc")"
	case "$answer" in
		*'"result":null'*) ;;
		*) log "author_insertKey on $name failed: $answer"; exit 1 ;;
	esac
	detach "$demo/$name-serve.log" "$trainer_bin" serve --listen "127.0.0.1:$((8800 + index))" \
		--node "ws://127.0.0.1:$((9944 + index))" --store "$demo/$name-artifacts" \
		--suri "//${name^}" --allow-chain
	log "$name: potv key $public, verifier http://127.0.0.1:$((8800 + index))"
done

"$trainer_bin" ask --node ws://127.0.0.1:9944 --suri //Alice --price 0.01 --capacity 1000000 \
	--hardware-class 0 >"$demo/ask.log" 2>&1 || { cat "$demo/ask.log"; exit 1; }
log "Alice's ask is on the book"

providers=(//Eve //Ferdie //Eve//stash)
for index in "${!providers[@]}"; do
	detach "$demo/provider-$index.log" "$trainer_bin" work --node ws://127.0.0.1:9944 \
		--suri "${providers[$index]}" --state-dir "$demo/provider-$index" --join "$alice" \
		--bond 200 --hardware-class 0
done
log "providers ${providers[*]} started"

detach "$demo/order-run.log" bash -c '"$@"; echo $? >"'"$demo"'/order-run.rc"' order-run \
	"$trainer_bin" order run --node ws://127.0.0.1:9944 --suri //Ferdie//stash \
	--state-dir "$demo/consumer" --budget 100 --rounds 3 --steps 50 --min-providers 3 \
	--max-providers 3 --min-accuracy-gain 0.3 --out "$demo/consumer/trained.safetensors"
log "the consumer //Ferdie//stash ordered the digits MLP (3 rounds, 3 providers)"
