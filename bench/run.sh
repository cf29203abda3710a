#!/usr/bin/env bash
# The benchmark table of docs/benchmarks.md ("Training, PoL overhead and verification cost"):
# `pot-trainer bench` (release build) on the digits set for each model below, 1 and 2 threads,
# with PyTorch eager on the same work when bench/setup-python.sh has made its Python.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source scripts/env.sh
cargo build --release --locked -p pot-trainer
trainer="$CARGO_TARGET_DIR/release/pot-trainer"
python="${POT_BENCH_VENV:-$HOME/.cache/pot/bench-venv}/bin/python"
with_python=()
if "$python" -c 'import torch, numpy' 2>/dev/null; then
	with_python=(--python "$python")
else
	echo "no PyTorch comparison: run bench/setup-python.sh first" >&2
fi
echo "| model, batch, steps, threads | tch | PyTorch eager | tch / PyTorch | with PoL (overhead) | verification, default (share of PoL training) | verification, task's Q = 2 |"
echo "|---|---|---|---|---|---|---|"
for threads in 1 2; do
	"$trainer" --threads "$threads" bench "${with_python[@]}" --model mlp --hidden 32 \
		--batch-size 16 --steps 1000 --checkpoint-interval 100
	"$trainer" --threads "$threads" bench "${with_python[@]}" --model mlp --hidden 256 \
		--batch-size 64 --steps 1000 --checkpoint-interval 100
	"$trainer" --threads "$threads" bench "${with_python[@]}" --model cnn \
		--batch-size 64 --steps 500 --checkpoint-interval 50
done
