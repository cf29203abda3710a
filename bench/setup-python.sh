#!/usr/bin/env bash
# A Python that can `import torch`, for `pot-trainer bench --python` (PyTorch eager on the same
# work). The project's torch-venv (scripts/setup.sh) holds only what libtorch needs for tch and
# cannot import torch; this one installs torch 2.13.0 (the version tch 0.26 links) with its CUDA
# dependencies from PyPI: about 2.6 GB to download and 4.7 GB on disk, so the README's commands do
# not install it. Idempotent.
set -euo pipefail
venv="${POT_BENCH_VENV:-$HOME/.cache/pot/bench-venv}"
if ! "$venv/bin/python" -c 'import torch, numpy' 2>/dev/null; then
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet torch==2.13.0 numpy
fi
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "in", "'"$venv"'")'
