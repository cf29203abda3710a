#!/usr/bin/env bash
# The README's test command: sets the machine up, builds, and runs every test:
# runtime unit tests, chain-spec drift, node CLI errors, the 4-validator network test, and the
# zombienet smoke test.
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

# One package set and feature set for build and test, so both share every compiled artifact.
step "build workspace" cargo build --workspace --locked
step "test workspace" cargo test --workspace --locked
step "zombienet smoke test" bash scripts/zombienet-smoke.sh
printf '\033[1;32m[test]\033[0m all tests passed in %ss\n' "$SECONDS"
