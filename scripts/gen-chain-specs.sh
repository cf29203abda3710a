#!/usr/bin/env bash
# Regenerates the checked-in chain specs in chain-spec/ from the runtime's genesis presets.
# Run after any runtime change; the `chain_specs` test fails while they are stale.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source scripts/env.sh
cargo build -p pot-node --locked
for chain in dev local; do
	"$POT_NODE_BIN" build-spec --chain "$chain" --disable-default-bootnode >"chain-spec/$chain.json" 2>/dev/null
	"$POT_NODE_BIN" build-spec --chain "$chain" --disable-default-bootnode --raw >"chain-spec/$chain-raw.json" 2>/dev/null
	echo "chain-spec/$chain.json, chain-spec/$chain-raw.json"
done
