#!/usr/bin/env bash
# The README's test command: sets the machine up, builds, and runs every test:
# pallet and runtime unit tests (benchmarks as tests, try-state), metadata and chain-spec drift,
# node CLI errors, the 4-validator network test, the Proof-of-Learning core (unit, property,
# wasm build) and trainer tests (libtorch, CPU), the README's demo order end to end (--dev), and
# a demo order on a zombienet network.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup.sh
source scripts/env.sh

step() {
	local name="$1"; shift
	local start=$SECONDS
	printf '\033[1;34m[test]\033[0m %s\n' "$name"
	"$@"
	printf '\033[1;34m[test]\033[0m %s: done in %ss\n' "$name" "$((SECONDS - start))"
}

no_rocksdb() {
	# The node stores state in ParityDB; RocksDB (a 10-minute C++ build) must never creep in,
	# with any feature combination. (Cargo.lock lists it anyway, as an unused optional dependency.)
	local tree
	tree=$(cargo tree --locked --workspace --all-features -e normal,build --prefix none)
	if grep -q '^librocksdb-sys' <<<"$tree"; then
		echo "librocksdb-sys is in the dependency graph; some dependency enabled RocksDB" >&2
		return 1
	fi
	grep -q '^parity-db' <<<"$tree"
}
step "no RocksDB in the dependency graph" no_rocksdb
# One package set and feature set for build and test, so both share every compiled artifact.
step "build workspace" cargo build --workspace --locked
# The workspace lints (no unwrap/expect/indexing/unchecked arithmetic) bind runtime and pallet
# code; clippy is what enforces them.
step "clippy (runtime)" cargo clippy --locked -p pot-runtime --all-targets -- -D warnings
# Pallets and primitives with their benchmark and try-runtime code compiled in.
pallets=(-p pot-primitives -p pallet-pot-market -p pallet-pot-market-runtime-api -p pallet-pot-staking -p pallet-pot-pol -p pallet-pot-issuance)
step "clippy (pallets, with benchmarks and try-runtime)" cargo clippy --locked "${pallets[@]}" --all-targets --features runtime-benchmarks,try-runtime -- -D warnings
# pot-pol-core is consensus code shared with the runtime: same lints, and it must build without std.
step "clippy (pol-core, trainer)" cargo clippy --locked -p pot-pol-core -p pot-trainer --all-targets -- -D warnings
step "pol-core builds for wasm32v1-none" cargo build --locked -p pot-pol-core --no-default-features --target wasm32v1-none
step "test workspace" cargo test --workspace --locked
# Benchmarks run as tests against the mock runtimes, with `try_state` after every test.
step "pallet benchmarks and try-state" cargo test --locked "${pallets[@]}" --features runtime-benchmarks,try-runtime
# The README's run command on a one-validator dev chain: validator with its offchain worker and
# verifier service, three providers, a consumer's order trained for 3 rounds; fails unless the
# order completes, escrow equals payouts + fee + refund, and accuracy gains the demo's margin.
step "end to end: the README demo (--dev)" bash scripts/run.sh --dev
# Zombienet starts the checked-in raw spec (which the chain_specs test has just proven current) on
# 4 validators; their verifier services and 3 providers train a demo order until it completes.
step "zombienet: demo order on 4 validators" env POT_CHAIN_SPEC="$repo/chain-spec/local-raw.json" \
	bash scripts/zombienet-test.sh zombienet/demo-order.zndsl
printf '\033[1;32m[test]\033[0m all tests passed in %ss\n' "$SECONDS"
