#!/usr/bin/env bash
# Regenerates the runtime's weight files in runtime/src/weights/ by running the pallets'
# benchmarks inside the runtime wasm with `pot-node benchmark pallet`. Run after changing a
# PoT pallet's calls or storage, on an otherwise idle machine (busy cores inflate the weights).
#   bash scripts/gen-weights.sh [pallet ...]     (default: every PoT pallet)
# STEPS / REPEAT override the benchmark resolution (default 20 steps × 5 repeats: a debug node's
# host functions are slow, and the resulting linear fits are stable at this resolution).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source scripts/env.sh
pallets=("$@")
if [ ${#pallets[@]} -eq 0 ]; then
	pallets=(pallet_pot_market pallet_pot_staking pallet_pot_pol)
fi
cargo build -p pot-node --locked --features runtime-benchmarks
wasm="$CARGO_TARGET_DIR/debug/wbuild/pot-runtime/pot_runtime.wasm"
mkdir -p runtime/src/weights
for pallet in "${pallets[@]}"; do
	"$POT_NODE_BIN" benchmark pallet \
		--runtime "$wasm" --genesis-builder runtime --genesis-builder-preset development \
		--pallet "$pallet" --extrinsic '*' \
		--steps "${STEPS:-20}" --repeat "${REPEAT:-5}" \
		--wasm-execution compiled --heap-pages 4096 \
		--output "runtime/src/weights/$pallet.rs"
	# The CLI's template names `frame_support`/`frame_system` as crates; this runtime reaches
	# them through the umbrella crate.
	sed -i -e 's/^use frame_support::/use polkadot_sdk::frame_support::/' \
		-e 's/impl<T: frame_system::Config>/impl<T: polkadot_sdk::frame_system::Config>/' \
		"runtime/src/weights/$pallet.rs"
	echo "runtime/src/weights/$pallet.rs"
done
# The benchmark build wrote its wasm (with benchmarks compiled in) where the normal build keeps
# the runtime; force the normal build to write the production wasm again.
FORCE_WASM_BUILD="$(date +%s%N)" cargo build --workspace --locked
