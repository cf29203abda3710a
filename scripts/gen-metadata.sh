#!/usr/bin/env bash
# Rewrites metadata/pot.scale (the runtime's SCALE-encoded metadata, version 16) from the
# runtime, for clients that generate their types from it. Run after any runtime change; the
# `checked_in_metadata_matches_the_runtime` test fails while it is stale.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source scripts/env.sh
POT_UPDATE_METADATA=1 cargo test --workspace --locked --lib checked_in_metadata_matches_the_runtime
echo "metadata/pot.scale"
